"""Ops-log checkpoints in a region's backup store: the head of the ops log as each ``backup
run`` saw it, signed with the region's Ed25519 key, so that a rollback of the catalog can be
seen from outside it (``ops-log verify --witness store``).

Layout: ``<store>/_opslog/checkpoint-<seq>-<time>.json`` (``_opslog`` is no tenant name, so
listings and prune never take it for one). Each file is written whole, fsynced and hard-linked
into place (a link never replaces an existing file), then the directory is fsynced. Files are
only ever added: nothing here deletes one.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from aptien_ops.backends.backup_files import PARTIAL, BackupStore, Partial, fsync_directory
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.domain import OpsLogCheckpoint
from aptien_ops.errors import InvalidInput

DIRECTORY = "_opslog"
KIND = "aptien-ops ops-log checkpoint"
FORMAT = 1
_FIELDS = frozenset({"kind", "format", "seq", "hmac", "first_hmac", "at", "catalog", "region"})
_HMAC = re.compile(r"^[0-9a-f]{64}$")
log = logging.getLogger(__name__)


def file_name(checkpoint: OpsLogCheckpoint) -> str:
    """``checkpoint-<seq, 12 digits>-<time, digits only>.json``: sorts by seq, then time."""
    stamp = re.sub(r"[^0-9TZ]", "", checkpoint.at)
    return f"checkpoint-{checkpoint.seq:012d}-{stamp}.json"


def write_checkpoint(
    store: BackupStore, signer: RegionSigner, checkpoint: OpsLogCheckpoint
) -> None:
    """Sign ``checkpoint`` and add it to the store; one of the same name is kept as it is.

    Raises: InvalidInput (another region's checkpoint), Unavailable (the store refused).
    """
    if checkpoint.region != store.region:
        raise InvalidInput(
            f"a checkpoint of region {checkpoint.region} does not go into the store of"
            f" region {store.region}"
        )
    document: dict[str, Any] = {"kind": KIND, "format": FORMAT, **checkpoint.as_json()}
    document["signature"] = signer.sign(document)
    directory = store.root / DIRECTORY
    final = directory / file_name(checkpoint)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with Partial(final.with_name(final.name + PARTIAL)) as partial:
            partial.fh.write((json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
            partial.fh.flush()
            os.fsync(partial.fh.fileno())
            try:
                os.link(partial.path, final)  # unlike rename, never replaces a checkpoint
            except FileExistsError:
                pass  # the same head at the same instant: written already
        fsync_directory(directory)
    except OSError as exc:
        raise store.error(exc, f"writing the ops-log checkpoint #{checkpoint.seq}") from None


def scan_checkpoints(
    store: BackupStore, signer: RegionSigner
) -> tuple[list[OpsLogCheckpoint], list[tuple[str, str]]]:
    """Checkpoints that this region signed, oldest first, and ``(path, reason)`` of every
    file that is not to be trusted (logged too). Raises: Unavailable."""
    good: list[OpsLogCheckpoint] = []
    bad: list[tuple[str, str]] = []
    directory = store.root / DIRECTORY
    try:
        paths = sorted(directory.glob("checkpoint-*.json"))
        for path in paths:
            try:
                good.append(_load(store, signer, path.name, _read(path)))
            except _Untrusted as why:
                bad.append((str(path), str(why)))
                log.warning("backup store %s: not trusting %s: %s", store.region, path, why)
    except OSError as exc:
        raise store.error(exc, "reading the ops-log checkpoints") from None
    good.sort(key=lambda c: (c.seq, c.at))
    return good, bad


def _is_hmac(value: object) -> bool:
    return isinstance(value, str) and _HMAC.fullmatch(value) is not None


class _Untrusted(Exception):
    pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise _Untrusted("a directory, not a file") from None


def _load(store: BackupStore, signer: RegionSigner, name: str, raw: bytes) -> OpsLogCheckpoint:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Untrusted("not valid JSON") from None
    if not isinstance(document, dict):
        raise _Untrusted("not a JSON object")
    signature = document.pop("signature", None)
    if not signer.verify(document, signature):
        raise _Untrusted(
            f"the signature is not valid (the file was altered, or not signed by region"
            f" {store.region}'s key)"
        )
    if document.get("kind") != KIND or document.get("format") != FORMAT or set(document) != _FIELDS:
        raise _Untrusted(f"checkpoint format {document.get('format')!r} is not one this reads")
    fields = {k: v for k, v in document.items() if k not in ("kind", "format")}
    seq, macs = fields["seq"], (fields["hmac"], fields["first_hmac"])
    if type(seq) is not int or seq < 0 or not all(_is_hmac(m) for m in macs):
        raise _Untrusted("its seq or hmacs are not well formed")
    if not all(isinstance(fields[k], str) for k in ("at", "catalog", "region")):
        raise _Untrusted("its time, catalog or region is not text")
    checkpoint = OpsLogCheckpoint(**fields)
    if checkpoint.region != store.region or file_name(checkpoint) != name:
        raise _Untrusted(
            f"it describes #{seq} of region {checkpoint.region}, not this file of region"
            f" {store.region}"
        )
    return checkpoint
