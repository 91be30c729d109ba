"""Key files: made so no other process ever sees one half-written, read only when private.

Every key of the console (the ops-log key, the region sealing keys, the region signing keys)
is read by :func:`load_or_create_key`. In production (``strict_modes``) a key must be private
to the account that runs the console, as OpenSSH requires of a private key: owned by it, not
readable by anyone else, in directories nobody else can write.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from aptien_ops.errors import ConfigError, IntegrityFailure

KEY_BYTES = 32
ESCROW_HINT = "restore it from the key escrow"
#: How errors name each key.
OPSLOG_KEY = "ops-log key"
REGION_KEY = "region key"
SIGNING_KEY = "region signing key"


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


def _owner(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_private(path: Path, info: os.stat_result, what: str, *, owner: int | None = None) -> None:
    """Refuse a key that another account could read, or replace by writing a directory above it.

    ``info`` is the open file's ``fstat``; ``owner`` the uid the key must belong to (default:
    the account running the console; ``aptien-ops doctor`` passes the service account's).
    Directories may belong to root or to that account and be writable by nobody else (a
    sticky directory such as ``/tmp`` excepted: others cannot rename what is ours in it).

    Raises:
        IntegrityFailure: naming the file or directory and the command that fixes it.
    """
    me = os.geteuid() if owner is None else owner
    if info.st_uid != me:
        raise IntegrityFailure(
            f"the {what} {path} belongs to {_owner(info.st_uid)}, not to {_owner(me)}",
            hint=f"chown {_owner(me)} {path}",
        )
    if info.st_mode & 0o077:
        raise IntegrityFailure(
            f"the {what} {path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod 600 {path}",
        )
    absolute = path.absolute()
    for directory in dict.fromkeys([*absolute.parents, *absolute.resolve().parents]):
        found = os.stat(directory)
        if found.st_uid not in (0, me):
            raise IntegrityFailure(
                f"the directory {directory} of the {what} belongs to {_owner(found.st_uid)}",
                hint=f"chown {_owner(me)} {directory}",
            )
        if found.st_mode & 0o022 and not found.st_mode & stat.S_ISVTX:
            raise IntegrityFailure(
                f"the directory {directory} of the {what} is writable by group or others"
                f" (mode {stat.S_IMODE(found.st_mode):04o})",
                hint=f"chmod go-w {directory}",
            )


def never_replace(path: Path, what: str, needed_by: Callable[[], str | None]) -> None:
    """Refuse to go on without a key that the catalog's records depend on.

    ``needed_by`` is asked only when ``path`` is missing; it says what depends on the key
    ("the ops log has entries") or returns None when nothing does yet.

    Raises:
        IntegrityFailure: the key is missing and something depends on it: making a new one
            would orphan it, so the operator restores it instead.
    """
    if path.exists():
        return
    depending = needed_by()
    if depending is not None:
        raise IntegrityFailure(
            f"the {what} {path} is missing, but {depending}: a new key would not open them",
            hint=ESCROW_HINT,
        )


def load_or_create_key(
    path: Path, *, create: bool, what: str, hint: str, strict_modes: bool = False
) -> bytes:
    """The :data:`KEY_BYTES` random bytes kept hex-encoded in ``path``.

    Made (see :func:`create_exclusively`) only when ``create`` is true and the file is
    missing; if another process makes it at the same moment, theirs is read. ``what`` names
    the key in errors ("region key"), ``hint`` says what to do when it is missing. With
    ``strict_modes`` (production) an existing key must be private (:func:`check_private`).

    Raises:
        ConfigError: the file is missing (and may not be created), unreadable, not hex, or
            not :data:`KEY_BYTES` bytes. The key itself is never in the message.
        IntegrityFailure: ``strict_modes`` and the key is not private.
    """
    try:
        with open(path, "rb") as fh:
            if strict_modes:
                check_private(path, os.fstat(fh.fileno()), what)
            data = fh.read()
    except FileNotFoundError:
        if not create:
            raise ConfigError(f"the {what} {path} is missing", hint=hint) from None
        key = secrets.token_bytes(KEY_BYTES)
        if not create_exclusively(path, key.hex().encode()):
            return load_or_create_key(
                path, create=False, what=what, hint=hint, strict_modes=strict_modes
            )
        return key
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None
    return decode_key(path, data, what)


def decode_key(path: Path, data: bytes, what: str) -> bytes:
    """The key held in ``data`` (the content of ``path``): hex of :data:`KEY_BYTES` bytes.

    Raises: ConfigError if it is not hex or not that long (never quoting the key).
    """
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"the {what} {path} is not hex") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"the {what} {path} must hold {KEY_BYTES} bytes, not {len(key)}")
    return key
