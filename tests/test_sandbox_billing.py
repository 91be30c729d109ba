"""The sandbox's billing: ``aptien-ops sandbox billing-server`` (localstripe on loopback, a
real process) and ``sandbox init`` connecting the sandbox to it, making a Stripe customer per
demo tenant in it and reading them back with a full ``billing sync``: every licence state is
then in ``billing status --json``. Without the server billing is "not connected" with the
hint, never an error; without localstripe the server says how to install it (exit 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops.backends.sandbox_stripe import answers
from aptien_ops.errors import ExitCode

from cli_runner import run_cli
from stripe_server import free_port


def billing_server(port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "aptien_ops", "sandbox", "billing-server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


@pytest.fixture
def server() -> Iterator[int]:
    """``sandbox billing-server`` on a free loopback port, once it says it listens."""
    port = free_port()
    process = billing_server(port)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the server's first line: it listens
        assert f"billing server on http://127.0.0.1:{port}" in line, process.stderr
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_sandbox_init_with_the_billing_server_shows_every_licence_state(
    tmp_path: Path, server: int
) -> None:
    init = run_cli("sandbox", "init", "--path", tmp_path, "--billing-port", str(server), "--json")
    assert init.code == 0, init.stderr
    billing = init.json()["billing"]
    assert billing["connected"] is True and billing["linked"] == 11
    config = tmp_path / "ops.toml"
    assert f'api_base = "http://127.0.0.1:{server}"' in config.read_text(encoding="utf-8")
    status = run_cli("billing", "status", "--json", config=config, operator="bill")
    assert status.code == 0, status.stderr
    licences = {row["tenant"]: row["licence"] for row in status.json()}
    assert set(licences.values()) == {
        "active",
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "none",
    }
    assert licences["savanna-logistics"] == "past_due" and licences["deccan-pharma"] == "none"
    by_tenant = {row["tenant"]: row for row in status.json()}
    assert by_tenant["acme-gmbh"]["customer"].startswith("cus_")
    assert by_tenant["anatolia-foods"]["cancel_at_period_end"] is True  # ends, not renewing
    # Each invoice numbered; the past due and unpaid licences' invoices open and overdue.
    invoices = {row["tenant"]: row["invoice"] for row in status.json() if row["invoice"]["id"]}
    numbers = [invoice["number"] for invoice in invoices.values()]
    assert all(n.startswith("SBX-") for n in numbers) and len(set(numbers)) == len(numbers)
    unpaid = {t for t, licence in licences.items() if licence in ("past_due", "unpaid")}
    assert {t for t, invoice in invoices.items() if invoice["status"] == "open"} == unpaid
    assert all(invoices[t]["due"] is not None for t in unpaid)
    assert invoices["acme-gmbh"]["status"] == "paid" and invoices["acme-gmbh"]["due"] is None
    again = run_cli("sandbox", "init", "--path", tmp_path, "--billing-port", str(server), "--json")
    assert again.code == 0 and again.json()["billing"]["linked"] == 0  # nothing twice
    assert again.json()["billing"]["licences"] == billing["licences"]


def test_the_billing_server_listens_before_it_says_it_does() -> None:
    """Its first line is the word a script waits for before ``sandbox init``: a connection
    made the moment it is said is taken (queued until the server answers), never refused.
    Here the connection is made inside the callback that prints the line, before the
    server's loop runs, so the order is checked whatever the machine's load."""
    port = free_port()
    probe = (
        "import socket, sys\n"
        "from aptien_ops.backends.sandbox_stripe import serve\n"
        "def ready(url):\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=30).close()\n"
        "    sys.exit(0)\n"
        f"serve({port}, ready)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_without_the_server_billing_is_not_connected_with_the_hint(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    init = run_cli("sandbox", "init", "--path", tmp_path, "--billing-port", str(port), "--json")
    assert init.code == 0, init.stderr
    assert init.json()["billing"] == {
        "connected": False,
        "hint": f"start aptien-ops sandbox billing-server --port {port}, then sandbox init again",
    }
    config = tmp_path / "ops.toml"
    assert "\n[billing]" not in config.read_text(encoding="utf-8")
    status = run_cli("billing", "status", "--json", config=config)
    assert status.code == 0 and {r["licence"] for r in status.json()} == {"none"}


def test_the_billing_server_without_localstripe_says_how_to_install_it(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "localstripe"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    process = billing_server(free_port(), env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == ExitCode.UNAVAILABLE, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "localstripe is not installed" in lines[0], err
    assert "pip install localstripe" in lines[0] and out == ""


def test_a_second_billing_server_on_the_same_port_is_refused(server: int) -> None:
    process = billing_server(server)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == ExitCode.UNAVAILABLE
    assert f"cannot listen on 127.0.0.1:{server}" in err
    assert answers(f"http://127.0.0.1:{server}")  # the first one still answers
