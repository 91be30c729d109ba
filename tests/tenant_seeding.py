"""A new tenant filled with platform activity, for tests that inspect or back it up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from aptien_ops.backends.sandbox_platform import seed_tenant
from aptien_ops.composition import Console, open_console
from aptien_ops.domain import utcnow
from aptien_ops.services.provisioning import ProvisionRequest


def seeded(
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
) -> str:
    """Provision ``name`` for a client in ``country`` (default German: region eu) and fill it
    by the platform's own seeding code: ``logins`` and ``events`` over the 90 days before
    ``now`` (default: the real time)."""
    tenant = console.provisioning.provision(ProvisionRequest(name, country))
    store = console.ctx.store(tenant.cluster or "")
    with store.connect(name) as conn:
        seed_tenant(
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
        )
    return name


def seeded_in(config: Path, name: str, **activity: Any) -> str:
    """:func:`seeded` by a console of its own on ``config``, closed again (as the platform's
    first run would leave the tenant); ``activity`` as for :func:`seeded`."""
    console = open_console(config)
    try:
        return seeded(console, name, **activity)
    finally:
        console.close()
