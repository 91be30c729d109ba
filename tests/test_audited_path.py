"""Every use case the permission matrix names leaves exactly one ops-log entry per attempt.

One scenario per ``Action``: a success, a refusal and a failure after authorisation, each run
on a fresh sandbox. A change, a read of personal data or a request logs one entry (``ok``,
``pending``, ``denied`` or ``failed:<code>``); a plain read of the catalog logs only its
refusal (``permissions.UNLOGGED_READS``). A new action without a scenario fails the walk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from billing_world import billing, customers

from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.domain import Identity, OpsLogEntry, Tenant, TenantState
from aptien_ops.domain.incidents import Recipient, ScopeHeader, ScopeTenant
from aptien_ops.errors import Forbidden, OpsError, PendingApproval
from aptien_ops.inspect_query import LoginFilters
from aptien_ops.partner_files import IMPORT_COLUMNS
from aptien_ops.permissions import MATRIX, UNLOGGED_READS, Action
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.billing import BillingService
from aptien_ops.services.billing_sync import BillingSyncService
from aptien_ops.services.billing_webhook import BillingWebhookService
from aptien_ops.services.incident_scope import ScopeRequest
from aptien_ops.services.incidents import IncidentInput, IncidentUpdate
from aptien_ops.services.op_notices import NoticeDraft, NoticeEdit
from aptien_ops.services.partners import PartnerInput, PartnerUpdate
from aptien_ops.services.provisioning import ProvisionRequest
from aptien_ops.services.sandbox_seed import SeedRequest
from aptien_ops.services.sessions import Holder, SessionStarted

from sandboxes import sandbox_on_postgresql

#: When the audited path's incidents became known.
_AWARE = datetime(2026, 1, 5, tzinfo=UTC)

#: When the audited path's notices start (their ids are NTC-2026-…).
_NOTICE_FROM = datetime(2026, 12, 10, 22, tzinfo=UTC)

#: The ops-log action an attempt is recorded under, where it is not the action's own name.
LOGGED_AS = {Action.TENANT_RESIDENCY_OVERRIDE: Action.TENANT_PROVISION}


class World:
    """A fresh sandbox, with consoles opened as its demo operators on demand; or, once
    :meth:`to_production` ran, a production catalog where each console is opened as its
    operator's own account (as sudo would report it)."""

    def __init__(self, config: Path, request: pytest.FixtureRequest | None = None) -> None:
        self.config = config
        self.request = request
        self.conninfo: str | None = None
        self.production = False
        self._consoles: dict[str, Console] = {}

    def as_(self, operator: str) -> Console:
        if operator not in self._consoles:
            if self.production:
                who = Identity(operator, operator, None, "s-test")
                self._consoles[operator] = open_console(self.config, identity=who)
            else:
                env = {"APTIEN_OPS_OPERATOR": operator}
                self._consoles[operator] = open_console(self.config, env=env)
        return self._consoles[operator]

    def to_production(self) -> None:
        """A production catalog whose first admin is ada; olga (operator) and vic (viewer)."""
        text = self.config.read_text().replace('mode = "sandbox"', 'mode = "production"', 1)
        self.config.write_text(text.replace("initial_admins = []", 'initial_admins = ["ada"]', 1))
        self.production = True
        self.as_("ada").operators.add("olga", ["operator"])
        self.as_("ada").operators.add("vic", ["viewer"])

    def tenant(self, name: str = "acme-gmbh", country: str = "DE") -> str:
        self.as_("olga").provisioning.provision(ProvisionRequest(name, country))
        return name

    def backup(self, name: str = "acme-gmbh") -> str:
        [outcome] = [o for o in self.as_("olga").backups.run([name]) if o.action == "backup"]
        assert outcome.ok and outcome.backup_id, outcome.detail
        return outcome.backup_id

    def database(self, name: str) -> Path:
        return (
            load_settings(self.config).data_dir / "tenants" / "eu-sandbox-1" / f"tenant_{name}.db"
        )

    def entries(self) -> list[OpsLogEntry]:
        with self.as_("ada").ctx.catalog.read() as tx:
            return tx.opslog.entries()

    def close(self) -> None:
        for console in self._consoles.values():
            console.close()


def refuse(call: Callable[[World], object]) -> Callable[[World], object]:
    """``call`` must be refused (Forbidden) for the scenario's refusal."""

    def refused(world: World) -> None:
        with pytest.raises(Forbidden):
            call(world)

    return refused


def _draft(tenants: tuple[str, ...] = ("acme-gmbh",)) -> NoticeDraft:
    return NoticeDraft("maintenance", "Upgrade", "A short window.", _NOTICE_FROM, tenants=tenants)


def _notice(world: World) -> str:
    world.tenant()
    return world.as_("olga").op_notices.draft(_draft()).id


def _users_notice(world: World) -> str:
    world.tenant()
    return world.as_("olga").op_notices.draft(replace(_draft(), audience="users")).id


def _sent_notice(world: World) -> str:
    notice = _notice(world)
    world.as_("olga").op_notice_sending.send(notice)
    return notice


def _unwritable_status_page(world: World) -> None:
    """The website directory is a file: the status page cannot be written."""
    website = load_settings(world.config).notifications.website.dir
    website.parent.mkdir(parents=True, exist_ok=True)
    if website.is_dir():
        import shutil

        shutil.rmtree(website)
    website.write_text("not a directory")
    world.as_("olga").op_notice_status.publish()


