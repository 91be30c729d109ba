"""Breach notices: the e-mail campaign against a bare ``smtplib`` loop, and the in-app
messages against a bare ``executemany``.

Targets (issue 13): e-mail to N recipients (20,000) through a local aiosmtpd server ≤ 1.5× a
bare ``smtplib`` loop sending the same messages over one connection (no outbox); in-app
messages for T tenants × U users (100 × 1,000, SQLite tenant files) ≤ 2× a bare
``executemany`` of the same rows into the same tenant databases. Ours is the whole campaign:
the outbox filled in the catalog (SQLite), then delivered by the engine, each row marked
sent (an e-mail's mark in its own transaction, committed with relaxed durability: see
aptien_ops/services/notify_engine.py). Each round uses a fresh incident (a fresh outbox);
the in-app rows are deleted, untimed, before each run. The server runs in a process of its
own.

    .venv/bin/python bench/notify.py email [--recipients 20000] [--rounds 3]
    .venv/bin/python bench/notify.py inapp [--tenants 100 --users 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import BenchError, _summary, log, machine, record_result

from aptien_ops.backends.notify_inapp import TenantMessages
from aptien_ops.backends.notify_mail import SmtpTransport, build_message
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
from aptien_ops.config import CatalogSettings, ClusterSettings, EmailSettings
from aptien_ops.domain.incidents import (
    REPORT_WITHIN,
    Incident,
    IncidentStatus,
    Nature,
    Risk,
    ScopeHeader,
    Severity,
)
from aptien_ops.domain.incidents import Recipient as ScopeRecipient
from aptien_ops.domain.notices import Campaign, NoticeContent, Recipient, recipients_digest
from aptien_ops.notice_texts import texts_digest
from aptien_ops.services.notify_engine import Channels, Engine, compose_mail
from aptien_ops.services.notify_fill import fill, fill_from_scope, outbox_rows

EMAIL_TARGET, INAPP_TARGET = 1.5, 2.0
NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
SENDER = "privacy@aptien.example"
SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.readline()
c.stop()
"""


def content(incident: str) -> NoticeContent:
    return NoticeContent(
        incident,
        "Backup disk stolen",
        "A backup disk was stolen from a courier.",
        "Your name and e-mail address may be known to others.",
        "We reported the theft. Beware of phishing.",
        "dpo@aptien.example",
        "2027-03-01",
    )


def campaign(
    catalog: SqlCatalog, incident: str, channels: tuple[str, ...], people: list[Recipient]
) -> Campaign:
    c = content(incident)
    made = Campaign(
        0, incident, channels, c, texts_digest(c), recipients_digest(people), "sam", "ada", NOW
    )
    with catalog.transaction() as tx:
        return replace(made, id=tx.breach_outbox.add_campaign(made))


