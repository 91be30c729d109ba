"""The notice outbox: exactly one e-mail per recipient after a clean run, after ``kill -9`` at
several points then a rerun, after the server dropped the connection, and after 4xx answers;
5xx recipients are failed and listed, never retried forever. In-app messages on SQLite and
PostgreSQL tenants; the website once per region. A real SMTP server on loopback counts; the
catalog is SQLite or PostgreSQL. The outbox's marks commit with relaxed durability (they
survive the ``kill -9`` above) and the pooled connection gets its own setting back."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from killed_child import run_child
from waiting import until

from aptien_ops.backends.notify_mail import MaildirTransport, SmtpTransport
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.config import CatalogSettings, EmailSettings
from aptien_ops.domain.notices import Campaign, Recipient
from aptien_ops.errors import Conflict
from aptien_ops.services.notify_engine import Channels, Engine, compose_mail
from aptien_ops.services.notify_fill import fill, outbox_rows

from notice_samples import CONTENT, NOW, start_campaign
from smtp_server import Counting, smtp_server

DRIVER = Path(__file__).with_name("notify_driver.py")

PEOPLE = [
    Recipient(
        f"acme-{n % 3}", "eu", str(n), f"user{n}@acme-{n % 3}.example", "de" if n % 2 else None
    )
    for n in range(1, 21)
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The outbox's catalog: a SQLite file, or a fresh database on the suite's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    server = request.getfixturevalue("pg_server")
    return str(server.url(server.fresh_database("outbox")))


@pytest.fixture
def people_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    path.write_text(json.dumps([r.__dict__ for r in PEOPLE]))
    return path


def run_driver(url: str, port: int, people: Path, pause: str = "") -> list[str]:
    """Run a campaign to its end (or to ``pause``, where it is killed with SIGKILL)."""
    return run_child([str(DRIVER), url, str(port), str(people), pause], paused=bool(pause))


def exactly_once(server: Counting) -> None:
    assert server.per_recipient() == {r.email: 1 for r in PEOPLE}


def test_a_clean_run_sends_one_message_per_recipient(catalog_url: str, people_file: Path) -> None:
    with smtp_server() as (server, port):
        lines = run_driver(catalog_url, port, people_file)
        exactly_once(server)
        assert server.sessions == 1
        assert lines[-1] == 'done {"email": {"sent": 20, "pending": 0, "failed": 0}}'
        again = run_driver(catalog_url, port, people_file)  # a rerun sends nothing more
        exactly_once(server)
    assert again[-1] == lines[-1]


@pytest.mark.parametrize("points", [["filled"], ["sent:1", "sent:7", "sent:13"], ["sent:19"]])
def test_kill_9_at_any_committed_point_then_rerun_sends_each_once(
    catalog_url: str, people_file: Path, points: list[str]
) -> None:
    with smtp_server() as (server, port):
        for point in points:
            run_driver(catalog_url, port, people_file, point)
        lines = run_driver(catalog_url, port, people_file)
        exactly_once(server)
    assert lines[-1] == 'done {"email": {"sent": 20, "pending": 0, "failed": 0}}'


def test_kill_9_between_the_servers_250_and_the_commit_resends_with_the_same_message_id(
    catalog_url: str, people_file: Path
) -> None:
    """The one window no protocol closes: the rerun sends that message again, with the same
    Message-ID, so the mail store can drop the copy; every other recipient gets one."""
    with smtp_server() as (server, port):
        run_driver(catalog_url, port, people_file, "accepted:4")
        run_driver(catalog_url, port, people_file)
        counts = server.per_recipient()
        ids = {
            m.to: {x.message_id for x in server.messages if x.to == m.to} for m in server.messages
        }
    assert counts == {r.email: 2 if r is PEOPLE[3] else 1 for r in PEOPLE}
    assert all(len(v) == 1 for v in ids.values())


def _campaign(
    url: str, channels: tuple[str, ...], people: list[Recipient]
) -> tuple[SqlCatalog, Campaign]:
    catalog = SqlCatalog(CatalogSettings(url=url))
    catalog.ensure_schema()
    return catalog, start_campaign(catalog, channels, people)


def test_a_dropped_connection_and_4xx_answers_end_in_one_message_each_and_5xx_is_listed(
    catalog_url: str,
) -> None:
    waits: list[float] = []
    with smtp_server() as (server, port):
        server.drop_at_mail = {5, 6}  # twice in a row: the reconnect's first try is lost too
        server.transient[PEOPLE[2].email] = 2
        server.transient[PEOPLE[8].email] = 99  # never takes it: failed after max_attempts
        server.permanent.add(PEOPLE[11].email)
        catalog, campaign = _campaign(catalog_url, ("email",), PEOPLE)
        settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")
        channels = Channels(mail=SmtpTransport(settings), max_attempts=4)
        counts = Engine(catalog, campaign, channels, now=lambda: NOW, sleep=waits.append).run()
        received = server.per_recipient()
    given_up = {PEOPLE[8].email, PEOPLE[11].email}
    assert received == {r.email: 1 for r in PEOPLE if r.email not in given_up}
    assert [c.as_json() for c in counts] == [{"sent": 18, "pending": 0, "failed": 2}]
    assert waits == [1.0, 2.0, 4.0]  # backoff doubles; bounded by max_attempts
    with catalog.read() as tx:
        failed = {
            r.email: (r.attempts, r.reason) for r in tx.breach_outbox.failed(CONTENT.incident_id)
        }
    assert failed[PEOPLE[11].email][0] == 1 and failed[PEOPLE[11].email][1].startswith("550")
    assert failed[PEOPLE[8].email][0] == 4 and failed[PEOPLE[8].email][1].startswith("451")


def test_an_invalid_address_is_failed_without_asking_the_server(catalog_url: str) -> None:
    people = [*PEOPLE[:2], Recipient("acme-1", "eu", "99", "not an address")]
    with smtp_server() as (server, port):
        catalog, campaign = _campaign(catalog_url, ("email",), people)
        settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")
        Engine(
            catalog,
            campaign,
            Channels(mail=SmtpTransport(settings)),
            now=lambda: NOW,
            sleep=lambda s: None,
        ).run()
        assert len(server.messages) == 2
    with catalog.read() as tx:
        [bad] = tx.breach_outbox.failed(CONTENT.incident_id)
    assert (bad.recipient, bad.reason, bad.attempts) == ("acme-1/99", "invalid address", 1)


def test_the_maildir_rerun_finds_a_message_it_delivered_before_the_commit(
    catalog_url: str, tmp_path: Path
) -> None:
    box = tmp_path / "mail"
    catalog, campaign = _campaign(catalog_url, ("email",), PEOPLE)
    first = MaildirTransport(EmailSettings(maildir=box))
    first.send(compose_mail(CONTENT, PEOPLE[0], "privacy@aptien.example"))  # killed before mark
    Engine(
        catalog,
        campaign,
        Channels(mail=MaildirTransport(EmailSettings(maildir=box))),
        now=lambda: NOW,
        sleep=lambda s: None,
    ).run()
    assert len(list((box / "new").iterdir())) == len(PEOPLE)


class Recording:
    """The catalog, noting the durability each write transaction asked for."""

    def __init__(self, catalog: SqlCatalog) -> None:
        self.catalog, self.durable = catalog, list[bool]()

    def transaction(self, *, durable: bool = True) -> Any:
        self.durable.append(durable)
        return self.catalog.transaction(durable=durable)

    def read(self) -> Any:
        return self.catalog.read()

    def exclusive(self, name: str) -> Any:
        return self.catalog.exclusive(name)


def test_the_engine_marks_every_row_in_a_relaxed_transaction(catalog_url: str) -> None:
    people = [*PEOPLE[:3], Recipient("acme-1", "eu", "99", "not an address")]
    with smtp_server() as (server, port):
        catalog, campaign = _campaign(catalog_url, ("email",), people)
        recording = Recording(catalog)
        settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")
        channels = Channels(mail=SmtpTransport(settings))
        Engine(recording, campaign, channels, now=lambda: NOW, sleep=lambda s: None).run()  # type: ignore[arg-type]
        assert len(server.messages) == 3
    assert recording.durable == [False] * 4  # three sent, one failed


def _synchronous(raw: Any, *, in_transaction: bool = False) -> str:
    """The driver connection's commit durability, read on it directly."""
    pg = not isinstance(raw, sqlite3.Connection)
    cur = raw.cursor()
    cur.execute("SHOW synchronous_commit" if pg else "PRAGMA synchronous")
    value = str(cur.fetchone()[0])
    cur.close()
    if pg and not in_transaction:
        raw.rollback()  # SHOW began a transaction on the pooled connection
    return value


