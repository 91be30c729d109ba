"""The three channels of a breach notice against real parts: an SMTP server on loopback, a
Maildir, tenant databases on SQLite and PostgreSQL, and website files."""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops.backends.notify_inapp import TenantMessages
from aptien_ops.backends.notify_mail import MaildirTransport, SmtpTransport
from aptien_ops.backends.notify_website import SiteFiles
from aptien_ops.backends.postgres_tenants import PostgresTenantStore
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import (
    DEFAULT_CONFIG,
    CatalogSettings,
    ClusterSettings,
    EmailSettings,
    parse_settings,
)
from aptien_ops.domain.notices import (
    DeliveryFailed,
    InAppMessage,
    NoticeContent,
    Recipient,
)
from aptien_ops.errors import ConfigError, IntegrityFailure
from aptien_ops.notice_texts import render, texts_digest
from aptien_ops.services.notify_engine import Channels, Engine
from aptien_ops.services.notify_fill import fill, outbox_rows
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

from hostile_data import escapes_in
from notice_reading import HIDDEN, SEEN, read_mail
from notice_samples import CONTENT, NOW, mail, start_campaign
from smtp_server import smtp_server


def smtp_settings(port: int) -> EmailSettings:
    return EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")


def test_smtp_sends_every_message_over_one_connection() -> None:
    with smtp_server() as (server, port):
        transport = SmtpTransport(smtp_settings(port))
        for n in range(25):
            transport.send(mail(f"u{n}@acme.example", n))
        transport.close()
    assert server.per_recipient() == {f"u{n}@acme.example": 1 for n in range(25)}
    assert server.sessions == 1
    first = server.messages[0]
    assert first.message_id == mail("u0@acme.example", 0).message_id
    assert CONTENT.incident_id in first.body and "dpo@aptien.example" in first.body


def test_smtp_sorts_answers_into_try_later_and_never() -> None:
    with smtp_server() as (server, port):
        server.transient["later@acme.example"] = 1
        server.permanent.add("gone@acme.example")
        transport = SmtpTransport(smtp_settings(port))
        with pytest.raises(DeliveryFailed) as later:
            transport.send(mail("later@acme.example"))
        assert not later.value.permanent and later.value.reason.startswith("451")
        with pytest.raises(DeliveryFailed) as gone:
            transport.send(mail("gone@acme.example"))
        assert gone.value.permanent and gone.value.reason.startswith("550")
        transport.send(mail("later@acme.example"))  # the session survived both refusals
        transport.close()
    assert server.per_recipient() == {"later@acme.example": 1}
    assert server.sessions == 1


def test_smtp_reconnects_when_the_server_drops_the_connection() -> None:
    with smtp_server() as (server, port):
        server.drop_at_mail = {3}
        transport = SmtpTransport(smtp_settings(port))
        for n in range(5):
            transport.send(mail(f"u{n}@acme.example", n))
        transport.close()
    assert server.per_recipient() == {f"u{n}@acme.example": 1 for n in range(5)}
    assert server.sessions == 2


def test_maildir_delivers_and_knows_a_message_id(tmp_path: Path) -> None:
    box = tmp_path / "mail"
    transport = MaildirTransport(EmailSettings(maildir=box))
    sent = mail("u1@acme.example", 1)
    assert not transport.delivered(sent.message_id)
    transport.send(sent)
    transport.close()
    again = MaildirTransport(EmailSettings(maildir=box))
    assert again.delivered(sent.message_id)
    assert not again.delivered(mail("u2@acme.example", 2).message_id)
    assert len(list((box / "new").iterdir())) == 1


def test_a_german_recipient_reads_german_and_anyone_else_english() -> None:
    de = render(CONTENT, Recipient("acme-gmbh", "eu", "1", "a@acme.example", "de-AT"))
    fr = render(CONTENT, Recipient("acme-gmbh", "eu", "1", "a@acme.example", "fr"))
    assert de[0].startswith("Wichtig") and "Datenschutzbeauftragten" in de[1]
    assert fr[0].startswith("Important")


