"""A region's backup store on a file system (the ``BackupRepository`` port).

Layout: ``<store>/<tenant>/<backup-id>.dump.zst.age`` (zstd, then age to the tenant's own
X25519 recipient) and ``<backup-id>.manifest.json`` (signed with the region's Ed25519 key).
Both are written as ``.partial``, fsynced and renamed, the manifest last, then the directory is
fsynced: a backup exists exactly when its valid manifest does.

Stale files: every ``.partial`` (and a data file waiting for its manifest) is held under an
exclusive ``flock`` by the process writing it, from creation until its backup is complete.
The kernel drops the lock when that process dies, however it dies (``kill -9`` included), so
:meth:`FsBackupRepository.clean_partials` removes exactly the files nobody holds, at any age,
and never a file a live backup or verification (in this or another process) is writing.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyrage
import zstandard

from aptien_ops.backends import backup_codec as codec
from aptien_ops.backends import sqlite_backup
from aptien_ops.backends.backup_signing import RegionSigner, signing_key_path
from aptien_ops.config import ClusterSettings, RegionSettings
from aptien_ops.domain import (
    BackupManifest,
    Clock,
    VerifyResult,
    iso,
    utcnow,
    validate_tenant_name,
)
from aptien_ops.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, Unavailable
from aptien_ops.ports import TenantStore

DATA = ".dump.zst.age"
MANIFEST = ".manifest.json"
PARTIAL = ".partial"
LEVELS = ("quick", "full", "restore")
FORMAT = 1
_BACKUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_FIELDS = frozenset(f.name for f in dataclasses.fields(BackupManifest))
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
#: ``BackupManifest.kind`` of a PostgreSQL backup (pg_backup, and psycopg, load only when needed).
PG_KIND = "postgresql-custom"
log = logging.getLogger(__name__)


def check_backup_id(backup_id: str) -> str:
    """Raises: InvalidInput unless ``backup_id`` is 1-64 letters, digits and '-'."""
    if not isinstance(backup_id, str) or not _BACKUP_ID.fullmatch(backup_id):
        raise InvalidInput(f"{str(backup_id)[:40]!r} is not a backup id")
    return backup_id


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Partial:
    """A new file held under an exclusive flock until closed (see the module doc).

    As a context manager it removes the file on exit unless :meth:`keep` was called.
    """

    def __init__(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            raise Conflict(
                f"{path.name} is being written by another run", hint="rerun later"
            ) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.path = path
        self.kept = False
        self.fh: BinaryIO = os.fdopen(fd, "wb", buffering=codec.CHUNK)
        if os.stat(path).st_ino != os.fstat(fd).st_ino:  # a cleaner took it between open and lock
            self.fh.close()
            raise Conflict(f"{path.name} was removed while being created", hint="rerun")

    def publish(self, final: Path) -> None:
        """Flush, fsync and rename to ``final`` (still locked until closed)."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        os.rename(self.path, final)
        self.path = final

    def keep(self) -> None:
        self.kept = True

    def __enter__(self) -> _Partial:
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


def _try_remove_unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False  # a live writer holds it
    try:
        path.unlink(missing_ok=True)  # while holding the lock, so no writer can take it over
    finally:
        os.close(fd)
    return True