def run_rounds(
    rounds: int,
    ours: Callable[[int], None],
    floor: Callable[[int], None],
    reset: Callable[[], None],
    bound: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Wall times of each side, alternating after a warm-up round (``bound`` too, if given);
    under ``<side>_cpu`` the CPU time this process spent in each (all its threads)."""
    sides = {"ours": ours, "floor": floor} | ({"bound": bound} if bound else {})
    times: dict[str, list[float]] = {k: [] for side in sides for k in (side, f"{side}_cpu")}
    for i in range(rounds + 1):
        for which in list(sides) if i % 2 == 0 else list(reversed(sides)):
            reset()
            started, cpu = time.perf_counter(), time.process_time()
            sides[which](i)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            if i > 0:  # the first round warms up
                times[which].append(wall)
                times[f"{which}_cpu"].append(cpu)
            log(f"round {i} {which}: {wall:.2f} s (CPU {cpu:.2f} s)")
    return times


def result(
    name: str, times: dict[str, list[float]], target: float, rounds: int, extra: dict[str, Any]
) -> dict[str, Any]:
    ratio = statistics.median(times["ours"]) / statistics.median(times["floor"])
    return {
        "benchmark": name,
        "backend": "sqlite",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "warmup": 1,
        "ours": _summary(times["ours"]),
        "floor": _summary(times["floor"]),
        "ratio": round(ratio, 3),
        "ratio_of_minima": round(min(times["ours"]) / min(times["floor"]), 3),
        "cpu_median_s": {
            "ours": round(statistics.median(times["ours_cpu"]), 4),
            "floor": round(statistics.median(times["floor_cpu"]), 4),
        },
        "target_ratio": target,
        "pass": ratio <= target,
        "machine": machine(),
        **extra,
    }


def start_sink() -> tuple[subprocess.Popen[str], int]:
    """The aiosmtpd server (``SERVER``) on a free loopback port, in a process of its own;
    a line on its stdin stops it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    if server.stdout.readline().strip() != "ready":
        raise BenchError("the SMTP server did not start")
    return server, port


def bench_email(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    server, port = start_sink()
    assert server.stdin is not None
    people = [
        Recipient(
            f"tenant-{n % 50:02d}",
            "eu",
            str(n),
            f"user{n}@t{n % 50}.example",
            "de" if n % 3 == 0 else None,
        )
        for n in range(args.recipients)
    ]
    catalog = SqlCatalog(CatalogSettings(url=f"sqlite:///{tmp / 'catalog.db'}"))
    catalog.ensure_schema()
    settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")

    def ours(i: int) -> None:
        incident = f"INC-2027-{i:04d}"
        made = campaign(catalog, incident, ("email",), people)
        fill(catalog, outbox_rows(made.id, incident, ("email",), people))
        counts = Engine(
            catalog,
            made,
            Channels(mail=SmtpTransport(settings), sender=SENDER),
            now=lambda: NOW,
            sleep=time.sleep,
        ).run()
        if counts[0].sent != len(people):
            raise BenchError(f"sent {counts[0].sent} of {len(people)}")

    mails = [compose_mail(content("INC-floor"), r, SENDER) for r in people]

    def floor(i: int) -> None:
        smtp = smtplib.SMTP("127.0.0.1", port)
        for m in mails:
            smtp.send_message(build_message(m), from_addr=m.sender, to_addrs=[m.to])
        smtp.quit()

    try:
        times = run_rounds(args.rounds, ours, floor, lambda: None)
    finally:
        server.stdin.write("\n")
        server.stdin.flush()
        server.wait()
    return result(
        f"breach notify e-mail, {args.recipients} recipients vs bare smtplib loop",
        times,
        EMAIL_TARGET,
        args.rounds,
        {"recipients": args.recipients},
    )


def scoped_campaign(catalog: SqlCatalog, incident: str, people: list[Recipient]) -> Campaign:
    """The incident, its recipient snapshot and its approved in-app campaign, as ``breach
    open``, ``breach scope`` and the approval leave them (untimed: made before ``notify``)."""
    made = NOW - timedelta(hours=1)
    with catalog.transaction() as tx:
        tx.incidents.insert(
            Incident(
                incident, "Backup disk stolen", Nature.CONFIDENTIALITY, None, None, made,
                made + REPORT_WITHIN, Severity.HIGH, Risk.HIGH, "bench", (), (), None, None,
                "names", "reported", None, "dpo@aptien.example", IncidentStatus.ASSESSED, None,
                "sam", made, "sam", made,
            )
        )  # fmt: skip
        header = ScopeHeader(
            incident, "all", (), None, None, False, len({r.tenant for r in people}),
            len(people), recipients_digest(people), "sam", made,
        )  # fmt: skip
        tx.incident_scope.replace(
            header,
            [],
            (ScopeRecipient(incident, r.tenant, r.region, r.user_ref, r.email, r.language)
             for r in people),
        )  # fmt: skip
    return campaign(catalog, incident, ("inapp",), people)


def bench_inapp(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    store = SqliteTenantStore(ClusterSettings("bench-1", "sqlite", f"sqlite:///{tmp / 'c'}", 1000))
    people: list[Recipient] = []
    for t in range(args.tenants):
        name = f"tenant-{t:03d}"
        store.create_database(name, "x")
        store.apply_schema(name, 3, region="eu")
        with store.connect(name) as conn:
            conn.executemany(
                "INSERT INTO users (email, created_at) VALUES (?, '2027-01-01T00:00:00.000000Z')",
                [(f"u{u}@{name}.example",) for u in range(args.users)],
            )
            ids = [r[0] for r in conn.execute("SELECT id FROM users ORDER BY id")]
        people += [Recipient(name, "eu", str(i), "", None) for i in ids]
    people.sort(key=lambda r: (r.tenant, r.user_ref))  # the snapshot's order
    log(f"made {args.tenants} tenants of {args.users} users")
    catalog_path = tmp / "catalog.db"
    catalog = SqlCatalog(CatalogSettings(url=f"sqlite:///{catalog_path}"))
    catalog.ensure_schema()
    made = scoped_campaign(catalog, "INC-2027-0001", people)
    writer = TenantMessages()
    channels = Channels(inapp=writer, store_of=lambda tenant: store)

    def ours(i: int) -> None:  # what `breach notify` does once the campaign is approved
        fill_from_scope(catalog, made.id, made.incident_id, made.channels)
        counts = Engine(catalog, made, channels, now=lambda: NOW, sleep=time.sleep).run()
        if counts[0].sent != len(people):
            raise BenchError(f"wrote {counts[0].sent} of {len(people)}")

    c = content("INC-floor")
    from aptien_ops.notice_texts import render

    by_tenant: dict[str, list[Recipient]] = {}
    for r in people:  # untimed: a scan of every recipient per tenant is no part of the floor
        by_tenant.setdefault(r.tenant, []).append(r)

    def floor(i: int) -> None:
        stamp = "2027-03-01T09:30:00.000000Z"
        for t in range(args.tenants):
            name = f"tenant-{t:03d}"
            mine = by_tenant[name]
            subject, body = render(c, mine[0])
            rows = [
                (stamp, int(r.user_ref), "breach-notice", subject, body, f"INC-floor/{r.key}")
                for r in mine
            ]
            conn = sqlite3.connect(tmp / "c" / f"tenant_{name}.db")
            conn.executemany(
                "INSERT INTO user_messages (created_at, user_id, kind, subject, body, dedupe_key)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.commit()
            conn.close()

    def reset() -> None:  # untimed: every round starts with an empty outbox and no messages
        for t in range(args.tenants):
            with store.connect(f"tenant-{t:03d}") as conn:
                conn.execute("DELETE FROM user_messages")
        with closing(sqlite3.connect(catalog_path)) as raw, raw:
            raw.execute("DELETE FROM breach_outbox")

    def bound(i: int) -> None:
        outbox_bookkeeping(catalog_path, made)

    times = run_rounds(args.rounds, ours, floor, reset, bound)
    store.close()
    least = [(f + b) / f for f, b in zip(times["floor"], times["bound"], strict=True)]
    return result(
        f"breach notify in-app, {args.tenants} tenants x {args.users} users vs bare executemany",
        times,
        INAPP_TARGET,
        args.rounds,
        {
            "tenants": args.tenants,
            "users": args.users,
            "bound": _summary(times["bound"]),
            "bound_cpu_median_s": round(statistics.median(times["bound_cpu"]), 4),
            "least_ratio_without_overlap": round(statistics.median(least), 3),
        },
    )


#: The outbox's bookkeeping by hand (sqlite3, no SQLAlchemy, no Python per row): what the
#: catalog itself must do for an in-app campaign, whatever the engine around it.
_FILL = (
    "INSERT INTO breach_outbox (campaign_id, incident_id, channel, recipient, idempotency_key,"
    " region, tenant, user_ref, email, language, state, attempts)"
    " SELECT ?, incident_id, 'inapp', tenant || '/' || user_ref,"
    " incident_id || ':inapp:' || tenant || '/' || user_ref, region, tenant, user_ref, NULL,"
    " language, 'pending', 0 FROM incident_scope WHERE incident_id = ?"
    " ORDER BY tenant, user_ref ON CONFLICT (idempotency_key) DO NOTHING"
)
_READ = (
    "SELECT id, tenant, user_ref, language, attempts FROM breach_outbox WHERE incident_id = ?"
    " AND channel = 'inapp' AND state = 'pending' AND id > ? ORDER BY id LIMIT 1000"
)
_MARK = (
    "UPDATE breach_outbox SET state = 'sent', attempts = attempts + 1, reason = NULL,"
    " last_attempt_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending'"
)


def outbox_bookkeeping(path: Path, made: Campaign) -> None:
    """Fill (one durable commit), then per page of 1,000: read, and mark sent in a commit at
    ``synchronous = NORMAL``, as the engine's relaxed marks."""
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(_FILL, (made.id, made.incident_id))
        raw.execute("COMMIT")
        raw.execute("PRAGMA synchronous = NORMAL")
        after = 0
        while rows := raw.execute(_READ, (made.incident_id, after)).fetchall():
            after = rows[-1][0]
            raw.execute("BEGIN IMMEDIATE")
            ids = json.dumps([r[0] for r in rows])
            raw.execute(_MARK, ("2027-03-01T09:30:00.000000Z", ids))
            raw.execute("COMMIT")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("email", "inapp"))
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        bench = bench_email if args.which == "email" else bench_inapp
        found = bench(args, Path(tmp))
    print(json.dumps(found), flush=True)
    if not args.no_record:
        record_result(found)
    return 0 if found["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
