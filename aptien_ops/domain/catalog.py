"""What the catalog reports about itself: loads per cluster, its schema, its installation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class ClusterLoad:
    region: str
    cluster: str
    tenants: int


@dataclass
class CatalogInfo:
    schema_revision: str
    created: bool = False
    notes: list[str] = field(default_factory=list)


class SchemaState(StrEnum):
    """Where the catalog's schema stands against this aptien-ops's revision."""

    CURRENT = "current"
    BEHIND = "behind"
    """Older: the next command upgrades it (as ``catalog.owner``)."""
    NEWER = "newer"
    """Written by a newer aptien-ops: this one must not use it."""
    NONE = "none"
    """No schema at all: a catalog that was never created."""
    UNREADABLE = "unreadable"
    """The runtime role may not read the revision (its privileges were taken)."""


@dataclass(frozen=True)
class CatalogInstall:
    """What the catalog's database says of its own installation, read as it is (never
    created, upgraded or bootstrapped): what ``aptien-ops doctor`` checks."""

    database: str
    """``sqlite`` or ``postgresql``."""
    schema: SchemaState
    schema_revision: str | None
    """The revision stored in the catalog (None: no schema)."""
    code_revision: str
    """The revision this aptien-ops needs."""
    runtime_role: str | None = None
    """PostgreSQL: the role the console works as (the url's user)."""
    log_rewrites: tuple[str, ...] = ()
    """PostgreSQL: which of ``UPDATE``, ``DELETE``, ``TRUNCATE`` the runtime role may do to
    the ops log's table, as the server answers ``has_table_privilege`` (should be none)."""
    missing_triggers: tuple[str, ...] = ()
    """PostgreSQL: the append-only triggers of the ops log that are absent or disabled."""
    outbox_rewrites: tuple[str, ...] = ()
    """PostgreSQL: what the runtime role may do to the breach notices' history beyond adding
    to it and moving a delivery's state on (``DELETE on breach_outbox``, ``UPDATE of
    breach_outbox.email``), as the server answers; should be none."""
    outbox_fix: str | None = None
    """The owner's statements that take those privileges back (None when there are none)."""
