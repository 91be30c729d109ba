"""The scripted path stays light: no Textual, screens, stripe or unused backend on import."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_AT_IMPORT = (
    "textual",
    "aptien_ops.screens",
    "stripe",
    "aptien_ops.backends",
    "sqlalchemy",
    "psycopg",
    "structlog",
    "alembic",
)


def _forbidden(modules: set[str]) -> set[str]:
    """The modules of ``modules`` that belong to a package the headless path must not load."""
    return {m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_AT_IMPORT)}


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_importing_every_core_module_pulls_in_no_ui_and_no_backend() -> None:
    code = "\n".join(
        f"import aptien_ops.{m}"
        for m in (
            "errors",
            "config",
            "domain",
            "ports",
            "identity",
            "bastion",
            "login_record",
            "keyfiles",
            "permissions",
            "opslog",
            "regions",
            "eventlog",
            "composition",
            "sandbox",
            "services.context",
            "services.tenants",
            "services.operators",
            "services.approvals",
            "services.opslog_service",
            "services.regions",
            "cli.main",
        )
    )
    assert not _forbidden(_modules_after(code))


def test_a_scripted_sqlite_command_never_loads_textual_stripe_or_the_postgresql_adapter(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import os, sys\n"
        f"os.chdir({str(tmp_path)!r})\n"
        f"os.environ['XDG_DATA_HOME'] = {str(tmp_path / 'data')!r}\n"
        f"os.environ['XDG_CONFIG_HOME'] = {str(tmp_path / 'cfg')!r}\n"
        "from aptien_ops.cli.main import cli\n"
        "try:\n"
        "    cli.main(args=['--json', 'tenant', 'list'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    loaded = _modules_after(code)
    top = _top_level(loaded)
    assert "textual" not in top and "stripe" not in top
    assert not {m for m in loaded if m.startswith("aptien_ops.screens")}
    assert "aptien_ops.backends.postgres_tenants" not in loaded and "psycopg" not in top
    assert "sqlalchemy.orm" not in loaded, "the ORM costs ~40 ms of start-up; the catalog uses Core"
