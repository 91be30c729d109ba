"""Hostile text planted in every field a terminal shows that the console did not write itself
(SPEC §6, terminal safety): what a client, a stranger at a tenant's login page, another
operator, or whoever can write the catalog or an SSH client's environment could put there.

Each planted value carries every class of attack at once: OSC 52 (writes the operator's
clipboard), OSC 0 (retitles the window), a CSI (clears the screen), the same CSI as one C1
character, a right-to-left override, and Rich markup (colour and a link) that must show as
the characters typed.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Operator
from aptien_ops.domain.incidents import (
    REPORT_WITHIN,
    Incident,
    IncidentStatus,
    Nature,
    Risk,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from aptien_ops.domain.partners import (
    Agreement,
    AgreementStatus,
    Assignment,
    Coverage,
    Partner,
    PartnerKind,
    PartnerStatus,
    Review,
    ReviewOutcome,
    Share,
)
from aptien_ops.errors import PendingApproval
from aptien_ops.services.provisioning import ProvisionRequest

OSC52 = "\x1b]52;c;cHduZWQ=\x07"
OSC0 = "\x1b]0;pwned-title\x07"
CSI = "\x1b[2Jpwned-csi"
C1 = "\x9bpwned-c1"
RLO = "\u202epwned-rlo"
MARKUP = "[bold red]markup[/] [link=https://evil.example]link[/link]"

#: The planted sequences as they would appear in a terminal's byte stream if written raw.
SIGNATURES = (
    b"\x1b]52;",
    b"\x1b]0;pwned",
    b"\x1b[2Jpwned",
    "\x9b".encode(),
    "\u202e".encode(),
)

TENANT = "hostile-gmbh"
#: A user of the tenant with a valid address (Find user must find them), whose logins are not.
VICTIM = "victim@acme.example"


def hostile(field: str) -> str:
    """A value for ``field`` with every attack in it."""
    return f"{field}:{OSC52}{OSC0}{CSI}{C1}{RLO}{MARKUP}"


def escapes_in(text: str) -> list[str]:
    """Every character of ``text`` a terminal must not receive raw: controls but the line
    feed, invisible formatting (bidi, zero-width), separators and surrogates."""
    categories = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    return [c for c in text if c != "\n" and unicodedata.category(c) in categories]


def plant(config: Path) -> None:
    """Provision :data:`TENANT` on the sandbox of ``config`` and fill every untrusted field.

    The contact's name and e-mail, another operator's ``added_by`` and a request's target,
    parameters and requester are written into the catalog directly (as data that got there
    some other way); the state reason, a rejected request's reason and the SSH origin (in
    the ops log) go through the services, as an operator would put them there; logins, audit
    events and a user are written into the tenant's database as the platform writes them.
    """
    origin = hostile("ssh").replace(" ", "")  # one word of $SSH_CONNECTION
    env = {"APTIEN_OPS_OPERATOR": "ada", "SSH_CONNECTION": f"{origin} 50022 10.0.0.1 22"}
    ada = open_console(config, env=env)
    try:
        now = ada.ctx.now()
        ada.provisioning.provision(ProvisionRequest(TENANT, "DE"))
        _catalog_fields(ada, now)
        _partner_fields(ada, now)
        plant_incident(ada, now)
        ada.lifecycle.suspend(TENANT, hostile("reason"))
        try:
            ada.operators.grant("vic", "admin")
            raise AssertionError("granting admin should wait for a second admin")
        except PendingApproval as request:
            ada.approvals.reject(request.approval_id, hostile("rejection"))
        _platform_rows(ada, now)
    finally:
        ada.close()


def _catalog_fields(console: Console, now: datetime) -> None:
    with console.ctx.catalog.transaction() as tx:
        tenant = tx.tenants.get(TENANT)
        assert tenant is not None
        contact = dataclasses.replace(
            tenant,
            contact_name=hostile("contact"),
            contact_email=hostile("email"),
            contact_phone=hostile("phone"),
            company=hostile("company"),
        )
        tx.tenants.update(contact, by=hostile("changed-by")[:64])
        tx.operators.insert(Operator("mallory", frozenset({"viewer"}), hostile("added-by"), now))
        tx.approvals.insert(
            "tenant.purge",
            hostile("target"),
            {"before_retention_end": hostile("param")},
            hostile("requester"),
            now,
        )


#: The incident whose every text field is hostile (written as data that got there some other
#: way: the service would refuse the controls).
INCIDENT = "INC-2020-0001"


def plant_incident(console: Console, now: datetime) -> None:
    aware = now - timedelta(hours=30)
    with console.ctx.catalog.transaction() as tx:
        tx.incidents.insert(
            Incident(
                INCIDENT,
                hostile("incident-title"),
                Nature.CONFIDENTIALITY,
                None,
                None,
                aware,
                aware + REPORT_WITHIN,
                Severity.HIGH,
                Risk.RISK,
                hostile("rationale"),
                (hostile("category"),),
                (),
                None,
                None,
                hostile("consequences"),
                None,
                None,
                hostile("dpo"),
                IncidentStatus.ASSESSED,
                None,
                "sam",
                now,
                "sam",
                now,
            )
        )
        tx.incidents.add_timeline(
            TimelineEntry(0, INCIDENT, now, "sam", TimelineKind.NOTE, hostile("timeline"))
        )


#: The partner whose every text field is hostile (its name is a slug: the register refuses
#: anything else).
PARTNER = "hostile-partners"


def _partner_fields(console: Console, now: datetime) -> None:
    """A partner of the register with hostile text in every field a screen shows, an
    agreement, a review and an assignment to :data:`TENANT` whose texts are hostile too."""
    today = now.date()
    with console.ctx.catalog.transaction() as tx:
        tx.partners.insert(
            Partner(
                PARTNER,
                hostile("legal"),
                frozenset({PartnerKind.SALES}),
                (hostile("expertise"),),
                Coverage(frozenset({"DE"})),
                hostile("partner-contact"),
                hostile("partner-email"),
                hostile("phone"),
                PartnerStatus.ACTIVE,
                None,
                today + timedelta(days=200),
                now,
                hostile("created-by"),
                now,
                "ada",
            )
        )
        tx.partners.add_agreement(
            Agreement(
                0,
                PARTNER,
                hostile("agreement")[:80],
                today - timedelta(days=10),
                today - timedelta(days=10),
                None,
                None,
                AgreementStatus.ACTIVE,
                now,
                "ada",
            )
        )
        tx.partners.add_review(
            Review(
                0,
                PARTNER,
                today,
                ReviewOutcome.PASS,
                hostile("notes"),
                today + timedelta(days=200),
                hostile("reviewer"),
                now,
            )
        )
        tx.partner_assignments.insert(
            Assignment(0, PARTNER, TENANT, PartnerKind.SALES, hostile("assigned"), "ada", now)
        )
        tx.partner_assignments.add_share(Share(0, PARTNER, TENANT, hostile("shared"), "ada", now))


def _platform_rows(console: Console, now: datetime) -> None:
    """The victim's logins (the last successful one from a hostile address, the last attempt
    with a hostile result), a burst of failures from that address, and audit events whose
    every text is hostile, all in the last hour; SQLite tenants only."""
    tenant = console.tenants.show(TENANT)
    store = console.ctx.store(tenant.cluster or "")
    assert store.kind == "sqlite", "rows are written with SQLite's placeholders"
    ip, agent = hostile("ip"), hostile("agent")

    def at(minutes_ago: float) -> str:
        return (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    logins = [(at(50), VICTIM, ip, agent, "success", hostile("method"))]
    logins += [
        (at(40 - i / 10), hostile("user"), ip, agent, "failure:bad_password", "password")
        for i in range(25)
    ]
    logins.append((at(5), VICTIM, ip, agent, hostile("result"), "password"))
    audit = [
        (
            at(30),
            hostile("actor"),
            hostile("action"),
            hostile("datasheet"),
            hostile("record"),
            hostile("key"),
            128,
            b"sealed",
        ),
    ]
    with store.connect(TENANT) as conn:
        conn.execute(
            "INSERT INTO users (email, display_name, created_at, active, is_admin)"
            " VALUES (?, ?, ?, 1, 0)",
            (VICTIM, hostile("display"), at(600)),
        )
        conn.executemany(
            "INSERT INTO login_events (at, user_email, ip, user_agent, result, method)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            logins,
        )
        conn.executemany(
            "INSERT INTO audit_events (at, actor, action, datasheet, record_id, key_id,"
            " payload_size, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            audit,
        )
        conn.commit()
