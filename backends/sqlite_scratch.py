"""Scratch copies on a SQLite cluster: the decrypted restores of verifications and of
``backup restore``, and the copy a backup is taken from.

They live in ``<cluster directory>/scratch`` (0700): on the region's own cluster, beside the
tenant databases they are copies of, never in the backup store. Each is
``scratch_<tenant>_<8 hex>.db``, held (see :mod:`held_files`) by the run using it from the moment
it exists; :func:`sweep` removes the ones nobody holds, which only a run that died leaves.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aptien_ops.backends.held_files import create_held, remove_if_unheld
from aptien_ops.domain import ScratchSweep, validate_tenant_name
from aptien_ops.errors import InvalidInput

DIRECTORY = "scratch"
#: What :func:`held_copy` creates, and all that :func:`sweep` removes.
_NAME = re.compile(r"scratch_([a-z0-9][a-z0-9-]*[a-z0-9])_[0-9a-f]{8}")
#: Files SQLite keeps beside a database; they go with it.
SIDE_FILES = ("-journal", "-wal", "-shm")


def directory_of(cluster_directory: Path) -> Path:
    """The cluster's scratch directory, created (0700) if missing. Raises: OSError."""
    scratch = cluster_directory / DIRECTORY
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    return scratch


def new_name(tenant: str) -> str:
    """``scratch_<tenant>_<8 hex>``. Raises: InvalidInput for an invalid tenant name."""
    return f"scratch_{validate_tenant_name(tenant)}_{secrets.token_hex(4)}"


def path_of(cluster_directory: Path, name: str) -> Path:
    """The file of scratch copy ``name``. Raises: InvalidInput if it is not a scratch name."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"{str(name)[:60]!r} is not a scratch copy's name")
    return cluster_directory / DIRECTORY / f"{name}.db"


def remove(path: Path) -> None:
    """Remove a scratch file and SQLite's files beside it. Raises: OSError."""
    for victim in (path, *(Path(f"{path}{side}") for side in SIDE_FILES)):
        victim.unlink(missing_ok=True)


@dataclass
class HeldCopy:
    """A scratch copy held by this run: its name, its file, and what the sweep on the way in
    removed."""

    name: str
    path: Path
    swept: ScratchSweep


@contextmanager
def held_copy(cluster: str, cluster_directory: Path, tenant: str) -> Iterator[HeldCopy]:
    """A new, empty scratch file for ``tenant`` on the cluster, held until the block ends and
    removed then (unless it was moved away: :meth:`SqliteTenantStore.swap_in`). Stale copies
    of crashed runs are swept first.

    Raises: InvalidInput (tenant name), Conflict (a name clash), OSError.
    """
    scratch = directory_of(cluster_directory)
    swept = sweep(cluster, cluster_directory)
    name = new_name(tenant)
    path = scratch / f"{name}.db"
    fd = create_held(path)
    try:
        yield HeldCopy(name, path, swept)
    finally:
        try:
            if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
                remove(path)
            else:
                for side in SIDE_FILES:
                    Path(f"{path}{side}").unlink(missing_ok=True)
        finally:
            os.close(fd)


def sweep(cluster: str, cluster_directory: Path, tenant: str | None = None) -> ScratchSweep:
    """Remove the scratch copies (of ``tenant``, else all) that no live run holds.

    Raises: InvalidInput (tenant name), OSError.
    """
    scratch = cluster_directory / DIRECTORY
    if tenant is not None:
        validate_tenant_name(tenant)
    removed: list[str] = []
    try:
        entries = sorted(scratch.iterdir())
    except FileNotFoundError:
        return ScratchSweep(cluster)
    for path in entries:
        stem = path.name[: -len(".db")] if path.name.endswith(".db") else None
        found = _NAME.fullmatch(stem) if stem else None
        if found is None or (tenant is not None and found.group(1) != tenant):
            continue
        if remove_if_unheld(path):
            remove(path)
            removed.append(stem or path.name)
    # Side files whose database is gone (removed above, or by a run that died mid-way).
    for path in entries:
        for side in SIDE_FILES:
            if (
                path.name.endswith(".db" + side)
                and not path.with_name(path.name[: -len(side)]).exists()
            ):
                path.unlink(missing_ok=True)
    return ScratchSweep(cluster, tuple(removed))
