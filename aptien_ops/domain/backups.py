"""Backups as their signed manifests describe them, and verification results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aptien_ops.domain.values import iso


@dataclass(frozen=True)
class BackupManifest:
    """What a backup holds, signed by the region and written last. No payload, no secret."""

    backup_id: str
    tenant: str
    region: str
    cluster: str
    database: str
    kind: str
    """``postgresql-custom`` (pg_dump -Fc) or ``sqlite``."""
    server_version: str
    dump_tool: str
    snapshot: str | None
    started_at: str
    finished_at: str
    plaintext_size: int
    ciphertext_size: int
    plaintext_sha256: str
    ciphertext_sha256: str
    recipient_fingerprint: str
    row_counts: dict[str, int]
    archive_list_sha256: str | None
    format: int = 1

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VerifyResult:
    backup_id: str
    level: str
    """quick, full or restore."""
    ok: bool
    detail: str
    at: datetime | None = None
    """When it was verified; None until the service stamps it."""
    operator: str = ""

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "at": iso(self.at) or ""}


@dataclass(frozen=True)
class ScratchSweep:
    """What a sweep of one cluster's scratch copies (the restores of verifications and of
    ``backup restore``, the SQLite copies of backups) found that no live run holds."""

    cluster: str
    removed: tuple[str, ...] = ()
    """Scratch databases (or files) it dropped."""
    kept: tuple[tuple[str, str], ...] = ()
    """``(name, why)`` of each it could not drop: why names what the cluster refused."""

    def describe(self) -> str:
        """``dropped 2 leftover scratch copies on cluster eu-1: a, b`` (and what stayed)."""
        parts = []
        if self.removed:
            shown = ", ".join(self.removed[:3])
            more = f" and {len(self.removed) - 3} more" if len(self.removed) > 3 else ""
            parts.append(
                f"dropped {len(self.removed)} leftover scratch cop"
                f"{'y' if len(self.removed) == 1 else 'ies'} on cluster {self.cluster!r}:"
                f" {shown}{more}"
            )
        for name, why in self.kept[:3]:
            parts.append(f"could not drop scratch copy {name} on cluster {self.cluster!r}: {why}")
        return "; ".join(parts)
