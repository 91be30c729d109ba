"""Tenants: their states, their record, and what happened to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from aptien_ops.domain.billing import LicenceGroup, LicenceState, licence_group
from aptien_ops.domain.values import iso


class TenantState(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    PURGED = "purged"


@dataclass(frozen=True)
class Tenant:
    name: str
    country: str
    region: str
    cluster: str | None
    state: TenantState
    contact_name: str | None
    contact_email: str | None
    created_at: datetime
    updated_at: datetime
    schema_version: int | None = None
    state_reason: str | None = None
    retain_until: datetime | None = None
    purged_at: datetime | None = None
    backup_recipient: str | None = None
    """The age X25519 recipient backups are encrypted to (public; the identity is sealed)."""
    lease_owner: str | None = None
    """``host:pid:session`` of the process provisioning it right now, if any."""
    lease_until: datetime | None = None
    contact_phone: str | None = None
    """The representative's phone (on the contact card a partner may be given)."""
    company: str | None = None
    """The client's company name, as its representative's card shows it."""
    version: int = 1
    """Bumped by every change of the row: a change names the version it read."""
    changed_by: str | None = None
    """The operator who made the last change (None: before versions were kept)."""

    #: The keys of :meth:`as_json`, in order (``tenant list --json`` has the database write
    #: the same object).
    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "name",
        "country",
        "region",
        "cluster",
        "state",
        "contact_name",
        "contact_email",
        "created_at",
        "updated_at",
        "schema_version",
        "state_reason",
        "retain_until",
        "purged_at",
        "backup_recipient",
        "contact_phone",
        "company",
        "version",
    )

    def placement(self) -> dict[str, object]:
        """Where the tenant lives, as a result's JSON starts: ``tenant``, ``region``,
        ``cluster``."""
        return {"tenant": self.name, "region": self.region, "cluster": self.cluster}

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for key in self.JSON_KEYS:
            value = getattr(self, key)
            if isinstance(value, datetime):
                value = iso(value)
            elif isinstance(value, TenantState):
                value = str(value)
            out[key] = value
        return out


@dataclass(frozen=True)
class StepRecord:
    """One completed provisioning step of a tenant."""

    step: str
    done_at: datetime
    detail: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"step": self.step, "done_at": iso(self.done_at), "detail": self.detail}


@dataclass(frozen=True)
class StateChange:
    """One transition in a tenant's life, kept for accountability (also after purge)."""

    at: datetime
    from_state: str | None
    to_state: str
    operator: str
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "from": self.from_state,
            "to": self.to_state,
            "operator": self.operator,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ListedTenant(Tenant):
    """A tenant as a list of tenants shows it: with its licence state (``none``: not linked to
    Stripe), read in the same query as the tenant (the state only, which every member of
    staff may see)."""

    licence: LicenceState = LicenceState.NONE

    @property
    def licence_group(self) -> LicenceGroup:
        return licence_group(self.licence)


#: The orders a list of tenants can be read in: by one column, then by name.
TENANT_ORDERS = ("name", "country", "region", "cluster", "state", "licence")


@dataclass(frozen=True)
class TenantQuery:
    """Which tenants a list shows and in what order: one region (None: all), those whose
    name, country, region, cluster or state holds ``grep`` (None: all), whose licence is one
    of ``licences`` (None: any), ordered by ``order`` (one of :data:`TENANT_ORDERS`), then by
    name."""

    region: str | None = None
    grep: str | None = None
    order: str = "name"
    licences: frozenset[LicenceState] | None = None


@dataclass(frozen=True)
class TenantTally:
    """How many tenants a list's query finds (``matches``) of those in its region (``total``)."""

    matches: int
    total: int


@dataclass(frozen=True)
class TenantCount:
    region: str
    state: TenantState
    count: int
