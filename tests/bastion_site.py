"""A bastion host as docs/production.md sets it up, for tests that need real accounts and sudo.

:func:`bastion_site` installs, under random names so that it clashes with nothing: a service
account that alone owns the data directory (catalog, keys, event log), two operators in an
operators group, a log group, ``/etc/<svc>/ops.toml`` owned by root, and a sudoers drop-in that
lets the group run exactly the console as the service account. Every run is a real process
started with ``runuser`` (as the operator logged in over SSH would) and, where production
expects it, ``sudo -u <svc>``. Everything is removed afterwards.

The console must be runnable by those accounts. This machine's interpreter may live where
only root can reach it (pyenv under ``/root``), so the site gets a small venv in its own
temporary directory from a Python of the same version that every account can run, pointing at
the worktree's installed packages; modes of the worktree or of ``/root`` are left alone.

It needs root (to create accounts): without it the tests that use it are skipped, and failed
under CI=true.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ci_skips import missing_tool

from aptien_ops import bastion
from aptien_ops.config import DEFAULT_CONFIG

from cli_runner import Result

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PRODUCTION_DOC = Path(__file__).resolve().parent.parent / "docs" / "production.md"
MUST_RUN = "the bastion tests"
#: Where the bastion's accounts get their sudo rule.
SUDOERS = Path("/etc/sudoers.d")


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
        # As the installed script (pyproject's [project.scripts]): Ctrl-C, SIGHUP and SIGTERM
        # are handled from the first line on.
        f"#!{venv}/bin/python\nfrom aptien_ops.__main__ import main\nmain()\n"
    )
    program.chmod(0o755)
    return program


def documented(b: Bastion, heading: str, language: str, doc: Path = PRODUCTION_DOC) -> str:
    """The first ``language`` block of ``doc`` (docs/production.md) under ``heading``, with
    this fixture's names for the service account, the operators group and the program."""
    text = doc.read_text(encoding="utf-8")
    recipe = text[text.index(f"\n{heading}\n") :]
    block = recipe[recipe.index(f"```{language}\n") + len(language) + 4 :]
    block = block[: block.index("```")]
    block = block.replace("/opt/aptien-ops/bin/aptien-ops", "\0program\0")
    block = block.replace("aptien-operators", b.operators_group)
    return block.replace("aptien-ops", b.service).replace("\0program\0", str(b.program))


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def service_config(b: Bastion) -> str:
    """The embedded default made production for ``b``: its data, accounts and groups."""
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


@contextmanager
def bastion_site(config: Callable[[Bastion], str] = service_config) -> Iterator[Bastion]:
    """The bastion installed, with ``config(b)`` as its ``/etc/<svc>/ops.toml``; no command
    has run yet (the first one creates the catalog). Removed when the block ends."""
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
    sudoers = SUDOERS / b.service
    try:
        sh("groupadd", b.operators_group)
        sh("groupadd", "--system", b.log_group)
        sh("useradd", "--system", "--user-group", "-M", "-G", b.log_group,
            "--shell", "/usr/sbin/nologin", b.service)  # fmt: skip
        for operator in (b.alice, b.bob):
            sh("useradd", "--user-group", "-M", "-G", b.operators_group, operator)
        b.data.mkdir(mode=0o700)
        (b.data / "logs").mkdir(mode=0o755)  # the event log must be private all the same
        for path in (b.data, b.data / "logs"):
            os.chown(path, b.uid(b.service), -1)
        b.config.parent.mkdir(mode=0o755)
        b.config.write_text(config(b), encoding="utf-8")
        b.config.chmod(0o644)
        rule = root / "sudoers"
        rule.write_text(documented(b, "## 4. sudo", "sudoers"))
        sh("visudo", "-cf", str(rule))
        rule.chmod(0o440)
        shutil.copy2(rule, sudoers)
        yield b
    finally:
        sudoers.unlink(missing_ok=True)
        shutil.rmtree(b.config.parent, ignore_errors=True)
        for account in (b.alice, b.bob, b.service):
            subprocess.run(["userdel", account], capture_output=True)
        for group in (b.operators_group, b.log_group):
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
