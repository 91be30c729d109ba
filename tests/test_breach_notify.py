"""``breach notify`` end to end: four-eyes bound to the notice texts and the recipient
snapshot (the same operator, a changed text after the request, a viewer: refused), then the
campaign delivered into the sandbox's Maildir and website once, whatever reruns; deliveries
per channel; Art. 34(3) exemptions in the authority report."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from incident_world import IncidentWorld, plant_scope

from aptien_ops.config import load_settings
from aptien_ops.domain.incidents import Recipient
from aptien_ops.errors import Conflict, Forbidden, PendingApproval
from aptien_ops.services.incidents import IncidentUpdate

ID = "INC-2027-0001"


@pytest.fixture
def world(catalog_config: Path) -> Iterator[IncidentWorld]:
    w = IncidentWorld(catalog_config)
    yield w
    w.close()


def _incident(world: IncidentWorld) -> list[Recipient]:
    detail = world.incident(
        "Backup bucket readable",
        consequences="Names and e-mail addresses may be known to others.",
        measures_taken="The bucket was closed.",
        dpo_contact="dpo@aptien.example",
        data_categories=("contact data",),
    )
    assert detail.id == ID
    return plant_scope(world.sam, ID, world.now)


def _mails(world: IncidentWorld) -> list[str]:
    box = load_settings(world.config).notifications.email.maildir
    assert box is not None
    if not box.exists():
        return []
    return sorted(str(m["To"]) for m in mailbox.Maildir(str(box)))


def test_a_campaign_needs_a_second_operator_and_then_goes_out_once(world: IncidentWorld) -> None:
    _incident(world)
    assert not world.sam.notices.plan(ID, "email,website").approved
    with pytest.raises(PendingApproval) as requested:
        world.sam.notices.notify(ID, "email,website")
    request = requested.value.approval_id
    assert not world.sam.notices.plan(ID, "email,website").approved  # requested, not approved
    with pytest.raises(Forbidden, match="own request"):
        world.sam.approvals.approve(request)
    with pytest.raises(Forbidden):
        world.as_("vic").approvals.approve(request)
    assert _mails(world) == []
    world.as_("ada").approvals.approve(request)  # a different admin (or security) approves
    plan = world.sam.notices.plan(ID, "email")  # what the TUI asks before it sends
    assert plan.approved and set(plan.approved_channels) == {"email", "website"}
    assert not world.sam.notices.plan(ID, "email,inapp").approved  # inapp: a new request
    seen: list[tuple[str, int, int]] = []
    for _ in range(2):  # the rerun finds nothing pending
        result = world.sam.notices.notify(ID, "email,website", progress=lambda *s: seen.append(s))
    assert {c.channel: c.as_json() for c in result.channels} == {
        "email": {"sent": 3, "pending": 0, "failed": 0},
        "website": {"sent": 2, "pending": 0, "failed": 0},
    }
    assert _mails(world) == ["ann@acme.example", "bob@acme.example", "cy@globex.example"]
    assert seen[-1] == ("email", 3, 3)
    site = load_settings(world.config).notifications.website.dir
    assert sorted(p.name for p in site.iterdir()) == ["eu", "us"]
    assert world.sam.incidents.show(ID).incident.status == "notifying"
    shown = world.as_("ada").notices.deliveries(ID)
    assert shown == result


def test_a_text_changed_after_the_request_voids_the_approval(world: IncidentWorld) -> None:
    _incident(world)
    with pytest.raises(PendingApproval) as requested:
        world.sam.notices.notify(ID, "email")
    world.sam.incidents.update(ID, IncidentUpdate(consequences="Worse than we thought."))
    with pytest.raises(Conflict, match="texts of INC-2027-0001 changed"):
        world.as_("ada").approvals.approve(requested.value.approval_id)
    with pytest.raises(PendingApproval):  # nothing was approved: it asks again
        world.sam.notices.notify(ID, "email")
    assert _mails(world) == []


def test_a_viewer_may_not_notify_and_an_exemption_reaches_the_report(
    world: IncidentWorld,
) -> None:
    _incident(world)
    with pytest.raises(Forbidden):
        world.as_("vic").notices.notify(ID, "email")
    world.sam.notices.exempt(ID, "the disk was encrypted with AES-256; the key was not taken")
    report = world.config.parent / "report.json"
    world.sam.incidents.report(ID, "initial", "json", report)
    assert "the key was not taken" in report.read_text()
    assert [e.ground for e in world.as_("ada").notices.deliveries(ID).exemptions] == [
        "unintelligible"
    ]
