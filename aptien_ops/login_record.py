"""Where an SSH session came from, as the login record says (``/var/run/utmp``).

sshd writes a record for each terminal it opens, with the client's address in ``ut_host``;
sudo, when it gives the command a terminal of its own (``use_pty``), copies the invoking
terminal's record to it. Only root writes that file, so unlike ``$SSH_CONNECTION`` an operator
cannot make it say something else.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from aptien_ops.terminal_text import shown

UTMP = Path("/var/run/utmp")
#: glibc's ``struct utmp`` on Linux x86_64 and aarch64 (384 bytes): type, pid, line, id, user,
#: host, exit status, session, time, address, reserved.
UTMP_RECORD = struct.Struct("<h2xi32s4s32s256s2hi2i16s20x")
USER_PROCESS = 7


def _text(field: bytes) -> str:
    raw = field.split(b"\0", 1)[0].decode("utf-8", "replace")
    return shown(raw)  # recorded with every action, and shown to operators


def login_host(line: str, path: Path = UTMP) -> str | None:
    """The ``ut_host`` of the live login on terminal ``line`` (``"pts/3"``): the client's
    address for an SSH login, ``""`` for a local one, None when the terminal has no record (or
    the file cannot be read)."""
    if sys.platform != "linux":
        return None  # other systems lay out their utmpx differently
    try:
        data = path.read_bytes()
    except OSError:
        return None
    host = None
    for offset in range(0, len(data) - UTMP_RECORD.size + 1, UTMP_RECORD.size):
        kind, _pid, ut_line, _id, _user, ut_host, *_ = UTMP_RECORD.unpack_from(data, offset)
        if _text(ut_line) == line:  # the terminal's last record says what it is now
            host = _text(ut_host) if kind == USER_PROCESS else None
    return host


def terminal_line() -> str | None:
    """This process's terminal as utmp names it (``"pts/3"``), or None without one."""
    for fd in (0, 1, 2):
        try:
            return os.ttyname(fd).removeprefix("/dev/")
        except OSError:
            continue
    return None
