"""The scripted CLI as cron and runbooks use it: JSON on stdout, documented exit codes, and bad
input refused with one line, changing nothing. Each runs on a SQLite and a PostgreSQL catalog."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops.sandbox import write_sandbox_config
from aptien_ops.services.provisioning import STEPS

from catalog_state import OPSLOG, CatalogState
from cli_runner import run_cli, run_cli_process
from sandboxes import BACKENDS, isolated_from_the_user, sandbox_on


@pytest.fixture
def config(catalog_config: Path) -> Path:
    """A sandbox whose catalog is SQLite, or a fresh database on the suite's PostgreSQL."""
    return catalog_config


@pytest.fixture
def seeded(config: Path) -> Path:
    result = run_cli("--json", "sandbox", "init", "--path", config.parent)
    assert result.code == 0, result.stderr
    return config


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded sandbox per backend, made once for the tests that only read it or are refused
    (``sandbox init`` takes seconds); ``untouched`` proves that each left it as it found it."""
    place = tmp_path_factory.mktemp("world")
    with isolated_from_the_user(place):
        config = sandbox_on(request.param, place / "sbx", request)
        result = run_cli("--json", "sandbox", "init", "--path", config.parent)
    assert result.code == 0, result.stderr
    return config


@pytest.fixture
def untouched(world: Path) -> Iterator[Path]:
    """The shared sandbox; the test fails if it changed a row of the catalog or a file of the
    sandbox, or if the ops log gained anything but refused or failed attempts (an audited
    command logs each attempt, refusals included)."""
    catalog = CatalogState(world)
    before = catalog.state()
    yield world
    after = catalog.state()
    catalog.close()
    rest = slice(OPSLOG + 1, None)
    assert (after[:OPSLOG], after[rest]) == (before[:OPSLOG], before[rest]), "it changed"
    old, new = before[OPSLOG], after[OPSLOG]
    assert isinstance(old, list) and isinstance(new, list)
    assert new[: len(old)] == old
    assert [e for e in new[len(old) :] if e.outcome == "ok"] == [], "it did something"


def log_size(config: Path) -> int:
    result = run_cli("--json", "ops-log", "list", "--limit", "100000", config=config)
    assert result.code == 0, result.stderr
    return len(result.json())


def test_sandbox_init_is_idempotent_and_makes_demo_content(seeded: Path) -> None:
    again = run_cli("--json", "sandbox", "init", "--path", seeded.parent)
    assert (
        again.code == 0
        and again.json()["demo_tenants_added"] == 0
        and again.json()["created"] is False
    )
    tenants = run_cli("--json", "tenant", "list", config=seeded).json()
    assert {t["region"] for t in tenants} == {"eu", "us"} and len(tenants) == 12


def test_json_mode_prints_exactly_one_value_and_nothing_else(untouched: Path) -> None:
    result = run_cli("--json", "tenant", "list", "--region", "eu", config=untouched)
    assert result.code == 0 and result.stderr == ""
    rows = result.json()
    assert rows and all(r["region"] == "eu" for r in rows)
    assert set(rows[0]) >= {"name", "country", "region", "cluster", "state", "created_at"}
    assert rows[0]["created_at"].endswith("Z")


def test_region_list_prints_each_region_with_its_clusters_and_load(untouched: Path) -> None:
    regions = run_cli("--json", "region", "list", config=untouched).json()
    assert [list(r) for r in regions] == [
        ["name", "description", "backup_store", "clusters", "tenants", "capacity"]
    ] * 2
    assert [list(c) for r in regions for c in r["clusters"]] == [
        ["name", "kind", "capacity", "tenants"]
    ] * 2
    assert [(r["name"], r["tenants"], r["capacity"]) for r in regions] == [
        ("eu", 6, 20000),
        ("us", 6, 20000),
    ]
    text = run_cli("region", "list", config=untouched).stdout.splitlines()
    assert text[0].split() == ["REGION", "DESCRIPTION", "CLUSTERS", "TENANTS", "CAPACITY"]
    assert text[1].split()[0] == "eu" and text[1].split()[-3:] == ["1", "6", "20000"]


def test_tenant_list_json_is_ascii_only_whatever_the_tenants_text(seeded: Path) -> None:
    typed = "Zoë Ünal \x1b[31m"  # letters beyond ASCII and a terminal escape, as typed by a client
    made = run_cli(
        "--json",
        "tenant",
        "provision",
        "zoe-gmbh",
        "--country",
        "DE",
        "--contact-name",
        typed,
        config=seeded,
    )
    assert made.code == 0, made.stderr
    result = run_cli("--json", "tenant", "list", config=seeded)
    assert result.code == 0 and result.stdout.isascii() and "\x1b" not in result.stdout
    rows = result.json()
    assert [r["contact_name"] for r in rows if r["name"] == "zoe-gmbh"] == [typed]
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)


def test_region_list_json_names_each_region_its_clusters_and_their_load(untouched: Path) -> None:
    result = run_cli("--json", "region", "list", config=untouched)
    assert result.code == 0 and result.stderr == ""
    # The exact shape scripts read (key order included): the sandbox's demo tenants are 12
    # live tenants, 6 in each region.
    assert result.stdout == (
        json.dumps(
            [
                {
                    "name": name,
                    "description": description,
                    "backup_store": str(untouched.parent / "backups" / name),
                    "clusters": [
                        {
                            "name": f"{name}-sandbox-1",
                            "kind": "sqlite",
                            "capacity": 20000,
                            "tenants": 6,
                        }
                    ],
                    "tenants": 6,
                    "capacity": 20000,
                }
                for name, description in (
                    ("eu", "European Economic Area data centres"),
                    ("us", "United States data centres"),
                )
            ]
        )
        + "\n"
    )


def test_provisioning_reports_one_plain_line_per_step_where_there_is_no_terminal(
    seeded: Path,
) -> None:
    result = run_cli("tenant", "provision", "zoe-gmbh", "--country", "DE", config=seeded)
    assert result.code == 0, result.stderr
    assert "\r" not in result.stderr and "..." not in result.stderr  # a log file, not a screen
    done = [line.split()[0] for line in result.stderr.splitlines() if " done (" in line]
    assert done == list(STEPS[1:])


def test_tenant_show_of_an_unknown_tenant_exits_3(untouched: Path) -> None:
    result = run_cli("--json", "tenant", "show", "no-such-tenant", config=untouched)
    assert result.code == 3 and result.error()["code"] == "not_found" and result.stdout == ""


@pytest.mark.parametrize(
    "name",
    [
        "acme; DROP DATABASE x",
        "Acme",
        "ａcme",
        "a" * 10_000,
        "ab",
        "acme-",
        "-acme",
        "postgres",
        "template1",
        "",
    ],
)
def test_hostile_tenant_names_are_refused_before_anything_is_touched(
    untouched: Path, name: str
) -> None:
    before = log_size(untouched)
    result = run_cli("--json", "tenant", "show", name, config=untouched)
    assert result.code == 2, result.stderr
    error = result.error()
    assert error["code"] == "invalid" and len(error["message"]) < 200
    assert log_size(untouched) == before


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("region", "resolve", "XX"), 2),
        (("region", "resolve", "EU"), 2),
        (("region", "resolve", "korea"), 2),
        (("tenant", "list", "--region", "apac"), 2),
        (("tenant", "list", "--state", "zombie"), 2),
        (("operator", "add", "newbie", "--role", "wizard"), 2),
        (("operator", "add", "Bad Name!", "--role", "viewer"), 2),
        (("operator", "grant", "nobody", "viewer"), 3),
        (("operator", "grant", "sam", "security"), 5),
        (("approval", "approve", "999"), 3),
        (("ops-log", "list", "--limit", "0"), 2),
        (("tenant", "frobnicate"), 2),
    ],
)
def test_bad_input_gets_its_exit_code_and_one_json_error(
    untouched: Path, args: tuple[str, ...], code: int
) -> None:
    result = run_cli("--json", *args, config=untouched)
    assert result.code == code, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.error()["message"]


def test_a_viewer_is_refused_with_exit_4_and_the_denial_is_logged(seeded: Path) -> None:
    result = run_cli(
        "--json", "operator", "grant", "olga", "security", config=seeded, operator="vic"
    )
    assert result.code == 4 and result.error()["code"] == "forbidden"
    last = run_cli("--json", "ops-log", "list", "--limit", "1", config=seeded).json()[0]
    assert (last["operator"], last["action"], last["outcome"]) == (
        "vic",
        "operator.grant-security",
        "denied",
    )


def test_someone_who_is_not_an_operator_is_refused(untouched: Path) -> None:
    result = run_cli("tenant", "list", config=untouched, operator="mallory")
    assert result.code == 4 and "not an operator" in result.stderr


def test_granting_admin_needs_a_second_admin(seeded: Path) -> None:
    request = run_cli("--json", "operator", "grant", "sam", "admin", config=seeded, operator="ada")
    assert request.code == 8
    pending = request.error()
    assert pending["code"] == "pending_approval"
    approval_id = str(pending["approval_id"])
    roles = {
        o["name"]: o["roles"] for o in run_cli("--json", "operator", "list", config=seeded).json()
    }
    assert "admin" not in roles["sam"]

    own = run_cli("--json", "approval", "approve", approval_id, config=seeded, operator="ada")
    assert own.code == 4 and "own request" in own.error()["message"]
    by_security = run_cli(
        "--json", "approval", "approve", approval_id, config=seeded, operator="sam"
    )
    assert by_security.code == 4

    ok = run_cli("--json", "approval", "approve", approval_id, config=seeded)
    assert ok.code == 0, ok.stderr
    roles = {
        o["name"]: o["roles"] for o in run_cli("--json", "operator", "list", config=seeded).json()
    }
    assert "admin" in roles["sam"]
    twice = run_cli("--json", "approval", "approve", approval_id, config=seeded, operator="ada")
    assert twice.code == 5
    entries = run_cli("--json", "ops-log", "list", "--limit", "10", config=seeded).json()
    assert any(e["approval_id"] == int(approval_id) and e["outcome"] == "ok" for e in entries)


def test_a_request_can_be_rejected_with_a_reason(seeded: Path) -> None:
    request = run_cli("--json", "operator", "grant", "olga", "admin", config=seeded)
    approval_id = str(request.error()["approval_id"])
    no_reason = run_cli(
        "--json", "approval", "reject", approval_id, "--reason", "  ", config=seeded, operator="ada"
    )
    assert no_reason.code == 2
    rejected = run_cli(
        "--json",
        "approval",
        "reject",
        approval_id,
        "--reason",
        "not agreed",
        config=seeded,
        operator="ada",
    )
    assert rejected.code == 0
    assert (
        run_cli("--json", "approval", "approve", approval_id, config=seeded, operator="ada").code
        == 5
    )


def test_revoking_admin_needs_a_second_admin_and_the_last_admin_keeps_it(seeded: Path) -> None:
    request = run_cli("--json", "operator", "revoke", "ada", "admin", config=seeded)
    assert request.code == 8 and request.error()["action"] == "operator.revoke-admin"
    approval = str(request.error()["approval_id"])
    assert run_cli("approval", "approve", approval, config=seeded, operator="ada").code == 0
    me = run_cli("--json", "operator", "whoami", config=seeded).json()["operator"]
    result = run_cli("--json", "operator", "revoke", me, "admin", config=seeded)
    assert result.code == 5 and "last admin" in result.error()["message"]


def test_ops_log_verify_passes_then_names_an_edited_entry(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    run_cli("sandbox", "init", "--path", config.parent)
    ok = run_cli("--json", "ops-log", "verify", config=config)
    assert ok.code == 0 and ok.json()["ok"] is True
    with sqlite3.connect(config.parent / "catalog.db") as db:
        db.execute("UPDATE opslog SET target = 'someone-else' WHERE seq = 3")
    bad = run_cli("--json", "ops-log", "verify", config=config)
    assert bad.code == 7 and "entry #3 was edited" in bad.error()["message"]


def test_ops_log_verify_detects_a_deleted_entry_and_a_cut_tail(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    run_cli("sandbox", "init", "--path", config.parent)
    db_path = config.parent / "catalog.db"
    with sqlite3.connect(db_path) as db:
        last = db.execute("SELECT max(seq) FROM opslog").fetchone()[0]
        db.execute("DELETE FROM opslog WHERE seq >= ?", (last - 1,))
    cut = run_cli("--json", "ops-log", "verify", config=config)
    assert cut.code == 7 and "truncated" in cut.error()["message"]
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM opslog WHERE seq = 2")
    gap = run_cli("--json", "ops-log", "verify", config=config)
    assert gap.code == 7 and "#2 is missing" in gap.error()["message"]


def test_a_catalog_that_cannot_be_reached_exits_6(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    text = config.read_text().replace(
        'url = "sqlite:///{data_dir}/catalog.db"',
        f'url = "postgresql+psycopg://ops@/ops?host={tmp_path}/no-socket&port=5999"\n'
        'password_env = "CAT_PW"',
    )
    config.write_text(text)
    result = run_cli("--json", "tenant", "list", config=config, env={"CAT_PW": "s3cr3t-value"})
    assert result.code == 6 and result.error()["code"] == "unavailable"
    assert "s3cr3t-value" not in result.stderr + result.stdout


def test_a_catalog_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    config, _ = write_sandbox_config(tmp_path / "sbx")
    run_cli("sandbox", "init", "--path", config.parent)
    with sqlite3.connect(config.parent / "catalog.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    result = run_cli("--json", "tenant", "list", config=config)
    assert result.code == 5 and "newer" in result.error()["message"]


def test_a_malformed_config_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("mode = [")
    result = run_cli("--json", "tenant", "list", config=bad)
    assert result.code == 2 and str(bad) in result.error()["message"]


def test_production_run_by_anyone_but_its_service_account_says_to_use_sudo(
    tmp_path: Path,
) -> None:
    """Root or an operator's own account: refused before the catalog is touched, whatever
    APTIEN_OPS_OPERATOR says (tests/test_bastion.py runs the service account itself)."""
    config, _ = write_sandbox_config(tmp_path / "sbx")
    config.write_text(
        config.read_text()
        .replace('mode = "sandbox"', 'mode = "production"')
        .replace("initial_admins = []", 'initial_admins = ["root"]')
    )
    for operator in (None, "ada"):
        # A real process: the hint repeats this process's own command line.
        result = run_cli_process("--json", "tenant", "list", config=config, operator=operator)
        assert result.code == 4, result.stderr
        error = result.error()
        assert "production" in error["message"]
        assert "sudo -u aptien-ops aptien-ops --json tenant list" in error["hint"]
    assert not (config.parent / "catalog.db").exists()


def test_the_tui_refuses_a_dumb_terminal_and_points_to_scripted_mode(untouched: Path) -> None:
    result = run_cli("tui", config=untouched, env={"TERM": "dumb"})
    assert result.code == 2 and "scripted mode" in result.stderr


def test_help_has_examples_for_every_group() -> None:
    for group in ("sandbox", "region", "tenant", "operator", "approval", "ops-log"):
        result = run_cli(group, "--help")
        assert result.code == 0 and "Examples" in result.stdout, group


def test_every_operator_event_is_a_json_line_in_the_log_file(untouched: Path) -> None:
    import json

    log = untouched.parent / "logs" / "aptien-ops.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines and all(line["event"] == "ops_action" for line in lines)
    assert {"seq", "operator", "os_account", "session_id", "action", "outcome", "hmac"} <= set(
        lines[-1]
    )


def test_region_resolve_takes_a_country_by_its_exact_name_too(untouched: Path) -> None:
    result = run_cli("--json", "region", "resolve", "Ireland", config=untouched)
    assert result.code == 0, result.stderr
    assert (result.json()["country"], result.json()["region"]) == ("IE", "eu")
    refused = run_cli("region", "resolve", "korea", config=untouched)
    assert refused.code == 2 and "KP Democratic People's Republic of Korea, KR" in refused.stderr
