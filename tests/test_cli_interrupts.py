"""Ctrl-C, one test per phase of a command: whatever it was doing, ``aptien-ops`` exits 130
with the one line ``aptien-ops: interrupted`` on stderr and nothing on stdout (no traceback,
no "Exception ignored in ..." from a finaliser).

Each command is a real process, started as a shell starts a foreground command: SIGINT at its
default. (A background job of a shell without job control, as a CI runner or ``cmd &`` in a
script starts the suite, inherits SIGINT *ignored*, and so would every process it starts.)
The test sends SIGINT once the process says, on a pipe of its own, that it has reached the
phase under test (or once the fake catalog server has its connection): no sleeping
(tests/signalled_child.py).
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aptien_ops.sandbox import write_sandbox_config

from cli_runner import run_cli
from signalled_child import started


def interrupted(command: subprocess.Popen[str]) -> list[str]:
    """Ctrl-C; then the process has exited 130, its last line on stderr says so, and stdout is
    empty. The lines before on stderr (for the test to check)."""
    command.send_signal(signal.SIGINT)
    out, err = command.communicate(timeout=120)
    assert (command.returncode, out) == (130, ""), err
    # Blank lines aside: Click ends the terminal's "^C" line with a newline.
    *before, last = [line for line in err.splitlines() if line]
    assert last == "aptien-ops: interrupted", err
    return before


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A sandbox with its demo tenants (made in-process: only what follows is under test)."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    made = run_cli("--json", "sandbox", "init", "--path", config.parent)
    assert made.code == 0, made.stderr
    return config


WAIT_BEFORE_PARSING = """\
import aptien_ops.cli.global_flags as flags
parse = flags.hoisted

def hoisted(*args):
    told_then_ctrl_c("parsing")
    return parse(*args)

flags.hoisted = hoisted
"""


def test_before_the_command_line_is_parsed(seeded: Path) -> None:
    with started(["--config", str(seeded), "tenant", "list"], WAIT_BEFORE_PARSING) as (cmd, told):
        assert next(told) == "parsing"
        assert interrupted(cmd) == []


@contextmanager
def catalog_that_never_answers(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A sandbox whose catalog is a PostgreSQL server that accepts connections and never
    answers; the listening socket, to accept the command's connection."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    socket_dir = tmp_path / "pg"
    socket_dir.mkdir()
    config.write_text(
        config.read_text().replace(
            'url = "sqlite:///{data_dir}/catalog.db"',
            # Far beyond the test's own timeout: however starved the machine, the command is
            # still waiting in the connection when the signal comes, not given up (exit 6).
            f'url = "postgresql+psycopg://ops@/ops?host={socket_dir}&port=5999'
            '&connect_timeout=600"',
        )
    )
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(socket_dir / ".s.PGSQL.5999"))
        server.listen(4)
        server.settimeout(120)
        yield config, server


def test_while_waiting_for_the_catalog_connection(tmp_path: Path) -> None:
    with catalog_that_never_answers(tmp_path) as (config, server):
        with started(["--config", str(config), "tenant", "list"]) as (cmd, _):
            waiting, _ = server.accept()
            with waiting:
                assert interrupted(cmd) == []


#: Python cannot raise KeyboardInterrupt out of a finaliser: it prints "Exception ignored in"
#: and goes on. Here Ctrl-C comes while one runs just before the catalog connection.
FINALISER_BEFORE_CONNECTING = """\
import psycopg
connect = psycopg.connect

class Finalised:
    def __del__(self):
        told_then_ctrl_c("finalising")

def connect_after_a_finaliser(*args, **kwargs):
    Finalised()  # gone at once: its __del__ runs here
    return connect(*args, **kwargs)

psycopg.connect = connect_after_a_finaliser
"""


def test_in_a_finaliser_while_connecting_to_the_catalog(tmp_path: Path) -> None:
    with catalog_that_never_answers(tmp_path) as (config, _):
        args = ["--config", str(config), "tenant", "list"]
        with started(args, FINALISER_BEFORE_CONNECTING) as (cmd, told):
            assert next(told) == "finalising"
            assert interrupted(cmd) == []


WAIT_IN_CREATE_DATABASE = """\
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore

def create_database(self, tenant, owner_password):
    told_then_ctrl_c("creating " + tenant)

SqliteTenantStore.create_database = create_database
"""


def test_during_a_cluster_operation(seeded: Path) -> None:
    args = ["--config", str(seeded), "tenant", "provision", "half-made", "--country", "DE"]
    with started(args, WAIT_IN_CREATE_DATABASE) as (cmd, told):
        assert next(told) == "creating half-made"
        heading, *steps = interrupted(cmd)  # the steps done so far, then the one line
    assert heading == "provisioning half-made:" and all(s.startswith("  ") for s in steps), steps


#: Each tenant migrated says so; the first waits for Ctrl-C before it goes on.
TELL_EACH_MIGRATION = """\
import threading
from aptien_ops.cli import interrupts
from aptien_ops.backends.sqlite_tenants import SqliteTenantStore
apply_schema = SqliteTenantStore.apply_schema
first = threading.Lock()

def told_apply_schema(self, tenant, target_version, *, region):
    tell("migrating " + tenant)
    if first.acquire(blocking=False):
        interrupts._noted.wait()  # the handler has noted Ctrl-C (private: a test's view)
    return apply_schema(self, tenant, target_version, region=region)

SqliteTenantStore.apply_schema = told_apply_schema
"""


def test_fleet_migrate_starts_no_queued_tenant(seeded: Path) -> None:
    tenants = run_cli("--json", "tenant", "list", config=seeded).json()
    assert len(tenants) > 2  # some queued behind the one under way
    args = ["--config", str(seeded), "fleet", "migrate", "--parallel", "1"]
    with started(args, TELL_EACH_MIGRATION) as (cmd, told):
        assert next(told).startswith("migrating ")
        assert interrupted(cmd) == []
        assert list(told) == []  # the one under way finished, no other one began
