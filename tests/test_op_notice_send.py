"""``notice send``, ``notice update`` and ``notice deliveries`` end to end: real tenant
databases (the sandbox's SQLite clusters), a SQLite or PostgreSQL catalog, and a real SMTP
server on loopback (aiosmtpd) counting what it takes. Each representative gets each delivery
once per channel; a rerun sends nothing twice; a refused address is listed, not retried; a
server that is down, then back, still ends with exactly one message each; hostile text never
reaches the e-mail or a terminal raw."""

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
from xml.etree import ElementTree

import pytest
from test_notify_kill_cli import send_through
from waiting import until

from aptien_ops.backends.tenant_schema import utc_timestamp
from aptien_ops.composition import Console, open_console
from aptien_ops.composition.adapters import notice_channels
from aptien_ops.config import load_settings
from aptien_ops.domain import TenantState
from aptien_ops.domain.op_notices import NoticeStatus
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, PendingApproval, Unavailable
from aptien_ops.services.op_notice_send import OpNoticeSending
from aptien_ops.services.op_notices import NoticeDraft
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from hostile_data import escapes_in, hostile
from notice_reading import inapp_messages, read_mail
from sandboxes import BACKENDS, sandbox_on
from smtp_server import Counting, smtp_server
from stripe_server import free_port

T0 = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
ACME, GLOBEX, NOMAIL = "acme-gmbh", "globex", "nomail-ag"
REP = {ACME: "rep@acme.example", GLOBEX: "ap@globex.example"}
PROGRAM = Path(sys.executable).with_name("aptien-ops")


