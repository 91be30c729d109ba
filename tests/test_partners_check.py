"""``aptien-ops partner check`` for cron: exit 7 only when something is out of policy (a lapsed
assignment, a review overdue); agreements expiring within N days are a warning, listed and
marked as such, exit 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from partner_world import cli_partner, cli_tenant, pat

from cli_runner import run_cli


def _soon(days: int) -> str:
    """A UTC day ``days`` from today: the command line runs on the real clock."""
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _check(config: Path, *args: str) -> tuple[int, dict[str, object], str]:
    text = run_cli("partner", "check", *args, config=config)
    data = run_cli("--json", "partner", "check", *args, config=config)
    assert text.code == data.code, (text.stderr, data.stderr)
    return data.code, data.json(), text.stdout + text.stderr


def test_agreements_only_expiring_are_a_warning_and_exit_0(catalog_config: Path) -> None:
    cli_tenant(catalog_config)
    cli_partner(catalog_config, expires_on=_soon(5))
    pat(catalog_config, "assign", "nordic-sales", "acme-gmbh", "--as", "sales", "--reason", "x")
    code, report, text = _check(catalog_config)
    assert code == 0
    assert (report["out_of_policy"], report["breaches"], report["warnings"]) == (False, 0, 1)
    [expiring] = report["expiring"]  # type: ignore[misc]
    assert (expiring["partner"], expiring["days_left"], expiring["out_of_policy"]) == (
        "nordic-sales",
        5,
        False,
    )
    assert "WARNING: AGREEMENTS EXPIRING" in text and "OUT OF POLICY" not in text
    assert "all in policy: 1 open assignment hold; 1 agreement expiring within 30 days" in text
    # Outside the window it is not even a warning.
    code, report, _ = _check(catalog_config, "--within", "4")
    assert (code, report["warnings"], report["expiring"]) == (0, 0, [])


def test_a_lapsed_assignment_is_out_of_policy_exit_7(catalog_config: Path) -> None:
    cli_tenant(catalog_config)
    cli_partner(catalog_config)
    pat(catalog_config, "assign", "nordic-sales", "acme-gmbh", "--as", "sales", "--reason", "x")
    assert _check(catalog_config)[0] == 0
    pat(catalog_config, "agreement", "end", "nordic-sales", "PA-1", "--reason", "terminated")
    code, report, text = _check(catalog_config)
    assert code == 7
    assert (report["out_of_policy"], report["breaches"], report["warnings"]) == (True, 1, 0)
    [lapsed] = report["lapsed"]  # type: ignore[misc]
    assert (lapsed["tenant"], lapsed["rule"], lapsed["out_of_policy"]) == (
        "acme-gmbh",
        "agreement",
        True,
    )
    assert "OUT OF POLICY: LAPSED ASSIGNMENTS" in text
    assert "partners out of policy: 1 lapsed assignment, 0 reviews overdue" in text


def test_an_overdue_review_is_out_of_policy_exit_7_beside_a_warning(
    catalog_config: Path,
) -> None:
    cli_partner(catalog_config, expires_on=_soon(10))
    pat(
        catalog_config,
        "review",
        "nordic-sales",
        "--outcome",
        "pass",
        "--on",
        "2020-01-01",
        "--next-due",
        "2020-06-01",
    )
    code, report, text = _check(catalog_config)
    assert code == 7
    assert (report["out_of_policy"], report["breaches"], report["warnings"]) == (True, 1, 1)
    [overdue] = report["overdue"]  # type: ignore[misc]
    assert (overdue["partner"], overdue["out_of_policy"]) == ("nordic-sales", True)
    [expiring] = report["expiring"]  # type: ignore[misc]
    assert expiring["out_of_policy"] is False
    assert "OUT OF POLICY: REVIEWS OVERDUE" in text and "WARNING: AGREEMENTS EXPIRING" in text
    assert "partners out of policy: 0 lapsed assignments, 1 review overdue" in text
