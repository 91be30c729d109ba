"""The production trust model, tried as an operator with a copy of the config would.

Each test runs on a production catalog in a SQLite file and in a fresh database of the suite's
PostgreSQL server. Consoles are opened as the account sudo would report (``identity=``):
``ada`` and ``bob`` are the first admins, ``olga`` an operator, ``vic`` a viewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.domain import ApprovalState, Identity, utcnow
from aptien_ops.errors import Conflict, Forbidden, IntegrityFailure, InvalidInput, PendingApproval
from aptien_ops.sandbox import write_sandbox_config

SQLITE_CATALOG_URL = 'url = "sqlite:///{data_dir}/catalog.db"'

Opener = Callable[..., Console]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def production(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A production config (catalog not created yet) whose first admins are ada and bob."""
    config, _ = write_sandbox_config(tmp_path / "prod")
    body = config.read_text(encoding="utf-8")
    body = body.replace('mode = "sandbox"', 'mode = "production"', 1)
    body = body.replace("initial_admins = []", 'initial_admins = ["ada", "bob"]', 1)
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.url(server.fresh_database("catalog"))
        body = body.replace(SQLITE_CATALOG_URL, f'url = "{url}"', 1)
    config.write_text(body, encoding="utf-8")
    return config


@pytest.fixture
def as_(production: Path) -> Iterator[Opener]:
    """``as_("bob")``: a console acting as bob (``clock=`` for one that lives later)."""
    opened: list[Console] = []

    def open_as(name: str, *, clock: Callable[[], datetime] | None = None) -> Console:
        who = Identity(name, name, None, f"s-{name}")
        console = open_console(production, identity=who, clock=clock or utcnow)
        opened.append(console)
        return console

    ada = open_as("ada")
    ada.operators.add("olga", ["operator"])
    ada.operators.add("vic", ["viewer"])
    yield open_as
    for console in opened:
        console.close()


def requested(call: Callable[[], object]) -> int:
    with pytest.raises(PendingApproval) as pending:
        call()
    return pending.value.approval_id


