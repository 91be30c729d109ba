"""The production console on a bastion, tried with real accounts, sudo and file modes.

The module's fixture installs what docs/production.md describes (tests/bastion_site.py: real
accounts, ``/etc/<svc>/ops.toml``, the documented sudoers rule) and runs every command as a
real process, through ``sudo -u <svc>`` where production expects it.

The fixture needs root (to create accounts): its tests are skipped without it, and failed
under CI=true. The tests at the end (the login record, the sudo hint) need nothing.
"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aptien_ops import bastion, identity
from aptien_ops.login_record import USER_PROCESS, UTMP_RECORD, login_host
from aptien_ops.sandbox import write_sandbox_config

from bastion_site import Bastion, bastion_site, documented, sh
from cli_runner import Result


@pytest.fixture(scope="module")
def bastion_host() -> Iterator[Bastion]:
    with bastion_site() as b:
        first = b.sudo(b.alice, "--json", "operator", "whoami")  # creates the catalog
        assert first.code == 0, first.stderr
        yield b


# ----------------------------------------------------------------------------- who acts


def test_through_sudo_the_operator_is_the_account_sudo_reports(bastion_host: Bastion) -> None:
    b = bastion_host
    alice = b.whoami(b.alice)
    # the invoking account (sudo's SUDO_USER) beside the effective one (the service account)
    assert (alice["operator"], alice["os_account"], alice["known"]) == (b.alice, b.service, True)
    assert alice["roles"] == ["admin"] and alice["mode"] == "production"
    assert alice["config"] == str(b.config)
    bob = b.whoami(b.bob)
    assert (bob["operator"], bob["known"], bob["roles"]) == (b.bob, False, [])


def test_the_ssh_origin_is_labelled_with_where_it_was_read(bastion_host: Bastion) -> None:
    b = bastion_host
    assert b.whoami(b.alice)["ssh_origin"] is None  # no terminal, no SSH_CONNECTION
    scripted = b.whoami(b.alice, SSH_CONNECTION="203.0.113.9 50022 10.0.0.1 22")
    assert scripted["ssh_origin"] == "203.0.113.9 50022 (SSH_CONNECTION, as the environment says)"


def test_a_forged_sudo_user_changes_nothing(bastion_host: Bastion) -> None:
    b = bastion_host
    forged = b.sudo_env(b.bob)
    refused = b.as_(b.alice, "--config", str(b.config), "--json", "operator", "whoami", env=forged)
    assert refused.code == 4 and f"not as {b.alice}" in refused.error()["message"]
    # sudo itself will not let anyone set them
    via_sudo = b.run(
        [
            "runuser",
            "-u",
            b.alice,
            "--",
            "sudo",
            "-n",
            "-u",
            b.service,
            f"SUDO_USER={b.bob}",
            str(b.program),
            "operator",
            "whoami",
        ]  # fmt: skip
    )
    assert via_sudo.code != 0 and "SUDO_USER" in via_sudo.stderr
    # in a sandbox of her own, alice is still alice
    sandbox, _ = write_sandbox_config(b.root / f"sandbox-{b.alice}")
    sh("chown", "-R", b.alice, str(sandbox.parent))
    mine = b.as_(b.alice, "--config", str(sandbox), "--json", "operator", "whoami", env=forged)
    assert mine.code == 0, mine.stderr
    assert json.loads(mine.stdout)["operator"] == b.alice


def test_the_documented_force_command_passes_the_clients_words_and_runs_no_shell(
    bastion_host: Bastion,
) -> None:
    b = bastion_host
    wrapper = b.root / "aptien-ops-ssh"
    wrapper.write_text(documented(b, "## 5. SSH: `ForceCommand`", "sh"))
    wrapper.chmod(0o755)
    marker = b.root / "ran-a-shell"

    def over_ssh(command: str) -> Result:
        env = {"SSH_ORIGINAL_COMMAND": command, "SSH_CONNECTION": "203.0.113.9 50022 10.0.0.1 22"}
        return b.run(["runuser", "-u", b.alice, "--", str(wrapper)], env)

    whoami = over_ssh("--json operator whoami")
    assert whoami.code == 0, whoami.stderr
    assert json.loads(whoami.stdout)["operator"] == b.alice
    assert json.loads(whoami.stdout)["ssh_origin"].startswith("203.0.113.9 50022 (SSH_CONN")
    quoted = over_ssh("--json tenant show 'acme gmbh'")
    assert quoted.error()["message"] == "invalid tenant name 'acme gmbh'"
    for hostile in (f"$(touch {marker})", f"`touch {marker}`", "*"):
        refused = over_ssh(f"--json tenant show {hostile}")
        assert refused.code == 2, refused.stderr  # plain words, refused as arguments
    assert not marker.exists()
    unbalanced = over_ssh("--json tenant show 'acme")
    assert unbalanced.code == 1 and "cannot split the command" in unbalanced.stderr


# ----------------------------------------------------------------------------- refusals


def test_an_operator_running_the_console_directly_is_told_the_sudo_command(
    bastion_host: Bastion,
) -> None:
    b = bastion_host
    direct = b.as_(b.alice, "--config", str(b.config), "--json", "operator", "whoami")
    assert direct.code == 4
    error = direct.error()
    assert (
        error["message"] == f"production runs as its service account {b.service}, not as {b.alice}"
    )
    assert error["hint"] == f"run: sudo -u {b.service} {b.program} --json operator whoami"
    nothing_given = b.as_(b.alice, "--json", "tenant", "list")
    assert nothing_given.code == 4
    assert f"sudo -u {b.service} {b.program} --json tenant list" in nothing_given.error()["hint"]


def test_the_service_account_takes_no_other_config(bastion_host: Bastion) -> None:
    b = bastion_host
    other = b.root / "other.toml"
    other.write_text(b.config.read_text())
    flag = b.sudo(b.alice, "--config", str(other), "--json", "operator", "whoami")
    assert flag.code == 4
    assert flag.error()["message"] == (
        f"--config is refused: as {b.service} the config is fixed at {b.config}"
    )
    variable = b.as_service(
        "--json", "operator", "whoami", env={"APTIEN_OPS_CONFIG": str(other), **b.sudo_env(b.alice)}
    )
    assert variable.code == 4 and "APTIEN_OPS_CONFIG is refused" in variable.error()["message"]


def test_a_service_config_others_could_rewrite_is_refused(bastion_host: Bastion) -> None:
    b = bastion_host
    b.config.chmod(0o664)
    try:
        result = b.sudo(b.alice, "--json", "operator", "whoami")
    finally:
        b.config.chmod(0o644)
    assert result.code == 7 and result.error()["hint"] == f"chmod go-w {b.config}"
    original = b.config.read_text()
    b.config.write_text(original.replace(f'"{b.service}"', '"someone-else"', 1))
    try:
        result = b.sudo(b.alice, "--json", "operator", "whoami")
    finally:
        b.config.write_text(original)
    assert result.code == 2 and "bastion.service_account: must name" in result.error()["message"]


def test_the_service_account_without_sudo_is_refused(bastion_host: Bastion) -> None:
    result = bastion_host.as_service("--json", "operator", "whoami")
    assert result.code == 4 and "through sudo" in result.error()["message"]


def test_a_worker_starts_as_the_service_account_without_sudo_as_systemd_runs_it(
    bastion_host: Bastion,
) -> None:
    b = bastion_host
    worker = b.as_service("--json", "worker", "--region", "eu", "--until-idle")
    # Past who it is (exit 4 otherwise): this bastion's catalog is SQLite, which has no queue.
    assert worker.code == 2 and "needs a PostgreSQL catalog" in worker.error()["message"]
    # Any other command still needs sudo.
    assert b.as_service("--json", "jobs", "list").code == 4


def test_root_is_refused_in_production(bastion_host: Bastion) -> None:
    b = bastion_host
    direct = b.run([str(b.program), "--config", str(b.config), "--json", "operator", "whoami"])
    assert (
        direct.code == 4 and direct.error()["message"] == "root may not run the production console"
    )
    assert f"sudo -u {b.service}" in direct.error()["hint"]
    via_sudo = b.run(
        ["sudo", "-n", "-u", b.service, str(b.program), "--json", "operator", "whoami"]
    )
    assert via_sudo.code == 4 and "root may not act as an operator" in via_sudo.error()["message"]


def test_the_operator_variable_is_refused_and_logged_even_if_sudo_passes_it(
    bastion_host: Bastion,
) -> None:
    b = bastion_host
    env = {"APTIEN_OPS_OPERATOR": b.alice, **b.sudo_env(b.bob)}
    result = b.as_service("--json", "operator", "whoami", env=env)
    assert result.code == 7 and "APTIEN_OPS_OPERATOR" in result.error()["message"]
    log = b.sudo(b.alice, "--json", "ops-log", "list", "--limit", "1")
    [entry] = log.json()  # type: ignore[misc]
    assert (entry["operator"], entry["action"], entry["outcome"]) == (
        b.bob, "catalog.open", "failed:integrity")  # fmt: skip


# ----------------------------------------------------------------------------- files


def test_an_operator_cannot_read_the_catalog_the_keys_or_the_event_log(
    bastion_host: Bastion,
) -> None:
    b = bastion_host
    keys = b.sudo(b.alice, "--json", "keys", "init", "--region", "eu")
    assert keys.code == 0, keys.stderr
    secret = [
        b.data / "catalog.db",
        b.data / "keys" / "opslog.key",
        b.data / "keys" / "region-eu.key",
        b.data / "keys" / "region-eu.sign.key",
        b.data / "logs" / "aptien-ops.jsonl",
    ]
    assert all(path.is_file() for path in secret)
    probe = (
        "import json, sys\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'rb').read(1)\n"
        "        out[path] = 'read'\n"
        "    except OSError as exc:\n"
        "        out[path] = type(exc).__name__\n"
        "print(json.dumps(out))\n"
    )
    python = str(b.program.with_name("python"))
    for operator in (b.alice, b.bob):
        tried = b.run(["runuser", "-u", operator, "--", python, "-c", probe, *map(str, secret)])
        assert json.loads(tried.stdout) == {str(p): "PermissionError" for p in secret}


def test_the_event_log_is_private_in_an_open_directory(bastion_host: Bastion) -> None:
    b = bastion_host
    log = b.data / "logs" / "aptien-ops.jsonl"
    assert stat.S_IMODE((b.data / "logs").stat().st_mode) == 0o755
    info = log.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert (info.st_uid, info.st_gid) == (b.uid(b.service), _gid(b.log_group))


def test_a_key_file_open_to_others_is_refused_naming_the_fix(bastion_host: Bastion) -> None:
    b = bastion_host
    key = b.data / "keys" / "opslog.key"
    key.chmod(0o644)
    try:
        result = b.sudo(b.alice, "--json", "operator", "whoami")
    finally:
        key.chmod(0o600)
    assert result.code == 7
    error = result.error()
    assert error["message"] == f"the ops-log key {key} is open to group or others (mode 0644)"
    assert error["hint"] == f"chmod 600 {key}"
    keys = key.parent
    keys.chmod(0o777)
    try:
        result = b.sudo(b.alice, "--json", "operator", "whoami")
    finally:
        keys.chmod(0o700)
    assert result.code == 7 and result.error()["hint"] == f"chmod go-w {keys}"


def test_a_missing_ops_log_key_is_not_regenerated(bastion_host: Bastion) -> None:
    b = bastion_host
    key = b.data / "keys" / "opslog.key"
    saved = b.root / "escrow.key"
    shutil.move(key, saved)
    try:
        result = b.sudo(b.alice, "--json", "operator", "whoami")
        assert result.code == 7 and "restore it from the key escrow" in result.error()["hint"]
        assert not key.exists()
    finally:
        shutil.move(saved, key)
    assert b.whoami(b.alice)["operator"] == b.alice


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


# ----------------------------------------------------------------------------- no root needed


def _utmp_record(kind: int, line: str, host: str, user: str = "alice") -> bytes:
    return UTMP_RECORD.pack(
        kind, 4242, line.encode(), b"ts/1", user.encode(), host.encode(), 0, 0, 0, 0, 0, b""
    )


def test_the_origin_is_the_host_sshd_wrote_in_the_terminals_login_record(tmp_path: Path) -> None:
    dead, login = 8, 6
    utmp = tmp_path / "utmp"
    utmp.write_bytes(
        _utmp_record(USER_PROCESS, "pts/1", "198.51.100.7")
        + _utmp_record(dead, "pts/1", "198.51.100.7")  # logged out since
        + _utmp_record(login, "tty2", "")
        + _utmp_record(USER_PROCESS, "tty1", "")  # a local login
        + _utmp_record(USER_PROCESS, "pts/3", "203.0.113.9")
        + _utmp_record(USER_PROCESS, "pts/4", "evil\x1b[2Jhost")
    )
    assert UTMP_RECORD.size == 384
    assert login_host("pts/3", utmp) == "203.0.113.9"
    assert login_host("tty1", utmp) == ""
    assert login_host("pts/1", utmp) is None
    assert login_host("tty2", utmp) is None
    assert login_host("pts/9", utmp) is None
    assert login_host("pts/4", utmp) == "evil\\x1b[2Jhost"
    assert login_host("pts/3", tmp_path / "no-utmp") is None


def test_the_origin_says_where_it_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SSH_CONNECTION": "198.51.100.7 50022 10.0.0.1 22"}
    said = "198.51.100.7 50022 (SSH_CONNECTION, as the environment says)"
    assert identity.ssh_origin(env) == said
    assert identity.ssh_origin({}) is None
    monkeypatch.setattr(identity, "terminal_line", lambda: "pts/3")
    monkeypatch.setattr(identity, "login_host", lambda line: "203.0.113.9")
    assert identity.ssh_origin(env, login_record=True) == "203.0.113.9 (utmp login record)"
    monkeypatch.setattr(identity, "login_host", lambda line: "198.51.100.7")  # the same client
    assert identity.ssh_origin(env, login_record=True) == (
        "198.51.100.7 50022 (utmp login record; the port from SSH_CONNECTION)"
    )
    assert identity.ssh_origin(env) == said  # a sandbox reads the environment only
    monkeypatch.setattr(identity, "login_host", lambda line: "")
    assert identity.ssh_origin(env, login_record=True) is None  # a local login
    monkeypatch.setattr(identity, "login_host", lambda line: None)
    assert identity.ssh_origin(env, login_record=True) == said  # no record for the terminal


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (
            ["/opt/aptien-ops/bin/aptien-ops", "--config", "/a.toml", "--json", "tenant", "list"],
            "sudo -u svc /opt/aptien-ops/bin/aptien-ops --json tenant list",
        ),
        (
            [
                "/usr/lib/python3/aptien_ops/__main__.py",
                "--config=/a.toml",
                "tenant",
                "show",
                "a b",
            ],
            "sudo -u svc aptien-ops tenant show 'a b'",
        ),
        (["/usr/bin/pytest", "-k", "x"], "sudo -u svc aptien-ops …"),
    ],
)
def test_the_sudo_hint_repeats_the_command_without_its_config(
    argv: list[str], command: str
) -> None:
    assert bastion.sudo_command("svc", argv) == command
