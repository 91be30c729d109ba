"""Ops-log checkpoints: every ``backup run`` signs the log's head into the backup store of each
region it covered, a witness outside the catalog (``ops-log verify --witness store``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aptien_ops.config import region_or_fail
from aptien_ops.domain import OpsLogCheckpoint, OpsLogHead, iso
from aptien_ops.errors import IntegrityFailure, OpsError
from aptien_ops.opslog import GENESIS, head_is_signed
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.backups.common import RegionStores
from aptien_ops.services.context import OpsContext


@dataclass(frozen=True)
class CheckpointResult:
    """The head that was signed into the stores, and which stores took it."""

    seq: int
    at: str
    regions: list[str]

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "at": self.at, "regions": self.regions}


class OpsLogCheckpointer:
    def __init__(self, ctx: OpsContext, stores: RegionStores) -> None:
        self.ctx = ctx
        self.stores = stores

    def write(self, regions: Sequence[str] | None = None) -> CheckpointResult:
        """Sign the ops log's current head into the backup store of each of ``regions``
        (default: every region), as one ``ops-log.checkpoint`` attempt. Its own entry comes
        after the head it records.

        Raises: InvalidInput (unknown region), Forbidden, IntegrityFailure (the head is not
        signed by the ops-log key or is not the last entry: nothing is written), Unavailable
        (a store refused; the other regions' stores are written all the same).
        """
        chosen = sorted(set(regions)) if regions is not None else sorted(self.ctx.settings.regions)
        for region in chosen:
            region_or_fail(self.ctx.settings, region)
        with self.ctx.audited(Action.OPSLOG_CHECKPOINT, ",".join(chosen) or "-") as attempt:
            with self.ctx.catalog.read() as tx:
                head = self._checked_head(tx)
                oldest = tx.opslog.entries(limit=1)
            first = oldest[0].hmac if oldest else GENESIS
            at = iso(self.ctx.now()) or ""
            catalog = self.ctx.catalog.url_for_display
            written: list[str] = []
            failure: OpsError | None = None
            for region in chosen:
                checkpoint = OpsLogCheckpoint(head.seq, head.hmac, first, at, catalog, region)
                try:
                    self.stores.repository(region).write_checkpoint(checkpoint)
                except OpsError as exc:
                    failure = failure or exc
                    continue
                written.append(region)
            if failure is not None:
                attempt.params.update(seq=head.seq, regions=written)
                raise failure
            attempt.ok(seq=head.seq, regions=written)
        return CheckpointResult(head.seq, at, written)

    def _checked_head(self, tx: CatalogTx) -> OpsLogHead:
        """The head, if it is the ops-log key's and names the last entry: a witness must
        never vouch for a forged head."""
        head = tx.opslog.head()
        if head is None or not head_is_signed(self.ctx.opslog_key, head):
            raise IntegrityFailure(
                "the ops log's head is missing or not signed by the ops-log key: no checkpoint"
                " was written",
                hint="aptien-ops ops-log verify --witness store",
            )
        newest = tx.opslog.entries(limit=1, newest_first=True)
        last = (newest[0].seq, newest[0].hmac) if newest else (0, GENESIS)
        if last != (head.seq, head.hmac):
            raise IntegrityFailure(
                f"the ops log's head (#{head.seq}) is not its last entry (#{last[0]}): no"
                " checkpoint was written",
                hint="aptien-ops ops-log verify --witness store",
            )
        return head
