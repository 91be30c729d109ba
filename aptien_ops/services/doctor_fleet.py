"""The doctor's checks of each region: its clusters (reachable, their admin's privileges), its
backup store, and the client tools its PostgreSQL clusters' backups run."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping

from aptien_ops import bastion
from aptien_ops.config import ClusterSettings, RegionSettings, Settings
from aptien_ops.errors import OpsError
from aptien_ops.ports import ClusterPrivileges, TenantStore
from aptien_ops.services.doctor_host import Account
from aptien_ops.services.doctor_results import Finding

ClientTools = Callable[[str], Mapping[str, str | None]]


def cluster_findings(
    settings: Settings, open_store: Callable[[ClusterSettings], TenantStore]
) -> list[Finding]:
    """For each cluster: whether it answers, and whether its admin may do what the console
    does there (the cluster itself says; nothing is changed)."""
    findings: list[Finding] = []
    for region in settings.regions.values():
        for cluster in region.clusters:
            findings += _cluster(region.name, cluster, open_store)
    return findings


def _cluster(
    region: str, cluster: ClusterSettings, open_store: Callable[[ClusterSettings], TenantStore]
) -> list[Finding]:
    base = f"cluster.{cluster.name}"
    try:
        store = open_store(cluster)
        try:
            privileges = store.privileges()
        finally:
            store.close()
    except OpsError as refused:
        fix = f"check that the cluster is up and that its url in region {region} names it"
        return [
            Finding.from_error(f"{base}.reachable", refused, fix),
            Finding.not_checked(f"{base}.privileges", f"cluster {cluster.name} cannot be reached"),
        ]
    reached = f"cluster {cluster.name} ({cluster.kind}, region {region}) answers"
    return [Finding.passed(f"{base}.reachable", reached), _privileges(base, privileges)]


def _privileges(base: str, privileges: ClusterPrivileges) -> Finding:
    check, admin = f"{base}.privileges", privileges.admin
    if privileges.missing:
        lacks = ", ".join(privileges.missing)
        return Finding.failed(check, f"{admin} lacks {lacks}", privileges.grant)
    note = f" ({privileges.note})" if privileges.note else ""
    return Finding.passed(check, f"{admin} may {', '.join(privileges.held)}{note}")


def region_findings(
    settings: Settings, writer: Account | None, client_tools: ClientTools
) -> list[Finding]:
    """For each region: its backup store (``writer`` must be able to write it) and, with
    PostgreSQL clusters, ``pg_dump`` and ``pg_restore``."""
    found: dict[str, Mapping[str, str | None]] = {}
    findings: list[Finding] = []
    for region in settings.regions.values():
        findings.append(_store(settings, region, writer))
        if any(c.kind == "postgresql" for c in region.clusters):
            findings.append(_tools(region, found, client_tools))
    return findings


def _store(settings: Settings, region: RegionSettings, writer: Account | None) -> Finding:
    check, path = f"region.{region.name}.store", region.backup_store
    service = settings.bastion.service_account
    if writer is None:
        return Finding.not_checked(check, f"there is no service account {service} to check for")
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        info = os.stat(existing)
    except OSError as exc:
        return Finding.failed(
            check,
            f"cannot look at {path}: {exc.strerror}",
            f"run the doctor as the service account: {bastion.sudo_command(service)}",
        )
    make = f"install -d -o {writer.name} -m 0700 {path}"
    if existing != path and not settings.sandbox:
        return Finding.failed(
            check, f"the backup store {path} of region {region.name} is missing", make
        )
    if not stat.S_ISDIR(info.st_mode):
        return Finding.failed(
            check, f"{existing} is not a directory", f"move it away, then: {make}"
        )
    if not writer.may(info, 0o3):
        return Finding.failed(
            check,
            f"{writer.name} may not write {existing}",
            f"chown {writer.name} {existing} && chmod 700 {existing}",
        )
    made = "" if existing == path else " (made by the first backup)"
    return Finding.passed(
        check,
        f"{writer.name} may write the backup store {path}{made}; no other region shares it",
    )


def _tools(
    region: RegionSettings, found: dict[str, Mapping[str, str | None]], client_tools: ClientTools
) -> Finding:
    check = f"region.{region.name}.tools"
    try:
        if "postgresql" not in found:
            found["postgresql"] = client_tools("postgresql")
        tools = found["postgresql"]
    except OpsError as refused:
        return Finding.from_error(check, refused)
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        return Finding.failed(
            check,
            f"{' and '.join(missing)} not found: the region's PostgreSQL backups cannot run",
            "apt-get install postgresql-client (the servers' major version or newer)",
        )
    return Finding.passed(check, ", ".join(f"{name} {path}" for name, path in tools.items()))
