"""TUI fixtures: sandboxes with fixed data, consoles acting as a chosen operator, and apps
whose idle clock the test moves by hand.

Snapshots need everything on screen to be the same on every machine and every run: the
``frozen`` fixture gives every console the test opens a fixed clock, OS account and id seed.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tui_helpers import FROZEN_ACCOUNT, FROZEN_NOW, ManualClock, Pins

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Clock, Tenant, TenantState
from aptien_ops.sandbox import DEMO_TENANTS, write_sandbox_config
from aptien_ops.services.incidents import IncidentInput
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.services.sandbox_seed import SeedRequest


@pytest.fixture
def pins() -> Pins:
    return Pins()


@pytest.fixture
def frozen(pins: Pins) -> None:
    """Every console opened by the test reads ``FROZEN_NOW``, runs as ``FROZEN_ACCOUNT`` and
    numbers its ids from a fixed seed: the same screen on every machine and every run."""
    pins.clock = lambda: FROZEN_NOW
    pins.account = FROZEN_ACCOUNT
    pins.seed = 7


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A sandbox config (catalog created on first open) in tmp_path; returns its ops.toml."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    return config


@pytest.fixture
def open_as(sandbox: Path, pins: Pins) -> Iterator[Callable[..., Console]]:
    """``open_as("vic")`` opens a console acting as sandbox operator vic (None: the OS account);
    ``clock=`` gives it a clock of its own (else the pinned one)."""
    opened: list[Console] = []

    def open_console_as(
        operator: str | None = None, *, read_only: bool = False, clock: Clock | None = None
    ) -> Console:
        env = {"APTIEN_OPS_OPERATOR": operator} if operator else {}
        console = open_console(
            sandbox,
            read_only=read_only,
            env=env,
            clock=clock or pins.clock,
            rng=random.Random(pins.seed) if pins.seed is not None else None,
            identity=pins.identity(operator),
        )
        opened.append(console)
        return console

    yield open_console_as
    for console in opened:
        console.close()


#: Demo tenants not left active, so every screen has more than one state to show.
DEMO_STATES = {"nile-textiles": TenantState.SUSPENDED, "gotham-legal": TenantState.CANCELLED}


@pytest.fixture
def demo_tenants(open_as: Callable[..., Console]) -> None:
    """The twelve demo tenants of ``sandbox init``, written straight into the catalog.

    The screens only read the catalog, so the tenants' own databases are not created: that
    keeps each test fast and the dates on screen fixed (``created`` is the frozen clock).
    """
    admin = open_as(None)
    with admin.ctx.catalog.transaction() as tx:
        for name, country, contact, email in DEMO_TENANTS:
            region = admin.regions.resolve(country).region
            state = DEMO_STATES.get(name, TenantState.ACTIVE)
            tx.tenants.insert(
                Tenant(
                    name,
                    country,
                    region,
                    f"{region}-sandbox-1",
                    state,
                    contact,
                    email,
                    FROZEN_NOW,
                    FROZEN_NOW,
                )
            )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def provisioned(open_as: Callable[..., Console]) -> Callable[..., str]:
    """``provisioned("acme-gmbh", "DE")`` provisions a tenant for real, database and all, as ada."""

    def provision(
        name: str, country: str, contact: str | None = None, email: str | None = None
    ) -> str:
        request = ProvisionRequest(name, country, contact_name=contact, contact_email=email)
        return open_as("ada").provisioning.provision(request).name

    return provision


#: ``sandbox seed`` arguments of the tenants the inspection screens are tested on: two tenants
#: (one per region), 600 audit events and 3,000 logins each, always the same metadata.
SEED = SeedRequest(tenants=2, users=12, events=600, logins=3000, seed=2)


def pin_platform_keys(console: Console, request: SeedRequest) -> None:
    """Write each seeded tenant's payload key before seeding, with a fixed key id.

    The platform (which the test plays here) makes a random key id per tenant; audit events
    show it, so snapshots need it fixed. The key itself stays secret to the console as ever.
    """
    key_dir = console.settings.data_dir / "platform-keys"
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, _country in console.seeding.tenant_names(request):
        doc = {
            "version": 1,
            "tenant": name,
            "alg": "AES-256-GCM",
            "key_id": f"tk-{name}",
            "key": base64.b64encode(os.urandom(32)).decode("ascii"),
        }
        fd = os.open(key_dir / f"{name}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)


@pytest.fixture
def seed_tenants(open_as: Callable[..., Console]) -> Callable[..., list[str]]:
    """``seed_tenants(marker=None)`` runs ``sandbox seed`` (``SEED``) as the admin; returns the
    tenants' names, sorted as the tenants list shows them."""

    def seed(request: SeedRequest = SEED, *, marker: str | None = None) -> list[str]:
        admin = open_as(None)
        wanted = dataclasses.replace(request, marker=marker)
        pin_platform_keys(admin, wanted)
        return sorted(seeded.tenant for seeded in admin.seeding.seed(wanted))

    return seed


@pytest.fixture
def partner_register(demo_tenants: None, open_as: Callable[..., Console]) -> None:
    """The sandbox's partner register (``sandbox init``'s) over the demo tenants, seeded on
    the pinned clock: partners eligible, expiring, overdue, lapsed, suspended and ended."""
    open_as(None).seeding.seed_partners(name for name, *_ in DEMO_TENANTS)


#: The incidents ``incident_board`` opens, by title: hours since Aptien became aware of each.
INCIDENTS = {
    "Backup bucket readable": 80,  # overdue by 8 hours
    "Support mailbox phished": 60,  # 12 hours left: under 24
    "Laptop stolen from a car": 10,  # 62 hours left
    "Invoices mailed to the wrong customers": 30,  # reported: the clock stopped
}


@pytest.fixture
def incident_board(open_as: Callable[..., Console], tmp_path: Path) -> dict[str, str]:
    """The :data:`INCIDENTS`, opened by sam (security) on the pinned clock; the last one
    reported (initial phase), with a timeline note and an Art. 34(3) exemption. Returns
    each one's id by title."""
    sam = open_as("sam")
    now = sam.ctx.now()
    ids: dict[str, str] = {}
    for title, hours in INCIDENTS.items():
        given = IncidentInput(
            title,
            "confidentiality",
            now - timedelta(hours=hours),
            severity="high" if hours > 50 else "medium",
            dpo_contact="dpo@aptien.example",
        )
        ids[title] = sam.incidents.open(given).id
    reported = ids["Invoices mailed to the wrong customers"]
    sam.incidents.timeline_add(reported, "customers asked to delete the e-mails")
    sam.incidents.report(reported, "initial", "md", tmp_path / "initial.md", reference="DPA-17")
    sam.notices.exempt(reported, "only business addresses; no special categories")
    return ids
