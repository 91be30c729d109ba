"""Backup manifests: written signed with the region's Ed25519 key, read back only if the
signature, the format and the place they were found in all agree.

A manifest that fails any check is never returned as a backup: :func:`load_manifest` raises,
and :func:`scan_manifests` sets it aside with its reason (and logs it).
"""

from __future__ import annotations

import dataclasses
import json
import logging
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


def scan_manifests(
    store: BackupStore, signer: RegionSigner, tenant: str | None
) -> tuple[list[BackupManifest], list[tuple[str, str]]]:
    """Valid manifests of ``tenant`` (else of every tenant), oldest first, and ``(path,
    reason)`` of each invalid one. Raises: InvalidInput (tenant name), Unavailable."""
    good: list[BackupManifest] = []
    bad: list[tuple[str, str]] = []
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
                try:
                    good.append(
                        load_manifest(store, signer, directory.name, path.name[: -len(MANIFEST)])
                    )
                except (IntegrityFailure, InvalidInput) as exc:
                    bad.append((str(path), exc.message))
                    log.warning("backup store %s: ignoring %s: %s", store.region, path, exc.message)
    except FileNotFoundError:
        pass  # no backup was ever written to this store
    except OSError as exc:
        raise store.error(exc, "listing backups") from None
    good.sort(key=lambda m: (m.started_at, m.backup_id))
    return good, bad
