"""Operational notices: ``notice send`` to N representatives (10,000) against the bare
``smtplib`` loop of the breach benchmark (``bench/notify.py``), side by side in one run.

Target (issue 15): ≤ 1.5×. Ours is the whole use case on a SQLite sandbox catalog holding N
active tenants, each with a representative's e-mail: ``OpNoticeSending.send(ID, ["email"])``
reads the stored scope and the tenants, records the delivery and its campaign, fills the
outbox, and the engine sends every message over one connection, each row marked sent. Each
round sends a notice of its own, drafted beforehand (untimed). The floor sends the same
rendered messages through one ``smtplib`` connection, no outbox. The aiosmtpd server runs in
a process of its own (``notify.SERVER``).

    .venv/bin/python bench/notice_send.py [--representatives 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
import tempfile
from pathlib import Path

from harness import BenchError, log
from notify import result, run_rounds, start_sink

from aptien_ops.backends.notify_mail import build_message
from aptien_ops.composition import open_console
from aptien_ops.domain import Tenant, TenantState, utcnow
from aptien_ops.domain.notices import Recipient
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.notify_engine import compose_mail
from aptien_ops.services.op_notice_send import OpNoticeSending
from aptien_ops.services.op_notices import NoticeDraft

TARGET = 1.5
SENDER = "ops@aptien.example"


def point_mail_at(config: Path, port: int) -> None:
    head, tail = config.read_text().split("[notifications.email]")
    email = f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    tail = tail[tail.index("from_address") :]
    config.write_text(f"{head}[notifications.email]\n{email}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--representatives", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    server, port = start_sink()
    assert server.stdin is not None
    try:
        with tempfile.TemporaryDirectory(prefix="aptien-bench-") as tmp:
            config, _ = write_sandbox_config(Path(tmp) / "sandbox")
            point_mail_at(config, port)
            console = open_console(config)
            now = utcnow()
            with console.ctx.catalog.transaction() as tx:
                for i in range(args.representatives):
                    name = f"client-{i:05d}"
                    tx.tenants.insert(
                        Tenant(name, "DE", "eu", "eu-sandbox-1", TenantState.ACTIVE, None,
                               f"ops@{name}.example", now, now)
                    )  # fmt: skip
            ids = [
                console.op_notices.draft(
                    NoticeDraft("maintenance", "Database upgrade", "Read-only for an hour.",
                                everything=True)
                ).id
                for _ in range(args.rounds + 1)
            ]  # fmt: skip
            log(f"{args.representatives} tenants, {len(ids)} notices drafted")
            sending: OpNoticeSending = console.op_notice_sending

            def ours(i: int) -> None:
                sent = sending.send(ids[i], ["email"])
                counts = sent.delivery.channels if sent.delivery else ()
                if [c.sent for c in counts] != [args.representatives]:
                    raise BenchError(f"sent {[c.sent for c in counts]}")

            with console.ctx.catalog.read() as tx:
                notice = tx.op_notices.get(ids[0])
            assert notice is not None
            content = OpNoticeSending.content(notice, "NOT-0123456789abcdef", notice.status, "")
            mails = [
                compose_mail(
                    content,
                    Recipient(
                        f"client-{i:05d}",
                        "eu",
                        "representative",
                        f"ops@client-{i:05d}.example",
                        None,
                    ),
                    SENDER,
                )  # fmt: skip
                for i in range(args.representatives)
            ]

            def floor(i: int) -> None:
                smtp = smtplib.SMTP("127.0.0.1", port)
                for m in mails:
                    smtp.send_message(build_message(m), from_addr=m.sender, to_addrs=[m.to])
                smtp.quit()

            times = run_rounds(args.rounds, ours, floor, lambda: None)
            console.close()
    finally:
        server.stdin.write("\n")
        server.stdin.flush()
        server.wait()
    outcome = result(
        f"notice send e-mail, {args.representatives} representatives vs bare smtplib loop",
        times,
        TARGET,
        args.rounds,
        {"representatives": args.representatives},
    )
    print(json.dumps(outcome))
    return 0 if outcome["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
