"""Reports to the supervisory authority on both catalogs: what a report says (Art. 33(3) a–d,
the timeline, the phase and the earlier phases), the clock it stops, the delay reasons a late
one must carry, hostile text kept as text in every format, and files written whole, never
over another."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from incident_world import START, IncidentWorld

from aptien_ops.domain.incidents import IncidentStatus, Phase
from aptien_ops.errors import Conflict, InvalidInput

HOSTILE = '<script>alert("x")</script> [click](http://evil.example) **bold** & co'


@pytest.fixture
def world(catalog_config: Path) -> Iterator[IncidentWorld]:
    w = IncidentWorld(catalog_config)
    yield w
    w.close()


def _full(world: IncidentWorld, title: str = "Backup bucket readable") -> str:
    return world.incident(
        title,
        severity="high",
        risk_to_people="high",
        risk_rationale="addresses exposed",
        data_categories=("e-mail addresses", "names"),
        subject_categories=("employees of clients",),
        approx_people=1200,
        approx_records=3400,
        consequences="phishing aimed at the people",
        measures_taken="bucket closed, keys rotated",
        measures_proposed="scan every bucket daily",
        dpo_contact="dpo@aptien.example, +420 222 000 111",
    ).id


def test_an_initial_report_says_what_article_33_asks_and_stops_the_clock(
    world: IncidentWorld, tmp_path: Path
) -> None:
    incident = _full(world)
    world.sam.incidents.timeline_add(incident, "bucket closed", START)
    world.later(hours=30)
    done = world.sam.incidents.report(
        incident, "initial", "md", tmp_path / "r.md", reference="DPA-17"
    )
    data = (tmp_path / "r.md").read_bytes()
    assert done.report.sha256 == hashlib.sha256(data).hexdigest() and not done.late
    text = data.decode()
    for said in (
        "INC-2027-0001",
        "initial report",
        "confidentiality",
        "e-mail addresses, names",
        "employees of clients",
        "1200",
        "3400",
        "dpo@aptien.example",
        "phishing aimed at the people",
        "keys rotated",
        "scan every bucket daily",
        "bucket closed",
        "None: this is the first report.",
    ):
        assert said in text, said
    shown = world.as_("ada").incidents.show(incident)
    assert shown.incident.status == IncidentStatus.REPORTED
    assert [(r.phase, r.reference, r.sha256) for r in shown.reports] == [
        (Phase.INITIAL, "DPA-17", done.report.sha256)
    ]
    assert shown.timeline[-1].text == "initial report (md) to the authority, ref. DPA-17"
    world.later(hours=100)  # long past 72 hours: the clock stopped at the report
    assert world.as_("ada").incidents.check().running == ()
    [row] = world.as_("ada").incidents.list()
    assert row.countdown.text == "reported in time" and not row.countdown.overdue
    assert world.sam.incidents.close_incident(incident, "done").incident.status == "closed"


def test_a_late_first_report_must_give_the_reasons_for_the_delay(
    world: IncidentWorld, tmp_path: Path
) -> None:
    incident = _full(world)
    world.later(hours=72, seconds=1)
    with pytest.raises(InvalidInput, match="after its 72 hours"):
        world.sam.incidents.report(incident, "initial", "html", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
    assert world.sam.incidents.show(incident).reports == ()
    done = world.sam.incidents.report(
        incident, "initial", "html", tmp_path / "r.html", delay_reasons="found over a weekend"
    )
    assert done.late
    assert "found over a weekend" in (tmp_path / "r.html").read_text()
    shown = world.sam.incidents.show(incident)
    assert shown.incident.delay_reasons == "found over a weekend" and shown.countdown.late
    assert shown.countdown.text == "reported 0h 00m late"


def test_phases_come_in_order_and_each_names_the_earlier_ones(
    world: IncidentWorld, tmp_path: Path
) -> None:
    incident = _full(world)
    report = world.sam.incidents.report
    with pytest.raises(Conflict, match="no initial report"):
        report(incident, "follow-up", "json", tmp_path / "f.json")
    first = report(incident, "initial", "json", tmp_path / "i.json")
    with pytest.raises(Conflict, match="initial report already"):
        report(incident, "initial", "json", tmp_path / "i2.json")
    world.later(hours=2)
    report(incident, "follow-up", "json", tmp_path / "f.json", reference="DPA-17")
    final = report(incident, "final", "json", tmp_path / "z.json")
    said = json.loads((tmp_path / "z.json").read_text())
    assert said["phase"] == "final"
    assert [(e["phase"], e["sha256"]) for e in said["earlier"]][0] == (
        "initial",
        first.report.sha256,
    )
    assert [e["reference"] for e in said["earlier"]] == [None, "DPA-17"]
    assert final.report.sha256 == hashlib.sha256((tmp_path / "z.json").read_bytes()).hexdigest()
    with pytest.raises(Conflict, match="final report already"):
        report(incident, "follow-up", "json", tmp_path / "late.json")


def test_a_hostile_title_is_text_in_every_format(world: IncidentWorld, tmp_path: Path) -> None:
    incident = _full(world, HOSTILE)
    world.sam.incidents.update(incident, _consequences(HOSTILE))
    report = world.sam.incidents.report
    report(incident, "initial", "html", tmp_path / "r.html")
    report(incident, "follow-up", "md", tmp_path / "r.md")
    report(incident, "follow-up", "json", tmp_path / "r.json")
    html = (tmp_path / "r.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    md = (tmp_path / "r.md").read_text()
    assert "<script>" not in md and "](http" not in md and "**bold**" not in md
    assert "&lt;script&gt;" in md and r"\[click\]\(http://evil.example\)" in md
    assert json.loads((tmp_path / "r.json").read_text())["title"] == HOSTILE


def test_a_report_never_overwrites_a_file_and_a_refused_one_records_nothing(
    world: IncidentWorld, tmp_path: Path
) -> None:
    incident = _full(world)
    out = tmp_path / "out"
    out.mkdir()
    taken = out / "taken.md"
    taken.write_text("the authority's copy")
    for output, error in (
        (taken, Conflict),
        (out / "no-such-dir" / "r.md", InvalidInput),
    ):
        with pytest.raises(error):
            world.sam.incidents.report(incident, "initial", "md", output)
    with pytest.raises(InvalidInput):
        world.sam.incidents.report(incident, "initial", "pdf", out / "r.pdf")
    assert taken.read_text() == "the authority's copy"
    assert world.sam.incidents.show(incident).incident.status == IncidentStatus.OPEN
    assert sorted(p.name for p in out.iterdir()) == ["taken.md"]


def _consequences(text: str) -> object:
    from aptien_ops.services.incidents import IncidentUpdate

    return IncidentUpdate(consequences=text, happened_from=START - timedelta(days=1))
