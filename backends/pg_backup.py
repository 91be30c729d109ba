"""PostgreSQL side of backups: ``pg_dump -Fc -Z0`` in an exported snapshot, and ``pg_restore``.

The dump runs in the snapshot of a repeatable-read transaction that the console holds open
until pg_dump is done; the same transaction counts every table's rows while pg_dump streams,
so the counts describe exactly the dumped data. The plaintext is also fed to
``pg_restore --list`` (it reads the header and table of contents from stdin and exits), whose
output is hashed into the manifest.

Finding and running the tools is :mod:`pg_tools`' job; the scratch databases restores go
into are :mod:`pg_scratch`'s.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from aptien_ops.backends.backup_codec import DumpInfo, Opened, Sink, Source
from aptien_ops.backends.backup_verdicts import Walked
from aptien_ops.backends.pg_common import translate_pg_error
from aptien_ops.backends.pg_scratch import RESTORER, admin_connect, scratch_database
from aptien_ops.backends.pg_tools import Tee, Tool, connection, find_tool, tool_version
from aptien_ops.backends.postgres_tenants import database_name
from aptien_ops.config import ClusterSettings
from aptien_ops.errors import OpsError, Unavailable

_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'"
    " AND n.nspname NOT LIKE 'pg\\_%'"
    " ORDER BY 1, 2"
)


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
                "SELECT pg_catalog.pg_export_snapshot(),"
                " pg_catalog.current_setting('server_version')"
            ).fetchone()
        except psycopg.Error as exc:
            raise translate_pg_error(exc, what, (password,)) from None
        snapshot, server_version = row
        dump = lister = None
        counter = _Counter(conn)
        try:
            dump = Tool(
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
            lister = Tool([pg_restore, "--list"], env, workdir, secret=password)
            counter.start()
            assert dump.proc.stdout is not None
            consume(Tee(dump.proc.stdout, lister))
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
        self.lister = Tool([find_tool("pg_restore"), "--list"], env, workdir, secret=secret)
        try:
            self.consumer = Tool(consumer, env, workdir, stdout=subprocess.DEVNULL, secret=secret)
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
    whatever happens; if the cluster will not let it go, the note says so and why.

    Raises: Unavailable (the scratch cluster is down), Forbidden.
    """
    if cluster is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return _walk_with(
            [find_tool("pg_restore"), "--file=/dev/null"], env, workdir, None, feed, None
        )
    with scratch_database(cluster, tenant) as scratch:
        # As a role without powers: restoring runs the tenant's own DDL (index expressions,
        # defaults), which must not execute with the cluster admin's rights.
        walked = restore_into(cluster, scratch.name, RESTORER, workdir, feed)
    notes = [scratch.swept.describe()] if scratch.swept.removed or scratch.swept.kept else []
    if scratch.left is not None:
        notes.append(
            f"its scratch database {scratch.name} could not be dropped: {scratch.left}; the"
            f" next verification, backup run or fleet check on cluster {cluster.name!r}"
            " drops it"
        )
    return replace(walked, note="; ".join(notes)) if notes else walked


def restore_into(
    cluster: ClusterSettings,
    dbname: str,
    role: str,
    workdir: Path,
    feed: Callable[[Sink], Opened],
) -> Walked:
    """Restore the archive ``feed`` decrypts into the empty database ``dbname`` on ``cluster``
    as ``role`` (no owners, no grants of the dump), hash its table of contents on the way and,
    when pg_restore succeeded, count the restored rows.

    Raises: Unavailable (the cluster, a tool), Forbidden.
    """
    env, conninfo, password = connection(cluster, dbname)
    argv = [
        find_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        f"--role={role}",
        "-d",
        conninfo,
    ]

    def count() -> dict[str, int]:
        with admin_connect(cluster, dbname) as conn:
            return count_rows(conn)

    try:
        return _walk_with(argv, env, workdir, password, feed, count)
    except psycopg.Error as exc:
        raise translate_pg_error(
            exc, f"cluster {cluster.name!r}: count rows of {dbname}", (password,)
        ) from None


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
