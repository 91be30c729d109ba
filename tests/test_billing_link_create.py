"""``billing link TENANT --create`` against localstripe: the customer is made in Stripe with
the tenant's company (else its name), its representative's e-mail and ``metadata[tenant]``,
then linked; refused before Stripe is asked when the tenant is linked already."""

from __future__ import annotations

import json
from pathlib import Path

from aptien_ops.composition import open_console

from billing_sync_world import KEY, add_tenants, billing_sandbox, rows
from cli_runner import run_cli
from stripe_server import FaultProxy, LocalStripe


def test_create_makes_the_customer_in_stripe_and_links_it(
    tmp_path: Path, stripe_server: LocalStripe, stripe_proxy: FaultProxy, stripe_key: str
) -> None:
    proxy = stripe_proxy
    config = billing_sandbox(tmp_path / "sbx", proxy.url)
    console = open_console(config)
    add_tenants(console, ["acme-gmbh", "globex"])
    console.tenants.update_contact("acme-gmbh", company="ACME GmbH")
    console.close()

    made = run_cli("--json", "billing", "link", "acme-gmbh", "--create", config=config,
                   operator="bill")  # fmt: skip
    assert made.code == 0, made.stderr
    customer_id = made.json()["customer"]
    customer = stripe_server.client(KEY).v1.customers.retrieve(customer_id)
    assert (customer.name, customer.email) == ("ACME GmbH", "billing@acme-gmbh.example")
    assert customer.metadata.to_dict() == {"tenant": "acme-gmbh"}
    plain = run_cli("billing", "link", "globex", "--create", config=config, operator="bill")
    assert plain.code == 0 and "(created in Stripe)" in plain.stdout, plain.stderr
    globex = rows(open_console(config))["globex"].customer_id
    assert stripe_server.client(KEY).v1.customers.retrieve(globex).name == "globex"

    asked = proxy.faults.requests
    again = run_cli("billing", "link", "acme-gmbh", "--create", config=config,
                    operator="bill")  # fmt: skip
    assert again.code == 5 and proxy.faults.requests == asked, again.stderr
    both = run_cli("billing", "link", "acme-gmbh", "--create", "--customer", "cus_X1",
                   config=config, operator="bill")  # fmt: skip
    neither = run_cli("billing", "link", "acme-gmbh", config=config, operator="bill")
    assert both.code == neither.code == 2 and proxy.faults.requests == asked
    check = open_console(config)
    with check.ctx.catalog.read() as tx:
        entries = [e for e in tx.opslog.entries() if e.action == "billing.link"]
    assert [(e.outcome, json.loads(e.params)["customer"]) for e in entries[:2]] == [
        ("ok", customer_id),
        ("ok", globex),
    ]
    assert entries[2].outcome == "failed:conflict"
    check.close()