@dataclass
class World:
    config: Path
    server: Counting
    port: int
    now: datetime = T0

    def console(self, operator: str = "olga") -> Console:
        env = {"APTIEN_OPS_OPERATOR": operator}
        return open_console(self.config, clock=lambda: self.now, env=env)

    def sending(self, console: Console, slept: list[float]) -> OpNoticeSending:
        """The service as the console builds it, its retries' waits recorded, not slept."""
        channels = notice_channels(console.ctx)
        return OpNoticeSending(
            console.ctx, lambda: replace(channels, sleep=slept.append), lambda: console.inspection
        )

    def draft(self, title: str = "Database upgrade", body: str = "Read-only for an hour.") -> str:
        console = self.console()
        start = T0 + timedelta(days=2)
        given = NoticeDraft("maintenance", title, body, start, start + timedelta(hours=1),
                            regions=("eu", "us"))  # fmt: skip
        notice_id = console.op_notices.draft(given).id
        console.close()
        return notice_id


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """acme-gmbh (eu; German; its representative a user of its database), globex (us; no
    user has the representative's address) and nomail-ag (eu; no e-mail on record)."""
    config = sandbox_on(request.param, tmp_path / "sbx", request)
    with smtp_server() as (server, port):
        send_through(config, port)
        w = World(config, server, port)
        admin = w.console("ada")
        for name, country in ((ACME, "DE"), (GLOBEX, "US"), (NOMAIL, "AT")):
            admin.provisioning.provision(
                ProvisionRequest(name, country, contact_email=REP.get(name), company=f"{name} Ltd")
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
        admin.close()
        yield w


def test_each_representative_gets_the_notice_and_each_update_once(world: World) -> None:
    w = world
    notice_id = w.draft()
    console = w.console()
    slept: list[float] = []
    service = w.sending(console, slept)
    dry = service.send(notice_id, ["email", "inapp"], dry_run=True)
    assert (dry.regions, dry.representatives) == ({"eu": 2, "us": 1}, 2)
    assert dry.sample is not None and "Planned maintenance: Database upgrade" in dry.sample[0]
    assert w.server.messages == [] and inapp_messages(w) == []  # a dry run sends nothing
    assert service.deliveries(notice_id) == ()
    sent = service.send(notice_id, ["email", "inapp"])
    assert not sent.undelivered and sent.delivery is not None
    assert {c.channel: (c.sent, c.pending, c.failed) for c in sent.delivery.channels} == {
        "email": (2, 0, 0),
        "inapp": (1, 0, 0),
    }
    assert sorted(w.server.per_recipient().items()) == sorted((r, 1) for r in REP.values())
    assert any(
        n.startswith("nomail-ag:") and "no valid representative e-mail" in n for n in sent.notes
    )
    mails = {m.to: m for m in w.server.messages}
    subject, body = read_mail(mails[REP[ACME]].raw)
    assert subject == "Geplante Wartung: Database upgrade"  # de-AT reads German
    assert "Read-only for an hour." in body and notice_id in body
    assert mails[REP[GLOBEX]].message_id.startswith("<operational.")
    assert [(kind, subject) for _, kind, subject, _ in inapp_messages(w)] == [
        ("operational-notice", subject)
    ]
    assert console.op_notices.show(notice_id).notice.status == NoticeStatus.SCHEDULED
    again = service.send(notice_id, ["email"])  # a rerun: the delivery is done, nothing sent
    assert again.resumed and len(w.server.messages) == 2 and len(inapp_messages(w)) == 1
    w.now = T0 + timedelta(days=2, minutes=5)
    update = service.update(notice_id, "in-progress", "Started on time.")
    assert update.delivery is not None and not update.undelivered
    assert sorted(w.server.per_recipient().items()) == sorted((r, 2) for r in REP.values())
    newest = [m for m in w.server.messages if m.to == REP[GLOBEX]][-1]
    subject, body = read_mail(newest.raw)
    assert subject == "Update: Planned maintenance: Database upgrade"
    assert "Started on time." in body and "Status: in progress" in body
    assert len(inapp_messages(w)) == 2
    shown = [(d.step.kind, d.step.status) for d in service.deliveries(notice_id)]
    assert [(str(k), str(s)) for k, s in shown] == [
        ("sent", "scheduled"),
        ("update", "in-progress"),
    ]
    service.send(notice_id)  # resumes the update: nothing pending, nothing sent
    assert len(w.server.messages) == 4
    done = service.update(notice_id, "resolved", "Finished.")
    assert done.delivery is not None
    assert console.op_notices.show(notice_id).notice.status == NoticeStatus.RESOLVED
    with pytest.raises(Conflict, match="resolved"):
        service.update(notice_id, "in-progress", "again")
    assert slept == []
    console.close()


def test_a_refused_address_is_listed_a_4xx_is_retried_and_a_server_down_resends_nothing(
    world: World,
) -> None:
    w = world
    notice_id = w.draft()
    w.server.permanent.add(REP[GLOBEX])
    w.server.transient[REP[ACME]] = 1
    console = w.console()
    slept: list[float] = []
    service = w.sending(console, slept)
    sent = service.send(notice_id, ["email"])
    assert sent.undelivered and sent.delivery is not None
    assert [(c.sent, c.pending, c.failed) for c in sent.delivery.channels] == [(1, 0, 1)]
    assert w.server.per_recipient() == {REP[ACME]: 1}
    assert len(slept) == 1  # the 451 waited its backoff once
    [refused] = sent.delivery.failed  # reported: who, on which channel, why (no address)
    assert (refused.channel, refused.recipient, refused.attempts) == (
        "email",
        f"{GLOBEX}/representative",
        1,
    )
    assert (refused.reason or "").startswith("550")
    again = service.send(notice_id, ["email"])  # the failed one is not retried
    assert again.resumed and w.server.per_recipient() == {REP[ACME]: 1}
    listed = run_cli("notice", "deliveries", notice_id, config=w.config, operator="vic")
    assert listed.code == 0
    assert f"failed email {GLOBEX}/representative after 1 attempt: 550" in listed.stdout
    assert REP[GLOBEX] not in listed.stdout
    console.close()
    # An update while the server is down: nothing goes out, the rows stay pending.
    send_through(w.config, free_port())  # nobody listens there
    down = w.console()
    with pytest.raises(Unavailable, match="stopped: SMTP server") as stopped:
        w.sending(down, []).update(notice_id, "in-progress", "Started.")
    assert "notice send NTC-2027-0001 again" in (stopped.value.hint or "")
    down.close()
    send_through(w.config, w.port)
    back = w.console()
    w.server.permanent.clear()
    resumed = w.sending(back, []).send(notice_id)
    assert resumed.resumed and resumed.delivery is not None
    assert [(c.sent, c.pending, c.failed) for c in resumed.delivery.channels] == [(2, 0, 0)]
    assert w.server.per_recipient() == {REP[ACME]: 2, REP[GLOBEX]: 1}
    back.close()


def test_a_scope_reaching_nobody_now_sends_nothing_and_viewers_send_nothing(
    world: World,
) -> None:
    w = world
    notice_id = w.draft()
    viewer = w.console("vic")
    with pytest.raises(Forbidden):
        viewer.op_notice_sending.send(notice_id)
    viewer.close()
    admin = w.console("ada")
    with admin.ctx.catalog.transaction() as tx:
        for name in (ACME, GLOBEX, NOMAIL):
            tenant = tx.tenants.get(name)
            assert tenant is not None
            tx.tenants.update(replace(tenant, state=TenantState.CANCELLED), by="ada")
    with pytest.raises(InvalidInput, match="reaches no active or suspended tenant now"):
        admin.op_notice_sending.send(notice_id)
    assert w.server.messages == [] and admin.op_notice_sending.deliveries(notice_id) == ()
    assert admin.op_notices.show(notice_id).notice.status == NoticeStatus.DRAFT
    with pytest.raises(InvalidInput, match="--channels website alone tells nobody"):
        admin.op_notice_sending.send(notice_id, ["website"])
    admin.close()


def test_hostile_titles_and_bodies_reach_neither_the_mail_nor_the_terminal_raw(
    world: World,
) -> None:
    w = world
    notice_id = w.draft(hostile("title"), hostile("body") + "\nsecond line")
    dry = run_cli("notice", "send", notice_id, "--dry-run", config=w.config, operator="olga")
    assert dry.code == 0, dry.stderr
    assert escapes_in(dry.stdout) == [] and "pwned-rlo" in dry.stdout
    sent = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert sent.code == 0, sent.stderr
    for message in w.server.messages:
        subject, body = read_mail(message.raw)
        assert escapes_in(subject) == [] and escapes_in(body.replace("\r\n", "\n")) == []
        assert "second line" in body
    listed = run_cli("notice", "deliveries", notice_id, config=w.config, operator="vic")
    assert listed.code == 0 and "sent" in listed.stdout


def test_each_region_s_status_page_shows_its_sent_notices_escaped_in_html_json_and_atom(
    world: World,
) -> None:
    w = world
    evil = '<script>alert("x")</script> & </entry>'
    sent_id = w.draft(evil, "Body <b>bold</b>")
    draft_id = w.draft("Only a draft")
    console = w.console()
    w.sending(console, []).send(sent_id, ["email"])
    published = console.op_notice_status.publish()
    assert published.regions == {"eu": 1, "us": 1}
    website = load_settings(w.config).notifications.website.dir
    for region in ("eu", "us"):
        html = (website / region / "status.html").read_text()
        assert "&lt;script&gt;" in html and "<script>" not in html
        assert "Body &lt;b&gt;bold&lt;/b&gt;" in html and draft_id not in html
        feed = json.loads((website / region / "status.json").read_text())
        assert [(n["id"], n["title"], n["status"]) for n in feed["notices"]] == [
            (sent_id, evil, "scheduled")
        ]
        atom = ElementTree.parse(website / region / "status.atom").getroot()
        ns = "{http://www.w3.org/2005/Atom}"
        assert [e.findtext(f"{ns}title") for e in atom.iter(f"{ns}entry")] == [evil]
    w.now = T0 + timedelta(days=3)
    console.close()
    console = w.console()
    w.sending(console, []).update(sent_id, "resolved", "Done.")
    w.now = T0 + timedelta(days=3 + 91)  # resolved more than 90 days ago: off the page
    assert console.op_notice_status.publish().regions == {"eu": 0, "us": 0}
    assert json.loads((website / "eu" / "status.json").read_text())["notices"] == []
    assert [p.name for p in (website / "eu").iterdir() if p.name.startswith(".")] == []
    console.close()


def _send_stopped(w: World, notice_id: str, held_after: int, signum: int) -> tuple[int, str]:
    """``notice send`` (e-mail) as the real program, sent ``signum`` once the server holds the
    MAIL that follows its ``held_after``-th message: its exit status and stderr."""
    argv = [str(PROGRAM), "--config", str(w.config), "notice", "send", notice_id]
    env = {**os.environ, "APTIEN_OPS_OPERATOR": "olga"}
    w.server.held.clear()
    w.server.release.clear()
    w.server.hold_after = held_after
    child = subprocess.Popen(
        [*argv, "--channels", "email"], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def running() -> None:
            assert child.poll() is None, "finished before it was stopped"

        until(w.server.held.is_set, f"the server holds mail {held_after + 1}", meanwhile=running)
        child.send_signal(signum)
        out, err = child.communicate(timeout=240)
        assert out == "" or signum == signal.SIGKILL, out
        return child.returncode, err
    finally:
        w.server.release.set()
        w.server.hold_after = None
        if child.poll() is None:
            child.kill()
            child.communicate()


def _five_representatives(w: World) -> dict[str, int]:
    """Three tenants more with a representative each: five e-mails a delivery, one each."""
    admin = w.console("ada")
    more = {f"client-{i}": f"ops@client-{i}.example" for i in range(3)}
    for name, email in more.items():
        admin.provisioning.provision(ProvisionRequest(name, "DE", contact_email=email))
    admin.close()
    return {**{REP[ACME]: 1, REP[GLOBEX]: 1}, **{email: 1 for email in more.values()}}


def test_the_real_program_killed_mid_send_then_rerun_tells_each_representative_once(
    world: World,
) -> None:
    w = world
    wanted = _five_representatives(w)
    notice_id = w.draft()
    killed_mid_send(w, notice_id)
    done = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert done.code == 0, done.stderr
    assert done.json()["resumed"] is True
    assert w.server.per_recipient() == wanted
    again = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert again.code == 0 and w.server.per_recipient() == wanted
    shown = run_cli("--json", "notice", "deliveries", notice_id, config=w.config, operator="vic")
    [delivery] = shown.json()
    assert delivery["channels"] == {"email": {"sent": 5, "pending": 0, "failed": 0}}


def killed_mid_send(w: World, notice_id: str, held: tuple[int, ...] = (1, 3)) -> None:
    """Run the installed ``aptien-ops notice send ID --channels email`` once per number in
    ``held`` and kill it with SIGKILL while the server holds the message after that many."""
    for held_after in held:
        assert _send_stopped(w, notice_id, held_after, signal.SIGKILL)[0] == -signal.SIGKILL


def test_without_a_terminal_progress_is_a_line_per_tenth_not_one_per_email(world: World) -> None:
    w = world
    admin = w.console("ada")
    tenant = admin.tenants.show(ACME)
    with admin.ctx.store(tenant.cluster or "").connect(ACME) as conn:
        conn.executemany(
            "INSERT INTO users (email, created_at) VALUES (?, ?)",
            [(f"user{n}@acme.example", utc_timestamp(T0)) for n in range(40)],
        )
        conn.commit()
    start = T0 + timedelta(days=2)
    given = NoticeDraft("maintenance", "Upgrade", "Short.", start, start + timedelta(hours=1),
                        tenants=(ACME,), audience="users")  # fmt: skip
    notice_id = admin.op_notices.draft(given).id
    with pytest.raises(PendingApproval) as asked:
        admin.op_notice_sending.send(notice_id)
    sam = w.console("sam")
    sam.approvals.approve(asked.value.approval_id)
    sam.close()
    admin.close()
    admin.close()
    sent = run_cli("notice", "send", notice_id, "--channels", "email", config=w.config,
                   operator="olga")  # fmt: skip
    assert sent.code == 0, sent.stderr
    told = 42  # the 40 and the two of the world
    assert len(w.server.messages) == told
    progress = [line for line in sent.stderr.splitlines() if line.startswith("email")]
    assert progress[-1].split() == ["email", f"{told}/{told}"]  # the totals, once
    # the first, one per tenth of the work, the last
    assert len(progress) <= 12 and "\r" not in sent.stderr, progress


def test_a_blank_from_is_now_to_the_minute_in_the_record_the_mail_and_the_status_page(
    world: World,
) -> None:
    w = world
    w.now = T0 + timedelta(seconds=37, microseconds=123456)
    console = w.console()
    given = NoticeDraft("outage", "Slow logins", "Investigating.", None, None, regions=("us",))
    notice_id = console.op_notices.draft(given).id  # from: blank (now); to: open-ended
    assert console.op_notices.show(notice_id).notice.starts_at == T0
    shown = run_cli("--json", "notice", "show", notice_id, config=w.config, operator="vic")
    assert shown.json()["starts_at"] == "2027-06-01T08:00:00Z", shown.stdout
    w.sending(console, []).send(notice_id, ["email"])
    [mail] = w.server.messages
    _, body = read_mail(mail.raw)
    assert "When: 2027-06-01T08:00:00Z to until further notice (UTC)" in body, body
    console.op_notice_status.publish()
    feed = load_settings(w.config).notifications.website.dir / "us" / "status.json"
    [published] = json.loads(feed.read_text())["notices"]
    assert published["starts_at"] == "2027-06-01T08:00:00Z"
    w.now = T0 + timedelta(hours=2, seconds=5, microseconds=9)
    resolved = console.op_notices.resolve(notice_id, None).notice
    assert resolved.ends_at == T0 + timedelta(hours=2)  # ended now, to the minute too
    console.close()
