"""Backups of PostgreSQL tenants against the bare tools, and their peak memory (issue 4).

On a throwaway server (``tests/pg_fixtures.start_pg_server(log_statements=False)``) and a
sandbox whose eu cluster is that server, two tenants are provisioned and seeded with the
platform's own code (``backends.sandbox_platform.seed_tenant``): ~1 GB and ~100 MB as
``pg_database_size`` counts (tables and indexes). Then, ours and the floor alternately in one
run (the order flips every round, medians and minima, files deleted between rounds outside the
timing):

a. backup: ``FsBackupRepository.create`` in-process (dump in a snapshot, row counts, zstd, age,
   signed manifest) and ``aptien-ops backup run NAME`` as a process, each against
   ``pg_dump -Fc -Z0 -f FILE``                                              target <= 1.15x
b. the same in-process backup against ``pg_dump -Fc`` (default gzip)     target >= 5x faster
c. peak RSS of ``aptien-ops backup run`` (GNU time, process and children) for both tenants:
   target < 150 MB and about the same for both
d. ``BackupService.verify(ID, "restore")`` in-process against ``pg_restore --no-owner
   --no-privileges -d FRESH_DB`` of the same dump, decrypted beforehand   target <= 1.3x

The machine is shared: before each measurement the script waits (up to ``--load-wait`` s) for
the 1-minute load average to fall to ``--max-load``, and records the load before and after.
Prints one JSON object per measurement, replaces its rows in ``docs/benchmarks.md`` and its
section there (``--no-record`` leaves the file alone), exits 1 when a target is missed.
Everything lives in a temp dir that is removed at the end, with the server.

    .venv/bin/python bench/backup.py                  # ~25 min on 2 CPUs
    .venv/bin/python bench/backup.py --big-audit 200000 --big-logins 100000 --rounds 2 --no-record
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from harness import (  # noqa: E402
    BenchError,
    _summary,
    bench_env,
    log,
    machine,
    peak_rss_kib,
    pg_workspace,
    record_result,
    replace_section,
    vacuum_analyze,
)
from psycopg import sql  # noqa: E402

from aptien_ops.backends import backup_codec, pg_tools  # noqa: E402
from aptien_ops.backends.postgres_tenants import database_name  # noqa: E402
from aptien_ops.backup_policy import new_backup_id  # noqa: E402
from aptien_ops.composition import Console, open_console  # noqa: E402
from aptien_ops.domain import utcnow  # noqa: E402
from aptien_ops.services.provisioning import secret_context  # noqa: E402

from tenant_seeding import provision_and_seed  # noqa: E402

START, END = "<!-- backup:start -->", "<!-- backup:end -->"
PW_ENV = "APTIEN_TEST_INSPECTOR_PW"
TARGETS = {"z0": 1.15, "gzip": 0.2, "restore": 1.3}
RSS_LIMIT_KIB = 150 * 1024


@dataclass(frozen=True)
class Side:
    """What is timed, with what prepares it and undoes it (both untimed)."""

    run: Callable[[], object]
    after: Callable[[], object] | None = None
    before: Callable[[], object] | None = None


def quiet_machine(max_load: float, wait: float) -> float:
    """Wait up to ``wait`` s for the 1-minute load average to reach ``max_load``; return it."""
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return round(os.getloadavg()[0], 2)


def busy_cpu_seconds() -> float:
    """CPU time (all CPUs, every process: ours, pg_dump, the server) spent so far, from
    /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        ticks = [int(v) for v in fh.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def alternate(
    name: str,
    ours: Side,
    floor: Side,
    *,
    rounds: int,
    target: float | None,
    max_load: float,
    wait: float,
    extra: dict[str, Any],
    record: bool,
) -> dict[str, Any]:
    """``harness.compare`` with an untimed clean-up after each run (a deleted backup or dump).

    Also records the machine's busy CPU seconds during each run (``cpu_s``). ``target`` None:
    a reference comparison, reported but neither judged nor put in the results table.
    """
    load_before = quiet_machine(max_load, wait)
    cpu: dict[str, list[float]] = {"ours": [], "floor": []}

    def once(side: Side, label: str | None = None) -> float:
        if side.before is not None:
            side.before()
        busy, started = busy_cpu_seconds(), time.perf_counter()
        side.run()
        elapsed = time.perf_counter() - started
        if label is not None:
            cpu[label].append(busy_cpu_seconds() - busy)
        if side.after is not None:
            side.after()
        return elapsed

    once(ours), once(floor)  # warm-up: the cache holds the database for both alike
    times: dict[str, list[float]] = {"ours": [], "floor": []}
    for i in range(rounds):
        for side in ("ours", "floor") if i % 2 == 0 else ("floor", "ours"):
            times[side].append(once(ours if side == "ours" else floor, side))
    ratio = statistics.median(times["ours"]) / statistics.median(times["floor"])
    result = {
        "benchmark": name,
        "backend": "postgresql",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "warmup": 1,
        "ours": {**_summary(times["ours"]), "cpu_s": round(statistics.median(cpu["ours"]), 2)},
        "floor": {**_summary(times["floor"]), "cpu_s": round(statistics.median(cpu["floor"]), 2)},
        "ratio": round(ratio, 3),
        "ratio_of_minima": round(min(times["ours"]) / min(times["floor"]), 3),
        "target_ratio": target,
        "pass": None if target is None else ratio <= target,
        "load_before": load_before,
        "machine": machine(),
        **extra,
    }
    print(json.dumps(result), flush=True)
    if record and target is not None:
        record_result(result)
    log(
        f"{name}: ours {result['ours']['median_s']} s, floor {result['floor']['median_s']} s,"
        f" ratio {ratio:.2f} (minima {result['ratio_of_minima']:.2f}),"
        f" load {load_before} → {machine().rpartition(' ')[2]}"
    )
    return result


class Bench:
    """The server, the sandbox, an admin console and the seeded tenants."""

    def __init__(self, tmp: Path, server: Any, config: Path) -> None:
        self.tmp, self.server, self.config = tmp, server, config
        self.console: Console = open_console(config)
        self.env = bench_env(tmp, **{PW_ENV: os.environ[PW_ENV]})
        self.repo = self.console.backups.repository("eu")
        self.cluster = self.console.settings.regions["eu"].clusters[0]
        self.cli = [str(ROOT / ".venv" / "bin" / "aptien-ops"), "--config", str(config)]
        self.pg_dump, self.pg_restore = (
            pg_tools.find_tool("pg_dump"),
            pg_tools.find_tool("pg_restore"),
        )
        self.tool_env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def seed(self, name: str, *, users: int, audit: int, logins: int) -> int:
        """Provision and seed ``name``; returns its ``pg_database_size`` in bytes."""
        stats = provision_and_seed(
            self.console, name, users=users, events=audit, logins=logins, seed=4
        )
        size = vacuum_analyze(self.console, name)
        log(
            f"{name}: {audit:,} audit events, {logins:,} logins,"
            f" {stats.records:,} records in {stats.seconds:.0f} s; {size / 1e6:,.0f} MB"
        )
        return int(size)

    # -- ours -------------------------------------------------------------------------------

    def create(self, name: str) -> Side:
        recipient = self.console.tenants.show(name).backup_recipient or ""
        made: list[Any] = []

        def run() -> None:
            backup_id = new_backup_id(utcnow(), self.console.ctx.rng)
            made.append(self.repo.create(name, self.cluster, recipient, backup_id))

        return Side(run, lambda: self.repo.delete(made.pop()))

    def cli_backup(self, name: str) -> Side:
        argv = [*self.cli, "--json", "backup", "run", name]

        def run() -> None:
            done = subprocess.run(
                argv, capture_output=True, env=self.env, cwd=self.tmp, check=False
            )
            if done.returncode != 0 or not json.loads(done.stdout)[0]["ok"]:
                raise BenchError(
                    f"backup run {name} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
                )

        def undo() -> None:
            for manifest in self.repo.manifests(name):
                self.repo.delete(manifest)

        return Side(run, undo)

    # -- floors -----------------------------------------------------------------------------

    def pg_dump_to_file(self, name: str, compress: str | None) -> Side:
        path = self.tmp / f"floor-{name}.dump"
        argv = [
            self.pg_dump,
            "--format=custom",
            *([f"--compress={compress}"] if compress else []),
            "-f",
            str(path),
            "-d",
            self.server.conninfo(database_name(name)),
        ]
        return Side(lambda: self._tool(argv), path.unlink)

    def stock_pipeline(self, name: str) -> Side:
        """``pg_dump -Fc -Z0 | zstd -1 -T2 | age -r R > FILE`` with the Debian tools: the same
        work as ours minus the snapshot, row counts, listing, hashes and manifest."""
        path = self.tmp / f"stock-{name}.dump.zst.age"
        recipient = self.console.tenants.show(name).backup_recipient or ""
        script = '"$1" -Fc -Z0 -d "$2" | zstd -q -1 -T2 | age -r "$3" > "$4"'
        argv = [
            "bash",
            "-o",
            "pipefail",
            "-c",
            script,
            "stock",
            self.pg_dump,
            self.server.conninfo(database_name(name)),
            recipient,
            str(path),
        ]
        return Side(lambda: self._tool(argv), path.unlink)

    def _tool(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, env=self.tool_env, check=False)
        if done.returncode != 0:
            raise BenchError(
                f"{Path(argv[0]).name} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
            )

    # -- verify --level restore ------------------------------------------------------------

    def decrypted(self, name: str, backup_id: str) -> Path:
        """The backup's plaintext dump, written once for the floor (checked against the
        manifest)."""
        manifest = self.repo.manifest(name, backup_id)
        with self.console.ctx.catalog.read() as tx:
            sealed = tx.secrets.get(name, "backup_identity")
        assert sealed is not None
        identity = (
            self.console.ctx.sealer("eu")
            .unseal(sealed, secret_context(name, "backup_identity"))
            .decode()
        )
        path = self.tmp / f"plain-{name}.dump"
        with open(path, "wb") as sink:
            opened = backup_codec.decrypt(
                self.repo.data_path(name, backup_id),
                identity,
                sink,
                expected_size=manifest.ciphertext_size,
            )
        if opened.problem or opened.plaintext_sha256 != manifest.plaintext_sha256:
            problem = opened.problem or "plaintext hash mismatch"
            raise BenchError(f"decrypting {backup_id} for the floor: {problem}")
        return path

    def verify(self, backup_id: str) -> Side:
        def run() -> None:
            result = self.console.backups.verify(backup_id, "restore")
            if not result.ok:
                raise BenchError(f"restore verification failed: {result.detail}")

        return Side(run)

    def pg_restore_fresh(self, dump: Path) -> Side:
        """``pg_restore`` alone is timed; the empty database is made before and dropped after."""
        names: list[str] = []

        def create() -> None:
            names.append(f"floor_restore_{secrets.token_hex(4)}")
            self.server.psql(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names[-1])).as_string(None)
            )

        def run() -> None:
            self._tool(
                [
                    self.pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "-d",
                    self.server.conninfo(names[-1]),
                    str(dump),
                ]
            )

        def drop() -> None:
            self.server.psql(
                sql.SQL("DROP DATABASE {}").format(sql.Identifier(names.pop())).as_string(None)
            )

        return Side(run, drop, create)

    def codec_cpu(self, dump: Path) -> dict[str, float]:
        """CPU seconds (all threads) of each stage ours adds to pg_dump, run alone on ``dump``."""
        recipient = pyrage.x25519.Identity.generate().to_public()
        compressed = self.tmp / "codec.zst"
        cpu: dict[str, float] = {}

        def stage(label: str, work: Callable[[], object]) -> None:
            started = time.process_time()
            work()
            cpu[label] = round(time.process_time() - started, 2)

        def sha256(path: Path) -> None:
            with open(path, "rb") as fh:
                hashlib.file_digest(fh, "sha256")

        def zstd() -> None:
            codec = zstandard.ZstdCompressor(compression_params=backup_codec.compression_params())
            with open(dump, "rb") as src, open(compressed, "wb") as dst:
                codec.copy_stream(
                    src, dst, read_size=backup_codec.CHUNK, write_size=backup_codec.CHUNK
                )

        def age() -> None:
            with open(compressed, "rb") as src, open(os.devnull, "wb") as dst:
                pyrage.encrypt_io(src, dst, [recipient])

        stage("sha256 of the dump", lambda: sha256(dump))
        stage(f"zstd (level {backup_codec.ZSTD_LEVEL}, {backup_codec.ZSTD_THREADS} threads)", zstd)
        stage("age", age)
        stage("sha256 of the ciphertext", lambda: sha256(compressed))
        compressed.unlink()
        return cpu

    def peak_rss(self, name: str) -> int:
        """KiB: ``aptien-ops backup run NAME`` and its children (pg_dump, pg_restore --list)."""
        kib = peak_rss_kib([*self.cli, "--json", "backup", "run", name], env=self.env)
        after = self.cli_backup(name).after
        assert after is not None
        after()
        return kib


