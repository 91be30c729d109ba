"""Operational notices: a maintenance, an outage or a change, told to the tenants it affects.

:class:`OpNoticeService` drafts a notice with its scope (resolved at once to the active and
suspended tenants it names, and stored with it), lists and shows notices, resolves and
cancels them. Every member of staff sees notices (``notice.view``, not logged: no personal
data); operators and admins write them, each change one audited attempt and a dated step of
the notice (who did what).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from aptien_ops.domain.free_text import NOTICE_BODY, NOTICE_TITLE, NOTICE_UPDATE_TEXT, REASON
from aptien_ops.domain.op_notices import (
    EDITABLE,
    FINISHED,
    Notice,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    NoticeStep,
    Scope,
    Selection,
    StepKind,
    notice_id,
    to_the_minute,
    validate_notice_id,
)
from aptien_ops.domain.values import parse_choice, validate_tenant_name
from aptien_ops.errors import Conflict, InvalidInput, NotFound, Stale
from aptien_ops.permissions import Action
from aptien_ops.ports import CatalogTx
from aptien_ops.services.context import OpsContext
from aptien_ops.services.op_notice_results import Moved, NoticeDetail, NoticeRow
from aptien_ops.services.op_notice_users import UsersApproval
from aptien_ops.wording import plural

if TYPE_CHECKING:
    from aptien_ops.services.op_notice_status import OpNoticeStatusPages

__all__ = ["NoticeDraft", "NoticeEdit", "OpNoticeService", "existing_notice", "notice_detail"]

#: At most this many regions, clusters or tenants named in a scope.
MAX_TARGETS = 1000


@dataclass(frozen=True)
class NoticeDraft:
    """A notice as an operator first writes it; exactly one of the scope's four is given."""

    kind: str
    title: str
    body: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    regions: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    everything: bool = False
    audience: str = "representatives"
    """``representatives``, ``users`` or ``both`` (telling users is four-eyes)."""


@dataclass(frozen=True)
class NoticeEdit:
    """What ``notice edit`` changes; None keeps the field. ``open_ended``: the window has no
    end (``ends_at`` must be None then)."""

    title: str | None = None
    body: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    open_ended: bool = False


def existing_notice(tx: CatalogTx, notice_id: str, *, for_update: bool = False) -> Notice:
    """The notice. Raises: NotFound (pointing at ``notice list``)."""
    notice = tx.op_notices.get(notice_id, for_update=for_update)
    if notice is None:
        raise NotFound(f"no notice {notice_id}", hint="aptien-ops notice list --all")
    return notice


def notice_detail(tx: CatalogTx, notice_id: str) -> NoticeDetail:
    """The notice with its steps, stored scope and what changed of that scope since."""
    notice = existing_notice(tx, notice_id)
    placed = tx.op_notices.scope(notice_id)
    moved = tuple(
        Moved(then, now, str(state))
        for then, now, state in placed
        if (then.region, then.cluster) != (now.region, now.cluster)
        or str(state) not in ("active", "suspended")
    )
    return NoticeDetail(
        notice,
        tuple(tx.op_notices.steps(notice_id)),
        tuple(then for then, _, _ in placed),
        moved,
    )


