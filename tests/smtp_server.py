"""A real SMTP server on loopback (aiosmtpd) that counts what it accepts, for the notice tests.

Scripted faults: answer a recipient 4xx a number of times before taking it, refuse one with
5xx, or drop the connection at the n-th MAIL command (before the message is accepted).
A MAIL command can be held unanswered, for a test to kill its client there. Optionally over
STARTTLS (required before anything else) or implicit TLS, asking for a login,
and noting a test clock's time as each message arrives.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    to: str
    message_id: str
    subject: str
    body: str
    raw: bytes
    encrypted: bool = False
    """It came over TLS (STARTTLS or implicit)."""
    login: str | None = None
    at: float | None = None
    """The test clock's time when it arrived (with ``clock``)."""


@dataclass
class Counting:
    """The handler: what arrived, and the faults still to play."""

    messages: list[Received] = field(default_factory=list)
    sessions: int = 0
    transient: Counter[str] = field(default_factory=Counter)
    """address -> how many more times to answer 451."""
    permanent: set[str] = field(default_factory=set)
    drop_at_mail: set[int] = field(default_factory=set)
    """The n-th MAIL command (1-based, over the server's life) closes the connection."""
    mails: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    accounts: dict[str, str] = field(default_factory=dict)
    """login -> password the server takes (with ``auth``)."""
    logins: list[tuple[str, bool]] = field(default_factory=list)
    """Each AUTH tried: (login, accepted)."""
    clock: Callable[[], float] | None = None
    hold_after: int | None = None
    """Once this many messages have arrived, the next MAIL command is held (no answer) until
    ``release`` is set, then the connection is closed: where a test kills its client."""
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:  # noqa: E501
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.accounts.get(login) == password
        with self.lock:
            self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:  # noqa: E501
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:  # noqa: E501
        with self.lock:
            self.mails += 1
            drop = self.mails in self.drop_at_mail
            hold = self.hold_after is not None and len(self.messages) >= self.hold_after
            if hold:
                self.hold_after = None
        if hold:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            drop = True
        if drop:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:  # noqa: E501
        with self.lock:
            if address in self.permanent:
                return "550 5.1.1 no such mailbox"
            if self.transient[address] > 0:
                self.transient[address] -= 1
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        body = msg.get_payload(decode=True)
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data if session.authenticated else None
        at = self.clock() if self.clock is not None else None
        with self.lock:
            for to in envelope.rcpt_tos:
                self.messages.append(
                    Received(
                        to,
                        str(msg["Message-ID"]),
                        str(msg["Subject"]),
                        body.decode() if isinstance(body, bytes) else "",
                        envelope.content,
                        encrypted,
                        login,
                        at,
                    )
                )
        return "250 Message accepted"

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(m.to for m in self.messages)


@contextmanager
def smtp_server(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    accounts: dict[str, str] | None = None,
    auth_needs_tls: bool = True,
) -> Iterator[tuple[Counting, int]]:
    """A server on a free loopback port. ``starttls``: it requires STARTTLS with that
    context before any mail; ``implicit_tls``: the whole connection is TLS; ``accounts``: it
    offers AUTH (over TLS only unless ``auth_needs_tls`` is False) and requires a login."""
    handler = Counting(accounts=dict(accounts or {}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options: dict[str, Any] = {}
    if starttls is not None:
        options.update(tls_context=starttls, require_starttls=True)
    if accounts is not None:
        options.update(
            authenticator=handler.authenticate,
            auth_required=True,
            auth_require_tls=auth_needs_tls,
        )
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=implicit_tls, **options
    )
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()  # a held command lets go, so the server can stop
        controller.stop()
