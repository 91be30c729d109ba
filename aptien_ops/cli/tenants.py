"""``region`` and ``tenant`` commands."""

from __future__ import annotations

from typing import Any

import click

from aptien_ops.cli.output import emit_json_text, fields, table
from aptien_ops.cli.params import TextLimit, if_version_option
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.domain.free_text import COMPANY, CONTACT_NAME
from aptien_ops.wording import plural

TENANT_COLUMNS = ("name", "region", "country", "cluster", "state", "created_at")


@click.group()
def region() -> None:
    """Data regions: where each client's data lives.

    \b
    Examples:
      aptien-ops region list
      aptien-ops region resolve DE      -> eu (UN M49 Western Europe)
    """


@region.command("list")
@pass_state
def region_list(state: CliState) -> None:
    """Regions with their clusters, capacity and tenant count."""
    regions = state.console().regions.list()
    rows = [
        {
            "region": r.name,
            "description": r.description,
            "clusters": len(r.clusters),
            "tenants": r.tenants,
            "capacity": r.capacity,
        }
        for r in regions
    ]
    state.out(
        [r.as_json() for r in regions],
        table(rows, ("region", "description", "clusters", "tenants", "capacity")),
    )


@region.command("resolve")
@click.argument("country")
@pass_state
def region_resolve(state: CliState, country: str) -> None:
    """Which region a client in COUNTRY belongs to, and why.

    COUNTRY is an ISO 3166-1 alpha-2 code or the country's exact name ("Ireland"); text that
    only matches names ("korea") is refused with the candidates.
    """
    from aptien_ops.config import load_settings
    from aptien_ops.regions import RegionResolver

    settings = load_settings(state.config)
    resolution = RegionResolver(settings.regions, settings.region_overrides).resolve_named(country)
    data = resolution.as_json()
    state.out(
        data, f"{data['country']} {data['country_name']} -> {data['region']} ({data['rule']})"
    )


@click.group()
def tenant() -> None:
    """Tenants: one client environment each, with its own database in its region.

    \b
    Examples:
      aptien-ops tenant list --region eu --state active
      aptien-ops --json tenant show acme-gmbh
      aptien-ops tenant history acme-gmbh
    """


@tenant.command("list")
@click.option("--region", help="Only tenants of this region.")
@click.option(
    "--state",
    "tenant_state",
    metavar="STATE",
    help="provisioning, active, suspended, cancelled or purged.",
)
@pass_state
def tenant_list(state: CliState, region: str | None, tenant_state: str | None) -> None:
    """Tenants, by name."""
    if state.json:
        emit_json_text(state.console().tenants.rows_json(region=region, state=tenant_state))
        return
    rows = [t.as_json() for t in state.console().tenants.list(region=region, state=tenant_state)]
    state.out(rows, table(rows, TENANT_COLUMNS) + f"\n{plural(len(rows), 'tenant')}")


@tenant.command("history")
@click.argument("name")
@pass_state
def tenant_history(state: CliState, name: str) -> None:
    """A tenant's history, oldest first: its state changes, and each four-eyes request about
    it (a purge) with who requested it, who approved or rejected it, and why.

    \b
    Examples:
      aptien-ops tenant history acme-gmbh
      aptien-ops --json tenant history acme-gmbh
    """
    rows = [h.as_json() for h in state.console().tenants.history(name)]
    state.out(rows, table(rows, ("at", "what", "operator", "reason")))


@tenant.command("update")
@click.argument("name")
@click.option(
    "--contact-name",
    callback=TextLimit(CONTACT_NAME),
    help=f"The client's representative ({CONTACT_NAME.help}); empty clears it.",
)
@click.option("--contact-email", help="The representative's e-mail; empty clears it.")
@click.option("--contact-phone", help="The representative's phone; empty clears it.")
@click.option(
    "--company",
    callback=TextLimit(COMPANY),
    help=f"The client's company name ({COMPANY.help}); empty clears it.",
)
@if_version_option("tenant")
@pass_state
def tenant_update(
    state: CliState,
    name: str,
    contact_name: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    company: str | None,
    seen: int | None,
) -> None:
    """Change tenant NAME's contact record: the card an assigned partner may be given.

    \b
    Example:
      aptien-ops tenant update acme-gmbh --company "ACME GmbH" --contact-phone "+49 30 1234"
    """
    updated = state.console().tenants.update_contact(
        name,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        company=company,
        seen=seen,
    )
    state.out(updated.as_json(), f"updated the contact record of {updated.name}")


#: The contact record, shown together under the representative's name.
_CONTACT = ("contact_name", "contact_email", "contact_phone", "company")


def _contact_together(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its contact fields moved up beside ``contact_name``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "contact_name":
            out.update({k: record.get(k) for k in _CONTACT})
        elif key not in _CONTACT:
            out[key] = value
    return out


@tenant.command("show")
@click.argument("name")
@pass_state
def tenant_show(state: CliState, name: str) -> None:
    """One tenant in detail: steps, state history, cluster, schema version, size."""
    detail = state.console().tenants.detail(name)
    data = detail.as_json()
    if state.json:
        state.out(data)
        return
    steps = [s.as_json() for s in detail.steps]
    history = [h.as_json() for h in detail.timeline()]
    shown = {k: v for k, v in data.items() if k not in ("steps", "history", "requests")}
    text = fields(_contact_together(shown))
    text += "\n\nSTEPS\n" + table(steps, ("step", "done_at", "detail"))
    text += "\n\nHISTORY\n" + table(history, ("at", "what", "operator", "reason"))
    state.out(data, text)
