"""Creating small key files so no other process ever sees one half-written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from aptien_ops.errors import ConfigError

KEY_BYTES = 32


def create_exclusively(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` (0600, directory 0700) unless it exists already.

    The file is written and fsynced under a temporary name and linked into place, so a
    concurrent reader sees either no file or the whole key. Returns False if another process
    created it first (then read theirs).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        temp.unlink(missing_ok=True)


def load_or_create_key(path: Path, *, create: bool, what: str, hint: str) -> bytes:
    """The :data:`KEY_BYTES` random bytes kept hex-encoded in ``path``.

    Made (see :func:`create_exclusively`) only when ``create`` is true and the file is
    missing; if another process makes it at the same moment, theirs is read. ``what`` names
    the key in errors ("region key"), ``hint`` says what to do when it is missing.

    Raises:
        ConfigError: the file is missing (and may not be created), unreadable, not hex, or
            not :data:`KEY_BYTES` bytes. The key itself is never in the message.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise ConfigError(f"the {what} {path} is missing", hint=hint) from None
        key = secrets.token_bytes(KEY_BYTES)
        if not create_exclusively(path, key.hex().encode()):
            return load_or_create_key(path, create=False, what=what, hint=hint)
        return key
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"the {what} {path} is not hex") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"the {what} {path} must hold {KEY_BYTES} bytes, not {len(key)}")
    return key