def catalog_sql(config: Path, statement: str) -> None:
    """Change the catalog behind the console's back, as someone with its credentials could.

    On PostgreSQL that is its owner, who knows to pass the ops log's append-only trigger.
    """
    engine = create_engine(load_settings(config).catalog.url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL aptien_ops.migrating = 'on'"))
            conn.execute(text(statement))
    finally:
        engine.dispose()


def last_entry(console: Console) -> tuple[str, str, str]:
    [entry] = console.opslog.list(1)
    return entry.operator, entry.action, entry.outcome


def roles(console: Console, name: str) -> frozenset[str]:
    return next(o.roles for o in console.operators.list() if o.name == name)


def copy_of(config: Path, directory: Path, edit: Callable[[str], str]) -> Path:
    """The production config copied elsewhere (pointing at the same catalog and keys), edited."""
    body = config.read_text(encoding="utf-8")
    body = body.replace('# data_dir = "."', f'data_dir = "{config.parent}"', 1)
    body = body.replace('data_dir = "."', f'data_dir = "{config.parent}"', 1)
    directory.mkdir()
    copy = directory / "ops.toml"
    copy.write_text(edit(body), encoding="utf-8")
    return copy


# ----------------------------------------------------------------------------- policy


def test_a_sandbox_copy_of_the_config_cannot_open_the_production_catalog(
    as_: Opener, production: Path, tmp_path: Path
) -> None:
    sandbox = copy_of(production, tmp_path / "mine", lambda b: b.replace(
        'mode = "production"', 'mode = "sandbox"', 1))  # fmt: skip
    with pytest.raises(IntegrityFailure, match="production catalog"):
        open_console(sandbox, env={"APTIEN_OPS_OPERATOR": "bob"})
    operator, action, outcome = last_entry(as_("ada"))
    assert (action, outcome) == ("catalog.open", "failed:integrity")


def test_a_copy_of_the_config_without_four_eyes_still_needs_a_second_admin(
    as_: Opener, production: Path, tmp_path: Path
) -> None:
    lax = copy_of(production, tmp_path / "lax", lambda b: re.sub(
        r"four_eyes = \[[^\]]*\]", "four_eyes = []", b))  # fmt: skip
    assert "four_eyes = []" in lax.read_text()
    mine = open_console(lax, identity=Identity("ada", "ada", None, "s"))
    try:
        with pytest.raises(PendingApproval):
            mine.operators.grant("olga", "admin")
        with pytest.raises(PendingApproval):
            mine.operators.grant("vic", "security")
        assert mine.ctx.policy.needs_four_eyes("operator.grant-admin")
    finally:
        mine.close()
    assert roles(as_("bob"), "olga") == {"operator"}


def test_the_operator_variable_is_refused_against_a_production_catalog(
    as_: Opener, production: Path
) -> None:
    as_("ada")
    # What the service account sees when sudo passes the variable on (a sudoers env_keep).
    sudo_with_variable = Identity("ada", "ada", None, "s", requested="bob")
    with pytest.raises(IntegrityFailure, match="APTIEN_OPS_OPERATOR"):
        open_console(production, identity=sudo_with_variable)
    assert last_entry(as_("ada"))[1:] == ("catalog.open", "failed:integrity")


def test_the_policy_changes_only_when_a_second_admin_approves(as_: Opener) -> None:
    ada, bob = as_("ada"), as_("bob")
    assert ada.policy.show().source == "catalog"
    with pytest.raises(InvalidInput, match="approval_lifetime_hours"):
        ada.policy.set("approval_lifetime_hours", "0")
    with pytest.raises(Forbidden):
        as_("olga").policy.set("approval_lifetime_hours", "12")
    approval = requested(lambda: ada.policy.set("approval_lifetime_hours", "12"))
    with pytest.raises(Forbidden, match="own request"):
        ada.approvals.approve(approval)
    assert as_("vic").policy.show().policy.approval_lifetime_hours == 24
    bob.approvals.approve(approval)
    assert as_("vic").policy.show().policy.approval_lifetime_hours == 12


def test_a_sandbox_says_its_policy_is_its_config(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    console = open_console(config)
    try:
        assert console.policy.show().source.startswith("config")
        with pytest.raises(InvalidInput, match="edit"):
            console.policy.set("idle_minutes", "5")
    finally:
        console.close()


# ----------------------------------------------------------------------------- approvals


def test_an_approval_row_edited_after_the_request_runs_nothing(
    as_: Opener, production: Path
) -> None:
    approval = requested(lambda: as_("ada").operators.grant("olga", "admin"))
    catalog_sql(production, f"UPDATE approvals SET target = 'vic' WHERE id = {approval}")
    bob = as_("bob")
    with pytest.raises(IntegrityFailure, match="changed after it was requested"):
        bob.approvals.approve(approval)
    assert roles(bob, "vic") == {"viewer"} and roles(bob, "olga") == {"operator"}
    assert bob.approvals.show(approval).state == ApprovalState.PENDING
    assert last_entry(bob) == ("bob", "approval.decide", "failed:integrity")


def test_an_approval_set_back_to_pending_does_not_run_twice(as_: Opener, production: Path) -> None:
    approval = requested(lambda: as_("ada").operators.grant("vic", "security"))
    bob = as_("bob")
    bob.approvals.approve(approval)
    as_("ada").operators.revoke("vic", "security")
    catalog_sql(production, f"UPDATE approvals SET state = 'pending' WHERE id = {approval}")
    with pytest.raises(IntegrityFailure, match="decided already"):
        bob.approvals.approve(approval)
    assert roles(bob, "vic") == {"viewer"}


def test_a_request_past_its_lifetime_cannot_be_approved(as_: Opener) -> None:
    approval = requested(lambda: as_("ada").operators.grant("olga", "admin"))
    later = as_("bob", clock=lambda: utcnow() + timedelta(hours=25))
    with pytest.raises(Conflict, match="expired"):
        later.approvals.approve(approval)
    assert roles(later, "olga") == {"operator"}


def test_a_request_whose_requester_lost_the_role_cannot_run(as_: Opener) -> None:
    ada, bob = as_("ada"), as_("bob")
    grant = requested(lambda: ada.operators.grant("vic", "security"))
    revoke = requested(lambda: bob.operators.revoke("ada", "admin"))
    as_("ada").approvals.approve(revoke)  # ada herself approves bob's request: four eyes
    with pytest.raises(Forbidden, match="no longer holds"):
        as_("bob").approvals.approve(grant)
    assert roles(bob, "vic") == {"viewer"}


# ----------------------------------------------------------------------------- duties


def test_nobody_grants_a_role_to_themselves(as_: Opener) -> None:
    ada = as_("ada")
    with pytest.raises(Forbidden, match="themselves"):
        ada.operators.grant("ada", "security")
    assert last_entry(ada) == ("ada", "operator.grant-security", "denied")
    for_ada = requested(lambda: as_("bob").operators.grant("ada", "security"))
    with pytest.raises(Forbidden, match="for themselves"):
        ada.approvals.approve(for_ada)
    assert roles(ada, "ada") == {"admin"}


def test_granting_security_and_revoking_admin_are_four_eyes(as_: Opener) -> None:
    ada = as_("ada")
    with pytest.raises(PendingApproval):
        ada.operators.grant("vic", "security")
    with pytest.raises(PendingApproval):
        ada.operators.revoke("bob", "admin")
    assert roles(ada, "vic") == {"viewer"} and "admin" in roles(ada, "bob")


def test_the_last_admin_cannot_be_revoked(as_: Opener) -> None:
    ada, bob = as_("ada"), as_("bob")
    bob.approvals.approve(requested(lambda: ada.operators.revoke("bob", "admin")))
    with pytest.raises(Conflict, match="last admin"):
        ada.operators.revoke("ada", "admin")


# ----------------------------------------------------------------------------- the log's head


def test_a_blanked_head_on_a_written_log_is_tampering_not_a_fresh_start(
    as_: Opener, production: Path
) -> None:
    as_("ada").tenants.list()
    catalog_sql(production, "UPDATE opslog_head SET seq = 0, hmac = '', signature = ''")
    with pytest.raises(IntegrityFailure, match="blanked"):
        open_console(production, identity=Identity("ada", "ada", None, "s"))


def test_a_missing_head_row_is_an_integrity_failure(as_: Opener, production: Path) -> None:
    as_("ada")
    catalog_sql(production, "DELETE FROM opslog_head")
    with pytest.raises(IntegrityFailure, match="head checkpoint row is missing"):
        open_console(production, identity=Identity("ada", "ada", None, "s"))


def test_a_first_provisioning_without_the_region_key_leaves_no_tenant_behind(as_: Opener) -> None:
    from aptien_ops.errors import ConfigError
    from aptien_ops.services.provisioning import ProvisionRequest

    olga = as_("olga")
    with pytest.raises(ConfigError, match="region key .* is missing"):
        olga.provisioning.provision(ProvisionRequest("acme-gmbh", "DE"))
    assert olga.tenants.list() == []
    assert last_entry(as_("ada")) == ("olga", "tenant.provision", "failed:invalid")
