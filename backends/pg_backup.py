"""PostgreSQL side of backups: ``pg_dump -Fc -Z0`` in an exported snapshot, and ``pg_restore``.

The dump runs in the snapshot of a repeatable-read transaction that the console holds open
until pg_dump is done; the same transaction counts every table's rows while pg_dump streams,
so the counts describe exactly the dumped data. The plaintext is also fed to
``pg_restore --list`` (it reads the header and table of contents from stdin and exits), whose
output is hashed into the manifest.

The tools are found on PATH (unless that is Debian's ``pg_wrapper``), else in the newest
``/usr/lib/postgresql/*/bin``. They get every connection setting in a ``-d`` conninfo string and
the password only in their environment (``PGPASSWORD``), never in their arguments.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from aptien_ops.backends.backup_codec import CHUNK, DumpInfo, Opened, Sink, Source, Walked
from aptien_ops.backends.pg_common import (
    conninfo_params,
    converge_role,
    driver_message,
    translate_pg_error,
)
from aptien_ops.backends.postgres_tenants import database_name
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import OpsError, Unavailable

#: Owns scratch databases and performs restores into them (NOLOGIN, no privileges).
RESTORER = "aptien_scratch_restorer"
_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
    " ORDER BY 1, 2"
)


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


def admin_connect(cluster: ClusterSettings, dbname: str | None = None) -> psycopg.Connection:
    """An autocommit admin connection (to ``dbname``, else the URL's database).

    Raises: psycopg.Error (for the caller to translate), InvalidInput, ConfigError.
    """
    params = conninfo_params(cluster.url)
    if dbname is not None:
        params["dbname"] = dbname
    params.setdefault("connect_timeout", "10")
    password = cluster.password.read()
    extra: dict[str, Any] = {"password": password} if password else {}
    return psycopg.connect(make_conninfo(**params), autocommit=True, **extra)


def count_rows(conn: psycopg.Connection) -> dict[str, int]:
    """Rows of every table of the database, in the connection's snapshot. Raises: psycopg.Error."""
    counts: dict[str, int] = {}
    for schema, table in conn.execute(_TABLES).fetchall():
        row = conn.execute(
            sql.SQL("SELECT pg_catalog.count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()
        counts[table if schema == "public" else f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


class _Counter(threading.Thread):
    """Counts rows on the snapshot connection while pg_dump streams from the same snapshot."""

    def __init__(self, conn: psycopg.Connection) -> None:
        super().__init__(name="backup-row-counts", daemon=True)
        self._conn = conn
        self.counts: dict[str, int] = {}
        self.error: psycopg.Error | None = None

    def run(self) -> None:
        try:
            self.counts = count_rows(self._conn)
        except psycopg.Error as exc:
            self.error = exc

    def stop(self) -> None:
        if self.is_alive():
            with suppress(psycopg.Error):
                self._conn.cancel_safe(timeout=5)
            self.join()


class _Tool:
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


class _Tee:
    """Reads pg_dump's stdout and feeds the same bytes to ``pg_restore --list`` until it stops."""

    def __init__(self, raw: IO[bytes], lister: _Tool) -> None:
        self._raw, self._lister = raw, lister

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size > 0 else CHUNK)
        if data and self._lister.open:
            try:
                self._lister.feed(data)
            except BrokenPipeError:
                self._lister.end_input()  # it has the table of contents and is done
        return data


def backup(
    store: Any,
    cluster: ClusterSettings,
    tenant: str,
    workdir: Path,
    consume: Callable[[Source], None],
) -> DumpInfo:
    """Dump the tenant's database and hand the archive's bytes to ``consume`` (read to EOF).

    Raises:
        NotFound: the database does not exist.
        Unavailable: the cluster is down, pg_dump failed (e.g. the database went away
            mid-dump), a tool is missing; OSError from ``consume`` passes through.
    """
    dbname = database_name(tenant)
    pg_dump, pg_restore = find_tool("pg_dump"), find_tool("pg_restore")
    env, conninfo, password = connection(cluster, dbname)
    what = f"tenant {tenant!r}: dump {dbname} on cluster {cluster.name!r}"
    with store.connect(tenant) as conn:
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            row = conn.execute(
                "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.current_setting('server_version')"
            ).fetchone()
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what, (password,)) from None
        snapshot, server_version = row
        dump = lister = None
        counter = _Counter(conn)
        try:
            dump = _Tool(
                [
                    pg_dump,
                    "--format=custom",
                    "--compress=0",
                    f"--snapshot={snapshot}",
                    "-d",
                    conninfo,
                ],
                env,
                workdir,
                stdin=False,
                stdout=subprocess.PIPE,
                secret=password,
            )
            lister = _Tool([pg_restore, "--list"], env, workdir, secret=password)
            counter.start()
            assert dump.proc.stdout is not None
            consume(_Tee(dump.proc.stdout, lister))
            failed = dump.wait()
            if failed:
                raise Unavailable(f"{what}: {failed}")
            counter.join()
            if counter.error is not None:
                raise translate_pg_error(counter.error, f"{what}: count rows", (password,))
            failed = lister.wait()
            if failed:
                raise Unavailable(
                    f"{what}: the archive's table of contents is unreadable: {failed}"
                )
            listing = lister.output_sha256()
        finally:
            counter.stop()
            for tool in (dump, lister):
                if tool is not None:
                    tool.close()
        return DumpInfo(
            dbname,
            str(server_version),
            tool_version(pg_dump),
            str(snapshot),
            counter.counts,
            listing,
        )


class _Walk:
    """Plaintext fan-out: ``pg_restore --list`` (until it has read the table of contents)
    and one consumer (``pg_restore -f /dev/null``, or a restore into a scratch database)."""

    def __init__(
        self, consumer: list[str], env: dict[str, str], workdir: Path, secret: str | None
    ) -> None:
        self.lister = _Tool([find_tool("pg_restore"), "--list"], env, workdir, secret=secret)
        try:
            self.consumer = _Tool(consumer, env, workdir, stdout=subprocess.DEVNULL, secret=secret)
        except OpsError:
            self.lister.close()
            raise

    def write(self, data: bytes) -> int:
        if self.lister.open:
            try:
                self.lister.feed(data)
            except BrokenPipeError:
                self.lister.end_input()
        self.consumer.feed(data)
        return len(data)

    def finish(self) -> tuple[str | None, str | None]:
        """``(listing sha256, problem)`` once both tools are done."""
        problem = self.consumer.wait()
        listed = self.lister.wait()
        if listed:
            return None, problem or f"the archive's table of contents is unreadable: {listed}"
        return self.lister.output_sha256(), problem

    def close(self) -> None:
        self.consumer.close()
        self.lister.close()


def walk(
    cluster: ClusterSettings | None, tenant: str, workdir: Path, feed: Callable[[Sink], Opened]
) -> Walked:
    """Walk the archive (``cluster`` None: ``pg_restore -f /dev/null``) or restore it into a
    scratch database on ``cluster`` and count its rows. The scratch database is dropped
    whatever happens.

    Raises: Unavailable (the scratch cluster is down or cannot drop the scratch database).
    """
    if cluster is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return _walk_with(
            [find_tool("pg_restore"), "--file=/dev/null"], env, workdir, None, feed, None
        )
    with scratch_database(cluster, tenant) as (scratch, swept):
        env, conninfo, password = connection(cluster, scratch)
        # As a role without powers: restoring runs the tenant's own DDL (index expressions,
        # defaults), which must not execute with the cluster admin's rights.
        argv = [
            find_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--role={RESTORER}",
            "-d",
            conninfo,
        ]

        def count() -> dict[str, int]:
            with admin_connect(cluster, scratch) as conn:
                return count_rows(conn)

        try:
            walked = _walk_with(argv, env, workdir, password, feed, count)
        except psycopg.Error as exc:
            raise translate_pg_error(
                exc, f"cluster {cluster.name!r}: count rows of {scratch}", (password,)
            ) from None
        if swept:
            listed = ", ".join(swept[:3]) + (
                f" and {len(swept) - 3} more" if len(swept) > 3 else ""
            )
            walked = replace(
                walked,
                note=f"dropped {len(swept)} scratch database(s) that interrupted verifications"
                f" had left on cluster {cluster.name!r}: {listed}",
            )
        return walked


def _walk_with(
    argv: list[str],
    env: dict[str, str],
    workdir: Path,
    secret: str | None,
    feed: Callable[[Sink], Opened],
    count: Callable[[], dict[str, int]] | None,
) -> Walked:
    fan_out = _Walk(argv, env, workdir, secret)
    try:
        opened = feed(fan_out)
        if opened.problem is not None and opened.sink_error is None:
            return Walked(opened)  # the stream itself is bad; what pg_restore makes of it is moot
        listing, problem = fan_out.finish()
        counts = (
            count() if count is not None and problem is None and opened.problem is None else None
        )
        return Walked(opened, listing, counts, problem)
    finally:
        fan_out.close()


#: ``scratch_<tenant>_<8 hex>``: what :func:`scratch_database` creates, and all the sweep drops.
_SCRATCH_NAME = re.compile(r"scratch_[a-z0-9][a-z0-9_-]*_[0-9a-f]{8}")


def _scratch_lock(name: str) -> int:
    """The advisory lock a live verification holds on its scratch database (a signed 64-bit key)."""
    return int.from_bytes(
        hashlib.sha256(b"aptien-ops scratch " + name.encode()).digest()[:8], "big", signed=True
    )


def sweep_scratch(conn: psycopg.Connection) -> list[str]:
    """Drop the scratch databases no live verification holds: those a killed one left behind.

    ``conn`` is an autocommit admin connection to the cluster's own database, where every
    verification takes its lock. Raises: psycopg.Error.
    """
    dropped = []
    rows = conn.execute(
        "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'scratch\\_%'"
    ).fetchall()
    for (name,) in rows:
        if not _SCRATCH_NAME.fullmatch(name):
            continue
        key = _scratch_lock(name)
        free = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not free or not free[0]:
            continue  # a verification is using it
        try:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            dropped.append(name)
        except psycopg.errors.DatabaseError:
            pass  # e.g. not the admin's to drop: the verification goes on; the database stays for a human
        finally:
            conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
    return dropped


@contextmanager
def scratch_database(cluster: ClusterSettings, tenant: str) -> Iterator[tuple[str, list[str]]]:
    """An empty database ``scratch_<tenant>_<random>`` on ``cluster`` owned by the powerless
    :data:`RESTORER` role, dropped on exit; yields its name and the stale scratch databases
    dropped on the way in (see :func:`sweep_scratch`).

    A connection holds an advisory lock on the name from before the database exists until it
    is dropped, so a verification killed with ``kill -9`` leaves a database nobody holds,
    which the next restore verification on the cluster drops.

    Raises: Unavailable (or Forbidden, Conflict) if it cannot be created or dropped.
    """
    name = f"scratch_{tenant}_{secrets.token_hex(4)}"
    where = f"cluster {cluster.name!r}"
    holder = None
    try:
        holder = admin_connect(cluster)
        holder.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (_scratch_lock(name),))
        swept = sweep_scratch(holder)
        converge_role(
            holder,
            RESTORER,
            create=sql.SQL("NOLOGIN NOCREATEDB NOCREATEROLE"),
            alter=None,
            refusal=f"{where}: refusing to restore backups as {RESTORER}",
        )
        superuser = holder.execute("SELECT current_setting('is_superuser')").fetchone()
        if superuser is None or superuser[0] != "on":
            holder.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(RESTORER)))
        holder.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(RESTORER)
            )
        )
        # Restored metadata is personal data: nobody but the admin may connect.
        holder.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(name)
            )
        )
    except psycopg.Error as exc:
        if holder is not None:
            holder.close()
        raise translate_pg_error(exc, f"{where}: create scratch database {name}") from None
    try:
        yield name, swept
    finally:
        try:
            with holder:
                holder.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        except psycopg.Error:
            _drop_afresh(cluster, name)


def _drop_afresh(cluster: ClusterSettings, name: str) -> None:
    """Drop ``name`` over a new connection (the holder's broke). Raises: Unavailable."""
    try:
        with admin_connect(cluster) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as exc:
        raise Unavailable(
            f"cluster {cluster.name!r}: the scratch database {name} could not be dropped:"
            f" {driver_message(exc)}",
            hint="drop it by hand",
        ) from None