def test_notice_text_drops_control_characters_and_its_digest_follows_the_text() -> None:
    hostile = NoticeContent(**{**CONTENT.__dict__, "nature": "bad\x1b[31m\rthing"})
    _, body = render(hostile, Recipient("acme-gmbh", "eu", "1", "a@acme.example"))
    assert "\x1b" not in body and "\r" not in body and "bad[31mthing" in body
    assert texts_digest(hostile) != texts_digest(CONTENT)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def tenant_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[object, str]]:
    if request.param == "sqlite":
        settings = ClusterSettings("notify-1", "sqlite", f"sqlite:///{tmp_path / 'c'}", 100)
        store: SqliteTenantStore | PostgresTenantStore = SqliteTenantStore(settings)
    else:
        store = PostgresTenantStore(request.getfixturevalue("pg_cluster_settings"))
    name = f"t-{secrets.token_hex(5)}"
    store.create_database(name, secrets.token_urlsafe(24))
    store.apply_schema(name, TENANT_SCHEMA_VERSION, region="eu")
    with store.connect(name) as conn:
        cur = conn.cursor()
        mark = "?" if request.param == "sqlite" else "%s"
        stamp: object = "2026-01-01T00:00:00.000000Z" if request.param == "sqlite" else NOW
        for n in range(3):
            cur.execute(
                f"INSERT INTO users (email, created_at) VALUES ({mark}, {mark})",
                (f"u{n}@{name}.example", stamp),
            )
    yield store, name
    store.drop_database(name)
    store.close()


def test_inapp_messages_land_once_per_user_in_the_tenant_database(
    tenant_db: tuple[SqliteTenantStore | PostgresTenantStore, str],
) -> None:
    store, name = tenant_db
    with store.connect(name) as conn:
        ids = [str(r[0]) for r in conn.cursor().execute("SELECT id FROM users ORDER BY id")]
    messages = [
        InAppMessage(name, i, "Subject", "Body", f"{CONTENT.incident_id}/{name}/{i}") for i in ids
    ]
    writer = TenantMessages()
    with store.connect(name) as conn:
        assert writer.write(conn, messages[:2], NOW) == 2
    with store.connect(name) as conn:
        assert writer.write(conn, messages, NOW) == 1
    with store.connect(name) as conn:
        rows = (
            conn.cursor()
            .execute(
                "SELECT user_id, kind, subject, dedupe_key FROM user_messages ORDER BY user_id"
            )
            .fetchall()
        )
    assert [(str(r[0]), r[1], r[3]) for r in rows] == [
        (i, "breach-notice", f"{CONTENT.incident_id}/{name}/{i}") for i in ids
    ]


def test_inapp_messages_need_the_schema_that_has_the_table(tmp_path: Path) -> None:
    settings = ClusterSettings("notify-2", "sqlite", f"sqlite:///{tmp_path / 'c'}", 100)
    store = SqliteTenantStore(settings)
    store.create_database("old-tenant", "pw")
    store.apply_schema("old-tenant", 2, region="eu")
    with pytest.raises(IntegrityFailure, match="fleet migrate"), store.connect("old-tenant") as c:
        TenantMessages().write(c, [InAppMessage("old-tenant", "1", "s", "b", "k")], NOW)
    store.close()


def _config(extra: str) -> dict[str, object]:
    base = DEFAULT_CONFIG.read_text()
    return tomllib.loads(
        base.split("[notifications.email]")[0]
        + extra
        + "\n[regions.eu]"
        + base.split("[regions.eu]")[1]
    )  # noqa: E501


def test_the_embedded_default_delivers_into_a_maildir_under_the_data_dir(tmp_path: Path) -> None:
    settings = parse_settings(tomllib.loads(DEFAULT_CONFIG.read_text()), None)
    email = settings.notifications.email
    assert email.transport == "maildir" and email.maildir == settings.data_dir / "mail"
    assert settings.notifications.website.dir == settings.data_dir / "website"


def test_smtp_settings_take_the_password_from_a_file_never_the_config() -> None:
    good = _config(
        '[notifications.email]\ntransport = "smtp"\nhost = "smtp.example"\nsecurity = "tls"\n'
        'user = "ops"\npassword_env = "SMTP_PW"\nrate_per_second = 20\n'
    )
    email = parse_settings(good, None).notifications.email
    assert (email.port, email.security, email.password.env) == (465, "tls", "SMTP_PW")
    bad = _config('[notifications.email]\ntransport = "smtp"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="password_file or password_env") as refused:
        parse_settings(bad, None)
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ConfigError, match="notifications.email.security"):
        parse_settings(_config('[notifications.email]\nsecurity = "ssl3"\n'), None)


