"""`backup run --due` with one region's cluster down: the cluster is tried once, its tenants are
reported at once as not backed up, and the other region's backups do not wait for it.

The dead cluster is a socket that accepts connections and never answers (a firewalled or hung
server): every connection attempt to it would wait out its own timeout.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_backups_cli import provision, store_dir
from waiting import HANG_GUARD_S, until

from aptien_ops.backends.age_keys import AgeBackupKeys
from aptien_ops.composition import open_console
from aptien_ops.domain import Tenant, TenantState
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.backups import RunOutcome

DEAD = [f"stuck-{n}" for n in range(5)]


@dataclass
class Silent:
    """A server that accepts connections and never says a word, until it is released."""

    path: Path
    accepted: list[socket.socket] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def serve(self, server: socket.socket) -> None:
        server.settimeout(0.05)
        while not self.released.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)
        for conn in self.accepted:
            conn.close()  # the client sees the server hang up

    @property
    def connections(self) -> int:
        return len(self.accepted)


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[Silent]:
    directory = tmp_path / "dead-pg"
    directory.mkdir()
    listener = Silent(directory)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(directory / ".s.PGSQL.5999"))
        server.listen(16)
        thread = threading.Thread(target=listener.serve, args=(server,), daemon=True)
        thread.start()
        try:
            yield listener
        finally:
            listener.released.set()
            thread.join(timeout=HANG_GUARD_S)


def with_dead_cluster(tmp_path: Path, silent: Silent) -> Path:
    """A sandbox whose eu region has a second cluster, PostgreSQL, that never answers.

    Its URL has a connect timeout far beyond the test's own: however starved the machine, the
    one attempt is still waiting when the us backups are done (the test ends it by releasing
    the server), never given up early by the console's default timeout."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    text = config.read_text()
    dead = (
        '[[regions.eu.clusters]]\nname = "eu-dead"\nkind = "postgresql"\n'
        f'url = "postgresql+psycopg://ops@/ops?host={silent.path}&port=5999&connect_timeout=600"'
        "\ncapacity = 100\n\n"
    )
    config.write_text(text.replace("[regions.us]", dead + "[regions.us]", 1))
    return config


def place_on_dead_cluster(config: Path) -> None:
    """Tenants the catalog holds on the dead cluster (active, never backed up: due)."""
    console = open_console(config)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        with console.ctx.catalog.transaction() as tx:
            for name in DEAD:
                recipient, _ = AgeBackupKeys().generate()
                tx.tenants.insert(
                    Tenant(
                        name, "DE", "eu", "eu-dead", TenantState.ACTIVE, None, None, now, now,
                        backup_recipient=recipient,
                    )
                )  # fmt: skip
    finally:
        console.close()


def test_a_dead_cluster_is_tried_once_and_the_other_region_does_not_wait_for_it(
    tmp_path: Path, silent: Silent, tenant_name: str
) -> None:
    config = with_dead_cluster(tmp_path, silent)
    healthy = [provision(config, f"{tenant_name}-{n}", "US", events=40) for n in range(2)]
    place_on_dead_cluster(config)
    outcomes: list[RunOutcome] = []
    console = open_console(config)
    run = threading.Thread(target=lambda: outcomes.extend(console.backups.run(due=True)))
    run.start()
    try:
        until(
            lambda: all(
                list((store_dir(config, "us") / t).glob("*.manifest.json")) for t in healthy
            ),
            "the us backups done while the dead eu cluster is still tried",
        )
        # The us region's backups are done while the one attempt on eu-dead is still waiting.
        assert silent.connections == 1 and run.is_alive()
    finally:
        silent.released.set()
        run.join(timeout=120)
        console.close()

    assert not run.is_alive()
    assert silent.connections == 1  # marked down once for the run, not tried per tenant
    by_tenant = {o.tenant: o for o in outcomes if o.action == "backup"}
    assert all(by_tenant[t].ok for t in healthy)
    for name in DEAD:
        assert not by_tenant[name].ok
        assert "cluster eu-dead is unreachable" in by_tenant[name].detail
    assert {o.tenant for o in outcomes if o.action == "verify" and o.ok} == set(healthy)