@pytest.mark.parametrize("fails", [False, True], ids=["committed", "rolled-back"])
def test_a_relaxed_transaction_commits_relaxed_and_the_connection_gets_its_setting_back(
    catalog_url: str, fails: bool
) -> None:
    if catalog_url.startswith("postgresql"):  # the suite's server commits without waiting
        catalog_url += "&options=-c%20synchronous_commit%3Don"
    catalog, _ = _campaign(catalog_url, ("email",), PEOPLE[:2])
    pg = catalog.dialect == "postgresql"
    normal, relaxed = ("on", "off") if pg else ("2", "1")  # SQLite: FULL, NORMAL
    with catalog.read() as tx:
        first, second = tx.breach_outbox.pending(CONTENT.incident_id, "email")
    with catalog.transaction() as tx:
        raw = tx.conn.connection.driver_connection
        assert _synchronous(raw, in_transaction=True) == normal
    with pytest.raises(ZeroDivisionError) if fails else nullcontext():
        with catalog.transaction(durable=False) as tx:
            assert tx.conn.connection.driver_connection is raw
            assert _synchronous(raw, in_transaction=True) == relaxed
            tx.breach_outbox.mark_sent([first.id], NOW)
            if fails:
                raise ZeroDivisionError
    assert _synchronous(raw) == normal  # back in the pool as it was
    with catalog.transaction() as tx:
        assert tx.conn.connection.driver_connection is raw
        assert _synchronous(raw, in_transaction=True) == normal
    with catalog.read() as tx:
        still = [r.id for r in tx.breach_outbox.pending(CONTENT.incident_id, "email")]
    assert still == ([first.id, second.id] if fails else [second.id])
    catalog.dispose()