def test_the_engine_writes_one_inapp_message_per_user_and_none_twice(
    tenant_db: tuple[SqliteTenantStore | PostgresTenantStore, str], tmp_path: Path
) -> None:
    store, name = tenant_db
    with store.connect(name) as conn:
        users = conn.cursor().execute("SELECT id, email FROM users ORDER BY id").fetchall()
        cur = conn.cursor()
        mark = "?" if isinstance(store, SqliteTenantStore) else "%s"
        stamp: object = "2026-01-01T00:00:00.000000Z" if mark == "?" else NOW
        cur.execute(
            "INSERT INTO records (id, datasheet, created_at, updated_at, key_id, payload_size,"
            f" payload) VALUES ('r1', 'contacts', {mark}, {mark}, 'k', 14, {mark})",
            (stamp, stamp, b"CANARY-PAYLOAD"),
        )
    people = [Recipient(name, "eu", str(uid), email, "de") for uid, email in users]
    other = Recipient("globex-canary", "us", "7", "canary@globex-canary.example")
    catalog = SqlCatalog(CatalogSettings(url=f"sqlite:///{tmp_path / 'catalog.db'}"))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("website", "inapp"), people)
    # The other tenant's row is of another incident: nothing of it reaches these users.
    fill(catalog, outbox_rows(campaign.id, "inc-other", ("inapp",), [other]))
    site = tmp_path / "site"
    channels = Channels(
        inapp=TenantMessages(), website=SiteFiles(site), store_of=lambda tenant: store
    )
    seen: list[tuple[str, int, int]] = []
    for _ in range(2):  # a rerun finds nothing pending and writes nothing
        counts = Engine(
            catalog,
            campaign,
            channels,
            now=lambda: NOW,
            sleep=lambda s: None,
            progress=lambda *step: seen.append(step),
        ).run()
    assert [(c.channel, c.as_json()) for c in counts] == [
        ("inapp", {"sent": 3, "pending": 0, "failed": 0}),
        ("website", {"sent": 1, "pending": 0, "failed": 0}),
    ]
    assert seen == [("website", 1, 1), ("inapp", 3, 3)]
    with store.connect(name) as conn:
        rows = (
            conn.cursor()
            .execute("SELECT user_id, subject, body FROM user_messages ORDER BY user_id")
            .fetchall()
        )
    assert [r[0] for r in rows] == [u[0] for u in users]
    assert all(r[1].startswith("Wichtig") for r in rows)
    for text in [r[1] + r[2] for r in rows] + [p.read_text() for p in (site / "eu").iterdir()]:
        assert "CANARY-PAYLOAD" not in text and "globex-canary" not in text
        assert not any(email in text for _, email in users)
    assert sorted(p.name for p in site.iterdir()) == ["eu"]


def test_hidden_characters_reach_neither_mail_nor_inapp_nor_the_website(
    tenant_db: tuple[SqliteTenantStore | PostgresTenantStore, str], tmp_path: Path
) -> None:
    store, name = tenant_db
    content = replace(CONTENT, title=HIDDEN, nature=HIDDEN, measures=f"Do {HIDDEN}")
    with store.connect(name) as conn:
        users = conn.cursor().execute("SELECT id, email FROM users ORDER BY id").fetchall()
    people = [Recipient(name, "eu", str(uid), email) for uid, email in users]
    catalog = SqlCatalog(CatalogSettings(url=f"sqlite:///{tmp_path / 'catalog.db'}"))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("email", "inapp", "website"), people, content)
    odd = Recipient(HIDDEN, "eu", "9", "odd@acme.example")  # a tenant's name in the subject
    fill(catalog, outbox_rows(campaign.id, content.incident_id, ("email",), [odd]))
    site = tmp_path / "site"
    with smtp_server() as (server, port):
        mail_to = SmtpTransport(smtp_settings(port))
        channels = Channels(mail_to, TenantMessages(), SiteFiles(site), lambda tenant: store)
        Engine(catalog, campaign, channels, now=lambda: NOW, sleep=lambda s: None).run()
        mail_to.close()
    mails = {m.to: read_mail(m.raw) for m in server.messages}
    assert len(mails) == 4
    assert f"your {SEEN} second account" in mails["odd@acme.example"][0]
    with store.connect(name) as conn:
        rows = conn.cursor().execute("SELECT subject, body FROM user_messages").fetchall()
    assert len(rows) == 3
    pages = [p.read_text() for p in (site / "eu").iterdir() if p.suffix == ".html"]
    assert pages and all(f"{SEEN}\nsecond" in page for page in pages)
    for subject, body in [*mails.values(), *rows]:
        assert escapes_in(subject) == [] and "\n" not in subject
        assert escapes_in(body.replace("\r\n", "\n")) == []
        assert f"What happened:\n{SEEN}\nsecond" in body.replace("\r\n", "\n")
    assert all(escapes_in(page) == [] for page in pages)
