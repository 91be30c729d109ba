"""``billing notify`` end to end: real tenant databases (the sandbox's SQLite clusters), a
SQLite or PostgreSQL catalog, and a real SMTP server on loopback (aiosmtpd) counting what
it takes. A licence ending within a notice's days and non-payment are told to the tenant's
representative once per tenant, notice and period, by e-mail and in-app message in the
tenant's language, through the breach notices' outbox; a rerun sends nothing, the next
threshold sends one more; a mail server that is down, then back, still ends with exactly one
message each; a 5xx is listed, not retried forever; --dry-run changes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_notify_kill_cli import send_through
from waiting import until

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.billing_notice_texts import TEXTS
from aptien_ops.composition import Console, open_console
from aptien_ops.composition.adapters import notice_channels
from aptien_ops.config import load_settings
from aptien_ops.domain import TenantState
from aptien_ops.domain.billing import LicenceState, TenantBilling
from aptien_ops.domain.billing_notices import NoticeKind
from aptien_ops.domain.notices import LANGUAGES
from aptien_ops.errors import ConfigError, Forbidden
from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.billing_notices import BillingNoticeService
from aptien_ops.services.provisioning import ProvisionRequest

from billing_sync_world import link
from cli_runner import Result, run_cli
from hostile_data import escapes_in
from notice_reading import HIDDEN, SEEN, inapp_messages, read_mail
from sandboxes import BACKENDS, sandbox_on
from smtp_server import Counting, smtp_server
from stripe_server import free_port

#: The CLI runs on the real clock (the service calls on the test's): the fixture's licences
#: end some days after the moment it starts.
T0 = datetime.now(UTC).replace(microsecond=0)
ACME, GLOBEX, INITECH, UMBRELLA = "acme-gmbh", "globex", "initech", "umbrella"
PROGRAM = Path(sys.executable).with_name("aptien-ops")
REP = {
    ACME: "rep@acme.example",
    GLOBEX: "ap@globex.example",
    INITECH: "boss@initech.example",
    UMBRELLA: "it@umbrella.example",
}


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    config: Path
    clock: Clock
    server: Counting
    port: int

    def console(self, operator: str = "bill") -> Console:
        return open_console(self.config, clock=self.clock, env={"APTIEN_OPS_OPERATOR": operator})

    def notices(self, console: Console, slept: list[float]) -> BillingNoticeService:
        """The service as the console builds it, its retries' waits recorded, not slept."""
        channels = notice_channels(console.ctx)
        return BillingNoticeService(
            console.ctx, lambda: replace(channels, sleep=slept.append), lambda: console.inspection
        )

    def cli(self, *args: str) -> Result:
        return run_cli("--json", "billing", "notify", *args, config=self.config, operator="bill")


