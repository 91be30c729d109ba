"""The PostgreSQL client programs backups run (``pg_dump``, ``pg_restore``), and their plumbing.

The tools are found on PATH (unless that is Debian's ``pg_wrapper``), else in the newest
``/usr/lib/postgresql/*/bin``. They get every connection setting in a ``-d`` conninfo string and
the password only in their environment (``PGPASSWORD``), never in their arguments.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO

from psycopg.conninfo import make_conninfo

from aptien_ops.backends.backup_codec import CHUNK
from aptien_ops.backends.pg_common import conninfo_params, driver_message
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import Unavailable


@functools.cache
def find_tool(name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``. Raises: Unavailable if neither place has it."""
    on_path = shutil.which(name)
    if on_path and Path(on_path).resolve().name != "pg_wrapper":
        return on_path
    versioned = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else -1,
        reverse=True,
    )
    for candidate in [*versioned, *([Path(on_path)] if on_path else [])]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise Unavailable(
        f"{name} not found on PATH or in /usr/lib/postgresql/*/bin",
        hint="install postgresql-client",
    )


#: The tools a PostgreSQL cluster's backups and restore verifications run.
CLIENT_TOOLS = ("pg_dump", "pg_restore")


def client_tools() -> dict[str, str | None]:
    """Each of :data:`CLIENT_TOOLS` with the path backups would run, or None if not found."""
    found: dict[str, str | None] = {}
    for name in CLIENT_TOOLS:
        try:
            found[name] = find_tool(name)
        except Unavailable:
            found[name] = None
    return found


@functools.cache
def tool_version(path: str) -> str:
    """``pg_dump (PostgreSQL) 15.18 …``. Raises: Unavailable if the tool does not run."""
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"{path} --version failed: {exc}") from None
    return done.stdout.strip()


def connection(cluster: ClusterSettings, dbname: str) -> tuple[dict[str, str], str, str | None]:
    """``(environment, conninfo, password)`` for a PostgreSQL tool acting as the cluster admin.

    The environment is ours without any inherited ``PG*`` variable, plus ``PGPASSWORD``.
    Raises: InvalidInput (bad URL), ConfigError (unreadable password).
    """
    params = conninfo_params(cluster.url)
    params["dbname"] = dbname
    params.setdefault("connect_timeout", "10")
    params["application_name"] = "aptien-ops-backup"
    password = cluster.password.read()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    if password:
        env["PGPASSWORD"] = password
    return env, make_conninfo(**params), password


class Tool:
    """One PostgreSQL tool fed on stdin, its stdout and stderr in anonymous files in ``workdir``."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        *,
        stdin: bool = True,
        stdout: int | IO[bytes] | None = None,
        secret: str | None = None,
    ) -> None:
        """Start the tool. Raises: Unavailable if it cannot be run."""
        self.name = Path(argv[0]).name
        self._secret = secret
        self._err = tempfile.TemporaryFile(dir=workdir)
        self.out = tempfile.TemporaryFile(dir=workdir) if stdout is None else None
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=stdout or self.out,
                stderr=self._err,
                env=env,
                bufsize=CHUNK,
                close_fds=True,
            )
        except OSError as exc:
            self.close()
            raise Unavailable(f"cannot run {self.name}: {exc.strerror or exc}") from None
        self.open = stdin
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                _widen(pipe.fileno())

    def feed(self, data: bytes) -> None:
        """Write to stdin. Raises: BrokenPipeError once the tool stopped reading."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def end_input(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with suppress(BrokenPipeError):
                self.proc.stdin.close()
        self.open = False

    def wait(self) -> str | None:
        """Close stdin, wait; None if the tool succeeded, else its error output's last line(s)."""
        self.end_input()
        code = self.proc.wait()
        return None if code == 0 else f"{self.name} failed (exit {code}): {self.stderr_tail()}"

    def stderr_tail(self) -> str:
        self._err.seek(0, os.SEEK_END)
        self._err.seek(max(0, self._err.tell() - 600))
        text = self._err.read().decode("utf-8", "replace").strip() or "no error output"
        return driver_message(RuntimeError(text), (self._secret,))

    def output_sha256(self) -> str:
        assert self.out is not None
        self.out.seek(0)
        return hashlib.file_digest(self.out, "sha256").hexdigest()

    def close(self) -> None:
        """Kill the tool if it still runs and release its files."""
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdin is not None:
            with suppress(BrokenPipeError):
                proc.stdin.close()
        for fh in (self._err, self.out):
            if fh is not None:
                fh.close()


def _widen(fd: int) -> None:
    """Give a pipe 1 MiB of buffer (Linux): fewer wake-ups of pg_dump, pg_restore and us."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), CHUNK)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size for this user, or not Linux: the default works


class Tee:
    """Reads pg_dump's stdout and feeds the same bytes to ``pg_restore --list`` until it stops."""

    def __init__(self, raw: IO[bytes], lister: Tool) -> None:
        self._raw, self._lister = raw, lister

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size > 0 else CHUNK)
        if data and self._lister.open:
            try:
                self._lister.feed(data)
            except BrokenPipeError:
                self._lister.end_input()  # it has the table of contents and is done
        return data
