"""Creating small key files so no other process ever sees one half-written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


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
