"""The ops log wiped, truncated and rolled back behind the console's back, and caught by a
witness outside the catalog: the JSON event log (the SIEM's copy) or the checkpoints that
``backup run`` signs into the backup stores.

Each attack leaves a log that passes plain ``ops-log verify`` (the attacker holds the ops-log
key, or puts back a head that key once signed); only ``--witness`` sees it. The catalog is a
SQLite file or a fresh database of the suite's PostgreSQL server, changed with its
credentials (on PostgreSQL as the superuser, with triggers off: whatever the runtime role may
not do, someone with the catalog's credentials might).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from aptien_ops.backends.backup_checkpoints import DIRECTORY, write_checkpoint
from aptien_ops.backends.backup_files import BackupStore
from aptien_ops.backends.backup_signing import RegionSigner
from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.domain import OpsLogCheckpoint
from aptien_ops.errors import Forbidden
from aptien_ops.opslog import GENESIS, head_signature, load_or_create_key
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.opslog_service import Witnesses
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import Result, run_cli

SQLITE_CATALOG_URL = 'url = "sqlite:///{data_dir}/catalog.db"'


@dataclass
class Site:
    """A sandbox whose catalog is SQLite or PostgreSQL, and what its attacker can reach."""

    config: Path
    catalog_url: str
    """The catalog as someone holding its credentials reaches it."""
    kind: str
    opened: list[Console] = field(default_factory=list)

    def as_(self, operator: str) -> Console:
        console = open_console(self.config, env={"APTIEN_OPS_OPERATOR": operator})
        self.opened.append(console)
        return console

    @property
    def event_log(self) -> Path:
        return load_settings(self.config).logging.file

    def store(self, region: str = "eu") -> Path:
        return load_settings(self.config).regions[region].backup_store

    def checkpoints(self, region: str = "eu") -> list[Path]:
        return sorted((self.store(region) / DIRECTORY).glob("checkpoint-*.json"))

    # -- the log, behind the console's back ---------------------------------------------

    def sql(self, statement: str, rows: Sequence[Mapping[str, Any]] = ()) -> list[Any]:
        engine = create_engine(self.catalog_url)
        try:
            with engine.begin() as conn:
                if self.kind == "postgresql":  # past any trigger guarding the log
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                result = conn.execute(text(statement), list(rows) or None)
                return list(result.mappings()) if result.returns_rows else []
        finally:
            engine.dispose()

    def head_seq(self) -> int:
        return int(self.sql("SELECT seq FROM opslog_head WHERE id = 1")[0]["seq"])

    def save(self) -> tuple[list[Any], Any]:
        """The log's table and head as they are now (a copy an attacker keeps)."""
        rows = [dict(r) for r in self.sql("SELECT * FROM opslog ORDER BY seq")]
        return rows, dict(self.sql("SELECT seq, hmac, signature FROM opslog_head")[0])

    def restore(self, saved: tuple[list[Any], Any]) -> None:
        """Put a saved table and head back: every entry after it is gone, and the head is one
        the ops-log key really signed."""
        rows, head = saved
        self.sql("DELETE FROM opslog")
        if rows:
            columns = ", ".join(rows[0])
            values = ", ".join(f":{c}" for c in rows[0])
            self.sql(f"INSERT INTO opslog ({columns}) VALUES ({values})", rows)
        self.sql("UPDATE opslog_head SET seq = :seq, hmac = :hmac, signature = :signature", [head])

    def cut_to(self, seq: int) -> None:
        """Keep entries #1–#seq and sign a head for them, as the ops-log key's holder can."""
        key = load_or_create_key(load_settings(self.config).security.opslog_key_file, create=False)
        last = (
            self.sql("SELECT hmac FROM opslog WHERE seq = :seq", [{"seq": seq}])[0]["hmac"]
            if seq
            else GENESIS
        )
        self.sql("DELETE FROM opslog WHERE seq > :seq", [{"seq": seq}])
        head = {"seq": seq, "hmac": last, "signature": head_signature(key, seq, last)}
        self.sql("UPDATE opslog_head SET seq = :seq, hmac = :hmac, signature = :signature", [head])

    # -- the operator's view ------------------------------------------------------------

    def verify(self, *witnesses: str) -> Result:
        args = [a for w in witnesses for a in ("--witness", w)]
        return run_cli("--json", "ops-log", "verify", *args, config=self.config, operator="sam")

    def refused(self, *witnesses: str) -> str:
        """The integrity failure ``ops-log verify --witness …`` exits with (exit 7)."""
        result = self.verify(*witnesses)
        assert result.code == 7, (result.code, result.stderr)
        message: str = result.error()["message"]
        return message

    def busy_day(self) -> int:
        """Provision a tenant, back it up (a checkpoint), suspend and resume it. Returns the
        seq of the head the backup run's checkpoint holds."""
        olga = self.as_("olga")
        olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
        olga.backups.run(["acme-gmbh"])
        [checkpoint] = [json.loads(p.read_text()) for p in self.checkpoints()]
        olga.lifecycle.suspend("acme-gmbh", "unpaid invoice")
        olga.lifecycle.resume("acme-gmbh")
        return int(checkpoint["seq"])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    url = f"sqlite:///{config.parent}/catalog.db"
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.url(server.fresh_database("catalog"))
        body = config.read_text(encoding="utf-8").replace(SQLITE_CATALOG_URL, f'url = "{url}"')
        config.write_text(body, encoding="utf-8")
    s = Site(config, url, request.param)
    yield s
    for console in s.opened:
        console.close()


