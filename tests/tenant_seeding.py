"""A new tenant filled with platform activity, for tests that inspect or back it up (and the
benchmarks that time it)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aptien_ops.backends.sandbox_platform import SeedStats, seed_tenant
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import utcnow
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.services.sandbox_seed import SeedRequest


def provision_and_seed(
    console: Console,
    name: str,
    *,
    country: str = "DE",
    logins: int = 600,
    events: int = 400,
    users: int = 15,
    seed: int = 3,
    now: datetime | None = None,
    marker: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedStats:
    """Provision ``name`` for a client in ``country`` (default German: region eu) and fill it
    by the platform's own seeding code: ``logins`` and ``events`` over the 90 days before
    ``now`` (default: the real time); ``progress`` as for ``seed_tenant``."""
    tenant = console.provisioning.provision(ProvisionRequest(name, country))
    store = console.ctx.store(tenant.cluster or "")
    with store.connect(name) as conn:
        return seed_tenant(
            conn,
            store.kind,
            name,
            users=users,
            audit_events=events,
            logins=logins,
            seed=seed,
            key_dir=console.settings.data_dir / "platform-keys",
            now=now or utcnow(),
            marker=marker,
            progress=progress,
        )


def seeded(console: Console, name: str, **activity: Any) -> str:
    """:func:`provision_and_seed`; returns the tenant's name."""
    provision_and_seed(console, name, **activity)
    return name


def seeded_in(config: Path, name: str, **activity: Any) -> str:
    """:func:`seeded` by a console of its own on ``config``, closed again (as the platform's
    first run would leave the tenant); ``activity`` as for :func:`provision_and_seed`."""
    console = open_console(config)
    try:
        return seeded(console, name, **activity)
    finally:
        console.close()


#: Seeds handed out in this process (one test worker, one PostgreSQL server).
_seeds = itertools.count(1_000)


def france_and_canada(console: Console, **request: Any) -> SeedRequest:
    """A ``sandbox seed`` request for two tenants, one in France (eu) and one in Canada (us),
    under names no other test of this process uses.

    A seed fixes the tenants' names as well as their countries, and the eu cluster of these
    tests is the worker's shared PostgreSQL server: two tests seeding with one seed would meet
    each other's databases there (the second test adopting the first one's tenant, its rows
    sealed under another sandbox's key). So each request takes the next seed that names the
    same two countries."""
    while True:
        wanted = SeedRequest(tenants=2, seed=next(_seeds), **request)
        if [country for _, country in console.seeding.tenant_names(wanted)] == ["FR", "CA"]:
            return wanted