def _billing(tenant: str, state: LicenceState, end: datetime, renews: bool) -> TenantBilling:
    return TenantBilling(
        tenant, f"cus_{tenant.replace('-', '')}", "sub_1", state, end, not renews,
        "A-0042", 4900, "eur", "open", T0 - timedelta(days=3), "evt_1", T0,
    )  # fmt: skip


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Four tenants with databases, each linked: acme-gmbh's licence ends in 20 days and will
    not renew (its representative a user of its German database), globex unpaid (no user has
    the representative's address), initech past due, umbrella renewing in 5 days (no notice)."""
    config = sandbox_on(request.param, tmp_path / "sbx", request)
    config.write_text(
        config.read_text() + '\n[billing]\napi_key_env = "UNUSED_KEY"\nnotice_days = [30, 7, 1]\n'
    )
    with smtp_server() as (server, port):
        send_through(config, port)
        w = World(config, Clock(), server, port)
        admin = open_console(config, clock=w.clock)
        for name, country in ((ACME, "DE"), (GLOBEX, "US"), (INITECH, "US"), (UMBRELLA, "DE")):
            admin.provisioning.provision(
                ProvisionRequest(name, country, contact_email=REP[name], company=f"{name} Ltd")
            )
        tenant = admin.tenants.show(ACME)
        with admin.ctx.store(tenant.cluster or "").connect(ACME) as conn:
            conn.execute("INSERT INTO tenant_meta (key, value) VALUES ('language', 'de-AT')")
            for email in ("someone@acme.example", REP[ACME].upper()):
                conn.execute(
                    "INSERT INTO users (email, created_at) VALUES (?, ?)",
                    (email, utc_timestamp(T0)),
                )
            conn.commit()
        link(admin, {n: f"cus_{n.replace('-', '')}" for n in REP})
        with admin.ctx.catalog.transaction() as tx:
            for row in (
                _billing(ACME, LicenceState.ACTIVE, T0 + timedelta(days=20), renews=False),
                _billing(GLOBEX, LicenceState.UNPAID, T0 + timedelta(days=9), renews=True),
                _billing(INITECH, LicenceState.PAST_DUE, T0 + timedelta(days=2), renews=True),
                _billing(UMBRELLA, LicenceState.ACTIVE, T0 + timedelta(days=5), renews=True),
            ):
                tx.billing.save(row)
        admin.close()
        yield w


def _day(days: int) -> str:
    return (T0 + timedelta(days=days)).date().isoformat()


def test_each_notice_goes_out_once_per_tenant_kind_and_period(world: World) -> None:
    w = world
    dry = w.cli("--dry-run")
    assert dry.code == 0, dry.stderr
    assert [(n["tenant"], n["notice"]) for n in dry.json()["notices"]] == [
        (ACME, "expiry-30"),
        (GLOBEX, "unpaid"),
        (INITECH, "past_due"),
    ]
    assert (
        w.server.messages == [] and inapp_messages(w) == []
    )  # a dry run sends and records nothing
    sent = w.cli()
    assert sent.code == 0, sent.stderr
    notices = {n["tenant"]: n for n in sent.json()["notices"]}
    assert notices[ACME]["channels"] == {
        "email": {"sent": 1, "pending": 0, "failed": 0},
        "inapp": {"sent": 1, "pending": 0, "failed": 0},
    }
    assert list(notices[GLOBEX]["channels"]) == ["email"]
    assert "no in-app" in notices[GLOBEX]["note"]
    assert sorted(w.server.per_recipient().items()) == sorted(
        (REP[t], 1) for t in REP if t != UMBRELLA
    )
    mails = {m.to: m for m in w.server.messages}
    subject, body = read_mail(mails[REP[ACME]].raw)
    assert f"für acme-gmbh Ltd endet am {_day(20)}" in subject  # de-AT reads German
    assert "innerhalb von 30 Tagen" in " ".join(body.split())
    assert mails[REP[ACME]].message_id.startswith("<billing.")
    overdue, text = read_mail(mails[REP[INITECH]].raw)
    assert "Payment overdue" in overdue
    assert f"A-0042, 49.00 EUR, due {_day(-3)}" in text
    [(user, kind, inapp_subject, inapp_body)] = inapp_messages(w)
    assert (user, kind, inapp_subject) == (2, "billing-notice", subject)  # the representative
    assert inapp_body == body.replace("\r\n", "\n")
    again = w.cli()
    assert again.code == 0 and again.json()["notices"] == []
    assert run_cli("billing", "notify", config=w.config, operator="bill").stdout.startswith(
        "no billing notice is due"
    )
    w.clock.now = T0 + timedelta(days=15)  # 5 days left: the 7-day notice
    console = w.console()
    later = console.billing_notices.notify()
    console.close()
    assert [(n.tenant, n.notice) for n in later.notices] == [(ACME, "expiry-7")]
    assert later.suspensions == ()  # suspend_after_unpaid_days is off unless set
    assert w.server.per_recipient()[REP[ACME]] == 2 and len(inapp_messages(w)) == 2
    assert w.cli().json()["notices"] == []
    console = w.console("ada")
    with console.ctx.catalog.read() as tx:
        entries = [e for e in tx.opslog.entries() if e.action == "billing.notify"]
    console.close()
    assert [e.outcome for e in entries] == ["ok"] * 5 and {e.operator for e in entries} == {"bill"}
    logged = json.loads(entries[0].params)["notices"]
    assert [entry.split(":")[:2] for entry in logged] == [
        [ACME, "expiry-30"], [GLOBEX, "unpaid"], [INITECH, "past_due"],
    ]  # fmt: skip
    assert all(REP[t] not in e.params for e in entries for t in REP)


def test_a_mail_server_down_then_back_ends_with_one_message_each(world: World) -> None:
    w = world
    send_through(w.config, free_port())  # nothing listens there
    down = w.cli()
    assert down.code == 6, down.stdout
    assert "billing notify again" in down.error()["hint"]
    assert len(inapp_messages(w)) == 1  # in-app went before the e-mail stopped
    send_through(w.config, w.port)
    back = w.cli()
    assert back.code == 0, back.stderr
    assert w.server.per_recipient() == {REP[t]: 1 for t in (ACME, GLOBEX, INITECH)}
    assert len(inapp_messages(w)) == 1
    assert w.cli().json()["notices"] == []


def test_a_4xx_is_tried_again_and_a_5xx_is_listed_not_retried(world: World) -> None:
    w = world
    w.server.transient[REP[INITECH]] = 2
    w.server.permanent.add(REP[GLOBEX])
    console, slept = w.console(), []
    run = w.notices(console, slept).notify()
    counts = {n.tenant: {c.channel: c for c in n.channels} for n in run.notices}
    assert counts[GLOBEX]["email"].failed == 1 and counts[INITECH]["email"].sent == 1
    assert [n.tenant for n in run.undelivered] == [GLOBEX]
    assert slept == [1.0, 2.0]  # two backoffs for the two 451s
    assert w.server.per_recipient() == {REP[ACME]: 1, REP[INITECH]: 1}
    assert w.notices(console, slept).notify().notices == ()  # failed for good: listed once
    console.close()


def test_only_billing_and_admins_notify(world: World) -> None:
    w = world
    olga = w.console("olga")
    with pytest.raises(Forbidden):
        olga.billing_notices.notify()
    with pytest.raises(Forbidden):
        olga.billing_notices.plan()
    olga.close()
    assert run_cli("billing", "notify", config=w.config, operator="olga").code == 4
    assert w.server.messages == []
    assert w.cli("--dry-run").code == 0


def test_every_notice_kind_has_texts_in_every_language() -> None:
    assert all(set(texts) == set(LANGUAGES) for texts in TEXTS.values())
    assert set(TEXTS) == {str(kind) for kind in NoticeKind}


def test_unpaid_tenants_are_suspended_days_after_they_were_told(world: World) -> None:
    w = world
    w.config.write_text(w.config.read_text() + "suspend_after_unpaid_days = 10\n")
    ada, bill = w.console("ada"), w.console("bill")
    told = bill.billing_notices.notify()  # globex unpaid, initech past due: told now
    assert told.suspensions == ()
    w.clock.now = T0 + timedelta(days=9, hours=23)
    assert bill.billing_notices.plan().suspensions == ()
    w.clock.now = T0 + timedelta(days=10)
    due = bill.billing_notices.plan()
    assert [(s.tenant, s.outcome, s.told_at) for s in due.suspensions] == [
        (GLOBEX, "due", T0), (INITECH, "due", T0),
    ]  # fmt: skip
    refused = bill.billing_notices.notify()  # the billing role may not suspend
    assert [type(s.error) for s in refused.suspensions] == [Forbidden, Forbidden]
    assert {ada.tenants.show(t).state for t in (GLOBEX, INITECH)} == {TenantState.ACTIVE}
    done = ada.billing_notices.notify()
    assert [(s.tenant, s.outcome) for s in done.suspensions] == [
        (GLOBEX, "suspended"), (INITECH, "suspended"),
    ]  # fmt: skip
    initech = ada.tenants.show(INITECH)
    assert initech.state is TenantState.SUSPENDED
    assert initech.state_reason is not None and "past_due 10 days after" in initech.state_reason
    assert ada.tenants.show(ACME).state is TenantState.ACTIVE  # ending, not unpaid
    assert ada.billing_notices.notify().suspensions == ()  # suspended already
    with ada.ctx.catalog.read() as tx:
        entries = [(e.operator, e.target, e.outcome) for e in tx.opslog.entries()
                   if e.action == "tenant.suspend"]  # fmt: skip
    assert entries == [
        ("bill", GLOBEX, "denied"), ("bill", INITECH, "denied"),
        ("ada", GLOBEX, "ok"), ("ada", INITECH, "ok"),
    ]  # fmt: skip
    cli = run_cli("billing", "notify", config=w.config, operator="bill")
    assert cli.code == 0  # the real clock: told today, not due yet
    ada.close()
    bill.close()


@pytest.mark.parametrize("value", ["0", "-3", '"14"', "true"])
def test_suspend_after_unpaid_days_is_whole_days(tmp_path: Path, value: str) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    config.write_text(
        config.read_text()
        + f'\n[billing]\napi_key_env = "K"\nsuspend_after_unpaid_days = {value}\n'
    )
    with pytest.raises(ConfigError, match="suspend_after_unpaid_days"):
        load_settings(config)


def _program(w: World, *, kill_after: int | None = None) -> int:
    """``aptien-ops billing notify`` as the real program (as bill); with ``kill_after``, sent
    SIGKILL once the SMTP server holds the MAIL command after that many messages (the
    program's last row marked sent). Returns its exit status."""
    if kill_after is not None:
        w.server.held.clear()
        w.server.release.clear()
        w.server.hold_after = kill_after
    child = subprocess.Popen(
        [str(PROGRAM), "--config", str(w.config), "billing", "notify"],
        env={**os.environ, "APTIEN_OPS_OPERATOR": "bill"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if kill_after is not None:

            def running() -> None:
                assert child.poll() is None, f"finished before it was killed: {child.stderr}"

            until(
                w.server.held.is_set, f"the server holds mail {kill_after + 1}", meanwhile=running
            )
            child.send_signal(signal.SIGKILL)
        child.communicate(timeout=240)
        return child.returncode
    finally:
        w.server.hold_after = None
        w.server.release.set()
        if child.poll() is None:
            child.kill()
            child.communicate()


def test_the_real_program_killed_mid_run_then_rerun_tells_each_once(world: World) -> None:
    w = world
    assert _program(w, kill_after=1) == -signal.SIGKILL
    assert _program(w, kill_after=2) == -signal.SIGKILL
    assert len(w.server.messages) == 2
    assert _program(w) == 0
    assert _program(w) == 0  # nothing left to tell
    assert w.server.per_recipient() == {REP[t]: 1 for t in (ACME, GLOBEX, INITECH)}
    assert len(inapp_messages(w)) == 1


def test_a_company_name_s_hidden_characters_reach_neither_mail_nor_inapp(world: World) -> None:
    w = world
    admin = w.console("ada")
    with admin.ctx.catalog.transaction() as tx:
        tenant = tx.tenants.get(ACME)
        assert tenant is not None
        tx.tenants.update(replace(tenant, company=HIDDEN), by="ada")
    admin.close()
    console = w.console()
    console.billing_notices.notify()
    console.close()
    [mail] = [m for m in w.server.messages if m.to == REP[ACME]]
    subject, body = read_mail(mail.raw)
    [(_, _, inapp_subject, inapp_body)] = inapp_messages(w)
    assert f"für {SEEN} second endet" in subject and inapp_subject == subject
    for text in (subject, body.replace("\r\n", "\n"), inapp_body):
        assert escapes_in(text) == []
    assert f"von {SEEN}\nsecond (Mandant" in inapp_body
