"""Each region's status page of operational notices (HTML, a JSON feed and an Atom feed in the
website directory), written whole and atomically by ``notice publish`` and after every send,
update, edit, resolve and cancel of a notice that was sent.

A region's page holds the notices sent to any tenant of that region (by the stored scope):
those scheduled and in progress, and those resolved or cancelled within the last 90 days.
Drafts, and notices cancelled before they were sent, are never public. Each update's text
is shown with its time and status; no operator's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aptien_ops.domain.op_notices import FINISHED, StatusEntry, StepKind
from aptien_ops.errors import InvalidInput, Unavailable
from aptien_ops.permissions import Action
from aptien_ops.ports import StatusPage
from aptien_ops.services.context import OpsContext

#: A finished notice stays on its regions' pages this long after its last change.
KEPT = timedelta(days=90)
#: The steps a page shows.
SHOWN = (StepKind.SENT, StepKind.UPDATE, StepKind.RESOLVED, StepKind.CANCELLED)


@dataclass(frozen=True)
class StatusPublished:
    """The pages written: per region, how many notices it shows, and the files."""

    regions: dict[str, int]
    files: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"regions": self.regions, "files": list(self.files)}


class OpNoticeStatusPages:
    def __init__(self, ctx: OpsContext, page: Callable[[], StatusPage]) -> None:
        self.ctx, self._page = ctx, page

    def _entries(self) -> dict[str, list[StatusEntry]]:
        now = self.ctx.now()
        per_region: dict[str, list[StatusEntry]] = {r: [] for r in self.ctx.settings.regions}
        with self.ctx.catalog.read() as tx:
            for notice in tx.op_notices.all():
                if notice.status in FINISHED and notice.updated_at < now - KEPT:
                    continue
                steps = tx.op_notices.steps(notice.id)
                if not any(s.kind == StepKind.SENT for s in steps):
                    continue  # a draft, or cancelled before it was sent
                entry = StatusEntry(notice, tuple(s for s in steps if s.kind in SHOWN))
                for region in sorted(
                    {then.region for then, _, _ in tx.op_notices.scope(notice.id)}
                ):
                    per_region.setdefault(region, []).append(entry)
        return per_region

    def _write(self) -> StatusPublished:
        per_region = self._entries()
        page, now = self._page(), self.ctx.now()
        files = [
            str(path)
            for region, entries in per_region.items()
            for path in page.publish(region, entries, now)
        ]
        counts = {region: len(entries) for region, entries in per_region.items()}
        return StatusPublished(counts, tuple(files))

    def publish(self) -> StatusPublished:
        """Write every configured region's status page (and any other region a notice's
        scope named). Raises: Forbidden, Unavailable (the directory cannot be written)."""
        with self.ctx.audited(Action.NOTICE_PUBLISH, "status pages", {}) as attempt:
            published = self._write()
            attempt.ok(regions=published.regions)
        return published

    def rewrite(self, notice_id: str) -> StatusPublished | None:
        """After a notice's send, update, edit, resolve or cancel (whose attempt is in the ops
        log already): rewrite every region's pages if the notice was ever sent (a draft is on
        no page: None). Each file is replaced whole and atomically. Raises: Unavailable (the
        change stays recorded; ``notice publish`` writes the pages)."""
        with self.ctx.catalog.read() as tx:
            sent = any(s.kind == StepKind.SENT for s in tx.op_notices.steps(notice_id))
        if not sent:
            return None
        try:
            return self._write()
        except (Unavailable, InvalidInput) as exc:
            raise Unavailable(
                f"notice {notice_id} is recorded, but its status pages are not: {exc.message}",
                hint="aptien-ops notice publish, once the website directory can be written",
            ) from None
