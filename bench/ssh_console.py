"""The console over SSH on loopback, on a 10,000-tenant catalog, each against its floor in one
run:

- ``TUI first frame over ssh -tt``: ``ssh -tt bastion`` running the TUI's start (as
  bench/tui_first_frame.py's first frame, but drawn on the terminal sshd allocates, 80×24)
  until its first frame, against the same for the first-frame benchmark's minimal Textual app.
  Target: ≤ 1.5×.
- ``ssh … --json tenant list``: ``ssh bastion aptien-ops --json tenant list`` against
  ``ssh bastion true`` followed by the local ``aptien-ops --json tenant list`` (one floor run
  does both, in turn). Target: ≤ 1.3×.

Between the two, the first-frame pair of bench/tui_first_frame.py runs headless and local
(printed, not recorded, no target): the same programs' ratio at the same moment, without the
terminal and sshd, for a machine whose load stretches every ratio.

sshd is OpenSSH's own (bench/ssh_loopback.py), logged in to as root by a key made for the
run. The remote commands run the console directly, without docs/bastion.md's wrapper and
sudo (a fixed cost of a few milliseconds, the same for every command).

    .venv/bin/python bench/ssh_console.py
    .venv/bin/python bench/ssh_console.py --rounds 21 --tenants 10000

Prints one JSON object per measurement on stdout and updates ``docs/benchmarks.md``; exits 1
if a target is missed.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable

import tenant_list
import tui_first_frame
from catalog_seed import catalog_bench_arguments, catalog_workspace
from harness import BenchError, Run, compare
from ssh_loopback import loopback_sshd

TUI_TARGET = 1.5
SCRIPTED_TARGET = 1.3
TERMINAL = "80 24"
HEADLESS = f"run(headless=True, size={tui_first_frame.SIZE!r})"


def _on_the_terminal(source: str) -> str:
    """A first-frame script drawn on its terminal instead of headless."""
    if HEADLESS not in source:
        raise BenchError(f"the first-frame script no longer runs {HEADLESS}")
    return source.replace(HEADLESS, "run()")


def _report_of(check: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``check`` of the first-frame report, read out of what the terminal showed."""

    def on_terminal(stdout: bytes) -> None:
        start = stdout.rfind(b'{"tenants_shown"')
        if start < 0:
            raise BenchError("the first-frame script printed no report on the terminal")
        check(stdout[start:].split(b"\r")[0].split(b"\n")[0])

    return on_terminal


def main(argv: list[str] | None = None) -> int:
    args = catalog_bench_arguments(__doc__.splitlines()[0], ("sqlite", "postgresql"), argv)
    with catalog_workspace(args.backend, args.tenants) as space:
        tmp, env, config = space.tmp, {**space.env, "TERM": "xterm-256color"}, space.seeded.config
        ours_tui, floor_tui = tmp / "ops_first_frame.py", tmp / "minimal_app.py"
        ours_tui.write_text(_on_the_terminal(tui_first_frame.script("first frame")))
        floor_tui.write_text(_on_the_terminal(tui_first_frame.MINIMAL_APP))
        console = [sys.executable, "-m", "aptien_ops", "--config", str(config)]
        extra = {"tenants": args.tenants, "setup_s": round(space.setup_s, 2)}
        with loopback_sshd(tmp / "sshd") as sshd:

            def over_ssh(argv: list[str], tty: bool = False) -> list[str]:
                size = TERMINAL if tty else None
                return sshd.ssh(sshd.remote(argv, env, size), tty=tty)

            tui = compare(
                "TUI first frame over ssh -tt",
                over_ssh([sys.executable, str(ours_tui), str(config)], tty=True),
                over_ssh([sys.executable, str(floor_tui)], tty=True),
                rounds=args.rounds,
                warmup=1,
                target_ratio=TUI_TARGET,
                backend=args.backend,
                ours_run=Run(env, tmp, _report_of(tui_first_frame._expect("first frame", 0))),
                floor_run=Run(env, tmp),
                extra={**extra, "size": TERMINAL},
                record=not args.no_record,
            )
            # The same pair headless and local, straight after (reported, never recorded): on a
            # loaded machine both ratios stretch, and this says by how much at that moment.
            headless = tmp / "ops_first_frame_headless.py", tmp / "minimal_app_headless.py"
            headless[0].write_text(tui_first_frame.script("first frame"))
            headless[1].write_text(tui_first_frame.MINIMAL_APP)
            compare(
                "TUI first frame, headless beside it",
                [sys.executable, str(headless[0]), str(config)],
                [sys.executable, str(headless[1])],
                rounds=args.rounds,
                warmup=1,
                target_ratio=TUI_TARGET,
                backend=args.backend,
                ours_run=Run(env, tmp, tui_first_frame._expect("first frame", 0)),
                floor_run=Run(env, tmp),
                extra=extra,
                record=False,
            )
            local = shlex.join([*console, "--json", "tenant", "list"])
            ssh_true = shlex.join(sshd.ssh("true"))
            scripted = compare(
                "ssh … --json tenant list",
                over_ssh([*console, "--json", "tenant", "list"]),
                ["sh", "-c", f"{ssh_true} && {local} >/dev/null"],
                rounds=args.rounds,
                warmup=1,
                target_ratio=SCRIPTED_TARGET,
                backend=args.backend,
                ours_run=Run(env, tmp, tenant_list._expect_rows(args.tenants)),
                floor_run=Run(env, tmp),
                extra=extra,
                record=not args.no_record,
            )
    return 0 if tui["pass"] and scripted["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
