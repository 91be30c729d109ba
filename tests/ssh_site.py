"""OpenSSH's own sshd in front of the bastion of tests/bastion_site.py, set up as
docs/bastion.md says: the operators' SSH session *is* the console.

:func:`ssh_site` starts ``/usr/sbin/sshd -D`` on a free loopback port with a config of its own
(generated here, with the ``Match`` blocks of docs/bastion.md as written there), a host key
made for the run, and an authorized key per run in each test account's home directory (homes
in the site's root, modes as ``StrictModes`` wants them). The ``ForceCommand`` is
docs/production.md's wrapper, which runs the console through ``sudo`` as the service account.
The client is this machine's ``ssh`` with a config file of its own (the host key pinned, no
agent, no password prompts).

It needs root and Debian's openssh-server (``./scripts/bootstrap`` installs it as root):
without them the tests that use it are skipped, and failed under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ci_skips import missing_tool
from site_processes import explained
from waiting import until

from bastion_site import PATH, Bastion, bastion_site, documented, sh
from cli_runner import Result

SSHD = Path("/usr/sbin/sshd")
BASTION_DOC = Path(__file__).resolve().parent.parent / "docs" / "bastion.md"
MUST_RUN = "the SSH tests"
#: sshd's privilege-separation directory (Debian's service creates it; a bare sshd needs it).
PRIVSEP = Path("/run/sshd")


@dataclass(frozen=True)
class SshSite:
    bastion: Bastion
    port: int
    directory: Path
    """Root's own (0700): the host key, the client's key and config, sshd's config and log."""
    viewer: str
    """An operator of the viewers' group: docs/bastion.md gives them ``--read-only``."""

    @property
    def client_config(self) -> Path:
        return self.directory / "ssh_config"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def explained(self) -> AbstractContextManager[None]:
        """A wait on a session in the block that times out fails with what still runs of
        this site (tests/site_processes.py): which process holds the session open, and where."""
        b = self.bastion
        return explained(b.root, (b.service, b.alice, b.bob, self.viewer))

    def argv(self, account: str, *remote: str, tty: bool = False) -> list[str]:
        """``ssh`` as an operator would type it (``-tt`` for the TUI), to ``bastion``."""
        return [
            "ssh", "-F", str(self.client_config), *(["-tt"] if tty else ["-T"]),
            "-l", account, "bastion", *remote,
        ]  # fmt: skip

    def ssh(self, account: str, *remote: str, env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run(
            self.argv(account, *remote),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={"PATH": PATH, "LANG": "C.UTF-8", **(env or {})},
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def last_entries(self, count: int) -> list[dict[str, object]]:
        """The newest ``count`` ops-log entries, newest first (read by the initial admin)."""
        b = self.bastion
        log = b.sudo(b.alice, "--json", "ops-log", "list", "--limit", str(count))
        assert log.code == 0, log.stderr
        entries = log.json()
        assert isinstance(entries, list)
        return entries

    def sessions(self, *flags: str) -> list[dict[str, object]]:
        """``operator sessions --json`` (with ``flags``), as the initial admin reads it."""
        b = self.bastion
        listed = b.sudo(b.alice, "--json", "operator", "sessions", *flags)
        assert listed.code == 0, listed.stderr
        rows = listed.json()
        assert isinstance(rows, list)
        return rows


def _prerequisites() -> None:
    if os.geteuid() != 0:
        missing_tool("the SSH tests start sshd and create accounts: run them as root", MUST_RUN)
    for tool, where in (("sshd", str(SSHD)), ("ssh", "ssh"), ("ssh-keygen", "ssh-keygen")):
        if shutil.which(where, path=PATH) is None:
            missing_tool(
                f"{tool} not found (scripts/bootstrap installs openssh-server as root)", MUST_RUN
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _keygen(path: Path) -> str:
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path))
    return path.with_suffix(".pub").read_text().strip()


def _give_home(account: str, home: Path, public_key: str) -> None:
    """A home of its own with the run's key authorized, as StrictModes wants it, and an
    account sshd lets in by key (useradd's ``!`` locks it; ``*`` is no password at all)."""
    sh("usermod", "-d", str(home), "-p", "*", account)
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    (dot_ssh / "authorized_keys").write_text(public_key + "\n")
    (dot_ssh / "authorized_keys").chmod(0o600)
    home.chmod(0o755)
    sh("chown", "-R", f"{account}:", str(home))


def sshd_config(site: SshSite, viewers_group: str, wrapper: Path) -> str:
    """The test server's sshd_config: its port, keys and logging, then docs/bastion.md's
    ``Match`` blocks with this site's groups and wrapper."""
    b = site.bastion
    recipe = documented(b, "## The sshd_config recipe", "sshd_config", BASTION_DOC)
    recipe = recipe.replace("aptien-viewers", viewers_group)
    recipe = recipe.replace(f"/usr/local/libexec/{b.service}-ssh", str(wrapper))
    return (
        f"Port {site.port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {site.directory / 'host_key'}\n"
        f"PidFile {site.directory / 'sshd.pid'}\n"
        "AuthorizedKeysFile .ssh/authorized_keys\n"
        "StrictModes yes\n"
        "UsePAM no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin no\n"
        "LogLevel VERBOSE\n"
        "Subsystem sftp internal-sftp\n" + recipe
    )


@contextmanager
def ssh_site() -> Iterator[SshSite]:
    """The bastion of tests/bastion_site.py behind a running sshd; stopped and removed when the
    block ends."""
    _prerequisites()
    PRIVSEP.mkdir(mode=0o755, exist_ok=True)
    with bastion_site() as b:
        directory = b.root / "sshd"
        directory.mkdir(mode=0o700)
        viewer, viewers_group = f"aov{b.service[5:]}", f"aoviews{b.service[5:]}"
        sh("groupadd", viewers_group)
        sh("useradd", "--user-group", "-M", "-G", f"{b.operators_group},{viewers_group}", viewer)
        site = SshSite(b, _free_port(), directory, viewer)
        server: subprocess.Popen[bytes] | None = None
        try:
            host_key = _keygen(directory / "host_key")
            client_key = _keygen(directory / "client_key")
            for account in (b.alice, b.bob, viewer):
                _give_home(account, b.root / "home" / account, client_key)
            wrapper = b.root / "aptien-ops-ssh"
            wrapper.write_text(documented(b, "## 5. SSH: `ForceCommand`", "sh"))
            wrapper.chmod(0o755)
            config = directory / "sshd_config"
            config.write_text(sshd_config(site, viewers_group, wrapper))
            sh(str(SSHD), "-t", "-f", str(config))
            (directory / "known_hosts").write_text(f"[127.0.0.1]:{site.port} {host_key}\n")
            site.client_config.write_text(
                "Host bastion\n"
                "  HostName 127.0.0.1\n"
                f"  Port {site.port}\n"
                f"  IdentityFile {directory / 'client_key'}\n"
                "  IdentitiesOnly yes\n"
                "  IdentityAgent none\n"
                f"  UserKnownHostsFile {directory / 'known_hosts'}\n"
                "  StrictHostKeyChecking yes\n"
                "  BatchMode yes\n"
                "  LogLevel ERROR\n"
                "  SendEnv NO_COLOR\n"
            )
            server = subprocess.Popen(
                [str(SSHD), "-D", "-f", str(config), "-E", str(site.log)],
                stdin=subprocess.DEVNULL,
            )
            listening = re.compile(rf"Server listening on 127\.0\.0\.1 port {site.port}\.")

            def running() -> None:
                assert server is not None and server.poll() is None, _tail(site.log)

            until(lambda: listening.search(_tail(site.log)), "sshd listening", meanwhile=running)
            yield site
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            subprocess.run(["userdel", viewer], capture_output=True)
            subprocess.run(["groupdel", viewers_group], capture_output=True)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-4000:]
    except FileNotFoundError:
        return ""


@contextmanager
def ssh_site_with_tenants() -> Iterator[SshSite]:
    """:func:`ssh_site` whose catalog is made (its initial admin: ``alice``), with the viewer
    added as a viewer, both regions' keys, and two tenants: acme-gmbh and globex-sa."""
    with ssh_site() as s:
        b = s.bastion
        for args in (
            ("operator", "whoami"),
            ("operator", "add", s.viewer, "--role", "viewer"),
            ("keys", "init", "--region", "eu"),
            ("keys", "init", "--region", "us"),
            ("tenant", "provision", "acme-gmbh", "--country", "DE"),
            ("tenant", "provision", "globex-sa", "--country", "FR"),
        ):
            done = b.sudo(b.alice, "--json", *args)
            assert done.code == 0, done.stderr
        yield s