class OpNoticeService:
    """Every operational-notice use case (see the module's docstring)."""

    def __init__(
        self,
        ctx: OpsContext,
        pages: Callable[[], OpNoticeStatusPages] | None = None,
        users: UsersApproval | None = None,
    ) -> None:
        self.ctx = ctx
        self._pages = pages
        self._users = users or UsersApproval(ctx, None)

    def rewrite_pages(self, notice_id: str) -> None:
        """Rewrite the status pages after a change of a notice that was sent (a draft is on no
        page). Raises: Unavailable (the change stays recorded: ``notice publish`` writes
        them)."""
        if self._pages is not None:
            self._pages().rewrite(notice_id)

    # -- validation, before anything is touched ------------------------------------------------

    def scope(self, draft: NoticeDraft) -> Scope:
        """The one scope ``draft`` names, its targets checked against the configuration.
        Raises: InvalidInput (none or several given, an unknown region or cluster, a bad
        tenant name)."""
        given = [
            (Selection.REGIONS, draft.regions),
            (Selection.CLUSTERS, draft.clusters),
            (Selection.TENANTS, draft.tenants),
        ]
        named = [(selection, targets) for selection, targets in given if targets]
        if len(named) + int(draft.everything) != 1:
            raise InvalidInput(
                "a notice needs exactly one scope",
                hint="--regions R,…, --clusters C,…, --tenants T,… or --all",
            )
        if draft.everything:
            return Scope(Selection.ALL, ())
        selection, raw = named[0]
        targets = tuple(sorted({t.strip() for t in raw if t.strip()}))
        if not targets or len(targets) > MAX_TARGETS:
            raise InvalidInput(f"a scope names 1 to {MAX_TARGETS:,} {selection}")
        regions = self.ctx.settings.regions
        known = {
            Selection.REGIONS: set(regions),
            Selection.CLUSTERS: {c.name for r in regions.values() for c in r.clusters},
        }.get(selection)
        for target in targets:
            if known is None:
                validate_tenant_name(target)
            elif target not in known:
                raise InvalidInput(
                    f"unknown {selection.rstrip('s')} {target[:40]!r}",
                    hint=f"one of {', '.join(sorted(known))}",
                )
        return Scope(selection, targets)

    # -- the record ----------------------------------------------------------------------------

    def draft(self, given: NoticeDraft) -> NoticeDetail:
        """Write a new notice (status ``draft``) and store the tenants its scope names now
        (active and suspended). Raises: InvalidInput (a bad field, a window that ends before
        it starts, a scope that reaches no tenant: nothing is stored), Forbidden, Conflict
        (an id taken at the same moment)."""
        kind = parse_choice(NoticeKind, given.kind, "notice kind")
        audience = parse_choice(NoticeAudience, given.audience, "notice audience")
        title = NOTICE_TITLE.check(given.title)
        body = NOTICE_BODY.check_lines(given.body)
        scope = self.scope(given)
        me, now = self.ctx.identity.operator, self.ctx.now()
        starts = given.starts_at or to_the_minute(now)
        if given.ends_at is not None and given.ends_at <= starts:
            raise InvalidInput("the window ends before it starts", hint="--to after --from")
        params = {
            "kind": str(kind),
            "scope": str(scope.selection),
            "targets": len(scope.targets),
            "audience": str(audience),
        }

        def write(tx: CatalogTx) -> NoticeDetail:
            tenants = tx.op_notices.resolve(scope)
            if not tenants:
                raise InvalidInput(
                    f"the scope ({scope.words()[:80]}) reaches no active or suspended tenant",
                    hint="nothing was drafted; name other regions, clusters or tenants",
                )
            year = starts.year
            new = Notice(
                notice_id(year, tx.op_notices.last_number(year) + 1),
                kind,
                title,
                body,
                starts,
                given.ends_at,
                NoticeStatus.DRAFT,
                scope,
                me,
                now,
                me,
                now,
                audience,
            )
            tx.op_notices.insert(new, tenants)
            words = f"scope {scope.words()}: {plural(len(tenants), 'tenant')}"
            if audience.reaches_users:
                words += f"; told: {audience}"
            tx.op_notices.add_step(self.step(new.id, StepKind.DRAFTED, NoticeStatus.DRAFT, words))
            return notice_detail(tx, new.id)

        with self.ctx.audited(Action.NOTICE_DRAFT, "notices", params) as attempt:
            with attempt.transaction() as tx:
                detail = write(tx)
                attempt.ok(notice=detail.id, tenants=len(detail.tenants))
        return detail

    def step(
        self, notice_id: str, kind: StepKind, status: NoticeStatus, text: str | None
    ) -> NoticeStep:
        """A dated step by the operator, now."""
        return NoticeStep(
            0, notice_id, self.ctx.now(), self.ctx.identity.operator, kind, status, text
        )

    def list(
        self, *, status: str | None = None, everything: bool = False
    ) -> builtins.list[NoticeRow]:
        """Notices not finished (``everything``: all; ``status``: of that status), latest
        start first. Raises: InvalidInput, Forbidden."""
        wanted = parse_choice(NoticeStatus, status, "notice status") if status else None

        def read(tx: CatalogTx) -> builtins.list[NoticeRow]:
            if wanted is not None:
                notices = tx.op_notices.all(statuses=[wanted])
            else:
                notices = [n for n in tx.op_notices.all() if everything or n.status not in FINISHED]
            counts = tx.op_notices.scope_counts(n.id for n in notices)
            return [NoticeRow(n, counts.get(n.id, {})) for n in notices]

        return self.ctx.view(Action.NOTICE_VIEW, "notices", read)

    def show(self, notice_id: str) -> NoticeDetail:
        """One notice with its updates and stored scope. Raises: InvalidInput, NotFound,
        Forbidden."""
        validate_notice_id(notice_id)
        return self.ctx.view(Action.NOTICE_VIEW, notice_id, lambda tx: notice_detail(tx, notice_id))

    def resolve(self, notice_id: str, text: str | None = None) -> NoticeDetail:
        """Mark the notice resolved (an open-ended window ends now), with an optional closing
        text. Raises: InvalidInput, NotFound, Forbidden, Conflict (resolved or cancelled)."""
        validate_notice_id(notice_id)
        line = NOTICE_UPDATE_TEXT.check_lines(text) if text and text.strip() else None
        done = self._finish(notice_id, NoticeStatus.RESOLVED, line, Action.NOTICE_RESOLVE)
        self.rewrite_pages(notice_id)
        return done

    def cancel(self, notice_id: str, reason: str) -> NoticeDetail:
        """Cancel the notice: it will not happen, or was drafted in error. Raises:
        InvalidInput (no reason), NotFound, Forbidden, Conflict (resolved or cancelled)."""
        validate_notice_id(notice_id)
        why = REASON.check(
            reason, missing="cancelling a notice needs a reason", hint='--reason "why"'
        )
        done = self._finish(notice_id, NoticeStatus.CANCELLED, why, Action.NOTICE_CANCEL)
        self.rewrite_pages(notice_id)
        return done

    def edit(
        self, notice_id: str, change: NoticeEdit, *, seen: datetime | None = None
    ) -> NoticeDetail:
        """Change a draft or scheduled notice's title, body or window (what was sent stays
        sent; its updates and the status pages tell the new text). A four-eyes request or
        approval to tell its users is void from then on. ``seen``: the ``updated_at`` the
        caller read (changed since: Stale). Raises: InvalidInput (nothing to change, a bad
        field or window), NotFound, Forbidden, Conflict (in progress, resolved or
        cancelled; changed since ``seen``)."""
        validate_notice_id(notice_id)
        title = NOTICE_TITLE.check(change.title) if change.title is not None else None
        body = NOTICE_BODY.check_lines(change.body) if change.body is not None else None
        if change.open_ended and change.ends_at is not None:
            raise InvalidInput("a window is open-ended or has an end, not both")
        given = {
            "title": title is not None,
            "body": body is not None,
            "starts_at": change.starts_at is not None,
            "ends_at": change.ends_at is not None or change.open_ended,
        }
        if not any(given.values()):
            raise InvalidInput("nothing to change", hint="--title, --body, --from, --to")

        def write(tx: CatalogTx) -> NoticeDetail:
            current = existing_notice(tx, notice_id, for_update=True)
            if seen is not None and current.updated_at != seen:
                raise Stale(
                    f"notice {notice_id} was changed by {current.updated_by} since you read it",
                    hint=f"aptien-ops notice show {notice_id}",
                )
            if current.status not in EDITABLE:
                raise Conflict(
                    f"notice {notice_id} is {current.status}: only a draft or a scheduled notice"
                    " is edited",
                    hint=f"aptien-ops notice update {notice_id} --status … --text …",
                )
            starts = change.starts_at or current.starts_at
            ends = None if change.open_ended else (change.ends_at or current.ends_at)
            if ends is not None and ends <= starts:
                raise InvalidInput("the window ends before it starts", hint="--to after --from")
            now, me = self.ctx.now(), self.ctx.identity.operator
            new = replace(
                current,
                title=title or current.title,
                body=body or current.body,
                starts_at=starts,
                ends_at=ends,
                updated_at=now,
                updated_by=me,
            )
            if new.digest() == current.digest():
                raise InvalidInput(f"notice {notice_id} says that already: nothing changed")
            tx.op_notices.edit(new)
            words = "edited: " + ", ".join(k for k, v in given.items() if v)
            void = self._users.void(tx, notice_id) if new.audience.reaches_users else []
            if void:
                ids = ", ".join(f"#{i}" for i in void)
                words += f"; the approval to tell its users ({ids}) is void"
            tx.op_notices.add_step(self.step(notice_id, StepKind.EDITED, current.status, words))
            return notice_detail(tx, notice_id)

        params = {key: True for key, value in given.items() if value}
        detail = self.ctx.mutate(Action.NOTICE_EDIT, notice_id, params, write)
        self.rewrite_pages(notice_id)
        return detail

    def _finish(
        self, notice_id: str, status: NoticeStatus, text: str | None, action: Action
    ) -> NoticeDetail:
        kind = StepKind.RESOLVED if status == NoticeStatus.RESOLVED else StepKind.CANCELLED

        def write(tx: CatalogTx) -> NoticeDetail:
            current = existing_notice(tx, notice_id, for_update=True)
            if current.status in FINISHED:
                raise Conflict(f"notice {notice_id} is {current.status} already")
            now, me = self.ctx.now(), self.ctx.identity.operator
            open_ended = status == NoticeStatus.RESOLVED and current.ends_at is None
            ends = max(to_the_minute(now), current.starts_at) if open_ended else None
            tx.op_notices.set_status(notice_id, status, now, me, ends_at=ends)
            tx.op_notices.add_step(self.step(notice_id, kind, status, text))
            return notice_detail(tx, notice_id)

        return self.ctx.mutate(action, notice_id, {"status": str(status)}, write)
