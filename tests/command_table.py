"""Every command of the command line with arguments that work on a sandbox from ``sandbox
init``, to run each command in turn (tests/test_cli_every_command.py).

A command missing here fails ``test_the_table_names_every_command``: add it with values
that work, so that every command meets the checks made of all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import click

from aptien_ops.cli.main import cli

#: Each command's parameters (by their Click name) with a value that works; a flag is True.
VALID: dict[str, dict[str, str | bool]] = {
    "sandbox init": {"path": "{tmp}/another-sandbox"},
    # A server runs until it is stopped: here a port it refuses at once (exit 2), so that the
    # walk goes on; tests/test_sandbox_billing.py runs it for real.
    "sandbox billing-server": {"port": "0"},
    "sandbox seed": {"tenants": "1", "users": "2", "events": "4", "logins": "4", "seed": "9"},
    "region list": {},
    "region resolve": {"country": "DE"},
    "tenant list": {"region": "eu", "tenant_state": "active"},
    "tenant show": {"name": "acme-gmbh"},
    "tenant provision": {"name": "new-client", "country": "DE", "region": "eu"},
    "tenant suspend": {"name": "nordlicht-as", "reason": "unpaid invoice"},
    "tenant resume": {"name": "nordlicht-as"},
    "tenant cancel": {"name": "lagos-fintech", "retain_days": "30"},
    "tenant purge": {"name": "lagos-fintech"},
    "tenant reinstate": {"name": "lagos-fintech"},
    "tenant history": {"name": "lagos-fintech"},
    "tenant update": {"name": "acme-gmbh", "company": "ACME GmbH", "contact_phone": "+49 30 1"},
    "fleet check": {},
    "fleet migrate": {"region": "eu", "parallel": "1"},
    "operator whoami": {},
    "operator list": {},
    "operator add": {"user": "newbie", "roles": "viewer"},
    "operator grant": {"user": "vic", "role": "operator"},
    "operator revoke": {"user": "olga", "role": "operator"},
    "operator sessions": {"ended": True},
    "approval list": {"wanted": "pending"},
    "approval approve": {"approval_id": "1"},
    "approval reject": {"approval_id": "1", "reason": "not agreed"},
    "ops-log list": {"limit": "5"},
    "ops-log verify": {},
    "policy show": {},
    "policy set": {"key": "approval_lifetime_hours", "value": "12"},
    "keys init": {"region": "eu"},
    "tui": {},
    "doctor": {},
    "inspect logins": {"name": "acme-gmbh", "failed": True},
    "inspect audit": {"name": "acme-gmbh", "since": "7d"},
    "inspect user": {"email": "goran.okafor@acme-gmbh.example"},
    "inspect summary": {"name": "acme-gmbh"},
    "inspect export": {
        "name": "acme-gmbh",
        "kind": "logins",
        "fmt": "jsonl",
        "output": "{tmp}/export.jsonl",
        "reason": "SEC-42",
    },
    "backup run": {"names": "acme-gmbh"},
    "backup list": {"name": "acme-gmbh"},
    "backup reconcile": {"region": "eu"},
    "backup due": {"region": "eu"},
    "backup verify": {"backup_id": "bk-20250101T020000Z-1a2b3c", "level": "quick"},
    "backup prune": {"dry_run": True},
    "backup restore": {"backup_id": "bk-20250101T020000Z-1a2b3c", "to": "acme-gmbh"},
    "partner list": {"region": "eu", "country": "DE", "status": "active", "expiring_within": "30"},
    "partner show": {"name": "nordic-sales"},
    "partner add": {
        "name": "nordic-sales",
        "legal_name": "Nordic Sales AB",
        "kinds": "sales",
        "coverage": "DE,eu",
        "expertise": "gdpr",
        "contact_name": "Ola Nordmann",
        "contact_email": "ola@nordic.example",
        "contact_phone": "+47 22 00 00 00",
    },
    "partner update": {"name": "nordic-sales", "legal_name": "Nordic Sales ASA"},
    "partner end": {"name": "nordic-sales", "reason": "terminated"},
    "partner agreement add": {
        "name": "nordic-sales",
        "reference": "PA-1",
        "signed_on": "2020-01-01",
        "effective_from": "2020-01-01",
        "expires_on": "2099-12-31",
        "document": "{tmp}/sbx/ops.toml",
    },
    "partner agreement end": {"name": "nordic-sales", "reference": "PA-1", "reason": "over"},
    "partner review": {"name": "nordic-sales", "outcome": "pass", "notes": "fine"},
    "partner check": {"within": "30"},
    "partner assign": {
        "name": "nordic-sales",
        "tenant": "acme-gmbh",
        "role": "sales",
        "reason": "new client",
    },
    "partner unassign": {"name": "nordic-sales", "tenant": "acme-gmbh", "reason": "moved"},
    "partner assignments": {"tenant": "acme-gmbh"},
    "partner share-contacts": {"tenant": "acme-gmbh", "name": "nordic-sales", "reason": "intro"},
    "partner shares": {"tenant": "acme-gmbh"},
    "partner publish": {"fmt": "json", "output": "{tmp}/partners.json"},
    "partner import": {"file": "{tmp}/sbx/ops.toml", "dry_run": True},
    "breach open": {
        "title": "Backup bucket readable",
        "nature": "confidentiality",
        "aware_at": "2026-01-05T09:30+01:00",
        "severity": "high",
        "data_categories": "e-mail,names",
        "approx_people": "40",
    },
    "breach show": {"incident_id": "INC-2026-0001"},
    "breach list": {"status": "open"},
    "breach update": {"incident_id": "INC-2026-0001", "risk_to_people": "high"},
    "breach timeline add": {"incident_id": "INC-2026-0001", "text": "bucket closed"},
    "breach close": {"incident_id": "INC-2026-0001", "reason": "reported"},
    "breach report": {
        "incident_id": "INC-2026-0001",
        "phase": "initial",
        "fmt": "md",
        "output": "{tmp}/report.md",
        "reference": "DPA-2026-17",
        "delay_reasons": "found late",
    },
    "breach scope": {
        "incident_id": "INC-2026-0001",
        "tenants": "acme-gmbh",
        "window": "2026-01-01T00:00Z..2026-01-05T00:00Z",
        "logged_in": True,
    },
    "breach check": {},
    "breach notify": {"incident_id": "INC-2026-0001", "channels": "email", "dry_run": True},
    "breach deliveries": {"incident_id": "INC-2026-0001"},
    "breach exempt": {"incident_id": "INC-2026-0001", "reason": "the disk was encrypted"},
    # Not connected in a sandbox without [billing]: link answers exit 6, unlink 3 (not linked).
    "billing link": {"tenant": "acme-gmbh", "customer_id": "cus_Acme1"},
    "billing unlink": {"tenant": "acme-gmbh"},
    "billing status": {"tenant": "acme-gmbh", "licence": "none"},
    "billing sync": {"full": True},
    "billing notify": {"dry_run": True},
    "billing ingest-webhook": {"signature": "t=1,v1=00", "file": "{tmp}/sbx/ops.toml"},
    "notice draft": {
        "kind": "maintenance",
        "title": "Database upgrade",
        "body": "A short read-only window.",
        "clusters": "eu-sandbox-1",
        "audience": "representatives",
    },
    "notice list": {"everything": True},
    "notice show": {"notice_id": "NTC-2026-0001"},
    "notice edit": {"notice_id": "NTC-2026-0001", "title": "Database upgrade, an hour later"},
    "notice resolve": {"notice_id": "NTC-2026-0001", "text": "done"},
    "notice cancel": {"notice_id": "NTC-2026-0001", "reason": "drafted in error"},
    "notice send": {"notice_id": "NTC-2026-0001", "channels": "email", "dry_run": True},
    "notice update": {"notice_id": "NTC-2026-0001", "status": "resolved", "text": "done"},
    "notice deliveries": {"notice_id": "NTC-2026-0001"},
    "notice publish": {},
    # The job queue is a PostgreSQL catalog's: on a sandbox's SQLite they answer exit 2
    # (tests/test_jobs.py runs them on the suite's PostgreSQL).
    "jobs list": {"job_state": "failed", "region": "eu"},
    "jobs show": {"job_id": "1"},
    "jobs retry": {"job_id": "1"},
    "jobs cancel": {"job_id": "1"},
    "jobs prune": {"days": "7", "region": "eu"},
    "worker": {"region": "eu", "concurrency": "1", "queues": "backup", "until_idle": True},
}
#: Who runs each group's commands: inspection needs the security colleague, the rest an admin.
OPERATOR = {"inspect": "sam", "partner": "pat", "breach": "sam", "billing": "bill"}


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[str]:
    """The path of every command (``tenant provision``), in the order Click lists them."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name))


def command(path: str) -> click.Command:
    found: click.Command = cli
    for name in path.split():
        assert isinstance(found, click.Group)
        found = found.commands[name]
    return found


def argv(path: str, tmp: Path, changed: Mapping[str, str | bool] | None = None) -> list[str]:
    """The command line of ``path`` with its :data:`VALID` values, some ``changed``."""
    values = {**VALID[path], **(changed or {})}
    line = path.split()
    for param in command(path).params:
        value = values.get(param.name or "")
        if value is None or value is False:
            continue
        if isinstance(param, click.Option):
            line.append(param.opts[0])
            if value is True:
                continue
        line.append(str(value).replace("{tmp}", str(tmp)))
    return line


def operator(path: str) -> str | None:
    return OPERATOR.get(path.split()[0])
