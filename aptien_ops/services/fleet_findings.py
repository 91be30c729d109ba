"""What ``fleet check`` finds: the kinds of drift, and the judging of what each cluster says
about its databases against what the catalog says about its tenants.

Pure functions of their arguments (no I/O): :mod:`aptien_ops.services.fleet` gathers the
facts, one query per cluster, and these turn them into findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aptien_ops.backup_policy import BackupRecord
from aptien_ops.domain import Tenant, TenantState, iso
from aptien_ops.ports import DatabaseFacts
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

LIVE_STATES = (TenantState.ACTIVE, TenantState.SUSPENDED, TenantState.CANCELLED)
#: Findings that mean part of the fleet could not be checked: ``fleet check`` exits 6.
UNREACHABLE = frozenset({"cluster-unreachable", "backup-store-unreachable"})


@dataclass(frozen=True)
class Finding:
    kind: str
    """cluster-unreachable, missing-database, orphan-database, login-drift, access-drift,
    unreadable-database, schema-behind, schema-unrecorded, over-capacity, past-retention,
    stuck-provisioning, scratch-leftover, backup-store-unreachable, backup-missing or
    backup-unindexed."""
    region: str
    cluster: str | None
    tenant: str | None
    detail: str

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "region": self.region,
            "cluster": self.cluster,
            "tenant": self.tenant,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Cluster:
    """One cluster as the check sees it: where it is, and what the catalog places on it."""

    region: str
    name: str
    capacity: int
    tenants: Sequence[Tenant]


#: What a deep check read from each database: the version its ``tenant_meta`` holds (0: no
#: schema yet), or why it could not be read.
DeepVersions = dict[str, int | str]


def cluster_findings(
    cluster: Cluster, facts: Sequence[DatabaseFacts], deep: DeepVersions | None = None
) -> list[Finding]:
    """Drift between the catalog's tenants on ``cluster`` and what the cluster says; with
    ``deep`` (tenant -> the version its ``tenant_meta`` holds, or why it could not be read),
    the schema is judged by the databases' own versions."""
    out: list[Finding] = []

    def found(kind: str, tenant: str | None, detail: str) -> None:
        out.append(Finding(kind, cluster.region, cluster.name, tenant, detail))

    known = {t.name: t for t in cluster.tenants}
    present = {f.tenant: f for f in facts}
    for name in sorted(present):
        tenant = known.get(name)
        if tenant is None or tenant.state == TenantState.PURGED:
            found(
                "orphan-database", name, "a tenant database the catalog does not know (or purged)"
            )
    for t in cluster.tenants:
        if t.state not in LIVE_STATES:
            continue
        fact = present.get(t.name)
        if fact is None:
            found(
                "missing-database", t.name, f"catalog says {t.state}, but the database is missing"
            )
            continue
        for kind, detail in database_drift(t, fact, None if deep is None else deep.get(t.name)):
            found(kind, t.name, detail)
    in_use = sum(1 for t in cluster.tenants if t.state != TenantState.PURGED)
    if in_use > cluster.capacity:
        found(
            "over-capacity", None, f"{in_use} tenants on a cluster of capacity {cluster.capacity}"
        )
    return out


def database_drift(
    tenant: Tenant, fact: DatabaseFacts, actual: int | str | None = None
) -> list[tuple[str, str]]:
    """``(kind, detail)`` of everything wrong with a live tenant's database; ``actual`` is
    what a deep check read from it (see :data:`DeepVersions`; None: no deep check)."""
    if fact.unreadable is not None:
        return [("unreadable-database", f"the cluster cannot read it: {fact.unreadable}")]
    drift: list[tuple[str, str]] = []
    if fact.login is not None and fact.login != (tenant.state == TenantState.ACTIVE):
        drift.append(("login-drift", login_drift(tenant.state, fact.login)))
    if fact.access:
        drift.append(("access-drift", "; ".join(fact.access)))
    if isinstance(actual, str):
        return [*drift, ("unreadable-database", actual)]
    return drift + schema_drift(fact.schema_version, actual)


def login_drift(state: TenantState, login: bool) -> str:
    if login:
        return f"{state} in the catalog, but the cluster lets its users log in"
    return f"{state} in the catalog, but the cluster refuses its users' logins"


def schema_drift(recorded: int | None, actual: int | None = None) -> list[tuple[str, str]]:
    """The schema as the cluster records it; with ``actual`` (a deep check; 0: no schema), as
    the database holds it, and a record that is not the truth."""
    target = TENANT_SCHEMA_VERSION
    unrecorded = (
        "schema-unrecorded",
        "no schema version recorded on the cluster; run fleet migrate",
    )
    if actual is None:
        if recorded is None:
            return [unrecorded]
        return [] if recorded >= target else [("schema-behind", _behind(recorded))]
    drift = [] if actual >= target else [("schema-behind", _behind(actual))]
    if recorded is None:
        return [*drift, unrecorded]
    if recorded != actual:
        differs = f"the cluster records schema version {recorded}, the database holds {actual}"
        drift.append(("schema-unrecorded", f"{differs}; run fleet migrate"))
    return drift


def _behind(version: int) -> str:
    held = f"schema version {version}" if version else "no schema"
    return f"{held} < {TENANT_SCHEMA_VERSION}; run fleet migrate"


def catalog_findings(tenants: Sequence[Tenant], now: datetime) -> list[Finding]:
    """What the catalog alone shows: tenants past retention, provisioning that stopped."""
    out: list[Finding] = []
    for t in tenants:
        if t.state == TenantState.CANCELLED and t.retain_until and t.retain_until < now:
            out.append(
                Finding(
                    "past-retention",
                    t.region,
                    t.cluster,
                    t.name,
                    f"retained until {iso(t.retain_until)}; awaiting purge",
                )
            )
        if t.state == TenantState.PROVISIONING and (t.lease_until is None or t.lease_until < now):
            out.append(
                Finding(
                    "stuck-provisioning",
                    t.region,
                    t.cluster,
                    t.name,
                    "provisioning stopped part-way; rerun tenant provision to finish it",
                )
            )
    return out


def backup_findings(
    unindexed: Sequence[BackupRecord], missing: Sequence[BackupRecord]
) -> list[Finding]:
    """Backups the index and the stores disagree on (after ``backup reconcile``, or instead
    of it for an operator who may not run it)."""
    return [
        Finding(
            "backup-unindexed",
            r.region,
            r.cluster,
            r.tenant,
            f"backup {r.id} is in the store but not in the catalog's index;"
            " backup reconcile indexes it",
        )
        for r in unindexed
    ] + [
        Finding(
            "backup-missing",
            r.region,
            r.cluster,
            r.tenant,
            f"backup {r.id} is in the catalog's index but missing from the store",
        )
        for r in missing
    ]
