"""A sandbox whose catalog is a fresh database on the suite's PostgreSQL, with one tenant in
each region, and the region workers run as real ``aptien-ops worker`` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import OpsLogEntry
from aptien_ops.services.provisioning import ProvisionRequest

from sandboxes import sandbox_on_postgresql

EU_TENANT, US_TENANT = "acme-gmbh", "gotham-legal"


@dataclass
class JobsWorld:
    config: Path
    conninfo: str
    console: Console

    def worker(self, region: str, *extra: str, until_idle: bool = True) -> subprocess.Popen[str]:
        """``aptien-ops worker --region REGION`` as a process of its own."""
        args = [sys.executable, "-m", "aptien_ops", "--config", str(self.config)]
        args += ["worker", "--region", region, *extra]
        if until_idle:
            args.append("--until-idle")
        return subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
        )

    def run_worker(self, region: str, *extra: str) -> str:
        """Run a worker until its queues are empty; its stderr."""
        proc = self.worker(region, *extra)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return err

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aptien_ops", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def entries(self, action: str, target: str | None = None) -> list[OpsLogEntry]:
        with self.console.ctx.catalog.read() as tx:
            found = tx.opslog.entries()
        return [e for e in found if e.action == action and target in (None, e.target)]

    def jobs_table(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def worker_until_idle(config: Path, region: str) -> str:
    """A real ``aptien-ops worker --region REGION --until-idle`` on ``config``; its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "aptien_ops", "--config", str(config)]
        + ["worker", "--region", region, "--until-idle"],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def params(entry: OpsLogEntry) -> dict[str, Any]:
    return dict(json.loads(entry.params))


@pytest.fixture
def jobs_world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[JobsWorld]:
    config, conninfo = sandbox_on_postgresql(tmp_path / "sbx", request.getfixturevalue("pg_server"))
    console = open_console(config)
    for name, country in ((EU_TENANT, "DE"), (US_TENANT, "US")):
        console.provisioning.provision(ProvisionRequest(name, country))
    yield JobsWorld(config, conninfo, console)
    console.close()
