"""``python -m aptien_ops ARGS`` as a real process that the test signals at a phase of its
choosing: Ctrl-C (SIGINT), the SSH connection lost (SIGHUP) or SIGTERM.

The process starts as a shell starts a foreground command, with the three at their defaults
(a background job of a shell without job control, as a CI runner starts the suite, would
inherit SIGINT *ignored*). Test code patched in calls ``tell(line)`` on a pipe the test reads,
or ``told_then_signalled(line)``: the signal is held back from before the test is told until
it has come, then the process's own handler runs as if it came right there, in that frame (a
signal sent between the telling and a pause() would be lost). No sleeping anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

CHILD = """\
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever this process inherited
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
told = os.fdopen(int(os.environ.pop("APTIEN_TEST_TELL_FD")), "w", buffering=1)
_WAITED = {signal.SIGINT, signal.SIGHUP, signal.SIGTERM}

def tell(line):
    told.write(line + "\\n")

def told_then_signalled(line):
    signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
    try:
        tell(line)
        got = signal.sigwait(_WAITED)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _WAITED)
    signal.getsignal(got)(got, None)

told_then_ctrl_c = told_then_signalled

{patch}
sys.argv = ["aptien-ops", *sys.argv[1:]]
runpy.run_module("aptien_ops", run_name="__main__", alter_sys=True)
"""


@contextmanager
def started(
    args: list[str], patch: str = "", env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], Iterator[str]]]:
    """The command running (``env`` added to this process's, without its operator), and the
    lines it tells (ending when it exits); killed on the way out if a test failed first."""
    read_end, write_end = os.pipe()
    base = {k: v for k, v in os.environ.items() if k != "APTIEN_OPS_OPERATOR"}
    command = subprocess.Popen(
        [sys.executable, "-c", CHILD.replace("{patch}", patch), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, **(env or {}), "APTIEN_TEST_TELL_FD": str(write_end)},
        pass_fds=(write_end,),
    )
    os.close(write_end)
    with os.fdopen(read_end) as told:
        try:
            yield command, (line.rstrip("\n") for line in told)
        finally:
            command.kill()
            command.wait()