def _incident(world: World) -> str:
    opened = world.as_("sam").incidents.open(IncidentInput("Bucket open", "integrity", _AWARE))
    return opened.id


def _scoped_incident(world: World) -> str:
    """An incident whose notice can be written, with one affected person recorded."""
    given = IncidentInput(
        "Bucket open",
        "confidentiality",
        _AWARE,
        consequences="phishing",
        measures_taken="closed",
        dpo_contact="dpo@aptien.example",
    )
    incident = world.as_("sam").incidents.open(given).id
    header = ScopeHeader(incident, "all", (), None, None, False, 1, 1, "0" * 64, "sam", _AWARE)
    person = Recipient(incident, "acme-gmbh", "eu", "1", "ann@acme.example", None)
    with world.as_("sam").ctx.catalog.transaction() as tx:
        tx.incident_scope.replace(header, [ScopeTenant("acme-gmbh", "eu", 1)], [person])
    return incident


def _unlikely_incident(world: World) -> str:
    incident = _incident(world)
    change = IncidentUpdate(risk_to_people="unlikely", risk_rationale="encrypted")
    world.as_("sam").incidents.update(incident, change)
    return incident


def _out(world: World) -> Path:
    return world.config.parent / "report.md"


def _report(world: World, phase: str) -> object:
    reasons = "found late"  # the incident is long past its 72 hours
    incidents = world.as_("sam").incidents
    return incidents.report("INC-2026-0001", phase, "md", _out(world), delay_reasons=reasons)


def _stripe(world: World, operator: str) -> BillingService:
    """``operator``'s billing service on a Stripe that knows the customer cus_Acme1."""
    return billing(world.as_(operator), customers("cus_Acme1"))


def _webhooks(world: World, operator: str) -> BillingWebhookService:
    return BillingWebhookService(world.as_(operator).ctx, lambda: customers("cus_Acme1"))


def _linked(world: World) -> None:
    world.tenant()
    _stripe(world, "bill").link("acme-gmbh", "cus_Acme1")


def _on_postgresql(world: World) -> None:
    """The job queue is a PostgreSQL catalog's: the sandbox moves to a fresh database of the
    suite's server before any of its consoles opens."""
    assert world.request is not None and not world._consoles
    pg = world.request.getfixturevalue("pg_server")
    world.config, world.conninfo = sandbox_on_postgresql(world.config.parent, pg)


#: The first job of a fresh catalog's queue.
_JOB = 1


def _queued_job(world: World) -> None:
    _on_postgresql(world)
    world.tenant()
    [queued] = world.as_("olga").jobs.enqueue_backups(["acme-gmbh"])
    assert queued.job_id == _JOB


def _failed_job(world: World) -> None:
    """A queued backup, then failed as a worker would end it."""
    import psycopg

    _queued_job(world)
    assert world.conninfo is not None
    with psycopg.connect(world.conninfo) as conn:
        conn.execute("SET search_path TO procrastinate")
        conn.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", (_JOB,))


def _work(world: World, operator: str) -> None:
    """``operator`` runs the eu worker until its queues are empty."""
    from aptien_ops.composition.worker import run_worker

    run_worker(world.as_(operator), region="eu", kinds=[], until_idle=True)


def _without_a_queue(world: World) -> None:
    """The queue's schema is gone (a catalog restored without it)."""
    import psycopg

    assert world.conninfo is not None
    with psycopg.connect(world.conninfo) as conn:
        conn.execute("DROP SCHEMA procrastinate CASCADE")


def _work_without_a_queue(world: World) -> None:
    """The worker cannot start."""
    _without_a_queue(world)
    _work(world, "olga")


def _prune_without_a_queue(world: World) -> None:
    _without_a_queue(world)
    world.as_("olga").jobs.prune()


@dataclass(frozen=True)
class Scenario:
    prepare: Callable[[World], object]
    succeed: Callable[[World], object]
    refuse: Callable[[World], object]
    fail: Callable[[World], object] | None
    """Raises an OpsError after authorisation; None for reads (their failures are not logged)."""


def _nothing(world: World) -> None:
    return None


def _pending(call: Callable[[World], object]) -> Callable[[World], object]:
    def requested(world: World) -> None:
        with pytest.raises(PendingApproval):
            call(world)

    return requested


def _tampered(world: World) -> None:
    catalog = load_settings(world.config).data_dir / "catalog.db"
    with sqlite3.connect(catalog) as db:  # the catalog's first entry, edited behind its back
        db.execute("UPDATE opslog SET target = 'elsewhere' WHERE seq = 1")


def _seed_name(world: World) -> str:
    request = SeedRequest(tenants=1, users=2, events=4, logins=4, seed=3)
    [(name, _country)] = world.as_("olga").seeding.tenant_names(request)
    return name


def _seed(world: World) -> object:
    request = SeedRequest(tenants=1, users=2, events=4, logins=4, seed=3)
    return world.as_("olga").seeding.seed(request)


def _seed_into_a_missing_database(world: World) -> None:
    name = _seed_name(world)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    state, cluster = TenantState.ACTIVE, "us-sandbox-1"
    with world.as_("ada").ctx.catalog.transaction() as tx:  # a tenant whose database is gone
        tx.tenants.insert(Tenant(name, "CA", "us", cluster, state, None, None, now, now))