def named(message: str) -> list[int]:
    """The entry numbers a message names, in order."""
    return [int(n) for n in re.findall(r"#(\d+)", message)]


# ----------------------------------------------------------------------------- the attacks


def test_a_wiped_log_is_named_from_entry_1_by_either_witness(site: Site) -> None:
    site.busy_day()
    site.cut_to(0)  # every row deleted, the head back to the genesis its key signed
    assert site.verify().code == 0  # the log alone cannot tell: it looks brand new
    store = site.refused("store")
    assert "entry #1 differs from the witness's copy (region eu's checkpoint" in store
    events = site.refused(str(site.event_log))
    assert "two different entries #1" in events and named(events)[0] == 1


def test_a_wipe_is_reported_as_such_before_anything_else_is_logged(site: Site) -> None:
    site.busy_day()
    seen = site.head_seq()
    site.cut_to(0)
    message = site.refused("store", str(site.event_log))
    assert f"ops log is empty but the witness saw {seen} entries" in message
    assert "entry #1 is missing" in message


def test_a_truncated_log_with_a_re_signed_head_is_named_at_its_first_missing_entry(
    site: Site,
) -> None:
    checkpoint = site.busy_day()
    keep = checkpoint - 2  # the backup run's own entries and all after them go
    site.cut_to(keep)
    store = site.refused("store")
    assert f"entries #{keep + 1}–#{checkpoint} are missing" in store
    assert f"the catalog's head is #{keep}" in store
    # The store's check was itself logged as #keep+1: the SIEM saw a different #keep+1.
    events = site.refused(str(site.event_log))
    assert named(events)[0] == keep + 1
    assert site.verify().code == 0


def test_a_rollback_to_a_saved_head_and_table_is_caught_by_either_witness(site: Site) -> None:
    olga = site.as_("olga")
    olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    saved = site.save()
    first_lost = site.head_seq() + 1
    olga.lifecycle.suspend("acme-gmbh", "unpaid invoice")
    olga.backups.run(["acme-gmbh"])  # signs a checkpoint into the eu store
    olga.lifecycle.resume("acme-gmbh")

    site.restore(saved)
    store = site.refused("store")
    assert f"rolled back or truncated: entries #{first_lost}–" in store
    site.restore(saved)
    events = site.refused(str(site.event_log))
    assert f"entry #{first_lost} (seen by the witness at" in events
    site.restore(saved)
    assert site.verify().code == 0  # the known gap that the witnesses close


def test_a_witness_behind_the_catalog_is_normal(site: Site) -> None:
    site.busy_day()
    ada = site.as_("ada")
    ada.operators.add("newbie", ["viewer"])
    report = site.as_("sam").opslog.verify(Witnesses((site.event_log,), store=True))
    assert report.witness is not None and report.witness.untrusted == []
    assert report.witness.highest_seq == report.head_seq  # the event log is level
    only_store = site.as_("sam").opslog.verify(Witnesses(store=True))
    assert only_store.witness is not None
    assert only_store.witness.highest_seq < only_store.head_seq - 3