# ----------------------------------------------------------------------------- the run


def measure(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    big, small = "bench-1gb", "bench-100mb"
    sizes = {
        big: bench.seed(big, users=args.users, audit=args.big_audit, logins=args.big_logins),
        small: bench.seed(
            small, users=args.users, audit=args.small_audit, logins=args.small_logins
        ),
    }
    label = {name: f"{sizes[name] / 1e6:,.0f} MB" for name in sizes}
    out: dict[str, Any] = {"db_bytes": sizes}
    common: dict[str, Any] = {
        "max_load": args.max_load,
        "wait": args.load_wait,
        "record": args.record,
    }

    log("peak RSS of aptien-ops backup run (small, then big)")
    rss_load = quiet_machine(args.max_load, args.load_wait)
    out["rss_kib"] = {small: bench.peak_rss(small), big: bench.peak_rss(big)}
    out["rss_load_before"] = rss_load
    log(f"peak RSS: {out['rss_kib']}")

    z0 = ["pg_dump", "-Fc", "-Z0", "-f", "FILE", "-d", "…"]
    for name, tag in ((big, "1 GB"), (small, "100 MB")):
        out[f"z0 {name}"] = alternate(
            f"backup {tag} tenant vs pg_dump -Fc -Z0 (in-process)",
            bench.create(name),
            bench.pg_dump_to_file(name, "0"),
            rounds=args.rounds,
            target=TARGETS["z0"],
            extra={
                "db_size": label[name],
                "floor_argv": z0,
                "ours_call": "FsBackupRepository.create",
            },
            **common,
        )
    out["z0 cli"] = alternate(
        "backup 1 GB tenant vs pg_dump -Fc -Z0 (CLI process)",
        bench.cli_backup(big),
        bench.pg_dump_to_file(big, "0"),
        rounds=args.rounds,
        target=TARGETS["z0"],
        extra={
            "db_size": label[big],
            "floor_argv": z0,
            "ours_argv": ["aptien-ops", "--json", "backup", "run", big],
        },
        **common,
    )
    out["stock"] = alternate(
        "stock pg_dump -Z0 | zstd -1 -T2 | age vs pg_dump -Fc -Z0 (reference)",
        bench.stock_pipeline(big),
        bench.pg_dump_to_file(big, "0"),
        rounds=args.rounds,
        target=None,
        extra={"db_size": label[big], "floor_argv": z0},
        **common,
    )
    out["gzip"] = alternate(
        "backup 1 GB tenant vs pg_dump -Fc (gzip)",
        bench.create(big),
        bench.pg_dump_to_file(big, None),
        rounds=args.gzip_rounds,
        target=TARGETS["gzip"],
        extra={"db_size": label[big], "floor_argv": ["pg_dump", "-Fc", "-f", "FILE", "-d", "…"]},
        **common,
    )

    [kept] = bench.console.backups.run([big])
    assert kept.backup_id is not None
    manifest = bench.repo.manifest(big, kept.backup_id)
    out["dump_bytes"], out["stored_bytes"] = manifest.plaintext_size, manifest.ciphertext_size
    dump = bench.decrypted(big, kept.backup_id)
    out["codec_cpu"] = bench.codec_cpu(dump)
    log(f"CPU seconds of our stages on the dump: {out['codec_cpu']}")
    out["restore"] = alternate(
        "verify --level restore 1 GB tenant vs pg_restore",
        bench.verify(kept.backup_id),
        bench.pg_restore_fresh(dump),
        rounds=args.restore_rounds,
        target=TARGETS["restore"],
        extra={
            "db_size": label[big],
            "ours_call": "BackupService.verify(id, 'restore')",
            "floor_argv": ["pg_restore", "--no-owner", "--no-privileges", "-d", "FRESH_DB", "FILE"],
        },
        **common,
    )
    out["labels"] = label
    return out


def rss_ok(rss: dict[str, int]) -> bool:
    """Under 150 MB each, and the big tenant within 20 % (or 20 MiB) of the small one."""
    low, high = min(rss.values()), max(rss.values())
    return high < RSS_LIMIT_KIB and high - low <= max(0.2 * low, 20 * 1024)


def record_section(out: dict[str, Any], args: argparse.Namespace) -> None:
    rows = []
    for key in ("z0 bench-1gb", "z0 bench-100mb", "z0 cli", "stock", "gzip", "restore"):
        r = out[key]
        target, verdict = (
            ("—", "—")
            if r["pass"] is None
            else (f"≤ {r['target_ratio']}×", "yes" if r["pass"] else "**no**")
        )
        benchmark = r["benchmark"].replace("|", "\\|")
        ours, floor = r["ours"], r["floor"]
        rows.append(
            f"| {benchmark} | {ours['median_s']:.2f} | {floor['median_s']:.2f}"
            f" | {r['ratio']:.2f}× | {r['ratio_of_minima']:.2f}× | {target} | {verdict}"
            f" | {ours['cpu_s']:.2f} | {floor['cpu_s']:.2f} | {r['rounds']} | {r['load_before']} |"
        )
    rss = out["rss_kib"]
    cpu_line = ", ".join(f"{label} {seconds:.2f} s" for label, seconds in out["codec_cpu"].items())
    cpu_total = sum(out["codec_cpu"].values())
    rss_rows = "\n".join(
        f"| {out['labels'][name]} | {kib / 1024:.0f} MiB |" for name, kib in rss.items()
    )
    table = "\n".join(rows)
    z0, ncpu = out["z0 bench-1gb"], os.cpu_count() or 1
    least = z0["ours"]["cpu_s"] / ncpu
    bound = least / z0["floor"]["median_s"]
    floor = z0["floor"]
    header = (
        "| measurement | ours median (s) | floor median (s) | ratio | ratio of minima | target"
        " | pass | ours CPU s | floor CPU s | rounds | load before |"
    )
    section = f"""{START}
## Backups: ours against pg_dump and pg_restore, and peak memory

`bench/backup.py` (issue 4) — two PostgreSQL tenants provisioned and seeded by
`backends.sandbox_platform.seed_tenant` on a throwaway server
(`tests/pg_fixtures.start_pg_server(log_statements=False)`): {out["labels"]["bench-1gb"]}
({args.big_audit:,} audit events, {args.big_logins:,} logins) and {out["labels"]["bench-100mb"]}
({args.small_audit:,} audit events, {args.small_logins:,} logins) by `pg_database_size` (tables
and indexes). The big tenant's dump is {out["dump_bytes"] / 1e6:,.0f} MB; stored (zstd level 1 with
hash log 12 and minimum match 6, then age), {out["stored_bytes"] / 1e6:,.0f} MB. Ours and the floor
alternate (one warm-up each, the order flips every round); files and databases are removed
between rounds, untimed.

- ours, in-process: `FsBackupRepository.create` — a repeatable-read snapshot, `pg_dump -Fc -Z0
  --snapshot`, every table's rows counted in that snapshot at the same time, the dump teed to
  `pg_restore --list`, zstd, age, two SHA-256, fsync, signed manifest; reading, hashing and
  compressing in one thread, encrypting and writing in another. The CLI row runs
  `aptien-ops --json backup run NAME` (plus interpreter start, catalog and ops log).
- floors: `pg_dump -Fc -Z0 -f FILE` and `pg_dump -Fc -f FILE` (gzip), same server and binary.
- restore: `BackupService.verify(id, "restore")` (scratch database created, decrypt, decompress,
  hashes, `pg_restore --list` + `pg_restore --role=… -d scratch` from a pipe, every table
  counted, scratch dropped) against `pg_restore --no-owner --no-privileges -d FRESH_DB FILE` of
  the same dump decrypted beforehand (creating and dropping FRESH_DB untimed).

Run {out["date"]} on {out["machine"]}; the 1-minute load before each measurement is in the
last column (the script waits up to {args.load_wait:.0f} s for it to fall to {args.max_load}).

CPU s: the machine's busy CPU time during one run (median; every process — ours, pg_dump,
the server backend, the tools — from `/proc/stat`).

{header}
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |
{table}

Target "≥ 5× faster than gzip" is the row "≤ 0.2×". The reference row runs the Debian `zstd`
and `age` binaries on pg_dump's output: no snapshot, row counts, listing, hashes or manifest.

**Why ≤ 1.15× of `pg_dump -Fc -Z0` is out of reach on this machine.** Backing up is
CPU-bound here. The floor keeps {floor["cpu_s"]:.2f} CPU-s busy in {floor["median_s"]:.2f} s
({floor["cpu_s"] / (ncpu * floor["median_s"]):.0%} of {ncpu} CPUs); ours needs
{z0["ours"]["cpu_s"]:.2f} CPU-s, so even with every CPU busy all the time it cannot take less than
{least:.2f} s, {bound:.2f}× the floor, before any scheduling loss. The 1.15× target leaves
{ncpu * 1.15 * floor["median_s"] - floor["cpu_s"]:.2f} CPU-s for everything ours adds to
pg_dump; measured alone on the big tenant's dump, the stages the issue asks for cost: {cpu_line}
({cpu_total:.2f} s in all, plus reading the pipe and writing the file). The stock tools, doing
less, take {out["stock"]["ratio"]:.2f}× the floor. Meeting the target needs CPU that this
{ncpu}-CPU machine does not have to spare; the "≥ 5× faster than gzip" and restore targets hold.

Peak RSS of `aptien-ops --json backup run NAME` (GNU time: the process and its waited-for
children, pg_dump and `pg_restore --list` included), load {out["rss_load_before"]} before;
target < 150 MB and the same for both: {"yes" if rss_ok(rss) else "**no**"}.

| tenant | peak RSS |
| --- | ---: |
{rss_rows}

    .venv/bin/python bench/backup.py
{END}
"""
    replace_section(START, END, section)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--big-audit", type=int, default=1_000_000)
    parser.add_argument("--big-logins", type=int, default=500_000)
    parser.add_argument("--small-audit", type=int, default=100_000)
    parser.add_argument("--small-logins", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the -Z0 comparisons")
    parser.add_argument("--gzip-rounds", type=int, default=3)
    parser.add_argument("--restore-rounds", type=int, default=3)
    parser.add_argument(
        "--max-load", type=float, default=1.5, help="wait for this 1-minute load before each part"
    )
    parser.add_argument("--load-wait", type=float, default=180, help="but no longer than this (s)")
    parser.add_argument("--no-record", dest="record", action="store_false")
    args = parser.parse_args()

    import fleet_configs

    with pg_workspace("aptien-bench-backup-", PW_ENV) as (tmp, server):
        bench = Bench(
            tmp, server, fleet_configs.sandbox_with_eu_on("postgresql", tmp / "sandbox", server)
        )
        try:
            out = measure(bench, args)
        finally:
            bench.console.close()
    out["date"], out["machine"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine()
    out["rss_pass"] = rss_ok(out["rss_kib"])
    passed = out["rss_pass"] and all(
        out[k]["pass"] for k in ("z0 bench-1gb", "z0 bench-100mb", "z0 cli", "gzip", "restore")
    )
    print(
        json.dumps(
            {
                "benchmark": "backup",
                "pass": passed,
                "db_bytes": out["db_bytes"],
                "rss_kib": out["rss_kib"],
                "dump_bytes": out["dump_bytes"],
                "stored_bytes": out["stored_bytes"],
            }
        ),
        flush=True,
    )
    if args.record:
        record_section(out, args)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
