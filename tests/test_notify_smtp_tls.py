"""E-mail to a real SMTP server over STARTTLS and implicit TLS (aiosmtpd on loopback with a
certificate made in the test), logging in with the configured password, and paced to the
configured rate on a test clock.

The server's certificate is signed by a CA no system trusts: the console refuses it unless
``ca_file`` names that CA. A server that takes a login only over TLS never sees one sent in
clear, and a server that does not offer STARTTLS is not talked to in clear. The password
appears in no message, log line or exception.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops.backends.notify_mail import Pacer, SmtpTransport
from aptien_ops.config import DEFAULT_CONFIG, EmailSettings, SecretRef, parse_settings
from aptien_ops.errors import ConfigError, Unavailable

from notice_samples import mail
from smtp_server import smtp_server
from tls_certs import ServerCert, make_server_cert

#: aiosmtpd warns of a login over implicit TLS, which it does not count as TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PASSWORD = "s3cret-Pa55-never-shown"
PASSWORD_ENV = "APTIEN_TEST_SMTP_PW"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ServerCert:
    return make_server_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    yield


def settings(port: int, security: str, **more: object) -> EmailSettings:
    base = EmailSettings(
        transport="smtp",
        host="127.0.0.1",
        port=port,
        security=security,
        user="ops",
        password=SecretRef(env=PASSWORD_ENV),
        timeout_seconds=20,
    )
    return replace(base, **more)  # type: ignore[arg-type]


def send_three(transport: SmtpTransport) -> None:
    for n in range(3):
        transport.send(mail(f"u{n}@acme.example", n))
    transport.close()


def no_password_in(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_tls_with_the_login_when_the_ca_file_names_the_servers_ca(
    cert: ServerCert, security: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tls = cert.server_context()
    server_tls = {"starttls": tls} if security == "starttls" else {"implicit_tls": tls}
    with smtp_server(
        **server_tls,  # type: ignore[arg-type]
        accounts={"ops": PASSWORD},
        auth_needs_tls=security == "starttls",  # implicit TLS: aiosmtpd sees no STARTTLS
    ) as (server, port):
        send_three(SmtpTransport(settings(port, security, ca_file=cert.ca_file)))
    assert server.per_recipient() == {f"u{n}@acme.example": 1 for n in range(3)}
    assert all(m.encrypted and m.login == "ops" for m in server.messages)
    assert server.logins == [("ops", True)]  # one session, one login
    no_password_in(caplog.text, *(m.raw for m in server.messages))


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_certificate_of_an_unknown_ca_is_refused_without_the_ca_file(
    cert: ServerCert, security: str
) -> None:
    tls = cert.server_context()
    server_tls = {"starttls": tls} if security == "starttls" else {"implicit_tls": tls}
    with smtp_server(**server_tls, accounts={"ops": PASSWORD}, auth_needs_tls=False) as (  # type: ignore[arg-type]
        server,
        port,
    ):
        with pytest.raises(Unavailable) as refused:
            SmtpTransport(settings(port, security)).send(mail("u1@acme.example"))
        assert server.logins == []  # the password never left for an unverified server
    assert refused.value.message.startswith(f"SMTP server 127.0.0.1:{port}: its certificate")
    assert "not trusted" in refused.value.message
    assert refused.value.hint is not None and "ca_file" in refused.value.hint
    assert server.messages == []


def test_a_certificate_for_another_host_is_refused_even_from_the_ca(
    cert: ServerCert, tmp_path: Path
) -> None:
    other = make_server_cert(tmp_path / "other", host="127.0.0.2")
    with smtp_server(starttls=other.server_context()) as (server, port):
        transport = SmtpTransport(settings(port, "starttls", ca_file=other.ca_file, user=None))
        with pytest.raises(Unavailable, match="not trusted"):
            transport.send(mail("u1@acme.example"))
    assert server.messages == []


def test_a_wrong_password_is_refused_and_never_shown(
    cert: ServerCert, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with smtp_server(starttls=cert.server_context(), accounts={"ops": "another"}) as (
        server,
        port,
    ):
        with pytest.raises(Unavailable) as refused:
            SmtpTransport(settings(port, "starttls", ca_file=cert.ca_file)).send(
                mail("u1@acme.example")
            )
    assert refused.value.message.startswith(
        f"SMTP server 127.0.0.1:{port} refused the login of ops (535"
    )
    assert server.logins and set(server.logins) == {("ops", False)}  # PLAIN, then LOGIN
    assert server.messages == []
    no_password_in(refused.value, refused.value.hint, caplog.text, repr(refused.value))


def test_a_server_that_takes_logins_only_over_tls_never_gets_one_in_clear() -> None:
    with smtp_server(accounts={"ops": PASSWORD}, auth_needs_tls=True) as (server, port):
        with pytest.raises(Unavailable) as refused:
            SmtpTransport(settings(port, "none")).send(mail("u1@acme.example"))
    assert "AUTH" in refused.value.message
    assert refused.value.hint is not None and "starttls" in refused.value.hint
    assert server.logins == [] and server.messages == []
    no_password_in(refused.value)


def test_starttls_is_required_when_configured_never_skipped() -> None:
    with smtp_server(accounts={"ops": PASSWORD}, auth_needs_tls=False) as (server, port):
        with pytest.raises(Unavailable, match="STARTTLS"):
            SmtpTransport(settings(port, "starttls")).send(mail("u1@acme.example"))
    assert server.logins == [] and server.messages == []


def test_an_unreadable_ca_file_is_one_clear_line(tmp_path: Path) -> None:
    transport = SmtpTransport(settings(1, "tls", ca_file=tmp_path / "missing.pem"))
    with pytest.raises(Unavailable, match="cannot read the CA file .*missing.pem"):
        transport.send(mail("u1@acme.example"))


# ----------------------------------------------------------------------------- the config


def _email(extra: str) -> EmailSettings:
    base = DEFAULT_CONFIG.read_text()
    head, tail = base.split("[notifications.email]")
    tail = tail[tail.index("[notifications.website]") :]
    config = tomllib.loads(head + "[notifications.email]\n" + extra + "\n" + tail)
    return parse_settings(config, None).notifications.email


def test_the_config_takes_a_ca_file_and_refuses_a_login_in_clear(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    email = _email(
        f'transport = "smtp"\nhost = "smtp.example"\nuser = "ops"\n'
        f'password_file = "{tmp_path}/pw"\n'
        f'ca_file = "{ca}"\nrate_per_second = 2.5\n'
    )
    assert (email.security, email.port, email.ca_file, email.rate_per_second) == (
        "starttls",
        587,
        ca,
        2.5,
    )
    with pytest.raises(ConfigError, match=r"notifications\.email\.user.*never in clear"):
        _email('transport = "smtp"\nsecurity = "none"\nuser = "ops"\npassword_env = "X"\n')
    with pytest.raises(ConfigError, match=r"notifications\.email\.ca_file"):
        _email(f'transport = "smtp"\nsecurity = "none"\nca_file = "{ca}"\n')


# ----------------------------------------------------------------------------- the rate


class Clock:
    """A test clock that ``sleep`` moves on (nothing waits)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now, self.slept = start, list[float]()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_server_receives_at_most_the_configured_messages_a_second() -> None:
    clock = Clock()
    with smtp_server() as (server, port):
        server.clock = clock
        paced = settings(port, "none", user=None, rate_per_second=4)
        transport = SmtpTransport(paced, clock=clock, sleep=clock.sleep)
        for n in range(10):
            transport.send(mail(f"u{n}@acme.example", n))
        transport.close()
        arrived = [m.at for m in server.messages]
    assert arrived == [1000.0] * 4 + [1001.0] * 4 + [1002.0] * 2
    assert clock.slept == [1.0, 1.0]
    assert all(
        sum(1 for t in arrived if t is not None and start <= t < start + 1) <= 4
        for start in arrived
        if start is not None
    )


def test_a_rate_below_one_spaces_the_messages_and_a_slow_server_is_not_waited_for_twice() -> None:
    clock = Clock()
    pacer = Pacer(0.5, clock, clock.sleep)
    times = []
    for _ in range(3):
        pacer.wait()
        times.append(clock())
    assert times == [1000.0, 1002.0, 1004.0]
    clock.now += 5.0  # the server took its time: the next message is due already
    pacer.wait()
    assert clock.slept == [2.0, 2.0]
    unpaced = Pacer(0, clock, clock.sleep)
    for _ in range(100):
        unpaced.wait()
    assert clock.slept == [2.0, 2.0]
