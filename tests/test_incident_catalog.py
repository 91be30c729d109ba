"""The incident repositories on both catalogs: the scope snapshot the notices are sent from
(replaced whole, its recipients in one stable order, paged by keyset) and the status a notice
campaign sets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from incident_world import START, IncidentWorld

from aptien_ops.domain.incidents import IncidentStatus, Recipient, ScopeHeader, ScopeTenant
from aptien_ops.errors import NotFound


@pytest.fixture
def world(catalog_config: Path) -> Iterator[IncidentWorld]:
    w = IncidentWorld(catalog_config)
    yield w
    w.close()


def _header(incident: str, people: int) -> ScopeHeader:
    digest = hashlib.sha256(b"x").hexdigest()
    return ScopeHeader(incident, "all", (), None, None, False, 2, people, digest, "sam", START)


def test_a_scope_snapshot_is_replaced_whole_and_read_in_its_stable_order(
    world: IncidentWorld,
) -> None:
    incident = world.incident().id
    other = world.incident("Another").id
    catalog = world.sam.ctx.catalog
    # Written out of order, user ids compared as text (the tenant database's own ids).
    people = [
        Recipient(incident, tenant, region, ref, f"u{ref}@{tenant}.example", lang)
        for tenant, region, ref, lang in [
            ("maple-inc", "us", "2", None),
            ("acme-gmbh", "eu", "10", "de"),
            ("acme-gmbh", "eu", "9", "de"),
            ("maple-inc", "us", "1", "en"),
            ("acme-gmbh", "eu", "1", None),
        ]
    ]
    tenants = [ScopeTenant("maple-inc", "us", 2), ScopeTenant("acme-gmbh", "eu", 3)]
    with catalog.transaction() as tx:
        tx.incident_scope.replace(_header(incident, 5), tenants, iter(people))
        tx.incident_scope.replace(
            _header(other, 1), [], [Recipient(other, "x-co", "eu", "1", "a@x.example", None)]
        )
    with catalog.read() as tx:
        everyone = list(tx.incident_scope.each_recipient(incident, page=2))
        header = tx.incident_scope.header(incident)
        counts = tx.incident_scope.tenants(incident)
        first_page = tx.incident_scope.recipients(incident, limit=2)
        after = tx.incident_scope.recipients(incident, after=("acme-gmbh", "9"), limit=10)
    keys = [(r.tenant, r.user_ref) for r in everyone]
    assert keys == [
        ("acme-gmbh", "1"),
        ("acme-gmbh", "10"),
        ("acme-gmbh", "9"),
        ("maple-inc", "1"),
        ("maple-inc", "2"),
    ]
    assert [(r.tenant, r.user_ref) for r in first_page] == keys[:2]
    assert [(r.tenant, r.user_ref) for r in after] == keys[3:]
    assert everyone[1] == people[1]  # every field as written
    assert header == _header(incident, 5)
    assert counts == [ScopeTenant("acme-gmbh", "eu", 3), ScopeTenant("maple-inc", "us", 2)]
    smaller = [people[0]]
    with catalog.transaction() as tx:
        tx.incident_scope.replace(
            _header(incident, 1), [ScopeTenant("maple-inc", "us", 1)], smaller
        )
    with catalog.read() as tx:
        assert list(tx.incident_scope.each_recipient(incident)) == smaller
        assert [t.tenant for t in tx.incident_scope.tenants(incident)] == ["maple-inc"]
        assert len(list(tx.incident_scope.each_recipient(other))) == 1
        assert tx.incident_scope.header(world.incident("No scope").id) is None


def test_a_notice_campaign_sets_the_status_notifying(world: IncidentWorld) -> None:
    incident = world.incident().id
    at = START + timedelta(hours=3)
    with world.sam.ctx.catalog.transaction() as tx:
        tx.incidents.set_status(incident, IncidentStatus.NOTIFYING, at, "sam")
    shown = world.as_("ada").incidents.show(incident).incident
    assert (shown.status, shown.updated_at, shown.updated_by) == (
        IncidentStatus.NOTIFYING,
        at,
        "sam",
    )
    with pytest.raises(NotFound), world.sam.ctx.catalog.transaction() as tx:
        tx.incidents.set_status("INC-2027-0404", IncidentStatus.NOTIFYING, at, "sam")
