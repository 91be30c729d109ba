"""What the billing use cases return to the screens (and ``--json``): the dashboard's counts
and a tenant's billing section. Typed, frozen; the screens only read their attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aptien_ops.domain.billing import BillingAttention, BillingNotConnected, BillingStatus


@dataclass(frozen=True)
class NotConnected:
    """Billing is not configured (no ``[billing]``): what to show instead, and how to fix it."""

    message: str
    hint: str

    @classmethod
    def now(cls) -> NotConnected:
        why = BillingNotConnected()
        return cls(BillingNotConnected.label, why.hint or "")

    def as_json(self) -> dict[str, object]:
        return {"connected": False, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class BillingSummary:
    """The dashboard's billing card: per region, the linked tenants past due, unpaid and
    ending within ``within_days`` without renewing (``[billing] notice_days``' longest)."""

    within_days: int
    regions: tuple[BillingAttention, ...]

    def of(self, regions: Sequence[str] | None = None) -> BillingAttention:
        """The counts of ``regions`` (None: every region) added up."""
        chosen = [r for r in self.regions if regions is None or r.region in regions]
        return BillingAttention(
            "all" if regions is None else ",".join(regions),
            sum(r.past_due for r in chosen),
            sum(r.unpaid for r in chosen),
            sum(r.ending for r in chosen),
            sum(r.linked for r in chosen),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "connected": True,
            "within_days": self.within_days,
            "regions": [vars(r) for r in self.regions],
        }


@dataclass(frozen=True)
class BillingSection:
    """A tenant's billing as its detail shows it: :class:`BillingStatus` as the service cut it
    for the operator (``status.full``: everything kept; else the licence state only), and
    ``not_connected`` when the console reaches no Stripe (what the catalog keeps still
    shows)."""

    status: BillingStatus
    not_connected: NotConnected | None = None

    def as_json(self) -> dict[str, object]:
        shown = self.status.as_json()
        shown["connected"] = self.not_connected is None
        return shown
