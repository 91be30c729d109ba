"""The production console through OpenSSH's own sshd: scripted commands over ``ssh``.

The module's fixture (tests/ssh_site.py) runs sshd on loopback in front of the bastion of
tests/bastion_site.py with docs/bastion.md's recipe as written: every login of an operator is
the console, run as the service account through sudo. It needs root and openssh-server: its
tests are skipped without them, and failed under CI=true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from ssh_site import SshSite, ssh_site_with_tenants

from cli_runner import Result

ORIGIN = re.compile(r"127\.0\.0\.1 (\d+) \(SSH_CONNECTION, as the environment says\)")


@pytest.fixture(scope="module")
def site() -> Iterator[SshSite]:
    with ssh_site_with_tenants() as s:
        yield s


def _same(over_ssh: Result, local: Result) -> None:
    assert (over_ssh.code, over_ssh.stdout) == (local.code, local.stdout), over_ssh.stderr


def test_scripted_commands_pass_exit_codes_and_stdout_through_unchanged(site: SshSite) -> None:
    b = site.bastion
    listed = site.ssh(b.alice, "aptien-ops", "--json", "tenant", "list")
    assert listed.code == 0, listed.stderr
    assert sorted(t["name"] for t in listed.json()) == ["acme-gmbh", "globex-sa"]
    _same(listed, b.sudo(b.alice, "--json", "tenant", "list"))
    without_name = site.ssh(b.alice, "--", "--json", "tenant", "list")
    _same(without_name, listed)
    missing = site.ssh(b.alice, "aptien-ops", "--json", "tenant", "show", "no-such")
    assert missing.code == 3
    assert missing.error()["message"] == "no tenant named no-such"
    assert missing.stdout == ""
    quoted = site.ssh(b.alice, "aptien-ops", "--json", "tenant", "show", "'acme gmbh'")
    assert quoted.code == 2 and quoted.error()["message"] == "invalid tenant name 'acme gmbh'"


def test_a_viewer_is_read_only_whatever_the_catalog_says(site: SshSite) -> None:
    b = site.bastion
    shown = site.ssh(site.viewer, "aptien-ops", "--json", "tenant", "show", "acme-gmbh")
    assert shown.code == 0, shown.stderr
    assert shown.json()["name"] == "acme-gmbh"
    granted = b.sudo(b.alice, "--json", "operator", "grant", site.viewer, "operator")
    assert granted.code == 0, granted.stderr
    try:
        suspend = ("tenant", "suspend", "acme-gmbh", "--reason", "'read only?'", "--yes")
        refused = site.ssh(site.viewer, "aptien-ops", "--json", *suspend)
        assert refused.code == 4, refused.stderr
        assert "read-only" in refused.error()["message"]
    finally:
        revoked = b.sudo(b.alice, "--json", "operator", "revoke", site.viewer, "operator")
        assert revoked.code == 0, revoked.stderr
    state = b.sudo(b.alice, "--json", "tenant", "show", "acme-gmbh").json()["state"]
    assert state == "active"


def test_an_account_that_is_not_an_operator_is_refused_exit_4_and_logged(site: SshSite) -> None:
    b = site.bastion
    refused = site.ssh(b.bob, "aptien-ops", "--json", "tenant", "list")
    assert refused.code == 4 and refused.stdout == ""
    error = refused.error()
    assert b.bob in error["message"] and "not an operator" in error["message"]
    [entry] = site.last_entries(1)
    assert (entry["operator"], entry["action"], entry["outcome"]) == (
        b.bob, "tenant.view", "denied")  # fmt: skip
    assert ORIGIN.fullmatch(str(entry["ssh_origin"]))
    human = site.ssh(b.bob, "tenant", "list")
    assert human.code == 4 and human.stdout == ""
    assert f"{b.bob} is not an operator" in human.stderr


def test_each_ssh_command_records_its_origin_and_a_session_of_its_own(site: SshSite) -> None:
    b = site.bastion
    for _ in range(2):
        refused = site.ssh(b.bob, "aptien-ops", "--json", "ops-log", "list")
        assert refused.code == 4
    first, second = site.last_entries(2)
    ports = [ORIGIN.fullmatch(str(e["ssh_origin"])) for e in (first, second)]
    assert all(ports) and first["session_id"] != second["session_id"]
    sshd_ports = re.findall(r"Accepted publickey for \S+ from 127\.0\.0\.1 port (\d+)", _log(site))
    assert {m.group(1) for m in ports if m} <= set(sshd_ports)


def _log(site: SshSite) -> str:
    return site.log.read_text(errors="replace")


def test_the_wrapper_runs_no_shell_over_ssh(site: SshSite) -> None:
    b = site.bastion
    marker = b.root / "ran-a-shell"
    for hostile in (f"$(touch {marker})", f"`touch {marker}`", f"; touch {marker}"):
        refused = site.ssh(b.alice, "aptien-ops", "--json", "tenant", "show", hostile)
        assert refused.code == 2, refused.stderr
    assert not marker.exists()
    out = site.ssh(b.alice, "aptien-ops", "--json", "region", "list")
    assert out.code == 0 and json.loads(out.stdout)
