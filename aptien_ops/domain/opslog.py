"""The ops log's entries and its signed head, exactly as hashed and stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class OpsLogEntry:
    seq: int
    at: str
    """UTC ISO-8601 with microseconds, exactly as hashed."""
    operator: str
    os_account: str
    ssh_origin: str | None
    session_id: str
    action: str
    target: str
    params: str
    """Canonical JSON of the redacted parameters, exactly as hashed."""
    outcome: str
    approval_id: int | None
    prev_hash: str
    hmac: str

    @property
    def logged_at(self) -> datetime:
        """``at`` as an aware UTC datetime (``at`` stays the text the HMAC covers)."""
        return datetime.fromisoformat(self.at).astimezone(UTC)

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "at": self.at,
            "operator": self.operator,
            "os_account": self.os_account,
            "ssh_origin": self.ssh_origin,
            "session_id": self.session_id,
            "action": self.action,
            "target": self.target,
            "params": self.params,
            "outcome": self.outcome,
            "approval_id": self.approval_id,
            "prev_hash": self.prev_hash,
            "hmac": self.hmac,
        }


@dataclass(frozen=True)
class OpsLogPage:
    """One page of the ops log, newest first, and where it lies in the whole log."""

    entries: list[OpsLogEntry]
    """Newest first."""
    newer: int
    """How many entries are newer than the page's first (0: the page starts at the newest)."""
    total: int
    """Entries in the whole log when the page was read (those holding ``grep``)."""
    grep: str | None = None
    """The text the page's entries were found by (None: every entry)."""

    @property
    def has_newer(self) -> bool:
        return self.newer > 0

    @property
    def has_older(self) -> bool:
        return self.newer + len(self.entries) < self.total

    def as_json(self) -> dict[str, object]:
        return {
            "entries": [e.as_json() for e in self.entries],
            "newer": self.newer,
            "total": self.total,
            "grep": self.grep,
        }


@dataclass(frozen=True)
class OpsLogHead:
    """The signed checkpoint of the log's last entry, kept outside the log table."""

    seq: int
    hmac: str
    signature: str


@dataclass(frozen=True)
class OpsLogCheckpoint:
    """The ops log's head as a ``backup run`` saw it, kept signed (the region's Ed25519 key)
    in a region's backup store: a witness outside the catalog (``ops-log verify --witness
    store``). No secret, no personal data."""

    seq: int
    hmac: str
    """The chain HMAC of entry ``seq`` (``GENESIS`` of an empty log)."""
    first_hmac: str
    """The chain HMAC of entry #1 (``GENESIS`` of an empty log): a log that was wiped and
    started afresh differs there, whatever its length."""
    at: str
    """When the checkpoint was taken (UTC ISO-8601)."""
    catalog: str
    """The catalog it came from, as shown to operators (no password)."""
    region: str

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "hmac": self.hmac,
            "first_hmac": self.first_hmac,
            "at": self.at,
            "catalog": self.catalog,
            "region": self.region,
        }
