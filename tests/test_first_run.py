"""A new operator's first ten minutes: the README's two commands, links that work in a clone,
a bootstrap that keeps pip's output out of the way, and a console that prepares its sandbox
once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from waiting import HANG_GUARD_S

from cli_runner import run_cli

REPO = Path(__file__).resolve().parent.parent


def test_the_quick_start_is_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./scripts/console", "./scripts/test"]


def test_every_link_of_the_readme_and_the_docs_is_a_file_of_the_repository() -> None:
    """Links resolve in a clone (and in the package's metadata, which carries the README):
    none reaches outside the repository, the privacy policy included."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(REPO) and resolved.is_file(), (page.name, target)
    policy = REPO / "docs" / "privacy-policy.txt"
    assert "](docs/privacy-policy.txt)" in (REPO / "README.md").read_text(encoding="utf-8")
    assert policy.read_text(encoding="utf-8").startswith("Aptien Policies\n\nPrivacy Policy\n")


CHATTY_PYTHON = """#!/usr/bin/env bash
# Stands in for .venv/bin/python: pip as chatty as it is, failing when told to.
echo "Collecting textual==8.2.8"
echo "  BuildBackendWarning: Editable installation." >&2
echo "pip $*" >> "$(dirname "$0")/../calls"
if [ -n "${FAIL_ON:-}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then
  echo "ERROR: No matching distribution found for textual==8.2.8" >&2
  exit 1
fi
"""


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the bootstrap with a stand-in for the venv's Python and for the tools it
    installs when missing (so it never reaches for apt-get here)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap", root / "scripts" / "bootstrap")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(CHATTY_PYTHON)
    python.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("age", "zstd", "sqlite3", "jq", "sudo"):
        (tools / tool).write_text("#!/bin/sh\n")
        (tools / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    return root, env


def _bootstrap(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "scripts" / "bootstrap")],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_S,
    )


def test_the_bootstrap_keeps_pips_output_in_its_log(checkout: tuple[Path, dict[str, str]]) -> None:
    root, env = checkout
    first = _bootstrap(root, env)
    assert first.returncode == 0 and first.stdout == ""
    assert first.stderr.splitlines() == [
        "bootstrap: installing aptien-ops and its dependencies into .venv (a minute or two)"
    ]
    log = (root / ".venv" / "bootstrap.log").read_text()
    assert "BuildBackendWarning" in log and "Collecting textual" in log
    again = _bootstrap(root, env)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_a_failed_install_names_its_log_and_shows_its_end(
    checkout: tuple[Path, dict[str, str]],
) -> None:
    root, env = checkout
    failed = _bootstrap(root, {**env, "FAIL_ON": "-e "})
    log = root / ".venv" / "bootstrap.log"
    assert failed.returncode == 1 and not (root / ".venv" / ".installed").exists()
    assert f"bootstrap: its output is in {log}; the last lines:" in failed.stderr
    assert "  ERROR: No matching distribution found for textual==8.2.8" in failed.stderr


def test_the_console_prepares_the_sandbox_once(tmp_path: Path) -> None:
    """The first launch makes the demo content; later ones go straight to the console."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("APTIEN_OPS_CONFIG", None)
    env.pop("APTIEN_OPS_OPERATOR", None)
    sandbox = tmp_path / "data" / "aptien-ops" / "sandbox"

    def launch() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REPO / "scripts" / "console"), "--json", "tenant", "list"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    def logged() -> int:
        entries = run_cli("--json", "ops-log", "list", "--limit", "100000", config=config)
        return len(entries.json())

    first = launch()
    config = sandbox / "ops.toml"
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)) == 20  # 12 demo tenants and 8 seeded ones
    assert "first run only" in first.stderr
    before = logged()
    second = launch()
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "first run only" not in second.stderr
    assert logged() == before  # neither init nor seed ran again
    (sandbox / "demo-content.done").write_text("an older version of the demo content\n")
    third = launch()
    assert third.returncode == 0 and "first run only" in third.stderr
    assert logged() > before
