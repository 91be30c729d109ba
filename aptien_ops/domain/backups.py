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
