"""Operational notices on both catalogs: drafting with a scope resolved to the active and
suspended tenants it names and stored with the notice, the window and status rules, who may
write and see them, and the command line (exit codes, hostile text never raw)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from partner_world import START, PartnerWorld
from sqlalchemy import update

from aptien_ops.backends import catalog_schema as s
from aptien_ops.domain import TenantState
from aptien_ops.domain.op_notices import NoticeStatus, StepKind
from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from aptien_ops.services.op_notices import NoticeDraft

from cli_runner import run_cli
from hostile_data import escapes_in, hostile


@pytest.fixture
def world(catalog_config: Path) -> Iterator[PartnerWorld]:
    w = PartnerWorld(catalog_config)
    w.tenant("acme-gmbh")
    w.tenant("beta-ag", state=TenantState.SUSPENDED)
    w.tenant("gone-gmbh", state=TenantState.CANCELLED)
    w.tenant("purged-kg", state=TenantState.PURGED)
    w.tenant("globex", "US", "us")
    yield w
    w.close()


def draft(kind: str = "maintenance", **scope: object) -> NoticeDraft:
    window = {"starts_at": START + timedelta(days=2), "ends_at": START + timedelta(days=2, hours=1)}
    return NoticeDraft(
        kind,
        "Database upgrade",
        "Read-only for **an hour**.\n\n- be patient",
        **{**window, **scope},
    )  # type: ignore[arg-type]


def entries(world: PartnerWorld, action: str) -> list[str]:
    with world.as_("ada").ctx.catalog.read() as tx:
        return [e.outcome for e in tx.opslog.entries() if e.action == action]


def test_a_cluster_scope_reaches_its_active_and_suspended_tenants_only(
    world: PartnerWorld,
) -> None:
    detail = world.as_("olga").op_notices.draft(draft(clusters=("eu-sandbox-1",)))
    assert detail.id == "NTC-2027-0001"
    assert [t.tenant for t in detail.tenants] == ["acme-gmbh", "beta-ag"]
    assert detail.regions == {"eu": 2}
    assert detail.notice.status == NoticeStatus.DRAFT
    assert detail.notice.body == "Read-only for **an hour**.\n\n- be patient"
    [step] = detail.steps
    assert (step.kind, step.operator, step.at) == (StepKind.DRAFTED, "olga", START)
    assert step.text == "scope clusters eu-sandbox-1: 2 tenants"
    everyone = world.as_("olga").op_notices.draft(draft(everything=True))
    assert [t.tenant for t in everyone.tenants] == ["acme-gmbh", "beta-ag", "globex"]
    by_region = world.as_("olga").op_notices.draft(draft(regions=("us",)))
    assert [(t.tenant, t.cluster) for t in by_region.tenants] == [("globex", "us-sandbox-1")]
    named = world.as_("olga").op_notices.draft(draft(tenants=("globex", "gone-gmbh")))
    assert [t.tenant for t in named.tenants] == ["globex"]
    shown = world.as_("vic").op_notices.show(detail.id)
    assert shown.as_json()["scope_tenants"] == 2
    rows = world.as_("vic").op_notices.list()
    listed = [r.notice.id for r in rows]
    assert listed == ["NTC-2027-0001", "NTC-2027-0002", "NTC-2027-0003", "NTC-2027-0004"]
    # Each with its stored scope counted per region, in one read (the Notices screen's column).
    assert [r.regions for r in rows] == [{"eu": 2}, {"eu": 2, "us": 1}, {"us": 1}, {"us": 1}]
    assert entries(world, "notice.draft") == ["ok"] * 4


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"tenants": ("gone-gmbh", "purged-kg")}, "reaches no active or suspended tenant"),
        ({"tenants": ("nobody-here",)}, "reaches no active or suspended tenant"),
        ({"clusters": ("mars-1",)}, "unknown cluster 'mars-1'"),
        ({"regions": ("eu",), "everything": True}, "exactly one scope"),
        ({}, "exactly one scope"),
        ({"tenants": ("Not A Name",)}, "invalid tenant name"),
    ],
)
def test_a_scope_that_reaches_nobody_or_is_malformed_drafts_nothing(
    world: PartnerWorld, scope: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        world.as_("olga").op_notices.draft(draft(**scope))
    assert world.as_("olga").op_notices.list(everything=True) == []


def test_the_window_and_the_fields_are_checked_before_anything_is_written(
    world: PartnerWorld,
) -> None:
    olga = world.as_("olga").op_notices
    backwards = draft(tenants=("acme-gmbh",), ends_at=START + timedelta(days=1))
    with pytest.raises(InvalidInput, match="ends before it starts"):
        olga.draft(backwards)
    with pytest.raises(InvalidInput, match="unknown notice kind"):
        olga.draft(draft("party", tenants=("acme-gmbh",)))
    with pytest.raises(InvalidInput, match="the notice body must be at most 8,000"):
        olga.draft(NoticeDraft("change", "t", "x" * 8001, tenants=("acme-gmbh",)))
    with pytest.raises(InvalidInput, match="the notice title is empty"):
        olga.draft(NoticeDraft("change", "  ", "b", tenants=("acme-gmbh",)))
    assert olga.list(everything=True) == []
    assert entries(world, "notice.draft") == []  # refused before the attempt


def test_an_open_ended_outage_is_resolved_once_and_its_window_ends_then(
    world: PartnerWorld,
) -> None:
    outage = NoticeDraft("outage", "API errors", "Investigating.", START, tenants=("acme-gmbh",))
    opened = world.as_("olga").op_notices.draft(outage)
    assert opened.notice.ends_at is None
    world.now = START + timedelta(hours=3)
    done = world.as_("ada").op_notices.resolve(opened.id, "Fixed: a bad deploy.")
    assert done.notice.status == NoticeStatus.RESOLVED
    assert done.notice.ends_at == START + timedelta(hours=3)
    assert [(s.kind, s.operator, s.text) for s in done.steps][1:] == [
        (StepKind.RESOLVED, "ada", "Fixed: a bad deploy.")
    ]
    with pytest.raises(Conflict, match="resolved already"):
        world.as_("olga").op_notices.resolve(opened.id)
    with pytest.raises(Conflict, match="resolved already"):
        world.as_("olga").op_notices.cancel(opened.id, "late")
    assert world.as_("vic").op_notices.list() == []  # finished: only with everything
    assert [r.notice.id for r in world.as_("vic").op_notices.list(everything=True)] == [opened.id]
    assert [r.notice.id for r in world.as_("vic").op_notices.list(status="resolved")] == [opened.id]


def test_a_cancel_needs_a_reason_and_keeps_the_window(world: PartnerWorld) -> None:
    opened = world.as_("olga").op_notices.draft(draft(tenants=("acme-gmbh",)))
    with pytest.raises(InvalidInput, match="needs a reason"):
        world.as_("olga").op_notices.cancel(opened.id, " ")
    gone = world.as_("olga").op_notices.cancel(opened.id, "postponed")
    assert gone.notice.status == NoticeStatus.CANCELLED
    assert gone.notice.ends_at == opened.notice.ends_at
    assert gone.steps[-1].text == "postponed"
    with pytest.raises(NotFound, match="no notice NTC-2027-0404"):
        world.as_("olga").op_notices.cancel("NTC-2027-0404", "x")
    with pytest.raises(InvalidInput, match="invalid notice id"):
        world.as_("olga").op_notices.show("INC-2027-0001")


def test_viewers_see_notices_and_only_operators_and_admins_write_them(
    world: PartnerWorld,
) -> None:
    opened = world.as_("ada").op_notices.draft(draft(tenants=("acme-gmbh",)))
    for who in ("vic", "sam", "bill", "pat"):
        assert world.as_(who).op_notices.show(opened.id).id == opened.id
        with pytest.raises(Forbidden):
            world.as_(who).op_notices.draft(draft(tenants=("acme-gmbh",)))
        with pytest.raises(Forbidden):
            world.as_(who).op_notices.resolve(opened.id)
    assert entries(world, "notice.draft") == ["ok"] + ["denied"] * 4


def test_a_tenant_moving_after_the_draft_stays_in_the_stored_scope_and_it_says_so(
    world: PartnerWorld,
) -> None:
    opened = world.as_("olga").op_notices.draft(draft(clusters=("eu-sandbox-1",)))
    with world.as_("ada").ctx.catalog.transaction() as tx:
        tx.conn.execute(  # type: ignore[attr-defined]
            update(s.tenants)
            .where(s.tenants.c.name == "acme-gmbh")
            .values(cluster="us-sandbox-1", region="us")
        )
        tx.conn.execute(  # type: ignore[attr-defined]
            update(s.tenants).where(s.tenants.c.name == "beta-ag").values(state="cancelled")
        )
    shown = world.as_("vic").op_notices.show(opened.id)
    assert [t.tenant for t in shown.tenants] == ["acme-gmbh", "beta-ag"]
    assert [m.words() for m in shown.moved] == [
        "acme-gmbh moved eu-sandbox-1 -> us-sandbox-1 (still told: the stored scope)",
        "beta-ag is cancelled now (not told)",
    ]


def test_the_command_line_shows_hostile_text_escaped_and_exits_2_for_an_empty_scope(
    world: PartnerWorld,
) -> None:
    config = world.config
    title, body = hostile("title"), hostile("body") + "\nline two"
    common = ("--title", title, "--body", body, "--from", "2027-03-03T22:00Z")
    made = run_cli(
        "--json",
        "notice",
        "draft",
        "--kind",
        "change",
        *common,
        "--tenants",
        "acme-gmbh",
        config=config,
        operator="olga",
    )
    assert made.code == 0, made.stderr
    notice_id = made.json()["id"]
    assert made.json()["title"] == title  # JSON keeps the text, escaped by the encoder
    for command in (("show", notice_id), ("list",)):
        shown = run_cli("notice", *command, config=config, operator="vic")
        assert shown.code == 0, shown.stderr
        assert escapes_in(shown.stdout) == []
        assert "\\x1b]52;" in shown.stdout
    shown = run_cli("notice", "show", notice_id, config=config, operator="vic")
    assert "line two" in shown.stdout.splitlines()[-8:-1] or "line two" in shown.stdout
    nobody = run_cli(
        "--json",
        "notice",
        "draft",
        "--kind",
        "change",
        *common,
        "--tenants",
        "gone-gmbh",
        config=config,
        operator="olga",
    )
    assert nobody.code == 2
    assert "reaches no active or suspended tenant" in nobody.error()["message"]
    refused = run_cli(
        "notice", "draft", "--kind", "change", *common, "--all", config=config, operator="vic"
    )
    assert refused.code == 4
    listed = run_cli("--json", "notice", "list", config=config, operator="vic")
    assert [n["id"] for n in listed.json()] == [notice_id]
    gone = run_cli(
        "notice", "cancel", "NTC-2027-0404", "--reason", "x", config=config, operator="olga"
    )
    assert gone.code == 3
