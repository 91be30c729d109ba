"""The production console on a bastion, tried with real accounts, sudo and file modes.

The module's fixture installs what docs/production.md describes, under random names so that
it clashes with nothing: a service account that alone owns the data directory (catalog, keys,
event log), two operators in an operators group, ``/etc/<svc>/ops.toml`` owned by root, and a
sudoers drop-in that lets the group run exactly the console as the service account. Every run
is a real process started with ``runuser`` (as the operator logged in over SSH would) and,
where production expects it, ``sudo -u <svc>``. Everything is removed afterwards.

The console must be runnable by those accounts. This machine's interpreter may live where
only root can reach it (pyenv under ``/root``), so the fixture builds a small venv in its own
temporary directory from a Python of the same version that every account can run, pointing at
the worktree's installed packages; modes of the worktree or of ``/root`` are left alone.

The fixture needs root (to create accounts): its tests are skipped without it, and failed
under CI=true. The tests at the end (the login record, the sudo hint) need nothing.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci_skips import missing_tool

from aptien_ops import bastion, identity
from aptien_ops.config import DEFAULT_CONFIG
from aptien_ops.login_record import USER_PROCESS, UTMP_RECORD, login_host
from aptien_ops.sandbox import write_sandbox_config

from cli_runner import Result

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PRODUCTION_DOC = Path(__file__).resolve().parent.parent / "docs" / "production.md"
MUST_RUN = "the bastion tests"


@dataclass(frozen=True)
class Bastion:
    service: str
    alice: str
    bob: str
    operators_group: str
    log_group: str
    root: Path
    """A temporary directory every account can traverse (0755)."""
    data: Path
    """The service account's data directory (0700): catalog, keys, logs."""
    program: Path
    config: Path

    def uid(self, account: str) -> int:
        return pwd.getpwnam(account).pw_uid

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=self.root,
            env={"PATH": PATH, "LANG": "C.UTF-8", **(env or {})},
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def as_(self, account: str, *args: str, env: dict[str, str] | None = None) -> Result:
        """``aptien-ops ARGS`` started by ``account`` itself (no sudo)."""
        return self.run(["runuser", "-u", account, "--", str(self.program), *args], env)

    def sudo(self, operator: str, *args: str, env: dict[str, str] | None = None) -> Result:
        """``sudo -u <svc> aptien-ops ARGS`` typed by ``operator``."""
        sudo = ["sudo", "-n", "-u", self.service, str(self.program), *args]
        return self.run(["runuser", "-u", operator, "--", *sudo], env)

    def as_service(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """The service account's own process, with whatever environment the test gives it
        (what a sudo configured to pass variables on, or a forger, would produce)."""
        return self.run(["runuser", "-u", self.service, "--", str(self.program), *args], env)

    def whoami(self, operator: str, **env: str) -> dict[str, object]:
        result = self.sudo(operator, "--json", "operator", "whoami", env=env)
        assert result.code == 0, result.stderr
        data = result.json()
        assert isinstance(data, dict)
        return data

    def sudo_env(self, operator: str) -> dict[str, str]:
        return {"SUDO_USER": operator, "SUDO_UID": str(self.uid(operator))}


def _open_to_others(path: Path) -> bool:
    """Whether every account can reach ``path`` and read (a directory: list) or run it."""
    if not all(os.stat(parent).st_mode & stat.S_IXOTH for parent in path.parents):
        return False
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IXOTH and (mode & stat.S_IROTH or not stat.S_ISDIR(mode)))


def _python_for_everyone() -> Path | None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (
        Path(sys._base_executable).resolve(),  # type: ignore[attr-defined]
        Path("/usr/local/bin") / version,
        Path("/usr/bin") / version,
    ):
        if candidate.name == version and candidate.exists() and _open_to_others(candidate):
            return candidate
    return None


def _prerequisites() -> Path:
    if os.geteuid() != 0:
        missing_tool("the bastion tests create accounts and need root (run them as root)", MUST_RUN)
    for tool in ("sudo", "visudo", "useradd", "userdel", "groupadd", "runuser"):
        if shutil.which(tool, path=PATH) is None:
            missing_tool(f"{tool} not found (scripts/bootstrap installs sudo as root)", MUST_RUN)
    python = _python_for_everyone()
    if python is None:
        missing_tool(
            f"no python{sys.version_info.major}.{sys.version_info.minor} that other accounts"
            " can run (apt-get install python3)",
            MUST_RUN,
        )
    packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
    if not _open_to_others(packages):
        missing_tool(f"{packages} is not readable by other accounts", MUST_RUN)
    return python