# ----------------------------------------------------------------------------- the checkpoints


def test_an_edited_or_foreign_checkpoint_is_reported_and_never_trusted(
    site: Site, tmp_path: Path
) -> None:
    site.busy_day()
    [genuine] = site.checkpoints()
    edited = genuine.with_name(genuine.name.replace("checkpoint-0", "checkpoint-9"))
    document = json.loads(genuine.read_text())
    edited.write_text(json.dumps({**document, "seq": 9 * 10**11 + document["seq"]}))
    region = load_settings(site.config).regions["eu"]
    forger = RegionSigner(tmp_path / "not-eu.sign.key", create=True)
    forged = OpsLogCheckpoint(10**6, "f" * 64, "f" * 64, "2026-01-01T00:00:00Z", "x", "eu")
    write_checkpoint(BackupStore(region), forger, forged)

    result = site.verify("store")
    assert result.code == 0, result.stderr  # what is not trusted cannot raise an alarm either
    untrusted = result.json()["witness"]["untrusted"]
    assert len(untrusted) == 2
    assert all("signature is not valid" in u for u in untrusted)
    assert result.stderr.count("not trusted as a witness") == 2
    assert result.json()["witness"]["highest_seq"] == document["seq"]


def test_backup_run_signs_the_head_into_each_region_it_covered(site: Site) -> None:
    olga = site.as_("olga")
    olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    olga.provisioning.provision(ProvisionRequest("maple-health", "CA"))
    before = site.head_seq()
    outcomes = olga.backups.run(["acme-gmbh"])
    assert [o.action for o in outcomes] == ["backup"]  # a checkpoint shows only if it fails
    assert site.checkpoints("us") == []
    [eu] = [json.loads(p.read_text()) for p in site.checkpoints("eu")]
    assert eu["seq"] == before + 2  # the reconcile and the backup came first
    olga.backups.run(region="us")
    assert len(site.checkpoints("us")) == 1
    [entry] = site.as_("sam").opslog.list(1)
    assert (entry.action, entry.target, entry.outcome) == ("ops-log.checkpoint", "us", "ok")


def test_a_store_that_refuses_the_checkpoint_fails_the_run_but_not_the_backups(
    site: Site,
) -> None:
    olga = site.as_("olga")
    olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    site.store().mkdir(parents=True, exist_ok=True)
    (site.store() / DIRECTORY).write_text("in the way")
    backup, checkpoint = olga.backups.run(["acme-gmbh"])
    assert backup.ok and not checkpoint.ok and checkpoint.action == "checkpoint"
    assert checkpoint.detail.startswith("ops-log checkpoint not written")
    [entry] = site.as_("sam").opslog.list(1)
    assert (entry.action, entry.outcome) == ("ops-log.checkpoint", "failed:unavailable")


def test_checkpoints_are_not_taken_for_a_tenants_backups(site: Site) -> None:
    site.busy_day()
    olga = site.as_("olga")
    report = olga.backups.reconcile("eu")
    assert (report.indexed, report.missing, report.cleaned) == ([], [], [])
    assert olga.backups.listing().notes == []
    olga.backups.prune(dry_run=False)
    assert len(site.checkpoints()) == 1  # busy_day's backup run wrote it; nothing removed it


# ----------------------------------------------------------------------------- the event log


def test_every_committed_entry_reaches_the_event_log_with_its_seq_and_hmac(site: Site) -> None:
    site.busy_day()
    with pytest.raises(Forbidden):  # denied: logged alone (record_alone)
        site.as_("vic").lifecycle.suspend("acme-gmbh", "not mine to do")
    lines = [json.loads(line) for line in site.event_log.read_text().splitlines()]
    logged = {(r["seq"], r["hmac"]) for r in lines if r["event"] == "ops_action"}
    with site.as_("sam").ctx.catalog.read() as tx:
        entries = tx.opslog.entries()
    assert logged == {(e.seq, e.hmac) for e in entries}
    assert entries[0].action == "catalog.init" and entries[-1].outcome == "denied"
