"""``tx.billing`` on both catalogs: the link of a tenant to its Stripe customer (one customer
per tenant), every fact kept as written, the events applied and the cursor, the status rows and
the JSON the database writes for them; and no column a card or an address could go into."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from aptien_ops.backends import catalog_billing, catalog_schema
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.composition import open_console
from aptien_ops.config import CatalogSettings
from aptien_ops.domain import Identity, Tenant, TenantState
from aptien_ops.domain.billing import (
    BillingStatus,
    LicenceState,
    SubscriptionFacts,
    TenantBilling,
)
from aptien_ops.errors import Conflict, ExitCode, NotFound

from catalog_roles import OWNER_PW, RUNTIME_PW, create_catalog_roles, production_config
from pg_fixtures import PgServer

T0 = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
#: Column names that could hold a card (in any table of the catalog).
CARD = re.compile(r"card|cvc|cvv|^pan$|fingerprint|last4|iban|brand", re.I)
#: And, in the billing tables, a card's expiry or a billing address.
EXPIRY_OR_ADDRESS = re.compile(
    r"expir|exp_|address|line1|line2|postal|zip|city|street|country|state_code", re.I
)


@pytest.fixture
def catalog(sql_catalog_url: str) -> Iterator[SqlCatalog]:
    cat = SqlCatalog(CatalogSettings(url=sql_catalog_url))
    cat.ensure_schema()
    with cat.transaction() as tx:
        for name, state in [
            ("acme-gmbh", TenantState.ACTIVE),
            ("beta-sa", TenantState.ACTIVE),
            ("gamma-ltd", TenantState.SUSPENDED),
            ("old-co", TenantState.PURGED),
            ("zulu-inc", TenantState.CANCELLED),
        ]:
            tx.tenants.insert(
                Tenant(name, "DE", "eu", "eu-1", state, None, None, T0, T0)  # type: ignore[arg-type]
            )
    yield cat
    cat.dispose()


def full(tenant: str = "acme-gmbh", customer: str = "cus_Acme1", **more: object) -> TenantBilling:
    values: dict[str, object] = dict(
        subscription_id="sub_1",
        subscription_status=LicenceState.PAST_DUE,
        current_period_end=T0 + timedelta(days=30, microseconds=7),
        cancel_at_period_end=True,
        invoice_number="INV-0042",
        invoice_amount=129_900,
        invoice_currency="eur",
        invoice_status="open",
        invoice_due=T0 + timedelta(days=14),
        last_event_id="evt_9",
        updated_at=T0,
        subscription_updated_at=T0 - timedelta(hours=1, microseconds=3),
        invoice_id="in_42",
        invoice_created=T0 - timedelta(days=2),
        invoice_updated_at=T0,
    )
    values.update(more)
    return TenantBilling(tenant, customer, **values)  # type: ignore[arg-type]


def test_a_link_keeps_every_fact_as_written_and_unlinking_removes_it(catalog: SqlCatalog) -> None:
    bare = TenantBilling("beta-sa", "cus_Beta")
    with catalog.transaction() as tx:
        tx.billing.link(full())
        tx.billing.link(bare)
    with catalog.read() as tx:
        assert tx.billing.get("acme-gmbh") == full()
        assert tx.billing.get("beta-sa") == bare
        assert tx.billing.get("gamma-ltd") is None
        assert tx.billing.by_customer("cus_Acme1") == full()
        assert tx.billing.by_customer("cus_Nobody") is None
        assert [b.tenant for b in tx.billing.all()] == ["acme-gmbh", "beta-sa"]
        assert tx.billing.all(states=frozenset({LicenceState.PAST_DUE})) == [full()]
    changed = full(subscription_status=LicenceState.ACTIVE, invoice_status="paid", invoice_due=None)
    with catalog.transaction() as tx:
        tx.billing.save(changed)
    with catalog.transaction() as tx:
        assert tx.billing.get("acme-gmbh", for_update=True) == changed
        tx.billing.unlink("acme-gmbh")
    with catalog.read() as tx:
        assert tx.billing.get("acme-gmbh") is None
        assert tx.billing.by_customer("cus_Acme1") is None
    with catalog.transaction() as tx:  # the customer is free again
        tx.billing.link(full("gamma-ltd"))


def test_one_customer_pays_for_one_tenant_and_a_tenant_has_one_customer(
    catalog: SqlCatalog,
) -> None:
    with catalog.transaction() as tx:
        tx.billing.link(full())
    with pytest.raises(Conflict) as taken, catalog.transaction() as tx:
        tx.billing.link(full("beta-sa"))
    assert taken.value.exit_code == ExitCode.CONFLICT == 5
    assert "cus_Acme1" in str(taken.value) and "acme-gmbh" in str(taken.value)
    with pytest.raises(Conflict), catalog.transaction() as tx:
        tx.billing.link(full(customer="cus_Other"))
    with catalog.read() as tx:  # nothing changed
        assert [(b.tenant, b.customer_id) for b in tx.billing.all()] == [("acme-gmbh", "cus_Acme1")]


def test_the_unique_customer_is_kept_by_the_database_too(catalog: SqlCatalog) -> None:
    # Two operators linking at once both pass the read; the unique index refuses the second.
    with catalog.transaction() as tx:
        tx.billing.link(full())
    with pytest.raises(Conflict), catalog.transaction() as tx:
        tx.billing.by_customer = lambda customer_id: None  # type: ignore[method-assign]
        tx.billing.link(full("beta-sa"))
    with catalog.read() as tx:
        assert tx.billing.get("beta-sa") is None


def test_unlinking_or_saving_a_tenant_not_linked_is_not_found(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFound), catalog.transaction() as tx:
        tx.billing.unlink("beta-sa")
    with pytest.raises(NotFound), catalog.transaction() as tx:
        tx.billing.save(full("beta-sa"))


def test_events_are_applied_once_and_the_cursor_moves_on(catalog: SqlCatalog) -> None:
    with catalog.read() as tx:
        assert tx.billing.cursor() is None
        assert not tx.billing.seen("evt_1")
    with catalog.transaction() as tx:
        tx.billing.mark_seen("evt_1", T0)
        tx.billing.mark_seen("evt_1", T0 + timedelta(seconds=1))  # twice: no error
        tx.billing.set_cursor("evt_1", T0)
    with catalog.transaction() as tx:
        assert tx.billing.seen("evt_1") and not tx.billing.seen("evt_2")
        assert tx.billing.cursor() == "evt_1"
        tx.billing.set_cursor("evt_2", T0 + timedelta(minutes=1))
    with catalog.transaction() as tx:
        assert tx.billing.cursor() == "evt_2"
        tx.billing.set_cursor(None, T0 + timedelta(minutes=2))  # a full sync starts over
    with catalog.read() as tx:
        assert tx.billing.cursor() is None


def _linked(catalog: SqlCatalog) -> None:
    with catalog.transaction() as tx:
        tx.billing.link(full())
        tx.billing.link(full("gamma-ltd", "cus_Gamma", subscription_status=LicenceState.CANCELED))
        tx.billing.link(TenantBilling("zulu-inc", "cus_Zulu", updated_at=T0))
        tx.billing.link(full("old-co", "cus_Old", subscription_status=LicenceState.ACTIVE))


def test_status_rows_are_every_live_tenant_linked_or_not(catalog: SqlCatalog) -> None:
    _linked(catalog)
    with catalog.read() as tx:
        rows = tx.billing.statuses()
        nones = tx.billing.statuses(states=frozenset({LicenceState.NONE}))
        expired = tx.billing.statuses(
            states=frozenset({LicenceState.CANCELED, LicenceState.PAUSED})
        )
        one = tx.billing.statuses(tenant="beta-sa")
        purged = tx.billing.statuses(tenant="old-co")
    assert [(name, b.customer_id if b else None) for name, b in rows] == [
        ("acme-gmbh", "cus_Acme1"),
        ("beta-sa", None),
        ("gamma-ltd", "cus_Gamma"),
        ("zulu-inc", "cus_Zulu"),
    ]
    assert rows[0][1] == full()
    # "none": linked without a subscription, and not linked at all.
    assert [name for name, _ in nones] == ["beta-sa", "zulu-inc"]
    assert [name for name, _ in expired] == ["gamma-ltd"]
    assert one == [("beta-sa", None)] and purged == []


@pytest.mark.parametrize("shown_in_full", [True, False])
def test_the_status_json_written_by_the_database_is_the_status_as_json(
    catalog: SqlCatalog, shown_in_full: bool
) -> None:
    _linked(catalog)
    with catalog.transaction() as tx:  # a whole second, a quote and a non-ASCII letter
        tx.billing.save(full(current_period_end=T0, invoice_number='Rë "7"\\', invoice_amount=None))
    with catalog.read() as tx:
        rows = tx.billing.statuses()
        text = tx.billing.status_json(full=shown_in_full)
        past_due = tx.billing.status_json(
            states=frozenset({LicenceState.PAST_DUE}), full=shown_in_full
        )
        one = tx.billing.status_json(tenant="beta-sa", full=shown_in_full)
    expected = [BillingStatus(name, b, shown_in_full).as_json() for name, b in rows]
    assert json.loads(text) == expected
    assert _key_order(json.loads(text, object_pairs_hook=list)) == _key_order(expected)
    assert text.isascii()
    assert json.loads(past_due) == expected[:1]
    assert json.loads(one) == [expected[1]]
    if shown_in_full:
        assert expected[0]["period_end"] == "2027-03-01T09:30:00Z"
        assert expected[0]["invoice"]["number"] == 'Rë "7"\\'  # type: ignore[index]
        assert expected[0]["invoice"]["id"] == "in_42"  # type: ignore[index]
        assert expected[1]["customer"] is None and expected[1]["licence"] == "none"
    else:
        assert list(expected[0]) == ["tenant", "licence", "group", "period_end",
                                     "cancel_at_period_end"]  # fmt: skip
        assert "cus_" not in text and "INV" not in text and "in_42" not in text


def _key_order(value: object) -> object:
    """The keys of every object in ``value`` (a dict or a list of pairs), in their order."""
    if isinstance(value, dict):
        value = list(value.items())
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return [(key, _key_order(inner)) for key, inner in value]
    if isinstance(value, list):
        return [_key_order(item) for item in value]
    return None


def test_no_catalog_column_can_hold_a_card_and_no_billing_column_an_address(
    catalog: SqlCatalog, sql_catalog_url: str
) -> None:
    engine = create_engine(sql_catalog_url)
    try:
        db = inspect(engine)
        tables = db.get_table_names()
        columns = {t: [c["name"] for c in db.get_columns(t)] for t in tables}
    finally:
        engine.dispose()
    billing = {t.name for t in catalog_billing.metadata.sorted_tables if "billing" in t.name}
    assert (
        billing
        == {
            "tenant_billing",
            "billing_events",
            "billing_cursor",
            "billing_subscriptions",
        }
        <= set(tables)
    )
    assert [f"{t}.{c}" for t, names in columns.items() for c in names if CARD.search(c)] == []
    assert [f"{t}.{c}" for t in billing for c in columns[t] if EXPIRY_OR_ADDRESS.search(c)] == []
    # The billing row holds TenantBilling's fields and nothing else.
    kept = set(TenantBilling.__dataclass_fields__)
    assert set(columns["tenant_billing"]) == kept
    # A subscription kept apart holds SubscriptionFacts' fields (and its mark) only.
    assert set(columns["billing_subscriptions"]) == {
        *SubscriptionFacts.__dataclass_fields__,
        "updated_at",
    }
    assert catalog_schema.metadata is catalog_billing.metadata


@pytest.mark.postgres
def test_the_runtime_role_may_not_forget_an_applied_event_or_remove_the_cursor(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roles = create_catalog_roles(pg_server, "billing_grants")
    monkeypatch.setenv(RUNTIME_PW, roles.runtime_password)
    monkeypatch.setenv(OWNER_PW, roles.owner_password)
    config = production_config(tmp_path / "prod", roles)
    open_console(config, identity=Identity("ada", "ada", None, "s-ada")).close()

    def may(table: str) -> list[object]:
        return [
            roles.scalar(f"SELECT has_table_privilege('{roles.runtime}', '{table}', '{p}')")
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        ]

    assert may("tenant_billing") == [True, True, True, True, False]
    assert may("billing_events") == [True, True, False, False, False]
    assert may("billing_cursor") == [True, True, True, False, False]


def test_rows_kept_before_migration_0010_take_their_marks_from_updated_at(
    sql_catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert

    monkeypatch.setattr(catalog_schema, "SCHEMA_HEAD", "0009")
    old = SqlCatalog(CatalogSettings(url=sql_catalog_url))
    assert old.ensure_schema().schema_revision == "0009"
    with old.transaction() as tx:
        acme = Tenant("acme-gmbh", "DE", "eu", "eu-1", TenantState.ACTIVE, None, None, T0, T0)  # type: ignore[arg-type]  # fmt: skip
        tx.tenants.insert(acme)
        before = {"subscription_status": "past_due", "cancel_at_period_end": False}
        tx.conn.execute(  # only the columns of 0008
            insert(catalog_billing.tenant_billing).values(
                tenant="acme-gmbh", customer_id="cus_Acme1", invoice_number="A-1",
                invoice_status="open", updated_at=T0, **before,
            )
        )  # fmt: skip
        tx.billing.set_cursor("evt_9", T0)
    old.dispose()
    monkeypatch.undo()
    new = SqlCatalog(CatalogSettings(url=sql_catalog_url))
    try:
        assert new.ensure_schema().schema_revision == catalog_schema.SCHEMA_HEAD
        with new.read() as tx:
            kept = tx.billing.get("acme-gmbh")
            cursor = tx.billing.cursor()
    finally:
        new.dispose()
    assert kept == TenantBilling(
        "acme-gmbh", "cus_Acme1", subscription_status=LicenceState.PAST_DUE,
        invoice_number="A-1", invoice_status="open", updated_at=T0,
        subscription_updated_at=T0, invoice_updated_at=T0,
    )  # fmt: skip
    assert cursor is None  # the invoice's id is not known: the next sync is a full one
