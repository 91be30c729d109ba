"""A notice campaign in a process of its own, for the tests that kill it (``kill -9``).

    python notify_driver.py CATALOG_URL SMTP_PORT RECIPIENTS_JSON [PAUSE]

Fills the outbox from the recipients (a rerun adds nothing), then delivers by e-mail through
the SMTP server on loopback, printing ``filled`` and ``email N/T`` after each committed step.
PAUSE stops the process where a test kills it: ``filled`` (before any message), ``sent:N``
(after the N-th row was marked sent) or ``accepted:N`` (after the server accepted the N-th
message of this run and before its row is marked: the one window no protocol closes). A paused
process prints ``paused`` and waits on its stdin.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from aptien_ops.backends.notify_mail import SmtpTransport
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.config import CatalogSettings, EmailSettings
from aptien_ops.domain.notices import Campaign, Mail, Recipient
from aptien_ops.services.notify_engine import Channels, Engine

from notice_samples import NOW, start_campaign

_SAYING = threading.Lock()


def say(line: str) -> None:
    """One whole line on stdout: the in-app engine's writer thread may pause while the main
    thread reports progress, and ``print`` writes the newline apart from the text."""
    with _SAYING:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def pause() -> None:
    say("paused")
    sys.stdin.readline()
    sys.exit(3)


class Pausing(SmtpTransport):
    def __init__(self, settings: EmailSettings, at: int | None) -> None:
        super().__init__(settings)
        self.at, self.count = at, 0

    def send(self, mail: Mail) -> None:
        super().send(mail)
        self.count += 1
        if self.count == self.at:
            pause()


def deliver(catalog: SqlCatalog, campaign: Campaign, channels: Channels, sent: int | None) -> None:
    """Run the engine, printing its progress, pausing once ``sent`` rows or more are marked
    sent; prints ``done`` and the counts at the end."""

    def progress(channel: str, done: int, total: int) -> None:
        say(f"{channel} {done}/{total}")
        if sent is not None and done >= sent:
            pause()

    counts = Engine(
        catalog, campaign, channels, now=lambda: NOW, sleep=lambda s: None, progress=progress
    ).run()
    say("done " + json.dumps({c.channel: c.as_json() for c in counts}))


def main() -> None:
    url, port, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    where = sys.argv[4] if len(sys.argv) > 4 else ""
    recipients = [Recipient(**r) for r in json.loads(path.read_text())]
    catalog = SqlCatalog(CatalogSettings(url=url))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("email",), recipients)
    say("filled")
    if where == "filled":
        pause()
    kind, _, n = where.partition(":")
    settings = EmailSettings(transport="smtp", host="127.0.0.1", port=port, security="none")

    transport = Pausing(settings, int(n) if kind == "accepted" else None)
    channels = Channels(mail=transport, max_attempts=3)
    deliver(catalog, campaign, channels, int(n) if kind == "sent" else None)


if __name__ == "__main__":
    main()
