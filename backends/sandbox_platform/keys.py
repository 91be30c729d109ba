"""The platform's per-tenant payload keys: one 256-bit AES-GCM key per tenant, in a file.

``<key_dir>/<tenant>.key`` is a small JSON document, private to its owner (directory ``0700``,
file ``0600``)::

    {"version": 1, "tenant": "...", "alg": "AES-256-GCM", "key_id": "tk-...", "key": "<base64>"}

The console never reads this directory; only the sandbox's platform stand-in does.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aptien_ops.domain import validate_tenant_name
from aptien_ops.errors import IntegrityFailure, InvalidInput, NotFound, Unavailable

KEY_FILE_VERSION = 1


def platform_key(key_dir: Path, tenant: str, *, create: bool = True) -> tuple[str, bytes]:
    """The tenant's payload key as ``(key_id, 32-byte key)``, from ``key_dir/<tenant>.key``.

    With ``create`` a missing key is generated; the directory is made ``0700`` and the file
    ``0600``, written completely before it appears (a concurrent creator's key wins).

    Raises:
        InvalidInput: invalid tenant name, or the directory or file is open to group/others
            or is not a regular directory/file.
        NotFound: no key file and ``create`` is false.
        IntegrityFailure: the key file is malformed.
        Unavailable: the file system refused.
    """
    validate_tenant_name(tenant)
    key_dir = Path(key_dir)
    path = key_dir / f"{tenant}.key"
    try:
        if create:
            _private_directory(key_dir)
        try:
            return _read_key(path)
        except FileNotFoundError:
            if not create:
                raise NotFound(f"no platform key for tenant {tenant!r} in {key_dir}") from None
        return _write_key(path, tenant)
    except OSError as exc:
        raise Unavailable(
            f"platform key for tenant {tenant!r}: {exc.strerror or exc} ({key_dir})"
        ) from None


def _private_directory(key_dir: Path) -> None:
    try:
        key_dir.mkdir(mode=0o700, parents=True)
        os.chmod(key_dir, 0o700)  # mkdir's mode passes through the umask
    except FileExistsError:
        pass
    info = key_dir.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"the key directory {key_dir} is not a directory")
    if info.st_mode & 0o077:
        raise InvalidInput(
            f"the key directory {key_dir} is open to group/others", hint=f"chmod 700 {key_dir}"
        )


def _read_key(path: Path) -> tuple[str, bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"the key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise InvalidInput(
                f"the key file {path} is open to group/others", hint=f"chmod 600 {path}"
            )
        raw = fh.read(4096)
    try:
        doc = json.loads(raw)
        key_id, key = doc["key_id"], base64.b64decode(doc["key"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise IntegrityFailure(f"the key file {path} is malformed") from None
    if not isinstance(key_id, str) or not key_id or len(key) != 32:
        raise IntegrityFailure(f"the key file {path} does not hold a 256-bit key and a key id")
    return key_id, key


def _write_key(path: Path, tenant: str) -> tuple[str, bytes]:
    key_id, key = f"tk-{secrets.token_hex(8)}", AESGCM.generate_key(bit_length=256)
    doc = {
        "version": KEY_FILE_VERSION,
        "tenant": tenant,
        "alg": "AES-256-GCM",
        "key_id": key_id,
        "key": base64.b64encode(key).decode("ascii"),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            # link, unlike rename, never replaces a key a concurrent run already created.
            os.link(partial, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        partial.unlink(missing_ok=True)
    return key_id, key
