"""Sharing a client's contact card with its assigned partner: the card and nothing else, only
while the assignment holds, and recorded (who, partner, tenant, reason) without the card."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from partner_world import PartnerWorld

from aptien_ops.config import load_settings
from aptien_ops.errors import Conflict

CANARY = "CANARY-7f3e-not-on-the-card"


@pytest.fixture
def world(catalog_config: Path) -> Iterator[PartnerWorld]:
    w = PartnerWorld(catalog_config)
    w.tenant(
        "acme-gmbh",
        company="ACME GmbH",
        contact_name="Anna Adler",
        contact_email="anna@acme.example",
        contact_phone="+49 30 1234567",
        backup_recipient=CANARY,  # a field of the tenant's record that is not on the card
        state_reason=CANARY,
    )
    w.partner(agreement=(date(2027, 1, 1), date(2027, 3, 31)))
    w.pat.partners.assign("nordic-sales", "acme-gmbh", "sales", "new client")
    yield w
    w.close()


def test_the_card_holds_company_name_email_phone_and_nothing_else(world: PartnerWorld) -> None:
    card = world.pat.partners.share_contacts("acme-gmbh", "nordic-sales", "intro call")
    assert card.as_json() == {
        "company": "ACME GmbH",
        "name": "Anna Adler",
        "email": "anna@acme.example",
        "phone": "+49 30 1234567",
    }
    [share] = world.as_("vic").partners.shares(tenant="acme-gmbh")
    assert (share.partner, share.shared_by, share.reason) == ("nordic-sales", "pat", "intro call")
    with world.pat.ctx.catalog.read() as tx:
        [entry] = [e for e in tx.opslog.entries() if e.action == "partner.share"]
    assert (entry.target, entry.outcome) == ("acme-gmbh", "ok")
    assert json.loads(entry.params) == {"partner": "nordic-sales", "reason": "intro call"}
    with world.pat.ctx.catalog.read() as tx:
        logged = json.dumps([e.params for e in tx.opslog.entries()])
    settings = load_settings(world.config)
    event_log = settings.logging.file.read_text(encoding="utf-8")
    for secret in ("Anna", "anna@acme", "+49 30 1234567", "ACME GmbH", CANARY):
        assert secret not in logged and secret not in event_log
        assert secret not in json.dumps([s.as_json() for s in world.pat.partners.shares()])
    assert CANARY not in json.dumps(card.as_json())


def test_no_card_for_a_partner_not_assigned_or_lapsed(world: PartnerWorld) -> None:
    world.partner("other-sales")
    with pytest.raises(Conflict, match=r"rule: assigned"):
        world.pat.partners.share_contacts("acme-gmbh", "other-sales", "intro")
    world.at(date(2027, 4, 1))
    with pytest.raises(Conflict, match=r"rule: agreement"):
        world.pat.partners.share_contacts("acme-gmbh", "nordic-sales", "intro")
    assert world.as_("vic").partners.shares() == []
    with world.pat.ctx.catalog.read() as tx:
        outcomes = [e.outcome for e in tx.opslog.entries() if e.action == "partner.share"]
    assert outcomes == ["failed:conflict", "failed:conflict"]
