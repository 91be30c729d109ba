"""``aptien-ops inspect`` as a security officer scripts it: JSON pages with cursors, streamed
fleet searches, exports, and every kind of bad input answered with its exit code and one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aptien_ops.composition import open_console
from aptien_ops.services.provisioning import ProvisionRequest

from cli_runner import Result, run_cli
from fleet_configs import (  # noqa: F401 - the fixtures kind and config
    eu_cluster_kind,
    eu_fleet_config,
    sandbox_with_eu_on,
)
from tenant_seeding import seeded_in


@pytest.fixture
def tenant(config: Path, tenant_name: str) -> str:
    """A tenant in eu with 1,500 logins and 500 change-audit events."""
    return seeded_in(config, tenant_name, logins=1500, events=500, users=12, seed=5)


def sam(*args: str | Path, config: Path) -> Result:
    return run_cli(*args, config=config, operator="sam")


def export_audit(
    tenant: str, output: str | Path, reason: str, *, config: Path, operator: str = "sam"
) -> Result:
    """``--json inspect export TENANT --kind audit --format jsonl``, as ``operator``."""
    return run_cli(
        "--json",
        "inspect",
        "export",
        tenant,
        "--kind",
        "audit",
        "--format",
        "jsonl",
        "--output",
        output,
        "--reason",
        reason,
        config=config,
        operator=operator,
    )


def assert_clean_refusal(result: Result, code: int) -> None:
    assert result.code == code, (result.code, result.stderr)
    assert result.stdout == ""
    message = result.error()["message"]
    assert not re.search(r"SELECT|psycopg|sqlite3|syntax|Traceback", message), message


def test_a_script_follows_cursors_through_every_login_newest_first(
    config: Path, tenant: str
) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        result = sam(
            "--json",
            "inspect",
            "logins",
            tenant,
            "--limit",
            "400",
            *(["--after", cursor] if cursor else []),
            config=config,
        )
        assert result.code == 0 and result.stderr == "", result.stderr
        page = result.json()
        assert page["tenant"] == tenant and page["state"] == "active" and page["notice"] is None
        seen += [row["id"] for row in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 1500


def test_human_output_is_a_table_with_the_next_cursor_on_stderr(config: Path, tenant: str) -> None:
    result = sam(
        "inspect", "audit", tenant, "--limit", "3", "--datasheet", "employees", config=config
    )
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "AT",
        "ACTOR",
        "ACTION",
        "DATASHEET",
        "RECORD_ID",
        "KEY_ID",
        "PAYLOAD_SIZE",
    ]
    assert len(lines) == 4 and all(" employees " in line for line in lines[1:])
    assert "3 rows, newest first; next page: --after " in result.stderr


def test_filters_reach_the_reader(config: Path, tenant: str) -> None:
    failed = sam(
        "--json",
        "inspect",
        "logins",
        tenant,
        "--failed",
        "--since",
        "91d",
        "--limit",
        "1000",
        config=config,
    ).json()
    assert failed["rows"] and all(r["result"] != "success" for r in failed["rows"])
    user = failed["rows"][0]["user_email"]
    mine = sam(
        "--json", "inspect", "logins", tenant, "--user", user, "--limit", "1000", config=config
    ).json()
    assert mine["rows"] and {r["user_email"] for r in mine["rows"]} == {user}
    deletes = sam(
        "--json", "inspect", "audit", tenant, "--action", "delete", "--limit", "1000", config=config
    ).json()
    assert deletes["rows"] and {r["action"] for r in deletes["rows"]} == {"delete"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("inspect", "logins", "{t}", "--since", "last tuesday"), 2),
        (("inspect", "logins", "{t}", "--since", "2d", "--until", "3d"), 2),
        (("inspect", "logins", "{t}", "--until", "2025-13-01"), 2),
        (
            (
                "inspect",
                "audit",
                "{t}",
                "--after",
                "AQAAAABrDCe8AAZhZyISIIoAAAAAAAAThE6Z4Li6boZngJZ2DChRIDp0nUEm6qnxng",
            ),
            2,
        ),
        (("inspect", "audit", "{t}", "--after", "' OR 1=1; --"), 2),
        (("inspect", "audit", "{t}", "--datasheet", "salaries"), 2),
        (("inspect", "logins", "{t}", "--limit", "0"), 2),
        (("inspect", "logins", "{t}", "--failed", "--result", "success"), 2),
        (("inspect", "logins", "Robert'); DROP TABLE tenants;--"), 2),
        (("inspect", "logins", "no-such-tenant"), 3),
        (("inspect", "summary", "no-such-tenant"), 3),
        (("inspect", "user", "not-an-address"), 2),
        (("inspect", "user", "a@b.example", "--region", "apac"), 2),
        (
            (
                "inspect",
                "export",
                "{t}",
                "--kind",
                "logins",
                "--format",
                "csv",
                "--output",
                "out.csv",
                "--reason",
                "   ",
            ),
            2,
        ),
    ],
)
def test_bad_input_gets_its_exit_code_and_one_clean_line(
    config: Path, tenant: str, args: tuple[str, ...], code: int
) -> None:
    assert_clean_refusal(
        sam("--json", *(a.replace("{t}", tenant) for a in args), config=config), code
    )


def test_a_cursor_from_another_tenant_or_filter_is_refused_without_sql(
    config: Path, tenant: str
) -> None:
    cursor = sam("--json", "inspect", "logins", tenant, "--limit", "5", config=config).json()[
        "next_cursor"
    ]
    assert_clean_refusal(
        sam("--json", "inspect", "logins", tenant, "--failed", "--after", cursor, config=config), 2
    )
    assert_clean_refusal(
        sam("--json", "inspect", "audit", tenant, "--after", cursor, config=config), 2
    )
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    assert_clean_refusal(
        sam("--json", "inspect", "logins", tenant, "--after", tampered, config=config), 2
    )


def test_an_operator_without_security_is_refused_with_4_and_the_attempt_is_logged(
    config: Path, tenant: str
) -> None:
    for operator in ("ada", "vic"):
        result = run_cli(
            "--json",
            "inspect",
            "logins",
            tenant,
            "--ip",
            "192.0.2.1",
            config=config,
            operator=operator,
        )
        assert_clean_refusal(result, 4)
        assert result.error()["hint"] == (
            "needs role security; in this sandbox sam has it:"
            " prefix the command with APTIEN_OPS_OPERATOR=sam"
        )
    export = export_audit(tenant, "x.jsonl", "curious", config=config, operator="olga")
    assert_clean_refusal(export, 4)
    log = run_cli("--json", "ops-log", "list", "--limit", "50", config=config).json()
    denied = [(e["operator"], e["action"]) for e in log if e["outcome"] == "denied"]
    assert denied[:3] == [
        ("olga", "inspect.export"),
        ("vic", "inspect.metadata"),
        ("ada", "inspect.metadata"),
    ]
    assert json.loads(log[1]["params"])["filters"] == {"ip": "192.0.2.1"}


def test_a_suspended_tenant_is_inspected_and_the_output_says_so(config: Path, tenant: str) -> None:
    assert run_cli("tenant", "suspend", tenant, "--reason", "chargeback", config=config).code == 0
    human = sam("inspect", "logins", tenant, "--limit", "2", config=config)
    assert human.code == 0 and f"note: tenant {tenant} is suspended (chargeback)" in human.stderr
    data = sam("--json", "inspect", "summary", tenant, config=config).json()
    assert data["state"] == "suspended" and "inspection still works" in data["notice"]


def test_inspect_user_streams_rows_and_json_gives_one_sorted_list(
    config: Path, tenant: str
) -> None:
    email = sam(
        "--json", "inspect", "logins", tenant, "--result", "success", "--limit", "1", config=config
    ).json()["rows"][0]["user_email"]
    human = sam("inspect", "user", email, config=config)
    assert human.code == 0, human.stderr
    header, row = human.stdout.splitlines()
    assert header.split()[:3] == ["TENANT", "STATE", "REGION"] and row.split()[:3] == [
        tenant,
        "active",
        "eu",
    ]
    assert "1 tenant of" in human.stderr
    data = sam("--json", "inspect", "user", email.upper(), "--region", "eu", config=config)
    assert data.code == 0 and data.stderr == ""
    (found,) = data.json()
    assert (
        found["tenant"] == tenant and found["email"] == email and found["last_login"].endswith("Z")
    )
    # Quotes and semicolons are data; an address never holds a space, so that one is refused.
    nobody = sam(
        "--json", "inspect", "user", "';DELETE/**/FROM/**/users;--@x.example", config=config
    )
    assert nobody.code == 0 and nobody.json() == []
    spaced = sam("--json", "inspect", "user", "'; DELETE FROM users; --@x.example", config=config)
    assert spaced.code == 2 and "contains a space" in spaced.error()["message"]


def test_summary_and_export_from_the_command_line(
    config: Path, tenant: str, tmp_path: Path
) -> None:
    summary = sam("inspect", "summary", tenant, "--since", "91d", "--per", "day", config=config)
    assert (
        summary.code == 0
        and "LOGINS PER DAY" in summary.stdout
        and "FIRST-SEEN IPS" in summary.stdout
    )
    out = tmp_path / "audit.jsonl"
    done = export_audit(tenant, out, "SEC-99 insider review", config=config)
    assert done.code == 0 and done.json()["rows"] == 500 == len(out.read_text().splitlines())
    again = export_audit(tenant, out, "SEC-99", config=config)
    assert_clean_refusal(again, 5)
    log = run_cli("--json", "ops-log", "list", "--limit", "10", config=config).json()
    ok = next(e for e in log if e["action"] == "inspect.export" and e["outcome"] == "ok")
    assert (
        json.loads(ok["params"])["rows"] == 500
        and json.loads(ok["params"])["reason"] == "SEC-99 insider review"
    )


def test_a_summary_lists_the_first_bursts_and_first_seen_ips_and_says_how_many_more(
    config: Path, tenant_name: str
) -> None:
    """A busy tenant's week can hold thousands of first-seen addresses: the summary lists the
    first 20 of each list and counts the rest; --all lists them all, in text and JSON."""
    seeded_in(config, tenant_name, logins=3000, events=10, users=60, seed=7)
    window = ("--since", "91d", "--per", "day")
    full = sam("--json", "inspect", "summary", tenant_name, *window, "--all", config=config).json()
    total = full["first_seen_ips_total"]
    assert total > 20 and len(full["first_seen_ips"]) == total
    capped = sam("--json", "inspect", "summary", tenant_name, *window, config=config).json()
    assert capped["first_seen_ips"] == full["first_seen_ips"][:20]
    assert capped["first_seen_ips_total"] == total
    assert capped["bursts"] == full["bursts"][:20] and capped["bursts_total"] == len(full["bursts"])
    text = sam("inspect", "summary", tenant_name, *window, config=config).stdout
    listed = text.split("FIRST-SEEN IPS\n", 1)[1].splitlines()
    assert len(listed) == 1 + 20 + 1  # the header, 20 addresses, the count of the rest
    assert listed[-1] == f"… and {total - 20:,} more (--all lists every one)"
    every = sam("inspect", "summary", tenant_name, *window, "--all", config=config).stdout
    assert len(every.split("FIRST-SEEN IPS\n", 1)[1].splitlines()) == 1 + total


def test_export_needs_a_reason_flag(config: Path, tenant: str) -> None:
    result = sam(
        "inspect",
        "export",
        tenant,
        "--kind",
        "logins",
        "--format",
        "csv",
        "--output",
        "x.csv",
        config=config,
    )
    assert result.code == 2 and "--reason" in result.stderr


@pytest.mark.postgres
def test_a_cluster_that_is_down_answers_6(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tenant_name: str,
) -> None:
    monkeypatch.setenv("APTIEN_TEST_INSPECTOR_PW", "inspector-pw-for-tests")
    pg = request.getfixturevalue("pg_server")
    config = sandbox_with_eu_on("postgresql", tmp_path / "down", pg)
    console = open_console(config)
    try:
        console.provisioning.provision(ProvisionRequest(tenant_name, "DE"))
    finally:
        console.close()
    config.write_text(config.read_text().replace(f"port={pg.port}", f"port={pg.port + 1}"))
    assert_clean_refusal(sam("--json", "inspect", "logins", tenant_name, config=config), 6)
    search = sam("--json", "inspect", "user", "someone@x.example", config=config)
    assert (
        search.code == 6
        and search.json() == []
        and "could not be searched" in search.error()["message"]
    )


def test_help_shows_examples_and_the_role(sandbox_config: Path) -> None:
    result = run_cli("inspect", "--help", config=sandbox_config)
    text = " ".join(result.stdout.split())
    assert (
        result.code == 0
        and "(role security)" in text
        and "export APTIEN_OPS_OPERATOR=sam" in text
        and "aptien-ops inspect user goran.okafor@acme-gmbh.example" in text
    )
