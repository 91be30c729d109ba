"""An operational notice told to the tenants' users (read from the tenant databases) and to
both audiences, under four-eyes; ``notice edit`` and the approval it voids; the status pages
rewritten by every send, update, edit, resolve and cancel; ``--channels website`` alone; a
tenant moved between draft and send. Real tenant databases (the sandbox's SQLite clusters),
SQLite and PostgreSQL catalogs, a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update
from test_op_notice_send import ACME, GLOBEX, REP, T0, World, killed_mid_send, world

from aptien_ops.backends import catalog_schema as s
from aptien_ops.config import load_settings
from aptien_ops.domain import TenantState
from aptien_ops.domain.op_notices import NoticeStatus, StepKind
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, PendingApproval
from aptien_ops.services.op_notices import NoticeDraft, NoticeEdit
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import run_cli
from notice_reading import inapp_messages, read_mail

__all__ = ["world"]

SOMEONE = "someone@acme.example"


def draft(w: World, audience: str, **scope: tuple[str, ...]) -> str:
    console = w.console()
    start = T0 + timedelta(days=2)
    given = NoticeDraft(
        "maintenance", "Database upgrade", "Read-only for an hour.", start,
        start + timedelta(hours=1), audience=audience, **(scope or {"regions": ("eu", "us")}),
    )  # fmt: skip
    notice_id = console.op_notices.draft(given).id
    console.close()
    return notice_id


def requested(call: object) -> int:
    with pytest.raises(PendingApproval) as pending:
        call()  # type: ignore[operator]
    return pending.value.approval_id


def approve(w: World, approval_id: int, who: str = "sam") -> None:
    console = w.console(who)
    console.approvals.approve(approval_id)
    console.close()


def test_users_are_told_only_after_a_second_operator_approves_and_each_once(
    world: World,
) -> None:
    w = world
    notice_id = draft(w, "both")
    olga = w.console()
    dry = olga.op_notice_sending.send(notice_id, ["email", "inapp"], dry_run=True)
    assert any("four-eyes" in note for note in dry.notes) and dry.audience == "both"
    assert not dry.users_approved and dry.approvers == "another admin or security operator"
    first = requested(lambda: olga.op_notice_sending.send(notice_id))
    assert w.server.messages == [] and inapp_messages(w) == []  # recorded, nothing sent
    assert requested(lambda: olga.op_notice_sending.send(notice_id)) == first  # no second one
    with pytest.raises(Forbidden):
        olga.approvals.approve(first)  # operators approve nothing; nor does anyone their own
    approve(w, first)
    dry = olga.op_notice_sending.send(notice_id, dry_run=True)
    assert dry.users_approved and dry.as_json()["users_approved"] is True
    sent = olga.op_notice_sending.send(notice_id)
    assert sent.delivery is not None and not sent.undelivered
    # acme's representative once (the user with that address is told as the representative),
    # acme's other user, globex's representative; nomail-ag has neither.
    assert w.server.per_recipient() == {REP[ACME]: 1, REP[GLOBEX]: 1, SOMEONE: 1}
    assert (sent.users, sent.representatives) == (1, 2)
    assert len(inapp_messages(w)) == 2
    steps = olga.op_notices.show(notice_id).steps
    assert [s.kind for s in steps] == [StepKind.DRAFTED, StepKind.APPROVED, StepKind.SENT]
    assert steps[1].operator == "sam" and f"#{first}" in (steps[1].text or "")
    olga.op_notice_sending.send(notice_id)  # a rerun: nothing twice
    assert w.server.per_recipient() == {REP[ACME]: 1, REP[GLOBEX]: 1, SOMEONE: 1}
    # An edit after the approval voids it: the next update is a new request, then sent.
    edited = olga.op_notices.edit(notice_id, NoticeEdit(title="Database upgrade, moved"))
    assert edited.steps[-1].kind == StepKind.EDITED
    assert f"approval to tell its users (#{first}) is void" in (edited.steps[-1].text or "")
    second = requested(lambda: olga.op_notice_sending.update(notice_id, "scheduled", "Later."))
    assert second != first and len(w.server.messages) == 3
    approve(w, second, "ada")
    update_ = olga.op_notice_sending.update(notice_id, "scheduled", "Later.")
    assert update_.delivery is not None and not update_.undelivered
    assert w.server.per_recipient() == {REP[ACME]: 2, REP[GLOBEX]: 2, SOMEONE: 2}
    newest = [m for m in w.server.messages if m.to == SOMEONE][-1]
    subject, _ = read_mail(newest.raw)
    assert subject == "Aktualisierung: Geplante Wartung: Database upgrade, moved"  # de-AT
    with olga.ctx.catalog.read() as tx:  # the ops log counts the users told, names none
        logged = [e for e in tx.opslog.entries() if e.action in ("notice.send", "notice.update")]
    assert [(e.action, e.outcome) for e in logged] == [
        ("notice.send", "ok"),
        ("notice.send", "ok"),
        ("notice.update", "ok"),
    ]
    assert json.loads(logged[0].params)["users"] == 1
    assert not any("@" in e.params for e in logged)
    olga.close()


def test_a_notice_edited_after_the_request_voids_the_approval_and_sends_nothing(
    world: World,
) -> None:
    w = world
    notice_id = draft(w, "users")
    olga = w.console()
    asked = requested(lambda: olga.op_notice_sending.send(notice_id, ["email"]))
    olga.op_notices.edit(notice_id, NoticeEdit(body="Read-only for two hours."))
    sam = w.console("sam")
    with pytest.raises(Conflict, match="edited after request #.*the approval is void"):
        sam.approvals.approve(asked)
    sam.close()
    assert w.server.messages == []
    again = requested(lambda: olga.op_notice_sending.send(notice_id, ["email"]))
    assert again != asked  # the old request no longer matches the notice
    approve(w, again)
    olga.op_notice_sending.send(notice_id, ["email"])
    assert w.server.per_recipient() == {SOMEONE: 1, REP[ACME].upper(): 1}  # users only
    _, body = read_mail(w.server.messages[0].raw)
    assert "Read-only for two hours." in body
    olga.close()


def test_edit_changes_a_draft_or_scheduled_notice_only(world: World) -> None:
    w = world
    notice_id = draft(w, "representatives")
    olga = w.console()
    moved = olga.op_notices.edit(
        notice_id, NoticeEdit(starts_at=T0 + timedelta(days=3), open_ended=True)
    )
    assert (moved.notice.starts_at, moved.notice.ends_at) == (T0 + timedelta(days=3), None)
    assert moved.steps[-1].text == "edited: starts_at, ends_at"
    with pytest.raises(InvalidInput, match="nothing to change"):
        olga.op_notices.edit(notice_id, NoticeEdit())
    with pytest.raises(InvalidInput, match="ends before it starts"):
        olga.op_notices.edit(notice_id, NoticeEdit(ends_at=T0))
    olga.op_notices.cancel(notice_id, "postponed")
    with pytest.raises(Conflict, match="only a draft or a scheduled notice"):
        olga.op_notices.edit(notice_id, NoticeEdit(title="x"))
    olga.close()
    vic = run_cli("notice", "edit", notice_id, "--title", "x", config=w.config, operator="vic")
    assert vic.code == 4
    other = draft(w, "representatives")
    window = ("--window", "2027-06-05T22:00Z..2027-06-05T23:30Z")
    moved_cli = run_cli(
        "--json", "notice", "edit", other, *window, config=w.config, operator="olga"
    )
    assert moved_cli.code == 0, moved_cli.stderr
    assert (moved_cli.json()["starts_at"], moved_cli.json()["ends_at"]) == (
        "2027-06-05T22:00:00Z",
        "2027-06-05T23:30:00Z",
    )
    both = run_cli(
        "notice", "edit", other, *window, "--open-ended", config=w.config, operator="olga"
    )
    assert both.code == 2 and "not both" in both.stderr


def _feed(w: World, region: str = "eu") -> list[tuple[str, str, str]]:
    website = load_settings(w.config).notifications.website.dir
    assert [p.name for p in (website / region).iterdir() if p.name.startswith(".")] == []
    notices = json.loads((website / region / "status.json").read_text())["notices"]
    return [(n["id"], n["status"], n["title"]) for n in notices]


def test_every_send_update_edit_resolve_and_cancel_rewrites_the_status_pages(
    world: World,
) -> None:
    w = world
    first, second = draft(w, "representatives"), draft(w, "representatives")
    olga = w.console()
    olga.op_notices.edit(first, NoticeEdit(title="Only a draft yet"))
    website = load_settings(w.config).notifications.website.dir
    assert not (website / "eu").exists()  # a draft is on no page: nothing written
    olga.op_notice_sending.send(first, ["email"])
    assert _feed(w) == [(first, "scheduled", "Only a draft yet")]
    olga.op_notices.edit(first, NoticeEdit(title="Database upgrade"))
    assert _feed(w) == [(first, "scheduled", "Database upgrade")]
    w.now = T0 + timedelta(days=2, minutes=1)
    olga.op_notice_sending.update(first, "in-progress", "Started.")
    assert _feed(w, "us") == [(first, "in-progress", "Database upgrade")]
    olga.op_notice_sending.send(second, ["email"])
    olga.op_notices.resolve(first, "Done.")
    olga.op_notices.cancel(second, "not needed after all")
    assert sorted(_feed(w)) == sorted(
        [(first, "resolved", "Database upgrade"), (second, "cancelled", "Database upgrade")]
    )
    olga.close()


def test_website_alone_is_refused_and_an_empty_scope_sends_nothing_on_the_command_line(
    world: World,
) -> None:
    w = world
    notice_id = draft(w, "representatives")
    alone = run_cli(
        "--json", "notice", "send", notice_id, "--channels", "website",
        config=w.config, operator="olga",
    )  # fmt: skip
    assert alone.code == 2
    assert alone.error()["message"].startswith("--channels website alone tells nobody")
    assert w.server.messages == []
    users = draft(w, "users")
    asked = run_cli("--json", "notice", "send", users, config=w.config, operator="olga")
    assert asked.code == 8 and w.server.messages == []
    # Who may approve it, in the request's own words: security operators too, not only admins.
    error = asked.error()
    assert error["approvers"] == ["admin", "security"]
    assert error["message"] == (
        f"telling the users of {users} needs the approval of another admin or security"
        f" operator; request #{error['approval_id']} recorded"
    )
    again = run_cli("notice", "send", users, config=w.config, operator="olga")
    assert again.code == 8 and "second admin" not in again.stderr
    assert "needs the approval of another admin or security operator" in again.stderr
    assert (
        f"another admin or security operator runs: aptien-ops approval approve"
        f" {error['approval_id']}" in again.stderr
    )
    admin = w.console("ada")
    with admin.ctx.catalog.transaction() as tx:
        for name in (ACME, GLOBEX, "nomail-ag"):
            tenant = tx.tenants.get(name)
            assert tenant is not None
            tx.tenants.update(replace(tenant, state=TenantState.CANCELLED), by="ada")
    admin.close()
    nobody = run_cli(
        "notice", "send", notice_id, "--channels", "email,website",
        config=w.config, operator="olga",
    )  # fmt: skip
    assert nobody.code == 2 and "reaches no active or suspended tenant now" in nobody.stderr
    assert w.server.messages == []


def test_a_tenant_moved_to_another_cluster_after_the_draft_is_told_by_the_stored_scope(
    world: World,
) -> None:
    w = world
    notice_id = draft(w, "representatives", clusters=("eu-sandbox-1",))
    admin = w.console("ada")
    with admin.ctx.catalog.transaction() as tx:
        tx.conn.execute(  # type: ignore[attr-defined]
            update(s.tenants)
            .where(s.tenants.c.name == ACME)
            .values(cluster="us-sandbox-1", region="us")
        )
    admin.close()
    olga = w.console()
    sent = olga.op_notice_sending.send(notice_id, ["email"])
    assert (
        f"{ACME} moved eu-sandbox-1 -> us-sandbox-1 since the draft: told (the stored scope)"
        in (sent.notes)
    )
    assert w.server.per_recipient() == {REP[ACME]: 1}  # globex (us) was never in the scope
    assert olga.op_notices.show(notice_id).notice.status == NoticeStatus.SCHEDULED
    olga.close()


def test_users_killed_mid_send_then_rerun_are_each_told_once(world: World) -> None:
    w = world
    admin = w.console("ada")
    more = {f"client-{i}": f"ops@client-{i}.example" for i in range(2)}
    for name, email in more.items():
        admin.provisioning.provision(ProvisionRequest(name, "DE", contact_email=email))
    admin.close()
    notice_id = draft(w, "both")
    olga = w.console()
    approve(w, requested(lambda: olga.op_notice_sending.send(notice_id, ["email"])))
    olga.close()
    killed_mid_send(w, notice_id)  # the approved send, killed at its 2nd and then 4th mail
    done = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert done.code == 0, done.stderr
    assert (done.json()["resumed"], done.json()["users"]) == (True, 1)
    wanted = {REP[ACME]: 1, REP[GLOBEX]: 1, SOMEONE: 1, **{e: 1 for e in more.values()}}
    assert w.server.per_recipient() == wanted
    again = run_cli("--json", "notice", "send", notice_id, config=w.config, operator="olga")
    assert again.code == 0 and w.server.per_recipient() == wanted
