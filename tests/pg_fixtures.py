"""A real PostgreSQL server that the test suite (and the benchmarks) start themselves.

``start_pg_server()`` runs ``initdb`` into a temporary directory, starts ``postgres`` on a
unix socket only (no TCP) and returns a :class:`PgServer`; ``PgServer.stop()`` shuts it down
and removes every file. The pytest fixtures below are thin wrappers around it, one server per
test session (per xdist worker). When the suite runs as root the server runs as the
``postgres`` OS account, as PostgreSQL refuses to run as root.

Authentication is real: ``postgres`` connects over the socket without a password (trust),
every other role must present its SCRAM-SHA-256 password, so the tenant isolation tests prove
what production enforces.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from ci_skips import missing_tool
from psycopg import sql
from psycopg.conninfo import make_conninfo
from waiting import HANG_GUARD_S

from aptien_ops.config import ClusterSettings

__all__ = [
    "PgServer",
    "PgServerError",
    "find_pg_binaries",
    "pg_cluster_settings",
    "pg_server",
    "start_pg_server",
    "tenant_name",
]

PG_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")
SUPERUSER = "postgres"

#: Speed over durability: the data is thrown away at the end of the run.
FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "shared_buffers": "128MB",
    "max_connections": "100",
    "jit": "off",
}
#: Every statement goes to the log, so tests can prove no password ever reaches it.
LOG_SETTINGS: dict[str, str] = {
    "log_statement": "all",
    "log_connections": "on",
    "log_min_error_statement": "info",
    "lc_messages": "C",
}


class PgServerError(RuntimeError):
    """The test server could not be set up, or a ``psql`` command failed."""


def find_pg_binaries() -> dict[str, Path] | str:
    """Paths of initdb, pg_ctl, postgres and psql, or the name of the first one missing.

    ``initdb`` is looked for on PATH, then in the newest ``/usr/lib/postgresql/*/bin``
    (Debian's layout keeps it off PATH). The other tools are taken from the same directory
    when they are there, so the set is one version and ``psql`` is the binary itself rather
    than Debian's Perl wrapper (which would pad a benchmark's floor).
    """
    versioned = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
        reverse=True,
    )
    found: dict[str, Path] = {}
    for name in PG_BINARIES:
        home = [found["initdb"].resolve().parent] if "initdb" in found else []
        candidates = [bindir / name for bindir in home]
        on_path = shutil.which(name)
        candidates += [Path(on_path)] if on_path else []
        candidates += [bindir / name for bindir in versioned]
        for candidate in candidates:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found[name] = candidate
                break
        else:
            return name
    return found


def _free_port() -> int:
    # Only names the socket file (listen_addresses is empty), but a port free on TCP too
    # keeps the server startable should a test ever turn TCP on.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running throwaway PostgreSQL server reachable on a unix socket."""

    socket_dir: str
    port: int
    data_dir: Path
    log_file: Path
    binaries: dict[str, Path]
    superuser: str = SUPERUSER
    startup_seconds: float = 0.0
    """Wall time of initdb + start, for the benchmarks' and the lead's information."""
    _owned_dirs: list[Path] = field(default_factory=list, repr=False)
    _run_as: tuple[int, int] | None = field(default=None, repr=False)
    _counter: Iterator[int] = field(default_factory=itertools.count, repr=False)

    # ------------------------------------------------------------------ addresses

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A SQLAlchemy URL, as ops.toml would hold it (never with a password)."""
        return f"postgresql+psycopg://{user}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def conninfo(
        self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None
    ) -> str:
        """A libpq conninfo string for psycopg.connect()."""
        params: dict[str, object] = {
            "host": self.socket_dir,
            "port": self.port,
            "dbname": dbname,
            "user": user,
        }
        if password is not None:
            params["password"] = password
        return make_conninfo(**params)

    # ------------------------------------------------------------------ helpers for tests

    def psql(self, sql_text: str, dbname: str = "postgres") -> str:
        """Run ``sql_text`` through the real ``psql`` as the superuser; return its output.

        The SQL goes in on stdin so it never shows in ``ps``.

        Raises:
            PgServerError: psql exited non-zero (its stderr is in the message).
        """
        cmd = [
            str(self.binaries["psql"]),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.socket_dir,
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            dbname,
            "-f",
            "-",
        ]
        proc = subprocess.run(
            cmd, input=sql_text, capture_output=True, text=True, env=_clean_env(), check=False
        )
        if proc.returncode != 0:
            raise PgServerError(f"psql exited {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout

    def fresh_database(self, prefix: str) -> str:
        """Create an empty database named ``<prefix>_<n>_<random>`` and return its name."""
        name = f"{prefix}_{next(self._counter)}_{secrets.token_hex(4)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def server_log(self) -> str:
        """Everything the server has logged so far."""
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``) and remove its directories."""
        if self.data_dir.exists():
            subprocess.run(
                [
                    str(self.binaries["pg_ctl"]),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
                env=_clean_env(),
                cwd="/",
                **_as_user(self._run_as),
            )
        for path in self._owned_dirs:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _clean_env() -> dict[str, str]:
    # A developer's PGHOST/PGPASSWORD/PGOPTIONS must not leak into the test server or psql.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _as_user(run_as: tuple[int, int] | None) -> dict[str, object]:
    if run_as is None:
        return {}
    uid, gid = run_as
    return {"user": uid, "group": gid, "extra_groups": []}


def start_pg_server(
    base_dir: str | os.PathLike[str] | None = None,
    *,
    settings: Mapping[str, str] | None = None,
    log_statements: bool = True,
) -> PgServer:
    """initdb, configure and start a throwaway server; the caller must ``stop()`` it.

    ``base_dir`` holds the data directory and the log (a fresh temp dir under /tmp if None,
    which is also what to use when running as root: pytest's own temp dirs are private to
    root and the ``postgres`` account cannot enter them). ``settings`` override postgresql.conf
    values; benchmarks pass ``log_statements=False`` to keep logging out of their figures.

    Raises:
        PgServerError: a binary is missing, initdb or pg_ctl failed (their output attached).
    """
    binaries = find_pg_binaries()
    if isinstance(binaries, str):
        raise PgServerError(
            f"PostgreSQL binary {binaries!r} not found on PATH or in /usr/lib/postgresql/*/bin"
        )
    run_as: tuple[int, int] | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PgServerError(
                "running as root needs a 'postgres' OS account to run the server as"
            ) from None
        run_as = (account.pw_uid, account.pw_gid)

    owned: list[Path] = []
    if base_dir is None:
        base = Path(tempfile.mkdtemp(prefix="aptien-pg-"))
        owned.append(base)
    else:
        base = Path(base_dir)
        base.mkdir(parents=True, exist_ok=True)
        owned.append(base / "data")  # the log stays with the caller, for post-mortems
    # Socket paths must stay under 107 bytes, so the socket gets its own short /tmp dir.
    socket_dir = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
    owned.append(socket_dir)
    data_dir = base / "data"
    log_file = base / "postgresql.log"
    port = _free_port()
    started = time.monotonic()
    server = PgServer(
        str(socket_dir), port, data_dir, log_file, binaries, _owned_dirs=owned, _run_as=run_as
    )

    try:
        if run_as is not None:
            os.chmod(base, 0o755)
            for path in (base, socket_dir):
                os.chown(path, *run_as)
        os.chmod(socket_dir, 0o755)
        _run(
            [
                str(binaries["initdb"]),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=reject",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            run_as,
            "initdb",
        )
        (data_dir / "pg_hba.conf").write_text(
            "# written by tests/pg_fixtures.py: only the superuser is trusted\n"
            f"local all {SUPERUSER} trust\n"
            "local all all scram-sha-256\n"
        )
        conf = {
            "listen_addresses": "''",
            "port": str(port),
            "unix_socket_directories": f"'{socket_dir}'",
            "unix_socket_permissions": "0777",
            "password_encryption": "'scram-sha-256'",
            **FAST_SETTINGS,
            **(LOG_SETTINGS if log_statements else {"lc_messages": "C"}),
            **(settings or {}),
        }
        with open(data_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write("\n# tests/pg_fixtures.py\n")
            fh.writelines(f"{key} = {value}\n" for key, value in conf.items())
        _run(
            [
                str(binaries["pg_ctl"]),
                "-D",
                str(data_dir),
                "-l",
                str(log_file),
                "-w",
                "-t",  # a hang guard only: a starved machine may take long to start it
                str(int(HANG_GUARD_S)),
                "start",
            ],
            run_as,
            "pg_ctl start",
        )
    except (OSError, PgServerError):
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def _run(cmd: list[str], run_as: tuple[int, int] | None, what: str) -> None:
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd="/",
            check=False,
            **_as_user(run_as),
        )
    except OSError as exc:
        raise PgServerError(f"{what} could not run: {exc}") from None
    if proc.returncode != 0:
        raise PgServerError(
            f"{what} exited {proc.returncode}: {proc.stdout.strip()} {proc.stderr.strip()}"
        )


# ----------------------------------------------------------------------------- pytest fixtures


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """One PostgreSQL server for the session (per xdist worker).

    Without the binaries the tests skip, naming the missing one; under CI=true they fail.
    """
    binaries = find_pg_binaries()
    if isinstance(binaries, str):
        missing_tool(
            f"PostgreSQL binary {binaries!r} not found on PATH or in /usr/lib/postgresql/*/bin",
            "the PostgreSQL tests",
        )
    # pytest's temp dirs are root-only when run as root; the postgres account needs its own.
    base = None if os.geteuid() == 0 else tmp_path_factory.mktemp("pg")
    server = start_pg_server(base)
    try:
        yield server
    finally:
        server.stop()


_cluster_numbers = itertools.count(1)


@pytest.fixture
def pg_cluster_settings(pg_server: PgServer) -> ClusterSettings:
    """A uniquely named cluster pointing at the session's server (shared: use unique tenants)."""
    return ClusterSettings(
        name=f"pg-test-{next(_cluster_numbers)}",
        kind="postgresql",
        url=pg_server.url(),
        capacity=100,
    )


@pytest.fixture
def tenant_name() -> str:
    """A valid tenant name no other test uses, like ``t-1a2b3c4d5e6f``."""
    return f"t-{secrets.token_hex(6)}"
