"""OpenSSH's sshd on a loopback port for the SSH benchmarks: a host key and a client key made
for the run, root's login by that key only, and a client config that pins the host key.

Root logs in (the benchmark runs as root, and the catalog it seeds is root's); the keys'
directory is a temp dir under ``/tmp``, which ``StrictModes`` would refuse (sticky, written by
everyone), so this server alone runs without it: it listens on 127.0.0.1, takes no password
and lives as long as the benchmark. tests/ssh_site.py runs the strict, documented setup.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import BenchError

SSHD = Path("/usr/sbin/sshd")
#: The variables the remote command is given (sshd starts it with an environment of its own).
PASSED_ON = ("HOME", "PATH", "LANG", "LC_ALL")


@dataclass(frozen=True)
class Loopback:
    directory: Path
    port: int

    def ssh(self, *remote: str, tty: bool = False) -> list[str]:
        """The client's argv for ``remote`` on the loopback server (``-tt``: a terminal)."""
        config = str(self.directory / "ssh_config")
        return ["ssh", "-F", config, "-tt" if tty else "-T", "bastion", *remote]

    def remote(self, argv: list[str], env: Mapping[str, str], tty_size: str | None = None) -> str:
        """``argv`` as one remote command line, with ``env``'s variables that matter (XDG
        dirs, Python's, and :data:`PASSED_ON`), and with ``tty_size`` ("80 24") set on the
        terminal first (a client without a terminal of its own sends none)."""
        kept = {k: v for k, v in env.items() if k in PASSED_ON or k.startswith(("XDG_", "PYTHON"))}
        line = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in kept.items()), *argv])
        if tty_size is not None:
            cols, rows = tty_size.split()
            line = f"stty cols {cols} rows {rows} && exec {line}"
        return line


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


@contextmanager
def loopback_sshd(directory: Path) -> Iterator[Loopback]:
    """sshd running on a free loopback port until the block ends.

    Raises: BenchError if sshd is missing, this is not root, or the server does not start."""
    if os.geteuid() != 0 or not SSHD.exists():
        raise BenchError("the SSH benchmark needs root and openssh-server (scripts/bootstrap)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    directory.mkdir(mode=0o700)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    host_key = _keygen(directory / "host_key")
    (directory / "authorized_keys").write_text(_keygen(directory / "client_key") + "\n")
    (directory / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory / 'host_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\nAuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
    )
    (directory / "ssh_config").write_text(
        f"Host bastion\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
        f"  IdentityFile {directory / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  IdentityAgent none\n  UserKnownHostsFile {directory / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n"
    )
    log = directory / "sshd.log"
    server = subprocess.Popen([str(SSHD), "-D", "-f", str(config), "-E", str(log)])
    try:
        listening = f"Server listening on 127.0.0.1 port {port}."
        while listening not in (log.read_text() if log.exists() else ""):
            if server.poll() is not None:
                raise BenchError(f"sshd did not start: {log.read_text()[-2000:]}")
            time.sleep(0.01)
        yield Loopback(directory, port)
    finally:
        server.terminate()
        server.wait(timeout=60)
