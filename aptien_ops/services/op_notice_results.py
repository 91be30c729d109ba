"""What the operational notices' use cases return: frozen, typed, each with ``as_json()``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aptien_ops.domain.notices import ChannelCounts, OutboxRow
from aptien_ops.domain.op_notices import Notice, NoticeStep, ScopedTenant
from aptien_ops.domain.values import iso


@dataclass(frozen=True)
class NoticeRow:
    """A notice as ``notice list`` shows it, with its stored scope counted per region."""

    notice: Notice
    regions: dict[str, int] = field(default_factory=dict)
    """Tenants of the stored scope per region (as stored at draft)."""

    def as_json(self) -> dict[str, object]:
        n = self.notice
        return {
            "id": n.id,
            "kind": str(n.kind),
            "status": str(n.status),
            "starts_at": iso(n.starts_at),
            "ends_at": iso(n.ends_at),
            "scope": n.scope.words(),
            "title": n.title,
        }


@dataclass(frozen=True)
class Moved:
    """A tenant of the stored scope that lives elsewhere now, or is no longer reached."""

    then: ScopedTenant
    now: ScopedTenant
    state: str

    @property
    def reached(self) -> bool:
        """Whether the notice still goes to it (active or suspended: the stored scope wins)."""
        return self.state in ("active", "suspended")

    def words(self) -> str:
        """``acme-gmbh moved eu-fra-1 -> eu-ber-1 (still told: the stored scope)``."""
        if not self.reached:
            return f"{self.then.tenant} is {self.state} now (not told)"
        return (
            f"{self.then.tenant} moved {self.then.cluster or '-'} -> {self.now.cluster or '-'}"
            " (still told: the stored scope)"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.then.tenant,
            "scoped_cluster": self.then.cluster,
            "cluster_now": self.now.cluster,
            "state": self.state,
            "told": self.reached,
        }


@dataclass(frozen=True)
class NoticeDetail:
    """One notice: the record, its steps, its stored scope (counted per region) and what
    changed of that scope since it was stored."""

    notice: Notice
    steps: tuple[NoticeStep, ...]
    tenants: tuple[ScopedTenant, ...]
    moved: tuple[Moved, ...]

    @property
    def id(self) -> str:
        return self.notice.id

    @property
    def regions(self) -> dict[str, int]:
        """Tenants of the stored scope per region, by region."""
        return dict(sorted(Counter(t.region for t in self.tenants).items()))

    def as_json(self) -> dict[str, object]:
        return {
            **self.notice.as_json(),
            "updates": [s.as_json() for s in self.steps],
            "scope_tenants": len(self.tenants),
            "scope_regions": self.regions,
            "moved": [m.as_json() for m in self.moved],
        }


#: A delivery lists at most this many of its failed rows.
FAILED_SHOWN = 50


@dataclass(frozen=True)
class Delivery:
    """One delivery of a notice (its first send or an update) and where its rows stand."""

    step: NoticeStep
    subject: str
    channels: tuple[ChannelCounts, ...]
    failed: tuple[OutboxRow, ...] = ()
    """Its failed rows (at most :data:`FAILED_SHOWN`): the recipient (``tenant/user`` or
    ``tenant/representative``, never an address), the channel and why."""

    @property
    def done(self) -> bool:
        return all(c.pending == 0 for c in self.channels)

    def as_json(self) -> dict[str, object]:
        return {
            "update": self.step.id,
            "kind": str(self.step.kind),
            "at": iso(self.step.at),
            "status": str(self.step.status),
            "subject": self.subject,
            "channels": {c.channel: c.as_json() for c in self.channels},
            "failed": [r.as_json() for r in self.failed],
        }


@dataclass(frozen=True)
class SendResult:
    """What ``notice send`` or ``notice update`` did (or, dry, would do)."""

    notice_id: str
    dry_run: bool
    regions: dict[str, int]
    """Tenants told per region."""
    representatives: int
    """Representatives with a valid e-mail among them."""
    delivery: Delivery | None
    """None for a dry run."""
    notes: tuple[str, ...] = ()
    """Per tenant, why a channel was left out; tenants of the stored scope moved or gone."""
    sample: tuple[str, str] | None = None
    """A rendered (subject, body), in English."""
    resumed: bool = False
    """The last delivery was finished (or its pending rows delivered), not a new one."""
    users: int = 0
    """Users (of the tenant databases) among the recipients: the audience ``users`` or
    ``both``; a user who is the representative counts as the representative."""
    audience: str = "representatives"
    users_approved: bool = False
    """Telling the users needs no new request: a four-eyes approval of the notice as it is
    holds (always False when the audience has no users)."""
    approvers: str = ""
    """Who may approve telling the users, in words from the policy in force
    (``another admin or security operator``); empty when the audience has no users."""

    @property
    def undelivered(self) -> bool:
        counts = self.delivery.channels if self.delivery else ()
        return any(c.pending or c.failed for c in counts)

    def as_json(self) -> dict[str, object]:
        return {
            "notice": self.notice_id,
            "dry_run": self.dry_run,
            "regions": self.regions,
            "representatives": self.representatives,
            "delivery": self.delivery.as_json() if self.delivery else None,
            "notes": list(self.notes),
            "sample": {"subject": self.sample[0], "body": self.sample[1]} if self.sample else None,
            "resumed": self.resumed,
            "users": self.users,
            "audience": self.audience,
            "users_approved": self.users_approved,
        }