def _runner_venv(root: Path, python: Path) -> Path:
    """A venv every account can run, whose packages are the worktree's own."""
    venv = root / "venv"
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
    (venv / "lib" / version / "site-packages" / "worktree.pth").write_text(
        f"import site; site.addsitedir({str(packages)!r})\n"
    )
    program = venv / "bin" / "aptien-ops"
    program.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom aptien_ops.cli.main import main\nsys.exit(main())\n"
    )
    program.chmod(0o755)
    return program


def documented(b: Bastion, heading: str, language: str) -> str:
    """The first ``language`` block of docs/production.md under ``heading``, with this
    fixture's names for the service account, the operators group and the program."""
    text = PRODUCTION_DOC.read_text(encoding="utf-8")
    recipe = text[text.index(f"\n{heading}\n") :]
    block = recipe[recipe.index(f"```{language}\n") + len(language) + 4 :]
    block = block[: block.index("```")]
    block = block.replace("/opt/aptien-ops/bin/aptien-ops", "\0program\0")
    block = block.replace("aptien-operators", b.operators_group)
    return block.replace("aptien-ops", b.service).replace("\0program\0", str(b.program))


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def _service_config(b: Bastion) -> str:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    for old, new in (
        ('mode = "sandbox"', 'mode = "production"'),
        ('# data_dir = "."', f'data_dir = "{b.data}"'),
        ("initial_admins = []", f'initial_admins = ["{b.alice}"]'),
        ('service_account = "aptien-ops"', f'service_account = "{b.service}"'),
        ('# operators_group = "aptien-operators"', f'operators_group = "{b.operators_group}"'),
        ('# log_group = "adm"', f'log_group = "{b.log_group}"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="module")
def bastion_host() -> Iterator[Bastion]:
    python = _prerequisites()
    tag = secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="aptien-bastion-"))
    root.chmod(0o755)
    program = _runner_venv(root, python)
    b = Bastion(
        service=f"aosvc{tag}",
        alice=f"aoa{tag}",
        bob=f"aob{tag}",
        operators_group=f"aoops{tag}",
        log_group=f"aolog{tag}",
        root=root,
        data=root / "data",
        program=program,
        config=bastion.service_config_path(f"aosvc{tag}"),
    )
    sudoers = Path("/etc/sudoers.d") / b.service
    try:
        _sh("groupadd", b.operators_group)
        _sh("groupadd", "--system", b.log_group)
        _sh("useradd", "--system", "--user-group", "-M", "-G", b.log_group,
            "--shell", "/usr/sbin/nologin", b.service)  # fmt: skip
        for operator in (b.alice, b.bob):
            _sh("useradd", "--user-group", "-M", "-G", b.operators_group, operator)
        b.data.mkdir(mode=0o700)
        (b.data / "logs").mkdir(mode=0o755)  # the event log must be private all the same
        for path in (b.data, b.data / "logs"):
            os.chown(path, b.uid(b.service), -1)
        b.config.parent.mkdir(mode=0o755)
        b.config.write_text(_service_config(b), encoding="utf-8")
        b.config.chmod(0o644)
        rule = root / "sudoers"
        rule.write_text(documented(b, "## 4. sudo", "sudoers"))
        _sh("visudo", "-cf", str(rule))
        rule.chmod(0o440)
        shutil.copy2(rule, sudoers)
        first = b.sudo(b.alice, "--json", "operator", "whoami")  # creates the catalog
        assert first.code == 0, first.stderr
        yield b
    finally:
        sudoers.unlink(missing_ok=True)
        shutil.rmtree(b.config.parent, ignore_errors=True)
        for account in (b.alice, b.bob, b.service):
            subprocess.run(["userdel", account], capture_output=True)
        for group in (b.operators_group, b.log_group):
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# ----------------------------------------------------------------------------- who acts


def test_through_sudo_the_operator_is_the_account_sudo_reports(bastion_host: Bastion) -> None:
    b = bastion_host
    alice = b.whoami(b.alice)
    assert (alice["operator"], alice["os_account"], alice["known"]) == (b.alice, b.alice, True)
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
    _sh("chown", "-R", b.alice, str(sandbox.parent))
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
