"""Run ``aptien-ops`` the way scripts, cron and runbooks do, and read what they would read.

:func:`run_cli` runs the command line in this process (``aptien_ops.cli.main.run`` inside
Click's ``CliRunner`` isolation): the same argument parsing, exit codes and stdout/stderr as
the real program, without starting an interpreter per call. :func:`run_cli_process` starts
the real ``python -m aptien_ops``; keep it for what only a process shows (tests/
test_cli_process.py): ``sys.exit``, the interpreter's own output, signals, a fresh
``sys.modules``, runs at the same time.

In-process runs share this process's pid and session id (``aptien_ops.identity``), so a
provisioning lease one run left behind is taken over by the next, as a new process takes over
the lease of one that has died.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click.formatting
from click.testing import CliRunner

from aptien_ops.cli.main import run
from aptien_ops.domain import Identity


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error(self) -> dict[str, Any]:
        body = json.loads(self.stderr.strip().splitlines()[-1])
        return body["error"]


def _argv(args: tuple[str | Path, ...], config: Path | None) -> list[str]:
    return [*(["--config", str(config)] if config is not None else []), *map(str, args)]


def _environment(env: dict[str, str] | None, operator: str | None) -> dict[str, str | None]:
    """Overrides for this run: ``operator`` (or no operator at all) wins over ``env``."""
    return {**(env or {}), "APTIEN_OPS_OPERATOR": operator or None}


def run_cli(
    *args: str | Path,
    config: Path | None = None,
    operator: str | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    as_account: str | None = None,
) -> Result:
    """``aptien-ops [--config CONFIG] ARGS`` in this process, acting as ``operator``
    (``APTIEN_OPS_OPERATOR``) or, for a production console, as the account ``as_account`` that
    sudo would report.

    stdin is ``input`` (never a terminal, as for a script with a pipe); ``env`` and the
    operator apply to this run only, and the environment, working directory, garbage
    collection and logging are as before once it returns.
    """
    if not _one_at_a_time.acquire(blocking=False):
        raise RuntimeError("run_cli swaps this process's stdio: use run_cli_process to run at once")
    try:
        who = Identity(as_account, as_account, None, "s-cli") if as_account else None
        return _run_in_process(_argv(args, config), input, _environment(env, operator), who)
    finally:
        _one_at_a_time.release()


_one_at_a_time = threading.Lock()


def _run_in_process(
    argv: list[str], input: str | None, env: dict[str, str | None], who: Identity | None
) -> Result:
    environ, cwd = os.environ.copy(), os.getcwd()
    with CliRunner().isolation(input=input, env=env) as (out, err, _):
        click.formatting.FORCED_WIDTH = None  # help as wide as a process with a pipe has it
        with _warnings_on(sys.stderr):
            code = run(argv, identity=who)
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    if os.environ != environ:
        os.environ.clear()
        os.environ.update(environ)
    os.chdir(cwd)
    return Result(code, stdout, stderr)


@contextmanager
def _warnings_on(stream: TextIO) -> Iterator[None]:
    """Library warnings on ``stream``, as Python's last-resort handler writes them on a real
    process's stderr (under pytest the root logger has handlers, so it would stay silent)."""
    root, last_resort = logging.getLogger(), logging.lastResort
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)
    logging.lastResort = None
    try:
        yield
    finally:
        root.removeHandler(handler)
        logging.lastResort = last_resort


def run_cli_process(
    *args: str | Path,
    config: Path | None = None,
    operator: str | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """``aptien-ops [--config CONFIG] ARGS`` as a real process (``python -m aptien_ops``)."""
    overrides = _environment(env, operator)
    full_env = {k: v for k, v in {**os.environ, **overrides}.items() if v is not None}
    proc = subprocess.run(
        [sys.executable, "-m", "aptien_ops", *_argv(args, config)],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
