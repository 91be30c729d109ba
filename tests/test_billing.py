"""Linking tenants to Stripe customers, unlinking them and their licence status, on both
catalogs: what the billing role sees and what everyone else sees (the licence state only),
what the command line answers with which exit code, and that bad input changes nothing.

Stripe is localstripe (``stripe_server``, a real Stripe-compatible server on loopback) reached
through ``[billing] api_base`` and the console's own adapter; the subscription and invoice
facts a sync would store are written to the catalog directly (``billing sync`` is tested with
the sync)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from billing_world import billing, customers
from partner_world import START, PartnerWorld

from aptien_ops.composition import open_console
from aptien_ops.domain import TenantState
from aptien_ops.domain.billing import (
    STATE_ONLY_KEYS,
    LicenceState,
    TenantBilling,
)
from aptien_ops.errors import Conflict, ExitCode, Forbidden, Unavailable

import stripe_world
from cli_runner import Result, run_cli
from stripe_server import LocalStripe

PERIOD_END = START + timedelta(days=20)


def connect(config: Path, stripe: LocalStripe) -> Path:
    """``config`` with ``[billing]`` on localstripe (the key in a file beside it)."""
    key = config.parent / "stripe.key"
    key.write_text("sk_test_aptienBilling\n", encoding="utf-8")
    section = f'\n[billing]\napi_key_file = "{key}"\napi_base = "{stripe.url}"\n'
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")
    return config


class Stripe:
    """Customers made in localstripe as Stripe holds them (a card and an address each)."""

    def __init__(self, server: LocalStripe) -> None:
        self.client = server.client()
        self.plans = stripe_world.plans(self.client)

    def customer(self, tenant: str | None = None, status: str = "none") -> str:
        return stripe_world.customer(self.client, self.plans, tenant, status=status)


@pytest.fixture
def stripe(stripe_server: LocalStripe) -> Stripe:
    return Stripe(stripe_server)


@pytest.fixture
def world(catalog_config: Path, stripe_server: LocalStripe) -> Iterator[PartnerWorld]:
    w = PartnerWorld(connect(catalog_config, stripe_server))
    for name in ("acme-gmbh", "beta-sa", "gamma-ltd"):
        w.tenant(name)
    yield w
    w.close()


def _synced(world: PartnerWorld, tenant: str, **facts: object) -> None:
    """What ``billing sync`` would have stored for ``tenant`` (linked already)."""
    with world.as_("ada").ctx.catalog.transaction() as tx:
        kept = tx.billing.get(tenant)
        assert kept is not None
        values: dict[str, object] = dict(
            subscription_id="sub_1",
            subscription_status=LicenceState.PAST_DUE,
            current_period_end=PERIOD_END,
            invoice_id="in_7",
            invoice_number="INV-7",
            invoice_amount=129_950,
            invoice_currency="eur",
            invoice_status="open",
            invoice_due=START + timedelta(days=3),
            updated_at=START,
        )
        values.update(facts)
        tx.billing.save(TenantBilling(tenant, kept.customer_id, **values))  # type: ignore[arg-type]


def _entries(world: PartnerWorld, action: str) -> list[tuple[str, str, str]]:
    with world.as_("ada").ctx.catalog.read() as tx:
        return [
            (e.operator, e.target, e.outcome) for e in tx.opslog.entries() if e.action == action
        ]


def _cli(world: PartnerWorld, *args: str, operator: str = "bill") -> Result:
    return run_cli("--json", "billing", *args, config=world.config, operator=operator)


def test_the_billing_role_links_sees_everything_and_unlinks(
    world: PartnerWorld, stripe: Stripe
) -> None:
    acme = stripe.customer("acme-gmbh", status="active")
    result = _cli(world, "link", "acme-gmbh", "--customer", acme)
    assert result.code == 0, result.stderr
    assert result.json() == {"tenant": "acme-gmbh", "customer": acme, "linked": True}
    bill = world.as_("bill").billing
    _synced(world, "acme-gmbh")
    status = bill.status()
    assert status.full
    assert [(r.tenant, r.licence, r.group) for r in status.rows] == [
        ("acme-gmbh", LicenceState.PAST_DUE, "non-payment"),
        ("beta-sa", LicenceState.NONE, "none"),
        ("gamma-ltd", LicenceState.NONE, "none"),
    ]
    first = status.rows[0].as_json()
    assert first["customer"] == acme
    assert first["invoice"] == {
        "id": "in_7",
        "number": "INV-7",
        "amount": 129_950,
        "currency": "eur",
        "status": "open",
        "due": "2027-03-04T09:30:00Z",
    }
    assert json.loads(bill.status_json()) == status.as_json()
    assert [r.tenant for r in bill.status(state="non-payment").rows] == ["acme-gmbh"]
    assert [r.tenant for r in bill.status(state="none").rows] == ["beta-sa", "gamma-ltd"]
    assert bill.status(state="expired").rows == ()

    unlinked = bill.unlink("acme-gmbh")
    assert unlinked.as_json() == {"tenant": "acme-gmbh", "customer": acme, "linked": False}
    assert bill.status("acme-gmbh").rows[0].billing is None
    # A customer whose tenant metadata is not set may be linked too (admins as billing).
    beta = stripe.customer(None)
    assert world.as_("ada").billing.link("beta-sa", beta).linked
    assert _entries(world, "billing.link") == [
        ("bill", "acme-gmbh", "ok"),
        ("ada", "beta-sa", "ok"),
    ]
    assert _entries(world, "billing.unlink") == [("bill", "acme-gmbh", "ok")]


def test_every_other_role_sees_the_licence_state_only(world: PartnerWorld, stripe: Stripe) -> None:
    world.as_("bill").billing.link("acme-gmbh", stripe.customer("acme-gmbh"))
    _synced(world, "acme-gmbh", cancel_at_period_end=True)
    for operator in ("olga", "vic", "sam", "pat"):
        service = world.as_(operator).billing
        status = service.status("acme-gmbh")
        assert not status.full and service.sees_all() is False
        assert status.as_json() == [
            {
                "tenant": "acme-gmbh",
                "licence": "past_due",
                "group": "non-payment",
                "period_end": "2027-03-21T09:30:00Z",
                "cancel_at_period_end": True,
            }
        ]
        text = service.status_json()
        assert "cus_" not in text and "INV-7" not in text and "129950" not in text
        assert "in_7" not in text
        assert [list(row) for row in json.loads(text)] == [list(STATE_ONLY_KEYS)] * 3
        with pytest.raises(Forbidden):
            service.status(full=True)
    assert world.as_("ada").billing.status().full  # admins as billing
    # Asking for everything is refused and logged; the state-only reads are not logged.
    assert [e[2] for e in _entries(world, "billing.view")] == ["denied"] * 4
    assert _entries(world, "billing.state") == []


def test_a_customer_pays_for_one_tenant_exit_5(world: PartnerWorld, stripe: Stripe) -> None:
    acme, beta = stripe.customer(), stripe.customer()
    bill = world.as_("bill").billing
    bill.link("acme-gmbh", acme)
    with pytest.raises(Conflict, match="linked to the tenant acme-gmbh") as twice:
        bill.link("beta-sa", acme)
    assert twice.value.exit_code == ExitCode.CONFLICT
    with pytest.raises(Conflict, match=f"linked to the Stripe customer {acme}"):
        bill.link("acme-gmbh", beta)
    result = _cli(world, "link", "beta-sa", "--customer", acme)
    assert result.code == 5, result.stderr
    assert "acme-gmbh" in result.error()["message"]
    assert [(r.tenant, r.billing and r.billing.customer_id) for r in bill.status().rows] == [
        ("acme-gmbh", acme),
        ("beta-sa", None),
        ("gamma-ltd", None),
    ]
    failed = [e[2] for e in _entries(world, "billing.link")]
    assert failed == ["ok", "failed:conflict", "failed:conflict", "failed:conflict"]


def test_the_second_link_is_refused_before_stripe_is_asked(world: PartnerWorld) -> None:
    known = customers("cus_Acme1")
    bill = billing(world.as_("bill"), known)
    bill.link("acme-gmbh", "cus_Acme1")
    for tenant, customer in (("beta-sa", "cus_Acme1"), ("acme-gmbh", "cus_Beta")):
        with pytest.raises(Conflict):
            bill.link(tenant, customer)
    assert known.asked == ["cus_Acme1"]


def test_a_purged_tenant_is_not_linked(world: PartnerWorld, stripe: Stripe) -> None:
    world.tenant("old-co", state=TenantState.PURGED)
    result = _cli(world, "link", "old-co", "--customer", stripe.customer("old-co"))
    assert result.code == 5 and "purged" in result.error()["message"], result.stderr
    with world.as_("ada").ctx.catalog.read() as tx:
        assert tx.billing.get("old-co") is None


def test_stripe_must_know_the_customer_and_it_must_not_name_another_tenant(
    world: PartnerWorld, stripe: Stripe
) -> None:
    gone = stripe.customer("acme-gmbh")
    stripe.client.v1.customers.delete(gone)
    other = stripe.customer("beta-sa")
    for customer, code, said in [
        ("cus_NoSuchCustomer1", 3, "cus_NoSuchCustomer1"),
        (gone, 3, gone),
        (other, 5, "'beta-sa'"),
    ]:
        result = _cli(world, "link", "acme-gmbh", "--customer", customer)
        assert result.code == code, result.stderr
        assert said in result.error()["message"]
    assert world.as_("bill").billing.status("acme-gmbh").rows[0].billing is None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("link", "acme-gmbh", "--customer", "acct_123"), 2),
        (("link", "acme-gmbh", "--customer", "cus_a;b"), 2),
        (("link", "Not A Name", "--customer", "cus_1"), 2),
        (("link", "nobody-here", "--customer", "cus_1"), 3),
        (("unlink", "acme-gmbh", "--yes"), 3),  # not linked
        (("unlink", "nobody-here", "--yes"), 3),
        (("status", "nobody-here"), 3),
        (("status", "--state", "overdue"), 2),
        (("status", "BAD NAME"), 2),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code_and_changes_nothing(
    world: PartnerWorld, args: tuple[str, ...], code: int
) -> None:
    before = _cli(world, "status")
    with world.as_("ada").ctx.catalog.read() as tx:
        entries = len(tx.opslog.entries())
    result = _cli(world, *args)
    assert result.code == code, result.stderr
    assert result.stdout == "" and result.error()["message"]
    assert _cli(world, "status").json() == before.json()
    with world.as_("ada").ctx.catalog.read() as tx:
        new = tx.opslog.entries()[entries:]
    # Input refused before authorisation logs nothing; a missing tenant is a logged failure.
    assert [e.outcome for e in new] in ([], ["failed:not_found"])


def test_billing_not_connected_is_exit_6_with_the_hint_and_links_nothing(
    sandbox_config: Path,
) -> None:
    world = PartnerWorld(sandbox_config)  # no [billing]
    world.tenant("acme-gmbh")
    result = _cli(world, "link", "acme-gmbh", "--customer", "cus_Acme1")
    assert result.code == ExitCode.UNAVAILABLE, result.stderr
    error = result.error()
    assert "billing is not connected" in error["message"] and "[billing]" in error["hint"]
    with pytest.raises(Unavailable):
        world.as_("bill").billing.link("acme-gmbh", "cus_Acme1")
    assert _cli(world, "status", "acme-gmbh").json()[0]["customer"] is None
    assert [e[2] for e in _entries(world, "billing.link")] == ["failed:unavailable"] * 2
    world.close()


def test_other_roles_are_refused_4_and_each_refusal_is_logged(
    world: PartnerWorld, stripe: Stripe
) -> None:
    world.as_("bill").billing.link("acme-gmbh", stripe.customer("acme-gmbh"))
    for operator in ("olga", "vic"):
        link = _cli(world, "link", "beta-sa", "--customer", "cus_Beta", operator=operator)
        unlink = _cli(world, "unlink", "acme-gmbh", "--yes", operator=operator)
        assert (link.code, unlink.code) == (4, 4), (link.stderr, unlink.stderr)
    assert _entries(world, "billing.link")[1:] == [
        ("olga", "beta-sa", "denied"),
        ("vic", "beta-sa", "denied"),
    ]
    assert _entries(world, "billing.unlink") == [
        ("olga", "acme-gmbh", "denied"),
        ("vic", "acme-gmbh", "denied"),
    ]
    stranger = _cli(world, "status", operator="mallory")
    assert stranger.code == 4 and stranger.stdout == ""
    assert _entries(world, "billing.state") == [("mallory", "tenants", "denied")]
    read_only = open_console(world.config, read_only=True, env={"APTIEN_OPS_OPERATOR": "bill"})
    try:  # read-only mode refuses a change whatever the role, and still shows everything
        with pytest.raises(Forbidden, match="read-only"):
            read_only.billing.link("beta-sa", stripe.customer("beta-sa"))
        assert read_only.billing.status().full
    finally:
        read_only.close()


def test_unlink_asks_first_and_a_script_must_say_yes(world: PartnerWorld, stripe: Stripe) -> None:
    acme = stripe.customer("acme-gmbh")
    world.as_("bill").billing.link("acme-gmbh", acme)
    refused = _cli(world, "unlink", "acme-gmbh")
    assert refused.code == 2 and "--yes" in refused.error()["hint"]
    assert _cli(world, "status", "acme-gmbh").json()[0]["customer"] == acme
    done = _cli(world, "unlink", "acme-gmbh", "--yes")
    assert done.code == 0 and done.json()["linked"] is False
    assert _cli(world, "status", "acme-gmbh").json()[0]["customer"] is None


def test_the_status_table_shows_stripe_text_inert_and_the_state_only_to_others(
    world: PartnerWorld, stripe: Stripe
) -> None:
    acme = stripe.customer("acme-gmbh")
    world.as_("bill").billing.link("acme-gmbh", acme)
    _synced(world, "acme-gmbh", invoice_number="\x1b[2J\x1b]0;owned\x07INV")
    with world.as_("ada").ctx.catalog.transaction() as tx:  # purged tenants are not listed
        gone = tx.tenants.get("gamma-ltd")
        assert gone is not None
        from dataclasses import replace

        tx.tenants.update(replace(gone, state=TenantState.PURGED), by="ada")
    full = run_cli("billing", "status", config=world.config, operator="bill")
    assert full.code == 0, full.stderr
    assert "\x1b" not in full.stdout and "\x07" not in full.stdout
    lines = full.stdout.splitlines()
    assert lines[0].split() == [
        "TENANT",
        "LICENCE",
        "GROUP",
        "PERIOD_END",
        "RENEWS",
        "CUSTOMER",
        "INVOICE",
        "AMOUNT",
        "INVOICE_STATUS",
        "DUE",
    ]
    assert lines[1].split()[:6] == ["acme-gmbh", "past_due", "non-payment", "2027-03-21", "yes",
                                    acme]  # fmt: skip
    assert "1299.50 EUR" in lines[1] and "2027-03-04" in lines[1]
    assert lines[2].split() == ["beta-sa", "none", "none", "-", "-", "-", "-", "-", "-", "-"]
    assert lines[-1] == "2 tenants"
    state_only = run_cli("billing", "status", config=world.config, operator="olga")
    assert state_only.stdout.splitlines()[0].split() == [
        "TENANT",
        "LICENCE",
        "GROUP",
        "PERIOD_END",
        "RENEWS",
    ]
    assert "cus_" not in state_only.stdout and "INV" not in state_only.stdout


def test_help_names_the_commands_and_the_states(world: PartnerWorld) -> None:
    group = run_cli("billing", "--help", config=world.config)
    assert group.code == 0
    for command in ("link", "unlink", "status"):
        assert command in group.stdout
    status = run_cli("billing", "status", "--help", config=world.config)
    assert "non-payment" in status.stdout and "expired" in status.stdout
