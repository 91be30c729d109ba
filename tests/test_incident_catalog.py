"""The incident repositories on both catalogs: the scope snapshot the notices are sent from
(replaced whole, its recipients in one stable order, paged by keyset), the notice outbox
filled from it inside the catalog, and the status a notice campaign sets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from incident_world import START, IncidentWorld

from aptien_ops.domain.incidents import IncidentStatus, Recipient, ScopeHeader, ScopeTenant
from aptien_ops.domain.notices import Campaign, NoticeContent
from aptien_ops.domain.notices import Recipient as NoticeRecipient
from aptien_ops.errors import NotFound
from aptien_ops.services.notify_fill import fill, fill_from_scope, outbox_rows


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


def test_the_outbox_filled_from_the_scope_holds_the_rows_of_outbox_rows(
    world: IncidentWorld,
) -> None:
    """``breach notify`` fills the outbox with one INSERT … SELECT per channel from the
    snapshot; the rows are those the engine's ``outbox_rows`` makes of the same recipients
    (same keys, fields and order), and filling again adds nothing."""
    scoped, listed = world.incident().id, world.incident("Listed").id
    catalog = world.sam.ctx.catalog
    who = [
        ("maple-inc", "us", "2", None),
        ("acme-gmbh", "eu", "10", "de"),
        ("acme-gmbh", "eu", "9", "de"),
        ("maple-inc", "us", "1", "en"),
    ]
    channels = ("website", "inapp", "email")
    ids = {}
    with catalog.transaction() as tx:
        tx.incident_scope.replace(
            _header(scoped, 4),
            [],
            [Recipient(scoped, t, r, ref, f"u{ref}@{t}.example", lang) for t, r, ref, lang in who],
        )
        for incident in (scoped, listed):
            content = NoticeContent(incident, "t", "n", "c", "m", "dpo@aptien.example", "")
            made = Campaign(0, incident, channels, content, "a", "b", "sam", "ada", START)
            ids[incident] = tx.breach_outbox.add_campaign(made)
    assert fill_from_scope(catalog, ids[scoped], scoped, channels) == 2 + 4 + 4
    assert fill_from_scope(catalog, ids[scoped], scoped, channels) == 0
    people = sorted(
        (NoticeRecipient(t, r, ref, f"u{ref}@{t}.example", lang) for t, r, ref, lang in who),
        key=lambda p: (p.tenant, p.user_ref),
    )
    fill(catalog, outbox_rows(ids[listed], listed, channels, people))
    # The same idempotency keys: the engine's own rows for the scoped incident add nothing.
    assert fill(catalog, outbox_rows(ids[scoped], scoped, channels, people)) == 0

    def rows(incident: str) -> list[tuple[object, ...]]:
        with catalog.read() as tx:
            found = [r for c in channels for r in tx.breach_outbox.pending(incident, c, limit=100)]
        return [
            (r.channel, r.recipient, r.region, r.tenant, r.user_ref, r.email, r.language)
            + (r.state, r.attempts)
            for r in found
        ]

    assert rows(scoped) == rows(listed)
    assert rows(scoped)[:3] == [
        ("website", "eu", "eu", None, None, None, "de,en", "pending", 0),
        ("website", "us", "us", None, None, None, "en", "pending", 0),
        ("inapp", "acme-gmbh/10", "eu", "acme-gmbh", "10", None, "de", "pending", 0),
    ]