def _migrate_with_a_database_gone(world: World) -> None:
    world.database("acme-gmbh").unlink()


def _awaiting_decision(world: World) -> int:
    with pytest.raises(PendingApproval) as pending:
        world.as_("ada").operators.grant("sam", "admin")
    return pending.value.approval_id


def _approve(world: World) -> object:
    return world.as_(_other_admin(world)).approvals.approve(_awaiting_decision(world))


def _session(operator: str) -> SessionStarted:
    return SessionStarted("s-0", operator, None, "2026-01-05T00:00:00", Holder.of_this_process())


def _other_admin(world: World) -> str:
    """An admin who did not make the request (the OS account is the sandbox's other admin)."""
    return world.as_("ada").identity.os_account


def _export(world: World, name: str = "acme-gmbh") -> object:
    target = world.config.parent / f"export-{name}.jsonl"
    return world.as_("sam").inspection.export(
        name, kind="logins", fmt="jsonl", output=target, reason="SEC-1"
    )


def _prune_blocked(world: World) -> None:
    ids = [world.backup(), world.backup()]
    store = load_settings(world.config).regions["eu"].backup_store / "acme-gmbh"
    manifest = store / f"{ids[0]}.manifest.json"
    manifest.unlink()
    (manifest / "in-the-way").mkdir(parents=True)  # deleting it fails: not a file


def _store_in_the_way(world: World) -> None:
    store = load_settings(world.config).regions["eu"].backup_store
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("not a directory")


def _broken_key(world: World) -> None:
    key = load_settings(world.config).regions["us"].key_file
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("not a key")


def _production(world: World) -> None:
    world.to_production()


def _suspended(world: World) -> None:
    world.tenant()
    world.as_("olga").lifecycle.suspend("acme-gmbh", "unpaid")


def _cancelled(world: World) -> None:
    world.tenant()
    world.as_("olga").lifecycle.cancel("acme-gmbh", 0)


def _newest_backup(world: World) -> str:
    return world.as_("vic").backups.listing().rows[-1].record.id


def _truncated(world: World) -> str:
    """The newest backup, cut to half its size (a failure injected mid-restore)."""
    backup_id = _newest_backup(world)
    store = load_settings(world.config).regions["eu"].backup_store / "acme-gmbh"
    data = store / f"{backup_id}.dump.zst.age"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return backup_id


def _purged_since(world: World) -> str:
    """The newest backup of acme-gmbh, which was purged after it was taken."""
    backup_id = _newest_backup(world)
    world.as_("olga").lifecycle.cancel("acme-gmbh", 0)
    with pytest.raises(PendingApproval) as pending:
        world.as_("ada").lifecycle.purge("acme-gmbh")
    world.as_(_other_admin(world)).approvals.approve(pending.value.approval_id)
    return backup_id


def _partner(world: World, name: str = "nordic-sales") -> str:
    pat = world.as_("pat").partners
    pat.add(PartnerInput(name, "Nordic Sales GmbH", ("sales",), ("eu",)))
    pat.agreement_add(name, "PA-1", signed_on=date(2020, 1, 1), effective_from=date(2020, 1, 1))
    return name


def _assignable(world: World) -> None:
    world.tenant()
    _partner(world)


def _register_file(world: World, name: str = "nordic-sales") -> Path:
    path = world.config.parent / "register.csv"
    header = ",".join(IMPORT_COLUMNS)
    path.write_text(f"{header}\n{name},Nordic AB,sales,eu,,,,,,,,\n", encoding="utf-8")
    return path


def _assigned(world: World) -> None:
    _assignable(world)
    world.as_("pat").partners.assign("nordic-sales", "acme-gmbh", "sales", "new client")


