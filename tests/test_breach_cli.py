"""``breach`` on the command line as cron and runbooks use it: times typed with offsets and
printed in UTC, the clock in ``list`` (flagged under 24 hours, OVERDUE past 72), ``check``
exiting 7 while an incident is overdue, JSON answers, and the documented exit codes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_cli


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    return catalog_config


def sam(config: Path, *args: str) -> Any:
    result = run_cli("--json", "breach", *args, config=config, operator="sam")
    assert result.code == 0, result.stderr
    return result.json()


def _ago(hours: float, offset: str = "+02:00") -> str:
    """A time ``hours`` before now, typed in a zone ``offset`` from UTC."""
    sign = 1 if offset[0] == "+" else -1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])) * sign
    moment = datetime.now(UTC) - timedelta(hours=hours) + shift
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset


def test_an_incident_from_opening_to_closing(sandbox: Path) -> None:
    aware = _ago(50, "-05:00")
    opened = sam(
        sandbox, "open", "--title", "Backup bucket readable", "--nature", "confidentiality",
        "--aware-at", aware, "--severity", "high", "--people", "40",
        "--data-categories", "e-mail, names",
    )  # fmt: skip
    utc = datetime.fromisoformat(aware).astimezone(UTC)
    assert opened["aware_at"] == utc.isoformat().replace("+00:00", "Z")
    assert opened["deadline_at"] == (utc + timedelta(hours=72)).isoformat().replace("+00:00", "Z")
    assert opened["data_categories"] == ["e-mail", "names"] and opened["approx_people"] == 40
    assert opened["clock"]["urgent"] and not opened["clock"]["overdue"]
    incident = opened["id"]
    text = run_cli("breach", "list", config=sandbox, operator="ada")
    assert text.code == 0, text.stderr
    [line] = [x for x in text.stdout.splitlines() if x.startswith(incident)]
    assert "left (under 24h)" in line and "Backup bucket readable" in line
    updated = sam(sandbox, "update", incident, "--risk", "unlikely", "--risk-rationale", "none")
    assert updated["status"] == "assessed"
    entry = sam(sandbox, "timeline", "add", incident, "bucket closed", "--at", _ago(1, "+05:30"))
    assert entry["kind"] == "note" and entry["at"].endswith("Z")
    shown = run_cli("breach", "show", incident, config=sandbox, operator="sam")
    assert "TIMELINE" in shown.stdout and "bucket closed" in shown.stdout
    assert run_cli("breach", "check", config=sandbox, operator="sam").code == 0
    closed = sam(sandbox, "close", incident, "--reason", "no risk to people")
    assert closed["status"] == "closed"
    assert sam(sandbox, "list") == [] and len(sam(sandbox, "list", "--all")) == 1


def test_check_exits_7_while_an_incident_is_past_72_hours(sandbox: Path) -> None:
    late = sam(sandbox, "open", "--title", "Old", "--nature", "integrity", "--aware-at", _ago(73))
    sam(sandbox, "open", "--title", "New", "--nature", "availability", "--aware-at", _ago(1))
    check = run_cli("--json", "breach", "check", config=sandbox, operator="ada")
    assert check.code == 7
    assert check.json()["overdue"] == [late["id"]]
    assert late["id"] in check.error()["message"]
    text = run_cli("breach", "list", config=sandbox, operator="ada")
    [line] = [x for x in text.stdout.splitlines() if x.startswith(late["id"])]
    assert "OVERDUE by 1h 0" in line


def test_exit_codes_for_bad_input_unknown_incidents_and_other_roles(sandbox: Path) -> None:
    incident = sam(sandbox, "open", "--title", "T", "--nature", "integrity", "--aware-at", _ago(2))
    cases = [
        (("open", "--title", "T", "--nature", "integrity", "--aware-at", "2026-01-05T09:30"), 2),
        (("open", "--title", "T", "--nature", "leak", "--aware-at", _ago(1)), 2),
        (("open", "--nature", "integrity", "--aware-at", _ago(1)), 2),
        (("open", "--title", "T", "--nature", "integrity", "--aware-at", _ago(-2)), 2),
        (("show", "INC-2026-9999"), 3),
        (("show", "nonsense"), 2),
        (("close", incident["id"], "--reason", "done"), 5),  # not reported, risk not unlikely
    ]
    for args, code in cases:
        result = run_cli("breach", *args, config=sandbox, operator="sam")
        assert result.code == code, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, result.stderr
    for who in ("vic", "olga", "pat"):
        assert run_cli("breach", "list", config=sandbox, operator=who).code == 4
    opening = ("open", "--title", "X", "--nature", "integrity", "--aware-at", _ago(1))
    assert run_cli("breach", *opening, config=sandbox, operator="ada").code == 4
    assert len(sam(sandbox, "list")) == 1


def test_report_writes_the_file_records_its_digest_and_stops_the_clock(
    sandbox: Path, tmp_path: Path
) -> None:
    late = sam(sandbox, "open", "--title", "Old", "--nature", "integrity", "--aware-at", _ago(80))
    out = tmp_path / "initial.html"
    line = ("report", late["id"], "--phase", "initial", "--format", "html", "--output", str(out))
    refused = run_cli("breach", *line, config=sandbox, operator="sam")
    assert refused.code == 2 and "reasons for the delay" in refused.stderr
    assert not out.exists()
    done = sam(sandbox, *line, "--delay-reasons", "found on a Sunday", "--reference", "DPA-9")
    assert done["late"] and done["phase"] == "initial" and done["reference"] == "DPA-9"
    assert done["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert run_cli("breach", "check", config=sandbox, operator="ada").code == 0
    again = run_cli("breach", *line, config=sandbox, operator="sam")
    assert again.code == 5  # the file exists (and an initial report too)
    shown = sam(sandbox, "show", late["id"])
    assert shown["status"] == "reported" and shown["clock"]["late"]
    assert [r["sha256"] for r in shown["reports"]] == [done["sha256"]]
