"""Customers as Stripe holds them, made in localstripe for the billing tests and the benchmark:
each with a card (a payment method, and a card source for some) and a billing address, and a
subscription in the licence state asked for."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

#: What Stripe holds and the console must never keep, log or print (the never-a-card test).
CARD_NUMBER = "4242424242424242"
SOURCE_CARD_NUMBER = "5555555555554444"
CARD_LAST4 = ("4242", "4444")
CARD_EXPIRY = ("2031", "2032")
ADDRESS_STRINGS = ("17 Quiet Lane", "Brightwater", "40213", "Apartment 9B")


@dataclass
class Plans:
    plan: str


def plans(client: Any) -> Plans:
    product = client.v1.products.create({"name": "Aptien licence"})
    plan = client.v1.plans.create(
        {"product": product.id, "amount": 4900, "currency": "eur", "interval": "month"}
    )
    return Plans(plan.id)


def customer(
    client: Any,
    plans: Plans,
    tenant: str | None,
    *,
    status: str = "active",
    card: bool = True,
    source: bool = False,
) -> str:
    """A customer with ``metadata[tenant]`` (if given), an address, a card and a subscription:
    ``active``, ``trial`` (a trial without a first invoice: localstripe reports it
    ``incomplete``), ``canceled`` or ``none`` (no subscription)."""
    params: dict[str, Any] = {
        "name": f"{tenant or 'someone'} Ltd",
        "email": f"accounts.payable@{tenant or 'someone'}.example",
        "address": {
            "line1": ADDRESS_STRINGS[0],
            "line2": ADDRESS_STRINGS[3],
            "city": ADDRESS_STRINGS[1],
            "postal_code": ADDRESS_STRINGS[2],
            "country": "DE",
        },
    }
    if tenant is not None:
        params["metadata"] = {"tenant": tenant}
    cus = client.v1.customers.create(params)
    if card:
        pm = client.v1.payment_methods.create(
            {
                "type": "card",
                "card": {"number": CARD_NUMBER, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
                "billing_details": {"address": {"line1": ADDRESS_STRINGS[0]}},
            }
        )
        client.v1.payment_methods.attach(pm.id, {"customer": cus.id})
        client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    if source:
        token = client.v1.tokens.create(
            {"card": {"number": SOURCE_CARD_NUMBER, "exp_month": 1, "exp_year": 2032, "cvc": "999"}}
        )
        client.v1.customers.payment_sources.create(cus.id, {"source": token.id})
    if status == "none":
        return str(cus.id)
    sub_params: dict[str, Any] = {"customer": cus.id, "items": [{"plan": plans.plan}]}
    if status == "trial":
        sub_params["trial_end"] = int(time.time()) + 14 * 86400
    sub = client.v1.subscriptions.create(sub_params)
    if status == "canceled":
        client.v1.subscriptions.cancel(sub.id)
    return str(cus.id)
