"""``breach scope`` against real tenant databases (the eu cluster on SQLite, then on the suite's
PostgreSQL): exactly the users of the chosen tenants, read as inspection reads (never a
payload: a canary planted in every plaintext appears nowhere), counted per tenant and region,
with progress, stored as the incident's snapshot in a stable order."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Tenant
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.services.incident_scope import ScopeRequest
from aptien_ops.services.incidents import IncidentInput, IncidentUpdate

from cli_runner import run_cli
from fleet_configs import eu_cluster_kind, eu_fleet_config  # noqa: F401 - the fixtures kind, config
from tenant_seeding import france_and_canada

AWARE = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
def marker() -> str:
    return f"CANARY-{secrets.token_hex(12)}"


@pytest.fixture
def world(config: Path, marker: str) -> Iterator[tuple[Console, Console, list[Tenant]]]:
    """sam and the admin on a sandbox with one seeded tenant in each region (France on the
    cluster under test, Canada on SQLite), every plaintext holding the canary."""
    admin = open_console(config)
    request = france_and_canada(admin, users=9, events=40, logins=300, marker=marker)
    names = [s.tenant for s in admin.seeding.seed(request)]
    sam = open_console(config, env={"APTIEN_OPS_OPERATOR": "sam"})
    yield sam, admin, [admin.tenants.show(n) for n in names]
    sam.close()
    admin.close()


def _users(
    admin: Console, tenant: Tenant, logged_in: tuple[datetime, datetime] | None = None
) -> list[tuple[str, str]]:
    """The tenant's users as the cluster's admin reads them (the test, not the console)."""
    store = admin.ctx.store(tenant.cluster or "")
    with store.connect(tenant.name) as conn:
        rows = conn.execute("SELECT id, email FROM users").fetchall()
        if logged_in is not None:
            logins = conn.execute("SELECT user_email, at, result FROM login_events").fetchall()
            seen = {
                e
                for e, at, result in logins
                if result == "success" and logged_in[0] <= _moment(at) < logged_in[1]
            }
            rows = [r for r in rows if r[1] in seen]
    return sorted((str(i), e) for i, e in rows)


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_scope_is_exactly_the_chosen_tenants_people_and_never_a_payload(
    world: tuple[Console, Console, list[Tenant]], marker: str
) -> None:
    sam, admin, (eu, us) = world
    incident = sam.incidents.open(IncidentInput("Export leaked", "confidentiality", AWARE)).id
    seen: list[tuple[int, int, str]] = []
    counts = sam.incidents.scope(
        incident, ScopeRequest(tenants=(eu.name,)), lambda d, t, n: seen.append((d, t, n))
    )
    assert seen == [(1, 1, eu.name)]
    with sam.ctx.catalog.read() as tx:
        people = list(tx.incident_scope.each_recipient(incident))
    assert sorted((p.user_ref, p.email) for p in people) == _users(admin, eu)
    assert {(p.tenant, p.region) for p in people} == {(eu.name, "eu")}
    assert [(p.tenant, p.user_ref) for p in people] == sorted(
        (p.tenant, p.user_ref) for p in people
    )
    assert counts.header.people == len(people) == 9 and counts.regions == {"eu": 9}
    other = {e for _, e in _users(admin, us)}
    assert other and not other & {p.email for p in people}  # no other tenant's people
    everything = json.dumps([p.as_json() for p in people]) + json.dumps(counts.as_json())
    assert marker not in everything and marker.lower() not in everything.lower()
    with admin.ctx.catalog.read() as tx:
        [entry] = [e for e in tx.opslog.entries() if e.action == "breach.scope"]
    assert entry.outcome == "ok" and json.loads(entry.params)["people"] == 9
    assert not any(p.email in entry.params for p in people)

    both = sam.incidents.scope(incident, ScopeRequest(everything=True))
    assert [(t.tenant, t.region, t.people) for t in both.tenants] == [
        (eu.name, "eu", 9),
        (us.name, "us", 9),
    ]
    assert both.regions == {"eu": 9, "us": 9} and both.header.tenants == 2
    with sam.ctx.catalog.read() as tx:
        assert len(list(tx.incident_scope.each_recipient(incident))) == 18
    assert sam.incidents.scope(incident, ScopeRequest(region="us")).regions == {"us": 9}
    shown = sam.incidents.show(incident)
    assert shown.scope is not None and shown.scope.header.selection == "region"
    assert shown.timeline[-1].text == "scope: 9 people in 1 tenant (us: 9)"


def test_a_window_keeps_those_who_logged_in_during_it(
    world: tuple[Console, Console, list[Tenant]],
) -> None:
    sam, admin, (eu, _us) = world
    incident = sam.incidents.open(IncidentInput("Session leak", "confidentiality", AWARE)).id
    store = admin.ctx.store(eu.cluster or "")
    with store.connect(eu.name) as conn:
        ats = sorted(_moment(r[0]) for r in conn.execute("SELECT at FROM login_events").fetchall())
    middle = ats[len(ats) // 2]
    window = (middle - timedelta(hours=6), middle + timedelta(hours=6))
    request = ScopeRequest(tenants=(eu.name,), window=window, logged_in=True)
    counts = sam.incidents.scope(incident, request)
    expected = _users(admin, eu, window)
    assert 0 < counts.header.people == len(expected) < 9
    with sam.ctx.catalog.read() as tx:
        found = sorted((p.user_ref, p.email) for p in tx.incident_scope.each_recipient(incident))
    assert found == expected
    assert counts.header.window_from == window[0] and counts.header.logged_in_during_window


def test_scope_refusals_change_nothing(world: tuple[Console, Console, list[Tenant]]) -> None:
    sam, admin, (eu, _us) = world
    incident = sam.incidents.open(IncidentInput("Leak", "confidentiality", AWARE)).id
    scope = sam.incidents.scope
    for request in (
        ScopeRequest(),
        ScopeRequest(tenants=(eu.name,), everything=True),
        ScopeRequest(region="mars"),
        ScopeRequest(tenants=("Bad Name",)),
        ScopeRequest(everything=True, logged_in=True),
    ):
        with pytest.raises(InvalidInput):
            scope(incident, request)
    with pytest.raises(NotFound):
        scope(incident, ScopeRequest(tenants=("no-such-tenant",)))
    with pytest.raises(Forbidden):
        admin.incidents.scope(incident, ScopeRequest(everything=True))
    sam.incidents.update(incident, IncidentUpdate(risk_to_people="unlikely"))
    sam.incidents.close_incident(incident, "no risk")
    with pytest.raises(Conflict):
        scope(incident, ScopeRequest(everything=True))
    assert sam.incidents.show(incident).scope is None


def test_the_command_line_streams_progress_and_prints_counts(
    world: tuple[Console, Console, list[Tenant]], config: Path
) -> None:
    sam, _admin, (eu, us) = world
    incident = sam.incidents.open(IncidentInput("Leak", "confidentiality", AWARE)).id
    result = run_cli("breach", "scope", incident, "--all", config=config, operator="sam")
    assert result.code == 0, result.stderr
    assert f"scope 1/2 {eu.name}" in result.stderr and f"scope 2/2 {us.name}" in result.stderr
    assert "18 people in 2 tenants (eu: 9, us: 9)" in result.stdout
    data = run_cli(
        "--json", "breach", "scope", incident, "--tenants", us.name, config=config, operator="sam"
    )
    assert data.code == 0 and data.stderr == ""
    assert data.json()["per_region"] == {"us": 9}
    bad = run_cli(
        "breach",
        "scope",
        incident,
        "--all",
        "--window",
        "2026-01-01..x",
        config=config,
        operator="sam",
    )
    assert bad.code == 2
