"""E-mail transports for breach notices: a real SMTP server, or the sandbox's Maildir.

:class:`SmtpTransport` keeps one connection for every message (``smtplib``), reconnects once
when the server dropped it, and sorts the server's answers: 4xx (and a connection lost before
the server answered) means try later, 5xx or an address the server refuses means never.
:class:`MaildirTransport` delivers into a Maildir (``mailbox.Maildir``), where it can also
tell whether a Message-ID is there already.
"""

from __future__ import annotations

import mailbox
import os
import smtplib
import ssl
import time
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from aptien_ops.config import EmailSettings
from aptien_ops.domain.notices import DeliveryFailed, Mail
from aptien_ops.errors import Unavailable
from aptien_ops.ports.notifications import MailTransport


def build_message(mail: Mail) -> EmailMessage:
    """The MIME message: plain text, UTF-8, with the stable Message-ID."""
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = formatdate(usegmt=True)
    msg["Content-Language"] = mail.language
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body)
    return msg


class SmtpTransport:
    """One SMTP session reused for every message; see the module docstring.

    ``clock`` (seconds, monotonic) and ``sleep`` pace the messages to the configured rate;
    tests pass their own and count the waits instead of waiting.
    """

    def __init__(
        self,
        settings: EmailSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._pacer = Pacer(settings.rate_per_second, clock, sleep)

    def _tls(self) -> ssl.SSLContext:
        """The client context: the system's CAs, or only those of ``ca_file``; the server's
        name is always checked."""
        ca_file = self._settings.ca_file
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _reason(exc)
            raise Unavailable(f"cannot read the CA file {ca_file}: {reason}") from None

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        context = None if s.security == "none" else self._tls()
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
                if s.security == "starttls":
                    smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password.read() or "")
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            raise Unavailable(
                f"SMTP server {s.host}:{s.port} refused the login of {s.user}"
                f" ({exc.smtp_code} {_text(exc.smtp_error)})"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            tls = 'set security = "starttls" or "tls" in [notifications.email]'
            raise Unavailable(
                f"SMTP server {s.host}:{s.port}: {_reason(exc)}",
                hint=tls if s.security == "none" else None,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise Unavailable(
                f"SMTP server {s.host}:{s.port}: its certificate is not trusted"
                f" ({_text(exc.verify_message or 'verification failed')})",
                hint="name the CA that signed it in [notifications.email] ca_file",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"SMTP server {s.host}:{s.port}: {_reason(exc)}") from None

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def send(self, mail: Mail) -> None:
        """Raises: DeliveryFailed, Unavailable."""
        self._pacer.wait()
        msg = build_message(mail)
        for attempt in (1, 2):
            smtp = self._session()
            try:
                refused = smtp.send_message(msg, from_addr=mail.sender, to_addrs=[mail.to])
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise DeliveryFailed(
                        f"connection lost: {_reason(exc)}", permanent=False
                    ) from None
                continue  # the server closed an idle or broken session: once more, afresh
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                self._reset()
                raise DeliveryFailed(f"{code} {_text(text)}", permanent=code >= 500) from None
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise DeliveryFailed(
                    f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise DeliveryFailed(
                    f"connection failed: {_reason(exc)}", permanent=False
                ) from None
            if refused:
                code, text = next(iter(refused.values()))
                raise DeliveryFailed(f"{code} {_text(text)}", permanent=code >= 500)
            return

    def delivered(self, message_id: str) -> bool:
        return False

    def _reset(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


class Pacer:
    """At most ``rate`` messages a second: no more than ``burst`` (the whole part of the
    rate, at least one) in any window of ``burst / rate`` seconds; 0 does not pace."""

    def __init__(
        self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.burst = max(1, int(rate))
        self.window = self.burst / rate if rate else 0.0
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque(maxlen=self.burst)

    def wait(self) -> None:
        """Wait until one more message keeps to the rate, and count it as sent now."""
        if not self.window:
            return
        now = self._clock()
        if len(self._sent) == self.burst and now < self._sent[0] + self.window:
            self._sleep(self._sent[0] + self.window - now)
            now = max(self._clock(), self._sent[0] + self.window)
        self._sent.append(now)


class MaildirTransport:
    """Delivers into a Maildir (the sandbox's mail server): readable with any mail reader."""

    def __init__(self, settings: EmailSettings) -> None:
        path = settings.maildir or Path("mail")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(os.fspath(path), create=True)
        except OSError as exc:
            raise Unavailable(f"cannot open the Maildir {path}: {exc.strerror}") from None
        self._seen: set[str] | None = None

    def send(self, mail: Mail) -> None:
        """Raises: Unavailable if the Maildir cannot be written."""
        try:
            self._box.add(build_message(mail))
        except OSError as exc:
            raise Unavailable(f"cannot write to the Maildir: {exc.strerror}") from None
        if self._seen is not None:
            self._seen.add(mail.message_id)

    def delivered(self, message_id: str) -> bool:
        if self._seen is None:
            self._seen = set()
            for key in self._box.iterkeys():
                found = self._box.get_message(key)["Message-ID"]
                if found:
                    self._seen.add(str(found).strip())
        return message_id in self._seen

    def close(self) -> None:
        self._box.close()


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:200]


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


_: type[MailTransport] = SmtpTransport
__: type[MailTransport] = MaildirTransport