def test_filling_the_outbox_again_adds_only_the_rows_not_there(catalog_url: str) -> None:
    catalog, campaign = _campaign(catalog_url, ("email", "inapp"), PEOPLE)
    newcomer = Recipient("acme-9", "us", "77", "new@acme-9.example")
    again = outbox_rows(campaign.id, CONTENT.incident_id, ("email", "inapp"), [*PEOPLE, newcomer])
    assert fill(catalog, again, batch=7) == 2  # the newcomer's, whatever the batches
    with catalog.read() as tx:
        pending = tx.breach_outbox.pending(CONTENT.incident_id, "inapp", limit=100)
    assert len(pending) == len(PEOPLE) + 1 and pending[-1].recipient == "acme-9/77"
    catalog.dispose()


HOLDER = """
import sys
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.config import CatalogSettings
with SqlCatalog(CatalogSettings(url=sys.argv[1])).exclusive(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_one_run_per_campaign_at_a_time_and_a_killed_holder_frees_it(catalog_url: str) -> None:
    """Two runs of one campaign would both send the rows neither has marked: the second is
    refused at once (exit 5), sends nothing, and runs once the first is gone, even killed."""
    with smtp_server() as (server, port):
        catalog, campaign = _campaign(catalog_url, ("email",), PEOPLE)
        settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")

        def run() -> object:
            channels = Channels(mail=SmtpTransport(settings))
            return Engine(catalog, campaign, channels, now=lambda: NOW, sleep=lambda s: None).run()

        name = f"notice campaign {campaign.incident_id}"
        other = SqlCatalog(CatalogSettings(url=catalog_url))  # another process's connection
        with other.exclusive(name), pytest.raises(Conflict, match="another run holds"):
            run()
        assert server.messages == []
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, catalog_url, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            with pytest.raises(Conflict):
                run()
            holder.kill()  # kill -9: no block ends, the server or the kernel frees the lock
            holder.wait()
        finally:
            if holder.poll() is None:
                holder.kill()
        until(lambda: _free(catalog, name), what="the killed holder's lock to be freed")
        run()
        other.dispose()
    exactly_once(server)


def _free(catalog: SqlCatalog, name: str) -> bool:
    try:
        with catalog.exclusive(name):
            return True
    except Conflict:
        return False