SCENARIOS: dict[Action, Scenario] = {
    Action.REGION_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").regions.list(),
        refuse(lambda w: w.as_("mallory").regions.list()),
        None,
    ),
    Action.TENANT_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").tenants.list(),
        refuse(lambda w: w.as_("mallory").tenants.list()),
        None,
    ),
    Action.TENANT_PROVISION: Scenario(
        lambda w: w.tenant(),
        lambda w: w.tenant("new-client", "FR"),
        refuse(lambda w: w.as_("vic").provisioning.provision(ProvisionRequest("x-co", "FR"))),
        lambda w: w.tenant(country="FR"),  # exists already, for another country
    ),
    Action.TENANT_RESIDENCY_OVERRIDE: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("ada").provisioning.provision(
            ProvisionRequest("over-ride", "DE", region="us", residency_override="client asked")
        ),
        refuse(
            lambda w: w.as_("olga").provisioning.provision(
                ProvisionRequest("over-ride", "DE", region="us", residency_override="why not")
            )
        ),
        lambda w: w.as_("ada").provisioning.provision(
            ProvisionRequest("acme-gmbh", "DE", region="us", residency_override="again")
        ),
    ),
    Action.TENANT_SUSPEND: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("olga").lifecycle.suspend("acme-gmbh", "unpaid"),
        refuse(lambda w: w.as_("vic").lifecycle.suspend("acme-gmbh", "unpaid")),
        lambda w: w.as_("olga").lifecycle.suspend("no-such-tenant", "unpaid"),
    ),
    Action.TENANT_RESUME: Scenario(
        _suspended,
        lambda w: w.as_("olga").lifecycle.resume("acme-gmbh"),
        refuse(lambda w: w.as_("vic").lifecycle.resume("acme-gmbh")),
        lambda w: w.as_("olga").lifecycle.resume("no-such-tenant"),
    ),
    Action.TENANT_CANCEL: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("olga").lifecycle.cancel("acme-gmbh", 30),
        refuse(lambda w: w.as_("vic").lifecycle.cancel("acme-gmbh", 30)),
        lambda w: w.as_("olga").lifecycle.cancel("no-such-tenant", 30),
    ),
    Action.TENANT_REINSTATE: Scenario(
        lambda w: (w.tenant(), w.as_("olga").lifecycle.cancel("acme-gmbh", 30)),
        lambda w: w.as_("olga").lifecycle.reinstate("acme-gmbh"),
        refuse(lambda w: w.as_("vic").lifecycle.reinstate("acme-gmbh")),
        lambda w: w.as_("olga").lifecycle.reinstate("no-such-tenant"),
    ),
    Action.TENANT_PURGE: Scenario(
        _cancelled,
        _pending(lambda w: w.as_("ada").lifecycle.purge("acme-gmbh")),
        refuse(lambda w: w.as_("olga").lifecycle.purge("acme-gmbh")),
        lambda w: w.as_("ada").lifecycle.purge("no-such-tenant"),
    ),
    Action.FLEET_CHECK: Scenario(
        _nothing,
        lambda w: w.as_("vic").fleet.check(),
        refuse(lambda w: w.as_("mallory").fleet.check()),
        None,
    ),
    Action.FLEET_MIGRATE: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("olga").fleet.migrate(),
        refuse(lambda w: w.as_("vic").fleet.migrate()),
        lambda w: (_migrate_with_a_database_gone(w), w.as_("olga").fleet.migrate()),
    ),
    Action.OPERATOR_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").operators.list(),
        refuse(lambda w: w.as_("mallory").operators.list()),
        None,
    ),
    Action.OPERATOR_ADD: Scenario(
        _nothing,
        lambda w: w.as_("ada").operators.add("newbie", ["viewer"]),
        refuse(lambda w: w.as_("olga").operators.add("newbie", ["viewer"])),
        lambda w: w.as_("ada").operators.add("vic", ["viewer"]),
    ),
    Action.OPERATOR_GRANT: Scenario(
        _nothing,
        lambda w: w.as_("ada").operators.grant("vic", "operator"),
        refuse(lambda w: w.as_("olga").operators.grant("vic", "operator")),
        lambda w: w.as_("ada").operators.grant("olga", "operator"),
    ),
    Action.OPERATOR_GRANT_ADMIN: Scenario(
        _nothing,
        _pending(lambda w: w.as_("ada").operators.grant("sam", "admin")),
        refuse(lambda w: w.as_("olga").operators.grant("sam", "admin")),
        lambda w: w.as_("ada").operators.grant("ghost", "admin"),
    ),
    Action.OPERATOR_REVOKE: Scenario(
        _nothing,
        lambda w: w.as_("ada").operators.revoke("olga", "operator"),
        refuse(lambda w: w.as_("olga").operators.revoke("vic", "viewer")),
        lambda w: w.as_("ada").operators.revoke("vic", "operator"),
    ),
    Action.OPERATOR_GRANT_SECURITY: Scenario(
        _nothing,
        _pending(lambda w: w.as_("ada").operators.grant("vic", "security")),
        refuse(lambda w: w.as_("olga").operators.grant("vic", "security")),
        lambda w: w.as_("ada").operators.grant("ghost", "security"),
    ),
    Action.OPERATOR_REVOKE_ADMIN: Scenario(
        _nothing,
        _pending(lambda w: w.as_("ada").operators.revoke(_other_admin(w), "admin")),
        refuse(lambda w: w.as_("olga").operators.revoke("ada", "admin")),
        lambda w: w.as_("ada").operators.revoke("vic", "admin"),
    ),
    Action.KEYS_INIT: Scenario(
        _nothing,
        lambda w: w.as_("ada").keys.init("eu"),
        refuse(lambda w: w.as_("olga").keys.init("eu")),
        lambda w: (_broken_key(w), w.as_("ada").keys.init("us")),
    ),
    Action.DOCTOR_RUN: Scenario(
        _nothing,
        lambda w: w.as_("vic").doctor.run(),
        refuse(lambda w: w.as_("mallory").doctor.run()),
        lambda w: (_store_in_the_way(w), w.as_("olga").doctor.run()),  # a finding fails
    ),
    Action.POLICY_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").policy.show(),
        refuse(lambda w: w.as_("mallory").policy.show()),
        None,
    ),
    Action.POLICY_SET: Scenario(
        _production,
        _pending(lambda w: w.as_("ada").policy.set("approval_lifetime_hours", "12")),
        refuse(lambda w: w.as_("olga").policy.set("approval_lifetime_hours", "12")),
        None,  # a bad key or value is refused before anything is touched (InvalidInput)
    ),
    Action.APPROVAL_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").approvals.list(),
        refuse(lambda w: w.as_("mallory").approvals.list()),
        None,
    ),
    Action.APPROVAL_DECIDE: Scenario(
        _nothing,
        _approve,
        refuse(lambda w: w.as_("olga").approvals.approve(_awaiting_decision(w))),
        lambda w: w.as_("ada").approvals.approve(9999),
    ),
    Action.OPSLOG_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("sam").opslog.list(),
        refuse(lambda w: w.as_("vic").opslog.list()),
        None,
    ),
    Action.OPSLOG_VERIFY: Scenario(
        _nothing,
        lambda w: w.as_("sam").opslog.verify(),
        refuse(lambda w: w.as_("vic").opslog.verify()),
        lambda w: (_tampered(w), w.as_("sam").opslog.verify()),
    ),
    Action.OPSLOG_CHECKPOINT: Scenario(
        _nothing,
        lambda w: w.as_("olga").backups.checkpoint(),
        refuse(lambda w: w.as_("vic").backups.checkpoint()),
        lambda w: (_store_in_the_way(w), w.as_("olga").backups.checkpoint()),
    ),
    Action.SANDBOX_SEED: Scenario(
        _nothing,
        _seed,
        refuse(lambda w: w.as_("vic").seeding.seed(SeedRequest(tenants=1, users=2, events=4))),
        lambda w: (_seed_into_a_missing_database(w), _seed(w)),
    ),
    Action.INSPECT_METADATA: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("sam").inspection.logins("acme-gmbh", LoginFilters()),
        refuse(lambda w: w.as_("olga").inspection.logins("acme-gmbh", LoginFilters())),
        lambda w: w.as_("sam").inspection.logins("no-such-tenant", LoginFilters()),
    ),
    Action.INSPECT_EXPORT: Scenario(
        lambda w: w.tenant(),
        _export,
        refuse(
            lambda w: w.as_("olga").inspection.export(
                "acme-gmbh",
                kind="logins",
                fmt="jsonl",
                output=w.config.parent / "x.jsonl",
                reason="SEC-1",
            )
        ),
        lambda w: _export(w, "no-such-tenant"),
    ),
    Action.BACKUP_RUN: Scenario(
        lambda w: w.tenant(),
        lambda w: w.backup(),
        refuse(lambda w: w.as_("vic").backups.run(["acme-gmbh"])),
        lambda w: (w.database("acme-gmbh").unlink(), w.as_("olga").backups.run(["acme-gmbh"])),
    ),
    Action.BACKUP_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").backups.listing(),
        refuse(lambda w: w.as_("mallory").backups.listing()),
        None,
    ),
    Action.BACKUP_VERIFY: Scenario(
        lambda w: (w.tenant(), w.backup()),
        lambda w: w.as_("olga").backups.verify(w.as_("vic").backups.listing().rows[0].record.id),
        refuse(lambda w: w.as_("vic").backups.verify("bk-20250101T000000Z-abcdef")),
        lambda w: w.as_("olga").backups.verify("bk-20250101T000000Z-abcdef"),
    ),
    Action.BACKUP_PRUNE: Scenario(
        lambda w: (w.tenant(), w.backup(), w.backup()),
        lambda w: w.as_("olga").backups.prune(dry_run=False),
        refuse(lambda w: w.as_("vic").backups.prune(dry_run=False)),
        lambda w: (_prune_blocked(w), w.as_("olga").backups.prune(dry_run=False)),
    ),
    Action.BACKUP_RESTORE: Scenario(
        lambda w: (w.tenant(), w.backup()),
        lambda w: w.as_("olga").backups.restore(_newest_backup(w), "acme-copy"),
        refuse(lambda w: w.as_("vic").backups.restore(_newest_backup(w), "acme-copy")),
        lambda w: w.as_("olga").backups.restore(_truncated(w), "acme-copy"),
    ),
    Action.BACKUP_REPLACE: Scenario(
        lambda w: (w.tenant(), w.backup()),
        _pending(lambda w: w.as_("olga").backups.restore(_newest_backup(w), "acme-gmbh")),
        refuse(lambda w: w.as_("vic").backups.restore(_newest_backup(w), "acme-gmbh")),
        lambda w: w.as_("olga").backups.restore(_purged_since(w), "acme-gmbh"),
    ),
    Action.BACKUP_RECONCILE: Scenario(
        _nothing,
        lambda w: w.as_("olga").backups.reconcile(),
        refuse(lambda w: w.as_("vic").backups.reconcile()),
        lambda w: (_store_in_the_way(w), w.as_("olga").backups.reconcile()),
    ),
    Action.PARTNER_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("vic").partners.list(),
        refuse(lambda w: w.as_("mallory").partners.list()),
        None,
    ),
    Action.PARTNER_ADD: Scenario(
        _partner,
        lambda w: _partner(w, "alpine-experts"),
        refuse(lambda w: w.as_("ada").partners.add(PartnerInput("x-co", "X", ("sales",), ("eu",)))),
        lambda w: _partner(w),  # the name is taken
    ),
    Action.PARTNER_UPDATE: Scenario(
        _partner,
        lambda w: w.as_("pat").partners.update("nordic-sales", PartnerUpdate(legal_name="N AB")),
        refuse(lambda w: w.as_("olga").partners.update("nordic-sales", PartnerUpdate("N AB"))),
        lambda w: w.as_("pat").partners.update("no-such-partner", PartnerUpdate("N AB")),
    ),
    Action.PARTNER_END: Scenario(
        _partner,
        lambda w: w.as_("pat").partners.end("nordic-sales", "terminated"),
        refuse(lambda w: w.as_("ada").partners.end("nordic-sales", "terminated")),
        lambda w: w.as_("pat").partners.end("no-such-partner", "terminated"),
    ),
    Action.PARTNER_AGREEMENT: Scenario(
        _partner,
        lambda w: w.as_("pat").partners.agreement_end("nordic-sales", "PA-1", "superseded"),
        refuse(lambda w: w.as_("vic").partners.agreement_end("nordic-sales", "PA-1", "x")),
        lambda w: w.as_("pat").partners.agreement_end("nordic-sales", "PA-404", "superseded"),
    ),
    Action.PARTNER_REVIEW: Scenario(
        _partner,
        lambda w: w.as_("pat").partners.review("nordic-sales", "pass"),
        refuse(lambda w: w.as_("ada").partners.review("nordic-sales", "pass")),
        lambda w: w.as_("pat").partners.review("no-such-partner", "pass"),
    ),
    Action.PARTNER_ASSIGN: Scenario(
        _assignable,
        lambda w: w.as_("pat").partners.assign("nordic-sales", "acme-gmbh", "sales", "new"),
        refuse(lambda w: w.as_("ada").partners.assign("nordic-sales", "acme-gmbh", "sales", "x")),
        lambda w: w.as_("pat").partners.assign("nordic-sales", "acme-gmbh", "expert", "new"),
    ),
    Action.PARTNER_UNASSIGN: Scenario(
        _assigned,
        lambda w: w.as_("pat").partners.unassign("nordic-sales", "acme-gmbh", "moved"),
        refuse(lambda w: w.as_("olga").partners.unassign("nordic-sales", "acme-gmbh", "moved")),
        lambda w: w.as_("pat").partners.unassign("nordic-sales", "acme-gmbh", "x", role="expert"),
    ),
    Action.PARTNER_SHARE: Scenario(
        _assigned,
        lambda w: w.as_("pat").partners.share_contacts("acme-gmbh", "nordic-sales", "intro"),
        refuse(lambda w: w.as_("sam").partners.share_contacts("acme-gmbh", "nordic-sales", "x")),
        lambda w: (
            _partner(w, "other-sales"),
            w.as_("pat").partners.share_contacts("acme-gmbh", "other-sales", "intro"),
        ),
    ),
    Action.PARTNER_IMPORT: Scenario(
        lambda w: (_partner(w), w.as_("pat").partners.end("nordic-sales", "gone")),
        lambda w: w.as_("pat").partners.import_csv(_register_file(w, "alpine-experts")),
        refuse(lambda w: w.as_("ada").partners.import_csv(_register_file(w, "alpine-experts"))),
        lambda w: w.as_("pat").partners.import_csv(_register_file(w)),  # it has ended
    ),
    Action.PARTNER_PUBLISH: Scenario(
        _partner,
        lambda w: w.as_("pat").partners.publish("json", w.config.parent / "partners.json"),
        refuse(lambda w: w.as_("olga").partners.publish("json", w.config.parent / "p.json")),
        lambda w: w.as_("pat").partners.publish("json", w.config.parent),  # a directory
    ),
    Action.BREACH_VIEW: Scenario(
        _incident,
        lambda w: w.as_("ada").incidents.show("INC-2026-0001"),
        refuse(lambda w: w.as_("vic").incidents.list()),
        None,
    ),
    Action.BREACH_OPEN: Scenario(
        _incident,
        lambda w: w.as_("sam").incidents.open(IncidentInput("Laptop lost", "integrity", _AWARE)),
        refuse(lambda w: w.as_("ada").incidents.open(IncidentInput("x", "integrity", _AWARE))),
        _incident,  # the same incident again
    ),
    Action.BREACH_UPDATE: Scenario(
        _incident,
        lambda w: w.as_("sam").incidents.update("INC-2026-0001", IncidentUpdate(severity="high")),
        refuse(lambda w: w.as_("ada").incidents.update("INC-2026-0001", IncidentUpdate("t"))),
        lambda w: w.as_("sam").incidents.update("INC-2026-0404", IncidentUpdate(severity="high")),
    ),
    Action.BREACH_TIMELINE: Scenario(
        _incident,
        lambda w: w.as_("sam").incidents.timeline_add("INC-2026-0001", "bucket closed"),
        refuse(lambda w: w.as_("olga").incidents.timeline_add("INC-2026-0001", "closed")),
        lambda w: w.as_("sam").incidents.timeline_add("INC-2026-0404", "bucket closed"),
    ),
    Action.BREACH_CLOSE: Scenario(
        _unlikely_incident,
        lambda w: w.as_("sam").incidents.close_incident("INC-2026-0001", "no risk"),
        refuse(lambda w: w.as_("ada").incidents.close_incident("INC-2026-0001", "no risk")),
        lambda w: w.as_("sam").incidents.close_incident("INC-2026-0404", "done"),
    ),
    Action.BREACH_REPORT: Scenario(
        _incident,
        lambda w: _report(w, "initial"),
        refuse(lambda w: w.as_("ada").incidents.report("INC-2026-0001", "initial", "md", _out(w))),
        lambda w: _report(w, "follow-up"),  # no initial report yet
    ),
    Action.BREACH_SCOPE: Scenario(
        lambda w: (w.tenant(), _incident(w)),
        lambda w: w.as_("sam").incidents.scope("INC-2026-0001", ScopeRequest(("acme-gmbh",))),
        refuse(lambda w: w.as_("ada").incidents.scope("INC-2026-0001", ScopeRequest(region="eu"))),
        lambda w: w.as_("sam").incidents.scope("INC-2026-0001", ScopeRequest(("no-such-one",))),
    ),
    Action.BREACH_NOTIFY: Scenario(
        _scoped_incident,
        _pending(lambda w: w.as_("sam").notices.notify("INC-2026-0001", "email")),
        refuse(lambda w: w.as_("ada").notices.notify("INC-2026-0001", "email")),
        lambda w: w.as_("sam").notices.notify("INC-2026-0404", "email"),
    ),
    Action.BREACH_EXEMPT: Scenario(
        _incident,
        lambda w: w.as_("sam").notices.exempt("INC-2026-0001", "the disk was encrypted"),
        refuse(lambda w: w.as_("ada").notices.exempt("INC-2026-0001", "encrypted")),
        lambda w: w.as_("sam").notices.exempt("INC-2026-0404", "encrypted"),
    ),
    Action.BILLING_STATE: Scenario(
        _linked,
        lambda w: w.as_("vic").billing.status(),
        refuse(lambda w: w.as_("mallory").billing.status_json()),
        None,
    ),
    Action.BILLING_VIEW: Scenario(
        _linked,
        lambda w: w.as_("bill").billing.status("acme-gmbh", full=True),
        refuse(lambda w: w.as_("olga").billing.status(full=True)),
        None,
    ),
    Action.BILLING_LINK: Scenario(
        lambda w: w.tenant(),
        lambda w: _stripe(w, "bill").link("acme-gmbh", "cus_Acme1"),
        refuse(lambda w: _stripe(w, "olga").link("acme-gmbh", "cus_Acme1")),
        lambda w: _stripe(w, "bill").link("acme-gmbh", "cus_Unknown"),
    ),
    Action.BILLING_UNLINK: Scenario(
        _linked,
        lambda w: w.as_("bill").billing.unlink("acme-gmbh"),
        refuse(lambda w: w.as_("olga").billing.unlink("acme-gmbh")),
        lambda w: w.as_("ada").billing.unlink("no-such-tenant"),
    ),
    Action.BILLING_SYNC: Scenario(
        _linked,
        lambda w: BillingSyncService(w.as_("bill").ctx, lambda: customers("cus_Acme1")).sync(),
        refuse(lambda w: BillingSyncService(w.as_("olga").ctx, lambda: customers()).sync()),
        lambda w: BillingSyncService(w.as_("ada").ctx, lambda: None).sync(),  # not connected
    ),
    Action.BILLING_NOTIFY: Scenario(
        _linked,
        lambda w: w.as_("bill").billing_notices.notify(),  # nothing due: an ok entry still
        refuse(lambda w: w.as_("olga").billing_notices.notify()),
        None,
    ),
    Action.BILLING_WEBHOOK: Scenario(
        _linked,
        lambda w: _webhooks(w, "bill").ingest(b"{}", "signed"),
        refuse(lambda w: _webhooks(w, "olga").ingest(b"{}", "signed")),
        lambda w: _webhooks(w, "ada").ingest(b"{}", "forged"),
    ),
    Action.SESSION_START: Scenario(
        _nothing,
        lambda w: w.as_("vic").sessions.start(),
        refuse(lambda w: w.as_("mallory").sessions.start()),
        None,
    ),
    Action.SESSION_END: Scenario(
        _nothing,
        lambda w: w.as_("vic").sessions.end(w.as_("vic").sessions.start(), "quit"),
        refuse(lambda w: w.as_("mallory").sessions.end(_session("mallory"), "quit")),
        None,
    ),
    Action.SESSION_VIEW: Scenario(
        _nothing,
        lambda w: w.as_("sam").sessions.list(),
        refuse(lambda w: w.as_("vic").sessions.list()),
        None,
    ),
    Action.NOTICE_VIEW: Scenario(
        _notice,
        lambda w: w.as_("vic").op_notices.show("NTC-2026-0001"),
        refuse(lambda w: w.as_("mallory").op_notices.list()),
        None,
    ),
    Action.NOTICE_DRAFT: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("olga").op_notices.draft(_draft()),
        refuse(lambda w: w.as_("vic").op_notices.draft(_draft())),
        lambda w: w.as_("olga").op_notices.draft(_draft(tenants=("nobody-here",))),
    ),
    Action.NOTICE_RESOLVE: Scenario(
        _notice,
        lambda w: w.as_("olga").op_notices.resolve("NTC-2026-0001", "done"),
        refuse(lambda w: w.as_("vic").op_notices.resolve("NTC-2026-0001")),
        lambda w: w.as_("olga").op_notices.resolve("NTC-2026-0404"),
    ),
    Action.NOTICE_CANCEL: Scenario(
        _notice,
        lambda w: w.as_("olga").op_notices.cancel("NTC-2026-0001", "in error"),
        refuse(lambda w: w.as_("vic").op_notices.cancel("NTC-2026-0001", "in error")),
        lambda w: w.as_("olga").op_notices.cancel("NTC-2026-0404", "in error"),
    ),
    Action.NOTICE_SEND: Scenario(
        _notice,
        lambda w: w.as_("olga").op_notice_sending.send("NTC-2026-0001"),
        refuse(lambda w: w.as_("vic").op_notice_sending.send("NTC-2026-0001")),
        lambda w: w.as_("olga").op_notice_sending.send("NTC-2026-0404"),
    ),
    Action.NOTICE_UPDATE: Scenario(
        _sent_notice,
        lambda w: w.as_("olga").op_notice_sending.update("NTC-2026-0001", "in-progress", "now"),
        refuse(lambda w: w.as_("vic").op_notice_sending.update("NTC-2026-0001", "resolved", "x")),
        lambda w: w.as_("olga").op_notice_sending.update("NTC-2026-0404", "resolved", "x"),
    ),
    Action.NOTICE_PUBLISH: Scenario(
        _sent_notice,
        lambda w: w.as_("olga").op_notice_status.publish(),
        refuse(lambda w: w.as_("vic").op_notice_status.publish()),
        _unwritable_status_page,
    ),
    Action.NOTICE_EDIT: Scenario(
        _notice,
        lambda w: w.as_("olga").op_notices.edit("NTC-2026-0001", NoticeEdit(title="Later")),
        refuse(lambda w: w.as_("vic").op_notices.edit("NTC-2026-0001", NoticeEdit(body="x"))),
        lambda w: w.as_("olga").op_notices.edit("NTC-2026-0404", NoticeEdit(title="x")),
    ),
    Action.NOTICE_SEND_USERS: Scenario(
        _users_notice,
        _pending(lambda w: w.as_("olga").op_notice_sending.send("NTC-2026-0001")),
        refuse(lambda w: w.as_("vic").op_notice_sending.send("NTC-2026-0001")),
        None,
    ),
    Action.JOB_VIEW: Scenario(
        _on_postgresql,
        lambda w: w.as_("vic").jobs.list(),
        refuse(lambda w: w.as_("mallory").jobs.list()),
        None,
    ),
    Action.JOB_RETRY: Scenario(
        _failed_job,
        lambda w: w.as_("olga").jobs.retry(_JOB),
        refuse(lambda w: w.as_("vic").jobs.retry(_JOB)),
        lambda w: w.as_("olga").jobs.retry(404),
    ),
    Action.JOB_CANCEL: Scenario(
        _queued_job,
        lambda w: w.as_("olga").jobs.cancel(_JOB),
        refuse(lambda w: w.as_("vic").jobs.cancel(_JOB)),
        lambda w: w.as_("olga").jobs.cancel(404),
    ),
    Action.JOB_WORK: Scenario(
        _on_postgresql,
        lambda w: _work(w, "olga"),
        refuse(lambda w: _work(w, "vic")),
        _work_without_a_queue,
    ),
    Action.JOB_PRUNE: Scenario(
        _on_postgresql,
        lambda w: w.as_("olga").jobs.prune(0),
        refuse(lambda w: w.as_("vic").jobs.prune()),
        _prune_without_a_queue,
    ),
    Action.TENANT_UPDATE: Scenario(
        lambda w: w.tenant(),
        lambda w: w.as_("olga").tenants.update_contact("acme-gmbh", company="ACME GmbH"),
        refuse(lambda w: w.as_("pat").tenants.update_contact("acme-gmbh", company="ACME")),
        lambda w: w.as_("olga").tenants.update_contact("no-such-tenant", company="ACME"),
    ),
}


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    w = World(config, request)
    yield w
    w.close()


