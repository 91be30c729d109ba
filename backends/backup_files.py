"""The files of a region's backup store: where each lives, and how they are written and cleaned.

Layout: ``<store>/<tenant>/<backup-id>.dump.zst.age`` and ``<backup-id>.manifest.json``.
Both are written as ``.partial``, fsynced and renamed, the manifest last, then the directory is
fsynced: a backup exists exactly when its valid manifest does.

Stale files: every ``.partial`` (and a data file waiting for its manifest) is held under an
exclusive ``flock`` by the process writing it, from creation until its backup is complete.
The kernel drops the lock when that process dies, however it dies (``kill -9`` included), so
:func:`remove_stale` removes exactly the files nobody holds, at any age, and never a file a
live backup or verification (in this or another process) is writing.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from aptien_ops.backends import backup_codec as codec
from aptien_ops.backends.held_files import create_held, remove_if_unheld
from aptien_ops.config import ClusterSettings, RegionSettings
from aptien_ops.domain import validate_tenant_name
from aptien_ops.errors import InvalidInput, Unavailable

DATA = ".dump.zst.age"
MANIFEST = ".manifest.json"
PARTIAL = ".partial"
_BACKUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
#: SQLite's files beside a partial copy.
_SQLITE_SIDES = ("-journal", "-wal", "-shm")


def check_backup_id(backup_id: str) -> str:
    """Raises: InvalidInput unless ``backup_id`` is 1-64 letters, digits and '-'."""
    if not isinstance(backup_id, str) or not _BACKUP_ID.fullmatch(backup_id):
        raise InvalidInput(f"{str(backup_id)[:40]!r} is not a backup id")
    return backup_id


class BackupStore:
    """Where one region's backups live, which clusters they come from, how its errors read."""

    def __init__(self, region: RegionSettings) -> None:
        self.settings = region
        self.region = region.name
        self.root = region.backup_store

    def directory(self, tenant: str) -> Path:
        """Raises: InvalidInput for an invalid tenant name."""
        return self.root / validate_tenant_name(tenant)

    def data_path(self, tenant: str, backup_id: str) -> Path:
        """Raises: InvalidInput (tenant name or backup id)."""
        return self.directory(tenant) / f"{check_backup_id(backup_id)}{DATA}"

    def manifest_path(self, tenant: str, backup_id: str) -> Path:
        """Raises: InvalidInput (tenant name or backup id)."""
        return self.directory(tenant) / f"{check_backup_id(backup_id)}{MANIFEST}"

    def error(self, exc: OSError, doing: str) -> Unavailable:
        """What the operator reads when the store refuses ``doing`` (full, or otherwise)."""
        reason = exc.strerror or str(exc)
        if exc.errno in _FULL:
            return Unavailable(
                f"backup store of region {self.region} is full ({self.root}):"
                f" {doing} failed: {reason}",
                hint="free space in the store, then rerun",
            )
        return Unavailable(
            f"backup store of region {self.region} ({self.root}): {doing} failed: {reason}"
        )

    def check_cluster(self, cluster: ClusterSettings) -> None:
        """Raises: InvalidInput unless ``cluster`` is one of this region's."""
        if not any(c.name == cluster.name and c.url == cluster.url for c in self.settings.clusters):
            raise InvalidInput(
                f"cluster {cluster.name!r} is not a cluster of region {self.region}",
                hint="a tenant's backups stay in its own region",
            )


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Partial:
    """A new file held under an exclusive flock until closed (see the module doc).

    As a context manager it removes the file on exit unless :meth:`keep` was called.
    """

    def __init__(self, path: Path) -> None:
        """Create and lock ``path``. Raises: Conflict if another run has it; OSError."""
        fd = create_held(path)
        self.path = path
        self.kept = False
        self.fh: BinaryIO = os.fdopen(fd, "wb", buffering=codec.CHUNK)

    def publish(self, final: Path) -> None:
        """Flush, fsync and rename to ``final`` (still locked until closed)."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        os.rename(self.path, final)
        self.path = final

    def keep(self) -> None:
        self.kept = True

    def __enter__(self) -> Partial:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.kept:
                self.path.unlink(missing_ok=True)
        finally:
            try:
                self.fh.close()
            except OSError:
                pass  # a failed flush of a discarded file: its error is already on its way up


def remove_stale(directories: Iterable[Path]) -> Iterator[str]:
    """Remove what crashed runs left in ``directories`` (``.partial`` files, data without a
    manifest) that no live process holds, yielding each path as it goes.

    Raises: OSError (FileNotFoundError once a directory is gone), for the caller to translate.
    """
    for directory in (d for d in directories if d.is_dir()):
        for path in sorted(directory.iterdir()):
            name = path.name
            for side in _SQLITE_SIDES:
                if (
                    name.endswith(PARTIAL + side)
                    and not path.with_name(name[: -len(side)]).exists()
                ):
                    path.unlink(missing_ok=True)
                    yield str(path)
            orphan = (
                name.endswith(DATA) and not path.with_name(name[: -len(DATA)] + MANIFEST).exists()
            )
            if (name.endswith(PARTIAL) or orphan) and remove_if_unheld(path):
                yield str(path)
