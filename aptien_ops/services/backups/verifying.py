"""Verifying backups: quick (no key), full (decrypt and walk), restore (into a scratch
database of the backup's own region), each result stored and logged."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from aptien_ops.backup_policy import BackupRecord, DueItem, check_backup_id, parse_level
from aptien_ops.domain import Tenant, TenantState, VerifyResult, iso
from aptien_ops.errors import IntegrityFailure, NotFound, OpsError
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups.common import (
    ClusterHealth,
    Progress,
    RegionStores,
    RunOutcome,
    fan_out,
    never,
)
from aptien_ops.services.context import Attempt, OpsContext
from aptien_ops.services.provisioning import secret_context


@dataclass(frozen=True)
class _ToVerify:
    record: BackupRecord
    tenant: Tenant | None
    sealed_identity: str | None


class BackupVerifier:
    def __init__(self, ctx: OpsContext, stores: RegionStores) -> None:
        self.ctx = ctx
        self.stores = stores

    def verify(self, backup_id: str, level: str | None = None) -> VerifyResult:
        """Verify a backup at ``level`` (default: its region's policy level) and store the result.

        Raises: InvalidInput (malformed id, unknown level), NotFound (unknown or pruned id),
        Forbidden, Unavailable (store or scratch cluster), IntegrityFailure (it failed: the
        detail says what).
        """
        check_backup_id(backup_id)
        if level is not None:
            parse_level(level)
        with self.ctx.audited(Action.BACKUP_VERIFY, backup_id, {"level": level}) as attempt:
            with self.ctx.catalog.read() as tx:
                found = self._find(tx, backup_id)
            chosen = level or self.stores.policy(found.record.region).verify_level
            result = self._verify(found, chosen)
            self._store(attempt, found.record, result)
        if not result.ok:
            raise IntegrityFailure(
                f"backup {backup_id} of {found.record.tenant} failed {chosen} verification: "
                f"{result.detail}"
            )
        return result

    def verify_due(
        self,
        items: list[DueItem],
        parallel: int,
        progress: Progress | None,
        health: ClusterHealth | None = None,
        stopped: Callable[[], bool] = never,
    ) -> list[RunOutcome]:
        """Verify the backups ``items`` name (``backup run --due``), at most ``parallel`` at
        once per cluster; each verification is an attempt of its own in the ops log. A
        restore verification on a cluster ``health`` found down fails at once. Once
        ``stopped()``, no further verification starts (those under way finish)."""
        found: dict[str, _ToVerify] = {}
        with self.ctx.catalog.read() as tx:
            for item in items:
                try:
                    found[item.backup_id or ""] = self._find(tx, item.backup_id or "")
                except NotFound:
                    continue  # pruned since the due list was read
        todo = [i for i in items if i.backup_id in found]

        def one(item: DueItem) -> tuple[VerifyResult, float]:
            started = time.perf_counter()
            target = found[item.backup_id or ""]
            level = self.stores.policy(item.region).verify_level
            return self._verify(target, level, health), time.perf_counter() - started

        outcomes = []
        clusters = lambda i: found[i.backup_id or ""].record.cluster  # noqa: E731
        for done, (item, result) in enumerate(fan_out(todo, clusters, parallel, one, stopped), 1):
            if progress:
                progress(done, len(todo), f"verify {item.tenant}")
            outcomes.append(self._record(found[item.backup_id or ""].record, item, result))
        return outcomes

    def _record(
        self, record: BackupRecord, item: DueItem, result: tuple[VerifyResult, float] | OpsError
    ) -> RunOutcome:
        """One verification done in a worker: stored and logged here, in the calling thread."""
        try:
            with self.ctx.audited(Action.BACKUP_VERIFY, record.id) as attempt:
                if isinstance(result, OpsError):
                    raise result
                verdict, seconds = result
                self._store(attempt, record, verdict)
        except OpsError as exc:
            return RunOutcome(item.tenant, "verify", record.id, False, exc.message, error=exc)
        error = None
        if not verdict.ok:
            error = IntegrityFailure(
                f"backup {record.id} failed {verdict.level} verification: {verdict.detail}"
            )
        detail = f"{verdict.level}: {verdict.detail}"
        return RunOutcome(
            item.tenant, "verify", record.id, verdict.ok, detail, seconds, error=error
        )

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _find(tx: CatalogTx, backup_id: str) -> _ToVerify:
        record = tx.backups.get(backup_id)
        if record is None:
            raise NotFound(
                f"no backup {backup_id}",
                hint="aptien-ops backup list; "
                "aptien-ops backup reconcile indexes what the store holds",
            )
        if record.state == "pruned":
            raise NotFound(
                f"backup {backup_id} was pruned on {iso(record.pruned_at)}",
                hint="aptien-ops backup list",
            )
        tenant = tx.tenants.get(record.tenant)
        return _ToVerify(record, tenant, tx.secrets.get(record.tenant, "backup_identity"))

    def _verify(
        self, target: _ToVerify, level: str, health: ClusterHealth | None = None
    ) -> VerifyResult:
        record = target.record

        def failed(detail: str) -> VerifyResult:
            return self._stamp(VerifyResult(record.id, level, False, detail))

        repo = self.stores.repository(record.region)
        try:
            stored = repo.manifest(record.tenant, record.id)
        except NotFound:
            return failed("the backup's files are missing from the store")
        except IntegrityFailure as exc:
            return failed(exc.message)
        if stored != record.manifest:
            return failed("the manifest in the store differs from the catalog's record of it")
        identity = None
        if level != "quick":
            if target.sealed_identity is None:
                purged = target.tenant is not None and target.tenant.state == TenantState.PURGED
                return failed(
                    "the tenant's backup identity was destroyed when it was purged: this backup "
                    "can no longer be decrypted"
                    if purged
                    else "the tenant's backup identity is missing from the catalog"
                )
            context = secret_context(record.tenant, "backup_identity")
            try:
                sealer = self.ctx.sealer(record.region)
                identity = sealer.unseal(target.sealed_identity, context).decode()
            except IntegrityFailure as exc:
                return failed(exc.message)
        scratch = self.stores.scratch_cluster(record) if level == "restore" else None
        if scratch is not None and health is not None:
            health.require(scratch.name)
        return self._stamp(repo.verify(stored, level, identity, scratch))

    def _stamp(self, result: VerifyResult) -> VerifyResult:
        return replace(result, at=self.ctx.now(), operator=self.ctx.identity.operator)

    @staticmethod
    def _store(attempt: Attempt, record: BackupRecord, result: VerifyResult) -> None:
        """Store the result; a failed verification is an attempt ``failed:integrity``."""
        attempt.params.update(
            tenant=record.tenant, level=result.level, ok=result.ok, detail=result.detail
        )
        with attempt.transaction() as tx:
            tx.backups.add_verification(result)
            if result.ok:
                attempt.ok()
            else:
                attempt.fail("integrity")