def test_every_action_of_the_matrix_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(MATRIX) == set(Action)


def _new_entries(world: World, run: Callable[[World], object]) -> list[OpsLogEntry]:
    before = len(world.entries())
    run(world)
    return world.entries()[before:]


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_a_success_logs_one_entry_and_a_plain_read_none(world: World, action: Action) -> None:
    scenario = SCENARIOS[action]
    scenario.prepare(world)
    logged = str(LOGGED_AS.get(action, action))
    mine = [e for e in _new_entries(world, scenario.succeed) if e.action == logged]
    if action in UNLOGGED_READS:
        assert mine == []
    else:
        assert [e.outcome for e in mine] in (["ok"], ["pending"]), mine


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_a_refusal_logs_one_denied_entry_and_nothing_else(world: World, action: Action) -> None:
    scenario = SCENARIOS[action]
    scenario.prepare(world)
    before = len(world.entries())
    scenario.refuse(world)
    new = world.entries()[before:]
    logged = str(LOGGED_AS.get(action, action))
    # An approval refused is asked for first: that request is its own (pending) attempt.
    new = [e for e in new if not (e.outcome == "pending" and action == Action.APPROVAL_DECIDE)]
    assert [(e.action, e.outcome) for e in new] == [(logged, "denied")]


@pytest.mark.parametrize("action", [a for a in Action if SCENARIOS[a].fail is not None], ids=str)
def test_a_failure_after_authorisation_logs_one_failed_entry(world: World, action: Action) -> None:
    scenario = SCENARIOS[action]
    scenario.prepare(world)
    fail = scenario.fail
    assert fail is not None

    def failing(w: World) -> None:
        try:
            fail(w)
        except OpsError:
            return
        # Batch use cases report failures per item instead of raising.

    logged = str(LOGGED_AS.get(action, action))
    mine = [e for e in _new_entries(world, failing) if e.action == logged]
    assert len(mine) == 1 and mine[0].outcome.startswith("failed:"), mine


def test_a_plain_read_that_fails_for_its_input_logs_nothing(world: World) -> None:
    def unknown(w: World) -> None:
        for read in (w.as_("vic").tenants.show, w.as_("vic").backups.listing):
            with pytest.raises(OpsError, match="no tenant named nobody-here"):
                read("nobody-here")

    assert _new_entries(world, unknown) == []
    assert all(SCENARIOS[a].fail is None for a in UNLOGGED_READS)
