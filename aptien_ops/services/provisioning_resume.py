"""How a provisioning run meets a tenant that exists already: finished for the same request
(reported as it is), resumed under the run's lease, or a conflict.

A lease on the tenant row (``host:pid:session``, :data:`LEASE` long) keeps two processes from
working on the same tenant at once; one whose process has died, or that has expired, is
taken over. A tenant reserved with a filling (a restore into it) is resumed only with that
filling, so an interrupted restore never goes active empty. Used by
:class:`~aptien_ops.services.provisioning.ProvisioningService`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from datetime import datetime, timedelta

from aptien_ops.domain import Tenant, TenantState
from aptien_ops.errors import Conflict
from aptien_ops.ports import CatalogTx

LEASE = timedelta(minutes=10)
#: Joins the reserve step's detail and the name of a filling step (``cluster eu-1; restore``).
FILLED = "; then "


def finished_for(
    existing: Tenant | None,
    country: str,
    region: str,
    contact_name: str | None,
    contact_email: str | None,
) -> Tenant | None:
    """``existing`` if its provisioning finished for this same request; None if there is no
    such tenant yet or it is still being provisioned.

    Raises: Conflict (purged, or provisioned for another country, region or contact).
    """
    if existing is None or existing.state == TenantState.PROVISIONING:
        return None
    name = existing.name
    if existing.state == TenantState.PURGED:
        raise Conflict(
            f"tenant {name} was purged; its name stays with its tombstone",
            hint="provision the client under another name",
        )
    asked = {
        "country": (country, existing.country),
        "region": (region, existing.region),
        "contact name": (contact_name, existing.contact_name),
        "contact e-mail": (contact_email, existing.contact_email),
    }
    differs = [
        f"{what} {had or '(none)'}, not {wanted}"
        for what, (wanted, had) in asked.items()
        if wanted is not None and wanted != had
    ]
    if differs:
        raise Conflict(
            f"tenant {name} exists already ({existing.state}) with {'; '.join(differs)}",
            hint=f"aptien-ops tenant show {name}",
        )
    return existing


def leased(existing: Tenant, country: str, region: str, me: str, now: datetime) -> Tenant:
    """``existing``, still being provisioned for this country and region, leased to ``me``.

    Raises: Conflict (not provisioning, another country or region, or a live lease of
    another run).
    """
    name = existing.name
    if existing.state != TenantState.PROVISIONING:
        raise Conflict(
            f"tenant {name} exists already ({existing.state})",
            hint=f"aptien-ops tenant show {name}",
        )
    if existing.country != country or existing.region != region:
        raise Conflict(
            f"tenant {name} is being provisioned for {existing.country} in {existing.region}, "
            f"not {country} in {region}",
            hint="rerun with the same country and region to resume it",
        )
    if existing.lease_owner and existing.lease_owner != me and not lease_is_stale(existing, now):
        raise Conflict(
            f"tenant {name} is being provisioned right now by another run ({existing.lease_owner})",
            hint="wait for it to finish, then check: aptien-ops tenant show " + name,
        )
    return replace(existing, lease_owner=me, lease_until=now + LEASE)


def check_filling(tx: CatalogTx, existing: Tenant, wanted: str) -> None:
    """Raises: Conflict if a tenant reserved with a filling is resumed without it (``wanted``
    is the filling step's name, "" for none), or the other way round (an interrupted restore
    must not go active empty)."""
    if existing.state != TenantState.PROVISIONING:
        return
    reserve = next((s for s in tx.tenant_history.steps(existing.name) if s.step == "reserve"), None)
    reserved = (reserve.detail or "").partition(FILLED)[2] if reserve else ""
    if reserved == wanted:
        return
    if reserved:
        raise Conflict(
            f"tenant {existing.name} is being provisioned to {reserved} a backup into it",
            hint=f"rerun: aptien-ops backup restore BACKUP_ID --to {existing.name}",
        )
    raise Conflict(
        f"tenant {existing.name} is being provisioned as a new, empty tenant",
        hint=f"finish it first: aptien-ops tenant provision {existing.name} …",
    )


def lease_is_stale(tenant: Tenant, now: datetime) -> bool:
    """Whether the tenant's lease has expired or its process (on this host) has died."""
    assert tenant.lease_owner is not None
    if tenant.lease_until is None or tenant.lease_until < now:
        return True
    host, _, rest = tenant.lease_owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True  # that process died: crash recovery may take over at once
    except PermissionError:
        return False
    return False
