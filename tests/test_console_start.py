"""How the console starts: the TUI's console that connects its catalog on first use, and
services built only when first used."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aptien_ops.composition import open_console
from aptien_ops.config import load_settings
from aptien_ops.domain import Identity
from aptien_ops.errors import IntegrityFailure


def _production(config: Path) -> Path:
    text = config.read_text(encoding="utf-8").replace('mode = "sandbox"', 'mode = "production"')
    config.write_text(text.replace("initial_admins = []", 'initial_admins = ["ada"]'))
    return config


#: A production console acts as the operator sudo reports: ada here.
ADA = Identity("ada", "ada", None, "s-ada")


def test_a_deferred_console_reads_nothing_until_first_used_then_creates_the_catalog(
    sandbox_config: Path,
) -> None:
    console = open_console(sandbox_config, defer_catalog=True)
    try:
        catalog_file = Path(console.settings.catalog.url.removeprefix("sqlite:///"))
        assert not console.connected and not catalog_file.exists()
        assert console.settings.sandbox and console.identity.operator  # the header needs no catalog
        assert console.tenants.counts() == []  # the first use creates and bootstraps it
        assert console.connected and catalog_file.exists()
    finally:
        console.close()


def test_concurrent_first_calls_on_a_deferred_console_connect_once(sandbox_config: Path) -> None:
    console = open_console(sandbox_config, defer_catalog=True)
    catalog = console.ctx.catalog
    connects: list[int] = []
    original = catalog._connect  # type: ignore[attr-defined]
    catalog._connect = lambda: connects.append(1) or original()  # type: ignore[attr-defined]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(console.tenants.counts())))
        for _ in range(4)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(connects) == 1 and len(results) == 4 and len(set(results)) == 1
    finally:
        console.close()


def test_a_new_production_catalog_is_opened_at_once_as_only_it_may_create_its_key(
    sandbox_config: Path,
) -> None:
    config = _production(sandbox_config)
    console = open_console(config, defer_catalog=True, identity=ADA)
    try:
        assert console.connected  # created with its ops-log key before the TUI starts
        assert console.settings.security.opslog_key_file.exists()
    finally:
        console.close()
    again = open_console(config, defer_catalog=True, identity=ADA)
    try:
        assert not again.connected  # the key exists now: the next start defers as usual
    finally:
        again.close()


def test_a_production_catalog_whose_key_is_lost_is_refused_before_the_tui_starts(
    sandbox_config: Path,
) -> None:
    config = _production(sandbox_config)
    open_console(config, identity=ADA).close()
    load_settings(config).security.opslog_key_file.unlink()
    with pytest.raises(IntegrityFailure, match="ops-log key"):
        open_console(config, defer_catalog=True, identity=ADA)


def test_approvals_know_every_executor_whichever_service_is_used_first(
    sandbox_config: Path,
) -> None:
    console = open_console(sandbox_config)
    try:
        assert set(console.approvals._executors) >= {"operator.grant-admin", "tenant.purge"}
    finally:
        console.close()


def test_a_scripted_list_builds_only_the_service_it_calls(sandbox_config: Path) -> None:
    code = (
        "import json, sys\n"
        "from aptien_ops.composition import open_console\n"
        "console = open_console(sys.argv[1])\n"
        "console.tenants.list()\n"
        "built = sorted(k for k in vars(console) if not k.startswith('_') and k != 'ctx')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('aptien_ops.services.'))\n"
        "console.close()\n"
        "print(json.dumps([built, loaded]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(sandbox_config)],
        capture_output=True,
        text=True,
        check=True,
    )
    built, loaded = json.loads(out.stdout.splitlines()[-1])
    assert built == ["tenants"]
    assert (
        "aptien_ops.services.inspection" not in loaded
        and "aptien_ops.services.backups" not in loaded
    )
