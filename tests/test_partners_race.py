"""An assignment racing an agreement being ended, on PostgreSQL, in two processes: the
assignment never lands on a partner whose agreement was ended before it committed.

Both lock the partner's row before they read its agreements (``partner_links``,
``partner_changes``); without that lock the assignment would read the agreement as in force
on its own snapshot and commit after the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from aptien_ops.composition import open_console
from aptien_ops.services.partners import PartnerInput
from aptien_ops.services.provisioning import ProvisionRequest

from sandboxes import sandbox_on_postgresql

pytestmark = pytest.mark.postgres

ASSIGN = ("partner", "assign", "nordic-sales", "acme-gmbh", "--as", "sales", "--reason", "race")


@pytest.fixture
def catalog(tmp_path: Path, pg_server) -> Iterator[tuple[Path, str]]:  # type: ignore[no-untyped-def]
    config, conninfo = sandbox_on_postgresql(tmp_path / "sbx", pg_server, "race")
    olga = open_console(config, env={"APTIEN_OPS_OPERATOR": "olga"})
    olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    olga.close()
    pat = open_console(config, env={"APTIEN_OPS_OPERATOR": "pat"})
    pat.partners.add(PartnerInput("nordic-sales", "Nordic Sales AB", ("sales",), ("eu",)))
    pat.partners.agreement_add(
        "nordic-sales", "PA-1", signed_on=pat.partners.today(), effective_from=pat.partners.today()
    )
    pat.close()
    yield config, conninfo


def _cli(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "APTIEN_OPS_OPERATOR": "pat"}
    return subprocess.Popen(
        [sys.executable, "-m", "aptien_ops", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _open_assignments(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM partner_assignments WHERE ended_at IS NULL"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _waiting_on_a_lock(conninfo: str, deadline: float) -> None:
    """Until another backend waits on a row lock of this database (or the deadline)."""
    with psycopg.connect(conninfo, autocommit=True) as watch:
        while time.monotonic() < deadline:
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)  # polling a condition, not waiting out a window
    raise AssertionError("the assignment never waited for the partner's row")


def test_an_assignment_waiting_on_an_agreement_being_ended_is_refused(
    catalog: tuple[Path, str],
) -> None:
    config, conninfo = catalog
    with psycopg.connect(conninfo) as ending:  # what agreement end does, held open
        ending.execute("SELECT name FROM partners WHERE name = 'nordic-sales' FOR UPDATE")
        ending.execute(
            "UPDATE partner_agreements SET status = 'ended', ended_at = now(),"
            " ended_by = 'pat', end_reason = 'race' WHERE partner = 'nordic-sales'"
        )
        assign = _cli(config, *ASSIGN)
        _waiting_on_a_lock(conninfo, time.monotonic() + 60)
        ending.commit()
    out, err = assign.communicate(timeout=120)
    assert assign.returncode == 5, (out, err)
    assert "rule: agreement" in err
    assert _open_assignments(conninfo) == 0


def test_two_processes_never_leave_an_assignment_that_breaks_the_rule(
    catalog: tuple[Path, str],
) -> None:
    config, conninfo = catalog
    assign = _cli(config, *ASSIGN)
    end = _cli(config, "partner", "agreement", "end", "nordic-sales", "PA-1", "--reason", "race")
    assign_out = assign.communicate(timeout=120)
    end_out = end.communicate(timeout=120)
    assert end.returncode == 0, end_out
    assert assign.returncode in (0, 5), assign_out
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT a.assigned_at, g.ended_at FROM partner_assignments a"
            " JOIN partner_agreements g ON g.partner = a.partner"
        ).fetchall()
    # Assigned, then only if it committed before the agreement ended (it lapses with it).
    assert all(assigned <= ended for assigned, ended in rows), rows
    assert len(rows) == (1 if assign.returncode == 0 else 0)
