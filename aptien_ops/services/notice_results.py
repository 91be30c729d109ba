"""What the breach-notice use cases return: frozen, each with ``as_json()``."""

from __future__ import annotations

from dataclasses import dataclass

from aptien_ops.domain.incidents import Exemption
from aptien_ops.domain.notices import ChannelCounts, OutboxRow


@dataclass(frozen=True)
class NoticePlan:
    """What ``breach notify --dry-run`` would do: nothing is sent or recorded."""

    incident_id: str
    channels: tuple[str, ...]
    people: int
    regions: tuple[str, ...]
    texts_sha256: str
    recipients_sha256: str
    subject: str
    approved_channels: tuple[str, ...] = ()
    """The channels a campaign approved for these texts and people covers: a run sends on
    them at once; any other channel needs a request and a second operator's approval."""

    @property
    def approved(self) -> bool:
        """Every channel asked for is approved: a run sends, it records no request."""
        return set(self.channels) <= set(self.approved_channels)

    def as_json(self) -> dict[str, object]:
        return {
            "incident": self.incident_id,
            "channels": list(self.channels),
            "approved_channels": list(self.approved_channels),
            "people": self.people,
            "regions": list(self.regions),
            "texts_sha256": self.texts_sha256,
            "recipients_sha256": self.recipients_sha256,
            "subject": self.subject,
            "dry_run": True,
        }


@dataclass(frozen=True)
class Deliveries:
    """Per channel: sent, pending, failed; the failed rows (the first ones); exemptions."""

    incident_id: str
    channels: tuple[ChannelCounts, ...]
    failed: tuple[OutboxRow, ...]
    exemptions: tuple[Exemption, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "incident": self.incident_id,
            "channels": {c.channel: c.as_json() for c in self.channels},
            "failed": [r.as_json() for r in self.failed],
            "exemptions": [e.as_json() for e in self.exemptions],
        }
