"""A sandbox whose ``[billing]`` points at localstripe (or at a fault proxy in front of it),
with tenants linked to customers made there: what the sync tests and the benchmark share."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aptien_ops.composition import Console
from aptien_ops.domain import Tenant, TenantState
from aptien_ops.domain.billing import TenantBilling
from aptien_ops.sandbox import write_sandbox_config

import stripe_world
from sandboxes import sandbox_on

KEY = "sk_test_aptienSyncKey20261204"
KEY_ENV = "APTIEN_TEST_STRIPE_KEY"
#: The webhook endpoint's signing secret the webhook tests' [billing] names.
SECRET = "whsec_hookTests20261204"
SECRET_ENV = "APTIEN_TEST_WEBHOOK_SECRET"


def signed(body: str, *, secret: str = SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for ``body`` at ``at`` (now): computed
    here, not by stripe-python."""
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def billing_section(api_base: str, *, attempts: int = 2) -> str:
    return (
        f'\n[billing]\napi_key_env = "{KEY_ENV}"\napi_base = "{api_base}"\n'
        f"max_attempts = {attempts}\n"
    )


def billing_sandbox(directory: Path, api_base: str | None, *, attempts: int = 2) -> Path:
    """A sandbox config in ``directory``, billing connected to ``api_base`` (None: not)."""
    config, _ = write_sandbox_config(directory)
    if api_base is not None:
        config.write_text(config.read_text() + billing_section(api_base, attempts=attempts))
    return config


def hooked_sandbox(
    request: pytest.FixtureRequest, directory: Path, api_base: str, mp: pytest.MonkeyPatch
) -> Path:
    """A sandbox on ``request.param``'s catalog (SQLite or PostgreSQL) whose [billing] names
    ``api_base``, the API key and the webhook endpoint's secret (set in the environment)."""
    mp.setenv(KEY_ENV, KEY)
    mp.setenv(SECRET_ENV, SECRET)
    config = sandbox_on(request.param, directory, request)
    section = billing_section(api_base) + f'webhook_secret_env = "{SECRET_ENV}"\n'
    config.write_text(config.read_text() + section)
    return config


def add_tenants(console: Console, names: list[str]) -> None:
    """Tenants in the catalog only (no database: billing needs none), straight through the
    repository, as many as a benchmark needs in one transaction."""
    now = console.ctx.now()
    with console.ctx.catalog.transaction() as tx:
        for name in names:
            tx.tenants.insert(
                Tenant(
                    name=name,
                    country="DE",
                    region="eu",
                    cluster="eu-sandbox-1",
                    state=TenantState.ACTIVE,
                    contact_name=None,
                    contact_email=f"billing@{name}.example",
                    created_at=now,
                    updated_at=now,
                )
            )


def link(console: Console, pairs: dict[str, str]) -> None:
    with console.ctx.catalog.transaction() as tx:
        for tenant, customer in pairs.items():
            tx.billing.link(TenantBilling(tenant, customer))


def rows(console: Console) -> dict[str, TenantBilling]:
    with console.ctx.catalog.read() as tx:
        return {row.tenant: row for row in tx.billing.all()}


@dataclass
class BillingWorld:
    """Customers in localstripe, each linked to a tenant of the sandbox."""

    console: Console
    client: Any
    plans: stripe_world.Plans
    customers: dict[str, str] = field(default_factory=dict)

    def customer(self, tenant: str, **kwargs: Any) -> str:
        self.customers[tenant] = stripe_world.customer(self.client, self.plans, tenant, **kwargs)
        return self.customers[tenant]

    def link_all(self) -> None:
        add_tenants(self.console, list(self.customers))
        link(self.console, self.customers)