class FsBackupRepository:
    """Implements :class:`aptien_ops.ports.BackupRepository` for one region."""

    def __init__(
        self,
        region: RegionSettings,
        *,
        create: bool = False,
        strict_modes: bool = False,
        signing_key_file: Path | None = None,
        store_factory: Callable[[ClusterSettings], TenantStore] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        """Open the region's store (created on first write) and its signing key.

        ``create`` makes a missing signing key (sandbox, first run); ``strict_modes``
        (production) refuses one that is not private to this account; ``signing_key_file``
        defaults to ``region-<r>.sign.key`` beside the region key; ``store_factory`` opens a
        cluster's tenant store (default: the registered adapter of its kind); ``clock`` stamps
        the manifests.

        Raises: ConfigError if the signing key is missing (and not ``create``) or malformed;
        IntegrityFailure if it is not private (``strict_modes``).
        """
        self.region = region.name
        self._settings = region
        self.root = region.backup_store
        self._signer = RegionSigner(
            signing_key_file or signing_key_path(region), create=create, strict_modes=strict_modes
        )
        self._stores = store_factory or _default_store
        self.clock = clock

    # ------------------------------------------------------------------ layout

    def _dir(self, tenant: str) -> Path:
        return self.root / validate_tenant_name(tenant)

    def data_path(self, tenant: str, backup_id: str) -> Path:
        return self._dir(tenant) / f"{check_backup_id(backup_id)}{DATA}"

    def manifest_path(self, tenant: str, backup_id: str) -> Path:
        return self._dir(tenant) / f"{check_backup_id(backup_id)}{MANIFEST}"

    def _store_error(self, exc: OSError, doing: str) -> Unavailable:
        reason = exc.strerror or str(exc)
        if exc.errno in _FULL:
            return Unavailable(
                f"backup store of region {self.region} is full ({self.root}): {doing} failed: {reason}",
                hint="free space in the store, then rerun",
            )
        return Unavailable(
            f"backup store of region {self.region} ({self.root}): {doing} failed: {reason}"
        )

    # ------------------------------------------------------------------ backup

    def create(
        self,
        tenant: str,
        cluster: ClusterSettings,
        recipient: str,
        backup_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> BackupManifest:
        """Dump the tenant in one consistent snapshot → zstd → age → the store, manifest last.

        Raises:
            InvalidInput: bad tenant name, backup id or recipient; a cluster of another region.
            Conflict: a backup with this id exists or is being written.
            NotFound: the tenant's database does not exist.
            Unavailable: the cluster or the store is down, the store is full, the dump failed
                (e.g. the database was dropped mid-dump). Nothing is left visible.
        """
        directory, data_final = self._dir(tenant), self.data_path(tenant, backup_id)
        codec.parse_recipient(recipient)
        self._check_cluster(cluster)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.mkdir(mode=0o700, exist_ok=True)
            self.clean_partials(
                tenant
            )  # this tenant's only: a fleet run must not rescan every tenant
            if self.manifest_path(tenant, backup_id).exists() or data_final.exists():
                raise Conflict(
                    f"backup {backup_id} of {tenant} already exists in region {self.region}"
                )
            started = iso(self.clock()) or ""
            with _Partial(data_final.with_name(data_final.name + PARTIAL)) as data:
                sealed: list[codec.Sealed] = []

                def consume(stream: codec.Source) -> None:
                    sealed.append(codec.encrypt(stream, data.fh, recipient, progress))

                info = self._dump(tenant, cluster, backup_id, consume)
                data.publish(data_final)
                manifest = BackupManifest(
                    backup_id=backup_id,
                    tenant=tenant,
                    region=self.region,
                    cluster=cluster.name,
                    database=info.database,
                    kind=PG_KIND if cluster.kind == "postgresql" else sqlite_backup.KIND,
                    server_version=info.server_version,
                    dump_tool=info.dump_tool,
                    snapshot=info.snapshot,
                    started_at=started,
                    finished_at=iso(self.clock()) or "",
                    plaintext_size=sealed[0].plaintext_size,
                    ciphertext_size=sealed[0].ciphertext_size,
                    plaintext_sha256=sealed[0].plaintext_sha256,
                    ciphertext_sha256=sealed[0].ciphertext_sha256,
                    recipient_fingerprint=codec.recipient_fingerprint(recipient),
                    row_counts=info.row_counts,
                    archive_list_sha256=info.archive_list_sha256,
                    format=FORMAT,
                )
                self._write_manifest(manifest)
                fsync_directory(directory)
                data.keep()
        except OSError as exc:
            raise self._store_error(exc, f"backup of tenant {tenant!r}") from None
        return manifest

    def _check_cluster(self, cluster: ClusterSettings) -> None:
        if not any(
            c.name == cluster.name and c.url == cluster.url for c in self._settings.clusters
        ):
            raise InvalidInput(
                f"cluster {cluster.name!r} is not a cluster of region {self.region}",
                hint="a tenant's backups stay in its own region",
            )

    def _dump(
        self,
        tenant: str,
        cluster: ClusterSettings,
        backup_id: str,
        consume: Callable[[codec.Source], None],
    ) -> codec.DumpInfo:
        store = self._stores(cluster)
        try:
            if cluster.kind == "postgresql":
                from aptien_ops.backends import pg_backup

                return pg_backup.backup(store, cluster, tenant, self._dir(tenant), consume)
            with _Partial(self._dir(tenant) / f"{backup_id}.sqlite{PARTIAL}") as copy:
                return sqlite_backup.backup(store, tenant, copy.path, consume)
        except (pyrage.EncryptError, zstandard.ZstdError) as exc:
            raise Unavailable(
                f"tenant {tenant!r}: compressing or encrypting the backup failed: {exc}"
            ) from None
        finally:
            store.close()

    def _write_manifest(self, manifest: BackupManifest) -> None:
        document: dict[str, Any] = manifest.as_json()
        document["signature"] = self._signer.sign(document)
        final = self.manifest_path(manifest.tenant, manifest.backup_id)
        with _Partial(final.with_name(final.name + PARTIAL)) as partial:
            partial.fh.write(
                (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
            )
            partial.publish(final)
            partial.keep()

    # ------------------------------------------------------------------ manifests

    def _load(self, tenant: str, backup_id: str) -> BackupManifest:
        path = self.manifest_path(tenant, backup_id)
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise NotFound(
                f"no backup {backup_id} of tenant {tenant} in region {self.region}"
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise IntegrityFailure(f"backup {backup_id}: the manifest is not valid JSON") from None
        except OSError as exc:
            raise self._store_error(exc, f"reading manifest {backup_id}") from None
        if not isinstance(raw, dict):
            raise IntegrityFailure(f"backup {backup_id}: the manifest is not a JSON object")
        signature = raw.pop("signature", None)
        if not self._signer.verify(raw, signature):
            raise IntegrityFailure(
                f"backup {backup_id}: the manifest signature is not valid "
                f"(the manifest was altered, or not signed by region {self.region})"
            )
        if raw.get("format") != FORMAT or set(raw) != _FIELDS:
            raise IntegrityFailure(
                f"backup {backup_id}: manifest format {raw.get('format')!r} is not one this aptien-ops reads"
            )
        manifest = BackupManifest(**raw)
        if (manifest.tenant, manifest.backup_id, manifest.region) != (
            tenant,
            backup_id,
            self.region,
        ):
            raise IntegrityFailure(
                f"backup {backup_id}: the manifest describes {manifest.backup_id} of "
                f"{manifest.tenant} in {manifest.region}, not this file"
            )
        if not self.data_path(tenant, backup_id).is_file():
            raise IntegrityFailure(
                f"backup {backup_id}: the manifest is there but its data file is missing"
            )
        return manifest

    def manifest(self, tenant: str, backup_id: str) -> BackupManifest:
        """The backup's signed manifest.

        Raises: InvalidInput (names), NotFound, IntegrityFailure (bad signature, data file
        missing, a manifest moved from elsewhere), Unavailable (the store cannot be read).
        """
        return self._load(tenant, backup_id)

    def _scan(self, tenant: str | None) -> tuple[list[BackupManifest], list[tuple[str, str]]]:
        good: list[BackupManifest] = []
        bad: list[tuple[str, str]] = []
        try:
            dirs = (
                [self._dir(tenant)]
                if tenant is not None
                else sorted(p for p in self.root.iterdir() if p.is_dir())
            )
            for directory in dirs:
                if not directory.is_dir():
                    continue
                for path in sorted(directory.glob(f"*{MANIFEST}")):
                    try:
                        good.append(self._load(directory.name, path.name[: -len(MANIFEST)]))
                    except (IntegrityFailure, InvalidInput) as exc:
                        bad.append((str(path), exc.message))
                        log.warning(
                            "backup store %s: ignoring %s: %s", self.region, path, exc.message
                        )
        except FileNotFoundError:
            pass  # no backup was ever written to this store
        except OSError as exc:
            raise self._store_error(exc, "listing backups") from None
        good.sort(key=lambda m: (m.started_at, m.backup_id))
        return good, bad

    def manifests(self, tenant: str | None = None) -> list[BackupManifest]:
        """Valid, signed manifests (with their data file), oldest first. Invalid ones are
        skipped, logged and reported by :meth:`invalid_manifests`. Raises: Unavailable."""
        return self._scan(tenant)[0]

    def invalid_manifests(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """``(path, reason)`` of every manifest that :meth:`manifests` skips. Raises: Unavailable."""
        return self._scan(tenant)[1]

    def delete(self, manifest: BackupManifest) -> None:
        """Remove the backup: manifest first (it vanishes at once), then its data. Idempotent.

        Raises: Unavailable if the store refuses.
        """
        directory = self._dir(manifest.tenant)
        try:
            self.manifest_path(manifest.tenant, manifest.backup_id).unlink(missing_ok=True)
            self.data_path(manifest.tenant, manifest.backup_id).unlink(missing_ok=True)
            if directory.exists():
                fsync_directory(directory)
        except OSError as exc:
            raise self._store_error(exc, f"deleting backup {manifest.backup_id}") from None

    def clean_partials(self, tenant: str | None = None) -> list[str]:
        """Remove what crashed runs left (``.partial`` files, data without a manifest) that no
        live process holds, in the whole store or one tenant's directory; returns their paths.

        Raises: InvalidInput (tenant name), Unavailable.
        """
        removed: list[str] = []
        try:
            dirs = (
                [self._dir(tenant)]
                if tenant is not None
                else [p for p in self.root.iterdir() if p.is_dir()]
            )
            for directory in (d for d in dirs if d.is_dir()):
                for path in sorted(directory.iterdir()):
                    name = path.name
                    for side in (
                        "-journal",
                        "-wal",
                        "-shm",
                    ):  # SQLite's files beside a partial copy
                        if (
                            name.endswith(PARTIAL + side)
                            and not path.with_name(name[: -len(side)]).exists()
                        ):
                            path.unlink(missing_ok=True)
                            removed.append(str(path))
                    orphan = (
                        name.endswith(DATA)
                        and not path.with_name(name[: -len(DATA)] + MANIFEST).exists()
                    )
                    if (name.endswith(PARTIAL) or orphan) and _try_remove_unlocked(path):
                        removed.append(str(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._store_error(exc, "cleaning partial files") from None
        return removed

    # ------------------------------------------------------------------ verify

    def verify(
        self,
        manifest: BackupManifest,
        level: str,
        identity: str | None,
        scratch_cluster: ClusterSettings | None,
    ) -> VerifyResult:
        """Check the backup at ``level``; a bad backup is a failed result, never an exception.

        ``quick``: the stored manifest is this one and validly signed, the file's size and
        SHA-256 match (no key). ``full``: also decrypt, decompress, check the plaintext SHA-256
        and walk the archive (``pg_restore --list`` hash, ``pg_restore -f /dev/null``; SQLite:
        integrity check and schema listing). ``restore``: like full, but restore into a scratch
        database on ``scratch_cluster`` (SQLite: a scratch file in the store) and compare every
        table's row count with the manifest; the scratch is dropped whatever happens.

        Raises:
            InvalidInput: unknown level, no identity for full/restore, a scratch cluster of
                another region or kind (or none for a PostgreSQL restore).
            Unavailable: the scratch cluster is down, the store is full or unreadable.
        """
        if level not in LEVELS:
            raise InvalidInput(
                f"unknown verify level {str(level)[:20]!r}", hint="quick, full or restore"
            )

        def result(verdict: tuple[bool, str]) -> VerifyResult:
            return VerifyResult(manifest.backup_id, level, verdict[0], verdict[1])

        try:
            stored = self._load(manifest.tenant, manifest.backup_id)
        except NotFound:
            return result((False, "the manifest is missing from the store"))
        except IntegrityFailure as exc:
            return result((False, exc.message))
        if stored != manifest:
            return result((False, "the manifest differs from the one in the store"))
        path = self.data_path(manifest.tenant, manifest.backup_id)
        if level == "quick":
            return result(
                codec.judge_file(path, manifest.ciphertext_size, manifest.ciphertext_sha256)
            )
        if not identity:
            raise InvalidInput(f"{level} verification needs the tenant's backup identity")
        if (
            codec.recipient_fingerprint(str(codec.parse_identity(identity).to_public()))
            != manifest.recipient_fingerprint
        ):
            return result((False, "wrong key: the identity does not match the backup's recipient"))

        def feed(sink: codec.Sink) -> codec.Opened:
            return codec.decrypt(path, identity, sink, expected_size=manifest.ciphertext_size)

        try:
            walked = self._walk(manifest, level, scratch_cluster, feed)
        except OSError as exc:
            raise self._store_error(exc, f"verifying backup {manifest.backup_id}") from None
        ok, detail = codec.judge_walk(
            walked,
            ciphertext=(manifest.ciphertext_size, manifest.ciphertext_sha256),
            plaintext=(manifest.plaintext_size, manifest.plaintext_sha256),
            archive_list_sha256=manifest.archive_list_sha256,
            row_counts=manifest.row_counts if level == "restore" else None,
        )
        return result((ok, f"{detail}; {walked.note}" if walked.note else detail))

    def _walk(
        self,
        manifest: BackupManifest,
        level: str,
        scratch_cluster: ClusterSettings | None,
        feed: Callable[[codec.Sink], codec.Opened],
    ) -> codec.Walked:
        directory = self._dir(manifest.tenant)
        if manifest.kind == sqlite_backup.KIND:
            scratch = (
                directory / f"{manifest.backup_id}.scratch-{secrets.token_hex(4)}.sqlite{PARTIAL}"
            )
            with _Partial(scratch) as held:
                try:
                    return sqlite_backup.walk(held.path, level == "restore", feed)
                finally:
                    sqlite_backup.remove_side_files(held.path)
        if manifest.kind != PG_KIND:
            raise InvalidInput(f"backup {manifest.backup_id} is of unknown kind {manifest.kind!r}")
        cluster = None
        if level == "restore":
            if scratch_cluster is None or scratch_cluster.kind != "postgresql":
                raise InvalidInput(
                    f"restoring {manifest.backup_id} needs a PostgreSQL cluster of region {self.region}"
                )
            self._check_cluster(scratch_cluster)
            cluster = scratch_cluster
        from aptien_ops.backends import pg_backup

        return pg_backup.walk(cluster, manifest.tenant, directory, feed)


def _default_store(cluster: ClusterSettings) -> TenantStore:
    from aptien_ops import backends

    store: TenantStore = backends.load("tenant_store", cluster.kind)(cluster)
    return store
