"""Incidents on both catalogs: the 72-hour clock to the second, times typed with their offsets
and stored in UTC, who may open, edit and see them, and the record's rules (nothing changes
when one is broken)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from incident_world import START, IncidentWorld

from aptien_ops.domain.incident_input import parse_moment
from aptien_ops.domain.incidents import IncidentStatus, TimelineKind
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.services.incidents import IncidentInput, IncidentUpdate


@pytest.fixture
def world(catalog_config: Path) -> Iterator[IncidentWorld]:
    w = IncidentWorld(catalog_config)
    yield w
    w.close()


def test_an_incident_gets_a_yearly_id_and_a_deadline_72_hours_after_awareness(
    world: IncidentWorld,
) -> None:
    aware = START - timedelta(hours=5)
    first = world.incident(aware_at=aware, severity="high", data_categories=("e-mail, names",))
    second = world.incident("Laptop lost")
    assert (first.id, second.id) == ("INC-2027-0001", "INC-2027-0002")
    shown = world.as_("ada").incidents.show(first.id)
    assert shown.incident.aware_at == aware
    assert shown.incident.deadline_at == aware + timedelta(hours=72)
    assert shown.incident.data_categories == ("e-mail", "names")
    assert shown.incident.status == IncidentStatus.OPEN
    assert [(e.kind, e.operator) for e in shown.timeline] == [(TimelineKind.OPENED, "sam")]
    assert shown.countdown.left == timedelta(hours=67)


def test_the_clock_is_urgent_under_24_hours_and_overdue_only_past_72(
    world: IncidentWorld,
) -> None:
    opened = world.incident()
    deadline = START + timedelta(hours=72)

    def clock_at(moment: datetime) -> tuple[bool, bool]:
        world.now = moment
        [row] = world.as_("ada").incidents.list()
        return row.countdown.urgent, row.countdown.overdue

    second = timedelta(seconds=1)
    assert clock_at(deadline - timedelta(hours=24)) == (False, False)  # 24 h left: not yet
    assert clock_at(deadline - timedelta(hours=24) + second) == (True, False)
    assert clock_at(deadline) == (True, False)  # the 72nd hour itself is still in time
    assert clock_at(deadline + timedelta(microseconds=1)) == (False, True)
    check = world.as_("ada").incidents.check()
    assert [r.id for r in check.overdue] == [opened.id] and check.urgent == ()
    world.now = deadline - second
    assert [r.id for r in world.as_("ada").incidents.check().urgent] == [opened.id]
    assert world.as_("ada").incidents.check().overdue == ()


def test_times_typed_with_offsets_are_stored_and_shown_in_utc(world: IncidentWorld) -> None:
    india = parse_moment("2027-03-01T01:30+05:30", "--aware-at")
    assert india == datetime(2027, 2, 28, 20, 0, tzinfo=UTC)
    opened = world.incident(
        aware_at=india,
        happened_from=parse_moment("2027-02-28T12:00-08:00", "--happened-from"),
    )
    shown = world.as_("ada").incidents.show(opened.id)
    assert shown.incident.happened_from == datetime(2027, 2, 28, 20, 0, tzinfo=UTC)
    assert shown.incident.as_json()["deadline_at"] == "2027-03-03T20:00:00Z"
    assert shown.incident.aware_at.utcoffset() == timedelta(0)
    # An aware datetime in any zone is the same moment, and the deadline follows it.
    berlin = datetime(2027, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    moved = world.sam.incidents.update(opened.id, IncidentUpdate(aware_at=berlin))
    assert moved.incident.deadline_at == datetime(2027, 3, 4, 9, 0, tzinfo=UTC)
    for naive in ("2027-03-01T10:00", "2027-03-01", "soon"):
        with pytest.raises(InvalidInput):
            parse_moment(naive, "--aware-at")


def test_security_opens_and_edits_security_and_admins_see_the_rest_are_refused(
    world: IncidentWorld,
) -> None:
    opened = world.incident()
    assert world.as_("ada").incidents.show(opened.id).id == opened.id
    for name in ("vic", "olga", "pat", "bill"):
        with pytest.raises(Forbidden):
            world.as_(name).incidents.list()
    with pytest.raises(Forbidden):
        world.as_("ada").incidents.open(IncidentInput("x", "integrity", START))
    with pytest.raises(Forbidden):
        world.as_("ada").incidents.update(opened.id, IncidentUpdate(severity="low"))
    with pytest.raises(Forbidden):
        world.as_("ada").incidents.timeline_add(opened.id, "looked")
    assert [r.id for r in world.as_("sam").incidents.list()] == [opened.id]


def test_assessing_the_risk_moves_it_to_assessed_and_the_timeline_says_what_changed(
    world: IncidentWorld,
) -> None:
    opened = world.incident()
    world.later(hours=2)
    change = IncidentUpdate(
        risk_to_people="high", risk_rationale="e-mails exposed", approx_people=40
    )
    updated = world.sam.incidents.update(opened.id, change)
    assert updated.incident.status == IncidentStatus.ASSESSED
    assert (updated.incident.approx_people, updated.incident.updated_at) == (40, world.now)
    note = world.sam.incidents.timeline_add(opened.id, "bucket closed", START + timedelta(hours=1))
    assert note.at == START + timedelta(hours=1)
    timeline = world.sam.incidents.show(opened.id).timeline
    assert [e.kind for e in timeline] == [
        TimelineKind.OPENED,
        TimelineKind.NOTE,  # dated when it happened, between the two
        TimelineKind.UPDATED,
    ]
    assert timeline[2].text == "changed: approx people, risk rationale, risk to people"


def test_bad_input_is_refused_before_anything_is_written(world: IncidentWorld) -> None:
    opened = world.incident()
    future = START + timedelta(hours=1)
    cases = [
        lambda: world.incident(aware_at=future),
        lambda: world.incident(
            happened_from=START - timedelta(hours=1), happened_to=START - timedelta(hours=2)
        ),
        lambda: world.incident(
            happened_from=START + timedelta(minutes=30) - timedelta(hours=1),
            aware_at=START - timedelta(hours=1),
        ),
        lambda: world.incident(title="   "),
        lambda: world.incident(approx_people=-1),
        lambda: world.sam.incidents.open(IncidentInput("x", "leak", START)),
        lambda: world.sam.incidents.update(opened.id, IncidentUpdate()),
        lambda: world.sam.incidents.update(opened.id, IncidentUpdate(status="reported")),
        lambda: world.sam.incidents.update(opened.id, IncidentUpdate(consequences="x" * 4001)),
        lambda: world.sam.incidents.timeline_add(opened.id, "later", future),
        lambda: world.sam.incidents.show("INC-1"),
    ]
    before = world.sam.incidents.show(opened.id)
    for case in cases:
        with pytest.raises(InvalidInput):
            case()
    assert world.sam.incidents.show(opened.id) == before
    assert [r.id for r in world.sam.incidents.list(everything=True)] == [opened.id]
    with pytest.raises(NotFound):
        world.sam.incidents.show("INC-2027-0404")


def test_closing_needs_a_report_unless_the_risk_is_unlikely_and_a_closed_one_stays_closed(
    world: IncidentWorld,
) -> None:
    opened = world.incident()
    with pytest.raises(Conflict, match="not been reported"):
        world.sam.incidents.close_incident(opened.id, "done")
    world.sam.incidents.update(
        opened.id, IncidentUpdate(risk_to_people="unlikely", risk_rationale="data encrypted")
    )
    closed = world.sam.incidents.close_incident(opened.id, "no risk to people")
    assert closed.incident.status == IncidentStatus.CLOSED
    assert closed.timeline[-1].kind == TimelineKind.CLOSED
    assert not closed.countdown.running and not closed.countdown.overdue
    assert world.sam.incidents.list() == []
    assert [r.id for r in world.sam.incidents.list(everything=True)] == [opened.id]
    assert [r.id for r in world.sam.incidents.list(status="closed")] == [opened.id]
    for change in (
        lambda: world.sam.incidents.update(opened.id, IncidentUpdate(severity="low")),
        lambda: world.sam.incidents.timeline_add(opened.id, "after"),
        lambda: world.sam.incidents.close_incident(opened.id, "again"),
    ):
        with pytest.raises(Conflict):
            change()
    world.later(hours=100)
    assert world.as_("ada").incidents.check().overdue == ()
