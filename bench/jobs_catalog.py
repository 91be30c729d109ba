"""Where a backup job's catalog transactions go, against the in-process ``backup run``.

A throwaway PostgreSQL catalog logging every statement (``log_statement = all``), N small eu
tenants; then, one after the other: ``backup run --region eu`` (in-process), ``backup run
--region eu --enqueue``, one ``worker --region eu --until-idle`` that does the N jobs, and one
more that finds none (its fixed cost, taken off the jobs' figure). For each step the log is
cut into transactions per connection kind (the catalog engine ``aptien-ops``, the commands'
queue pool ``aptien-ops-jobs``, the worker's own pool ``aptien-ops-worker``), each counted by
what it touches; an empty statement (a pool's liveness check) or SQLAlchemy's ``;`` ping is
one round trip of its own, and PostgreSQL counts it as a transaction too.

Then (``--idle S``) a worker of every queue left waiting for S seconds with nothing to do:
what it costs the catalog per second just to be there (its heartbeat, its stalled-job sweep,
its looks for a job).

    .venv/bin/python bench/jobs_catalog.py [--tenants 6] [--idle 30]
"""

from __future__ import annotations

import argparse
import collections
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from harness import bench_env, log, pg_workspace  # noqa: E402

from aptien_ops.composition import open_console  # noqa: E402

from sandboxes import sandbox_on_postgresql  # noqa: E402
from tenant_seeding import provision_and_seed  # noqa: E402

LOGGED = {
    "log_statement": "'all'",
    "log_line_prefix": "'%m [%p] %a|'",
}
_LINE = re.compile(r"\S+ \S+ \S+ \[(\d+)\] (.*?)\|LOG:  (?:statement|execute \S+): ?(.*)")
_TOUCHES = re.compile(r"(?:FROM|INTO|UPDATE) (\w+)|(procrastinate_\w+_v\d)")


def transactions(text: str) -> collections.Counter[tuple[str, str]]:
    """(connection kind, what the transaction touched) -> how many, in a slice of the log."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("\t") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    open_tx: dict[str, list[str]] = {}
    counted: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in lines:
        found = _LINE.match(line)
        if found is None:
            continue
        pid, app, sql = found.groups()
        kind, sql = (app.split() or ["?"])[0], " ".join(sql.split())
        if sql.startswith("BEGIN"):
            open_tx[pid] = []
        elif sql in ("COMMIT", "ROLLBACK"):
            touched = [a or b for st in open_tx.pop(pid, []) for a, b in _TOUCHES.findall(st)]
            counted[(kind, ",".join(dict.fromkeys(touched)) or "(no table)")] += 1
        elif pid in open_tx:
            open_tx[pid].append(sql)
        else:
            what = "ping (;)" if sql == ";" else sql or "pool check (empty statement)"
            counted[(kind, what)] += 1
    return counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=6)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds; 0: not measured")
    args = parser.parse_args()
    n = args.tenants
    with pg_workspace("aptien-bench-jobs-catalog-", "APTIEN_BENCH_JOBS_PW", LOGGED) as (
        tmp,
        server,
    ):
        config, _ = sandbox_on_postgresql(tmp / "sbx", server)
        console = open_console(config)
        try:
            for i in range(n):
                provision_and_seed(console, f"bench-{i:04d}", logins=50, events=50, users=5, seed=i)
        finally:
            console.close()
        env = bench_env(tmp / "home")
        cli = [sys.executable, "-m", "aptien_ops", "--config", str(config)]
        worker = [*cli, "worker", "--region", "eu", "--until-idle", "--queues", "backup"]
        steps = {
            "in-process backup run": [*cli, "--json", "backup", "run", "--region", "eu"],
            "enqueue": [*cli, "backup", "run", "--region", "eu", "--enqueue"],
            "worker with the jobs": worker,
            "worker without a job": worker,
        }
        seen: dict[str, collections.Counter[tuple[str, str]]] = {}
        for name, argv in steps.items():
            start = server.log_file.stat().st_size
            subprocess.run(argv, env=env, check=True, capture_output=True)
            with server.log_file.open("rb") as f:
                f.seek(start)
                seen[name] = transactions(f.read().decode("utf-8", "replace"))
            log(f"{name}: {sum(seen[name].values())} transactions")
        jobs = seen["worker with the jobs"].copy()
        jobs.subtract(seen["worker without a job"])
        for key in [k for k in jobs if k[1].startswith("LISTEN")]:
            del jobs[key]  # the worker's start, whose listener may be late for a short run
        for name, counted in seen.items():
            print(f"== {name}: {sum(counted.values())} transactions")
            for (kind, what), count in sorted(counted.items(), key=lambda kv: -kv[1]):
                if count:
                    print(f"  {count:5d}  {kind:18s} {what[:100]}")
        print(f"== per job: the worker's, less an idle worker's, over {n} jobs")
        for (kind, what), count in sorted(jobs.items(), key=lambda kv: -kv[1]):
            if count > 0:
                print(f"  {count / n:5.1f}  {kind:18s} {what[:100]}")
        print(f"  {sum(v for v in jobs.values() if v > 0) / n:5.1f}  in all")
        if args.idle > 0:
            _idle(server, [*cli, "worker", "--region", "eu"], env, args.idle)
    return 0


def _idle(server: object, argv: list[str], env: dict[str, str], seconds: float) -> None:
    """A waiting worker's catalog transactions per second, over ``seconds``."""
    log_file: Path = server.log_file  # type: ignore[attr-defined]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        proc.stderr.readline()  # "waiting for region eu's jobs"
        time.sleep(2.0)  # past its start
        start = log_file.stat().st_size
        time.sleep(seconds)
        with log_file.open("rb") as f:
            f.seek(start)
            counted = transactions(f.read().decode("utf-8", "replace"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    print(f"== a worker of every queue, waiting, per second over {seconds:g} s")
    for (kind, what), count in counted.most_common():
        print(f"  {count / seconds:5.2f}  {kind:18s} {what[:100]}")
    print(f"  {sum(counted.values()) / seconds:5.2f}  in all")


if __name__ == "__main__":
    sys.exit(main())
