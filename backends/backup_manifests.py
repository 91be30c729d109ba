"""Backup manifests: written signed with the region's Ed25519 key, read back only if the
signature, the format and the place they were found in all agree.

A manifest that fails any check is never returned as a backup: :func:`load_manifest` raises,
and :func:`scan_manifests` sets it aside with its reason (and logs it).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from aptien_ops.backends.backup_files import MANIFEST, PARTIAL, BackupStore, Partial
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.domain import BackupManifest
from aptien_ops.errors import IntegrityFailure, InvalidInput, NotFound

FORMAT = 1
#: ``BackupManifest.kind`` of a PostgreSQL backup (pg_backup, and psycopg, load only when needed).
PG_KIND = "postgresql-custom"
_FIELDS = frozenset(f.name for f in dataclasses.fields(BackupManifest))
log = logging.getLogger(__name__)


def write_manifest(store: BackupStore, signer: RegionSigner, manifest: BackupManifest) -> None:
    """Sign ``manifest`` and publish it (``.partial``, fsync, rename). Raises: Conflict, OSError."""
    document: dict[str, Any] = manifest.as_json()
    document["signature"] = signer.sign(document)
    final = store.manifest_path(manifest.tenant, manifest.backup_id)
    with Partial(final.with_name(final.name + PARTIAL)) as partial:
        partial.fh.write(
            (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        )
        partial.publish(final)
        partial.keep()


def load_manifest(
    store: BackupStore, signer: RegionSigner, tenant: str, backup_id: str
) -> BackupManifest:
    """The backup's signed manifest.

    Raises: InvalidInput (names), NotFound, IntegrityFailure (bad signature or format, data
    file missing, a manifest moved from elsewhere), Unavailable (the store cannot be read).
    """
    path = store.manifest_path(tenant, backup_id)
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise NotFound(
            f"no backup {backup_id} of tenant {tenant} in region {store.region}"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise IntegrityFailure(f"backup {backup_id}: the manifest is not valid JSON") from None
    except OSError as exc:
        raise store.error(exc, f"reading manifest {backup_id}") from None
    if not isinstance(raw, dict):
        raise IntegrityFailure(f"backup {backup_id}: the manifest is not a JSON object")
    signature = raw.pop("signature", None)
    if not signer.verify(raw, signature):
        raise IntegrityFailure(
            f"backup {backup_id}: the manifest signature is not valid "
            f"(the manifest was altered, or not signed by region {store.region})"
        )
    if raw.get("format") != FORMAT or set(raw) != _FIELDS:
        raise IntegrityFailure(
            f"backup {backup_id}: manifest format {raw.get('format')!r}"
            " is not one this aptien-ops reads"
        )
    manifest = BackupManifest(**raw)
    if (manifest.tenant, manifest.backup_id, manifest.region) != (
        tenant,
        backup_id,
        store.region,
    ):
        raise IntegrityFailure(
            f"backup {backup_id}: the manifest describes {manifest.backup_id} of "
            f"{manifest.tenant} in {manifest.region}, not this file"
        )
    if not store.data_path(tenant, backup_id).is_file():
        raise IntegrityFailure(
            f"backup {backup_id}: the manifest is there but its data file is missing"
        )
    return manifest


#: A file's inode, size, modification and change times: any write to it, a replacement or a
#: removal changes them (the change time cannot be set back by the file's owner).
FileStamp = tuple[int, int, int, int]


def _stamp(path: Path) -> FileStamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class VerifiedManifests:
    """The manifests a store's listing has read and verified, with the stamps their manifest
    and data files had then: a listing reads and verifies again only those whose files
    changed, and otherwise costs two ``stat`` calls per backup (the Backups screen lists the
    stores on every load, to mark what is missing: 9,000 signatures checked each time).

    Shared by the threads of one console; what a listing of every tenant no longer finds is
    forgotten by it.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[FileStamp, FileStamp, BackupManifest]] = {}

    def load(
        self, store: BackupStore, signer: RegionSigner, tenant: str, backup_id: str
    ) -> BackupManifest:
        """As :func:`load_manifest` (and raising as it does)."""
        path = store.manifest_path(tenant, backup_id)
        data = store.data_path(tenant, backup_id)
        stamps = (_stamp(path), _stamp(data))
        seen = self._seen.get(str(path))
        if seen is not None and (seen[0], seen[1]) == stamps:
            return seen[2]
        manifest = load_manifest(store, signer, tenant, backup_id)
        # Stamped before reading: a file written meanwhile is read again next time.
        if stamps[0] is not None and stamps[1] is not None:
            self._seen[str(path)] = (stamps[0], stamps[1], manifest)
        return manifest

    def keep_only(self, paths: set[str]) -> None:
        self._seen = {p: v for p, v in self._seen.items() if p in paths}


def scan_manifests(
    store: BackupStore,
    signer: RegionSigner,
    tenant: str | None,
    verified: VerifiedManifests | None = None,
) -> tuple[list[BackupManifest], list[tuple[str, str]]]:
    """Valid manifests of ``tenant`` (else of every tenant), oldest first, and ``(path,
    reason)`` of each invalid one; ``verified``: those already verified whose files have not
    changed are not read again. Raises: InvalidInput (tenant name), Unavailable."""
    good: list[BackupManifest] = []
    bad: list[tuple[str, str]] = []
    listed: set[str] = set()
    try:
        dirs = (
            [store.directory(tenant)]
            if tenant is not None
            else sorted(p for p in store.root.iterdir() if p.is_dir())
        )
        for directory in dirs:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob(f"*{MANIFEST}")):
                backup_id = path.name[: -len(MANIFEST)]
                listed.add(str(path))
                try:
                    if verified is not None:
                        good.append(verified.load(store, signer, directory.name, backup_id))
                    else:
                        good.append(load_manifest(store, signer, directory.name, backup_id))
                except (IntegrityFailure, InvalidInput) as exc:
                    bad.append((str(path), exc.message))
                    log.warning("backup store %s: ignoring %s: %s", store.region, path, exc.message)
    except FileNotFoundError:
        pass  # no backup was ever written to this store
    except OSError as exc:
        raise store.error(exc, "listing backups") from None
    if verified is not None and tenant is None:
        verified.keep_only(listed)
    good.sort(key=lambda m: (m.started_at, m.backup_id))
    return good, bad
