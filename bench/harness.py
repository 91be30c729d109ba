"""Side-by-side timing: our operation against its floor, alternating, in one run.

Machines here are shared and noisy, so an absolute time means little; the ratio of two
medians measured in the same run, interleaved, means a lot (see the product's BENCHMARKS.md).
:func:`compare` prints one JSON object on stdout and keeps the latest figure of each
benchmark+backend in ``docs/benchmarks.md``. :func:`peak_rss_kib` measures peak memory from
outside with ``/usr/bin/time -v``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
TABLE_START = "<!-- results:start -->"
TABLE_END = "<!-- results:end -->"
TABLE_HEADER = (
    "| date (UTC) | benchmark | backend | ours median (s) | floor median (s) | ratio | target"
    " | pass | ratio of minima | rounds | machine |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"
)

#: The floor of the TUI benchmarks, as the source of a program of its own: a minimal Textual
#: app (Header, Static, Footer). Each benchmark appends how it runs it (a method of the class
#: may come first: the source ends inside the class body).
MINIMAL_APP_CLASS = """\
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Hello from the floor")
        yield Footer()
"""

#: Either a callable (timed in this process) or an argv (timed as a subprocess).
Target = Callable[[], object] | Sequence[str]


class BenchError(RuntimeError):
    """A timed command failed, or a measuring tool is missing."""


@dataclass(frozen=True)
class Run:
    """How to run an argv: environment, working directory, and a check of its stdout."""

    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None
    check_stdout: Callable[[bytes], None] | None = None
    """Called once, on the first (warm-up) run's stdout; raise to reject the output."""


def _time_once(target: Target, run: Run, check: bool) -> float:
    """Wall seconds of one run of ``target``.

    Raises:
        BenchError: the subprocess exited non-zero (its stderr tail attached).
    """
    if callable(target):
        started = time.perf_counter()
        target()
        return time.perf_counter() - started
    argv = list(target)
    started = time.perf_counter()
    # stdout and stderr are both read to the end, for ours and the floor alike.
    proc = subprocess.run(argv, capture_output=True, env=run.env, cwd=run.cwd, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise BenchError(f"{argv[:4]}... exited {proc.returncode}: {tail}")
    if check and run.check_stdout is not None:
        run.check_stdout(proc.stdout)
    return elapsed


def log(message: str) -> None:
    """A progress line on stderr, with the time of day (stdout carries the results)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def machine() -> str:
    """``<nproc> cpu, python <x.y.z>, load <1-min avg>``: what the figures were measured on.

    The load average says how much the shared machine was doing besides the benchmark.
    """
    return (
        f"{os.cpu_count()} cpu, python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )


def _summary(times: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "times_s": [round(t, 4) for t in times],
    }


def compare(
    name: str,
    ours: Target,
    floor: Target,
    *,
    rounds: int = 15,
    warmup: int = 1,
    target_ratio: float = 1.5,
    backend: str = "-",
    ours_run: Run | None = None,
    floor_run: Run | None = None,
    extra: Mapping[str, Any] | None = None,
    record: bool = True,
) -> dict[str, Any]:
    """Time ``ours`` and ``floor`` alternately, ``rounds`` times each after ``warmup`` runs.

    The order flips every round (ours first, then floor first) so neither always runs on a
    cache the other just warmed. Prints the result as one JSON object on stdout and, if
    ``record``, puts it in ``docs/benchmarks.md`` in place of the previous figure of the same
    benchmark and backend. Returns the result.

    Raises:
        BenchError: a run failed or ``ours_run.check_stdout`` rejected the output.
        ValueError: rounds < 1.
    """
    (result,) = compare_several(
        [Measured(name, ours, ours_run or Run(), target_ratio)],
        floor,
        rounds=rounds,
        warmup=warmup,
        backend=backend,
        floor_run=floor_run,
        extra=extra,
        record=record,
    )
    return result


@dataclass(frozen=True)
class Measured:
    """One of our operations in :func:`compare_several`: its benchmark name, how to run it
    and its target (a ratio to the floor's median; None: reported, never judged)."""

    name: str
    target: Target
    run: Run = Run()
    target_ratio: float | None = 1.5


def compare_several(
    ours: Sequence[Measured],
    floor: Target,
    *,
    rounds: int = 15,
    warmup: int = 1,
    backend: str = "-",
    floor_run: Run | None = None,
    extra: Mapping[str, Any] | None = None,
    record: bool = True,
) -> list[dict[str, Any]]:
    """Time each of ``ours`` and ``floor`` once per round, ``rounds`` rounds after ``warmup``.

    Which one runs first rotates every round (with one of ours, the order flips), so none
    always runs on a cache another just warmed; each of ours is judged against the same
    floor times. Prints one JSON object per line for each of ours, in order, and records
    each as :func:`compare` does. Returns the results.

    Raises:
        BenchError: a run failed or a ``check_stdout`` rejected the output.
        ValueError: rounds < 1.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    runs: list[tuple[Target, Run]] = [(m.target, m.run) for m in ours]
    runs.append((floor, floor_run or Run()))
    for i in range(warmup):
        for target, run in runs:
            _time_once(target, run, check=i == 0)
    if warmup == 0:
        for m in ours:
            _time_once(m.target, m.run, check=True)  # the output is checked even without warm-up
    times: list[list[float]] = [[] for _ in runs]
    for i in range(rounds):
        shift = i % len(runs)
        for k in [*range(shift, len(runs)), *range(shift)]:
            target, run = runs[k]
            times[k].append(_time_once(target, run, check=False))
    floor_times = times[-1]
    results = []
    for measured, ours_times in zip(ours, times, strict=False):
        ratio = statistics.median(ours_times) / statistics.median(floor_times)
        result: dict[str, Any] = {
            "benchmark": measured.name,
            "backend": backend,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "rounds": rounds,
            "warmup": warmup,
            "ours": _summary(ours_times),
            "floor": _summary(floor_times),
            "ratio": round(ratio, 3),
            # Minima are the least disturbed runs: on a busy machine their ratio is a useful
            # second view.
            "ratio_of_minima": round(min(ours_times) / min(floor_times), 3),
            "target_ratio": measured.target_ratio,
            "pass": None if measured.target_ratio is None else ratio <= measured.target_ratio,
            "machine": machine(),
            **(extra or {}),
        }
        if not callable(measured.target):
            result["ours_argv"] = _shown_argv(measured.target)
        if not callable(floor):
            result["floor_argv"] = _shown_argv(floor)
        print(json.dumps(result), flush=True)
        if record:
            record_result(result)
        results.append(result)
    return results


def _shown_argv(argv: Sequence[str]) -> list[str]:
    # The interpreter's absolute path says nothing to a reader of the JSON.
    return ["python" if a == sys.executable else str(a) for a in argv]


# ----------------------------------------------------------------------------- docs/benchmarks.md


def _row(result: Mapping[str, Any]) -> str:
    return (
        f"| {result['date']} | {result['benchmark']} | {result['backend']}"
        f" | {result['ours']['median_s']:.3f} | {result['floor']['median_s']:.3f}"
        f" | {result['ratio']:.2f}× | {_target(result)} | {_verdict(result)}"
        f" | {result['ratio_of_minima']:.2f}× | {result['rounds']} | {result['machine']} |"
    )


def _target(result: Mapping[str, Any]) -> str:
    return "—" if result["target_ratio"] is None else f"≤ {result['target_ratio']}×"


def _verdict(result: Mapping[str, Any]) -> str:
    return "—" if result["pass"] is None else "yes" if result["pass"] else "**no**"


def record_result(result: Mapping[str, Any], doc: Path = DOC) -> None:
    """Replace (or add) the row of ``result``'s benchmark+backend in the results table.

    Only the lines between the results markers are touched; the explanations above stay.

    Raises:
        BenchError: the document exists but lacks the results markers.
    """
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if not text:
        text = f"# Benchmarks\n\n{TABLE_START}\n{TABLE_HEADER}\n{TABLE_END}\n"
    if TABLE_START not in text or TABLE_END not in text:
        raise BenchError(f"{doc} has no {TABLE_START} … {TABLE_END} block to put results in")
    head, _, rest = text.partition(TABLE_START)
    body, _, tail = rest.partition(TABLE_END)
    key = (str(result["benchmark"]), str(result["backend"]))
    rows = [line for line in body.strip().splitlines() if line.startswith("|")][2:]
    rows = [line for line in rows if _row_key(line) != key]
    rows.append(_row(result))
    rows.sort(key=_row_key)
    new_body = "\n".join([TABLE_HEADER, *rows])
    doc.parent.mkdir(parents=True, exist_ok=True)
    partial = doc.with_suffix(".md.partial")
    partial.write_text(f"{head}{TABLE_START}\n{new_body}\n{TABLE_END}{tail}", encoding="utf-8")
    os.replace(partial, doc)


def _row_key(line: str) -> tuple[str, str]:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return (cells[1], cells[2]) if len(cells) > 2 else ("", "")


# ----------------------------------------------------------------------------- peak memory

_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


def peak_rss_kib(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Peak resident memory (KiB) of ``argv`` and its waited-for children, from ``time -v``.

    Raises:
        BenchError: GNU time is not installed (``apt-get install -y time``), the command
            failed, or its report could not be read.
    """
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else shutil.which("time")
    if gnu_time is None:
        raise BenchError("GNU time is missing: apt-get install -y time")
    proc = subprocess.run(
        [gnu_time, "-v", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
    )
    report = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise BenchError(f"{list(argv)[:4]}... exited {proc.returncode}: {report.strip()[-2000:]}")
    found = _MAX_RSS.search(report)
    if found is None:
        raise BenchError(f"{gnu_time} -v printed no 'Maximum resident set size' (not GNU time?)")
    return int(found.group(1))


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment both sides of a benchmark run with.

    XDG dirs inside ``home``; no operator override, config or PG* variable from the caller;
    ``PYTHONPATH`` is this checkout, so the processes run the code beside this file.
    Bytecode caching is on, in ``home/pycache``: an installed console runs from compiled
    ``.pyc`` files, while ``PYTHONDONTWRITEBYTECODE`` (set in some dev containers) would
    recompile every project module on every run (~25 ms) and measure the container instead.
    The warm-up run fills the cache for ours and the floor alike; the repository is not
    written to.
    """
    dropped = (
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPYCACHEPREFIX",
        "PYTHONPROFILEIMPORTTIME",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APTIEN_OPS_", "PG", "XDG_")) and k not in dropped
    }
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = home / name.removeprefix("XDG_").removesuffix("_HOME").lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    # The code measured is this checkout's, wherever the virtualenv's editable install points
    # (a checkout of another commit can be timed with the same environment).
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def vacuum_analyze(console: Any, tenant: str) -> int:
    """``VACUUM ANALYZE`` a freshly seeded PostgreSQL tenant as the cluster admin, so that plans
    and sizes are those of a settled database; returns its ``pg_database_size`` in bytes."""
    store = console.ctx.store(console.tenants.show(tenant).cluster or "")
    with store.connect(tenant) as conn:
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(size)


# ----------------------------------------------------------------------------- sections and servers


def replace_section(start: str, end: str, section: str, doc: Path = DOC) -> None:
    """Replace the text between the ``start`` and ``end`` markers of ``doc`` (both included)
    with ``section`` (which carries them), or append it if the markers are not there yet."""
    text = doc.read_text(encoding="utf-8")
    if start in text and end in text:
        text = text[: text.index(start)] + section.strip() + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section.strip() + "\n"
    doc.write_text(text, encoding="utf-8")


def start_pg(tmp: Path, settings: Mapping[str, str] | None = None) -> Any:
    """A throwaway PostgreSQL server (``tests/pg_fixtures``) without statement logging; the
    caller stops it. As root it runs as ``postgres``, which cannot enter a root-only ``tmp``."""
    tests_dir = str(ROOT / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import pg_fixtures

    base = None if os.geteuid() == 0 else tmp / "pg"
    return pg_fixtures.start_pg_server(base, settings=settings, log_statements=False)


@contextmanager
def pg_workspace(
    prefix: str, password_env: str, settings: Mapping[str, str] | None = None
) -> Iterator[tuple[Path, Any]]:
    """``(tmp, server)``: a temp dir that is this process's XDG home (no operator or config
    override from the caller), a fresh inspector password in ``password_env``, and a throwaway
    server; all removed at the end."""
    os.environ[password_env] = secrets.token_urlsafe(24)
    for var in ("APTIEN_OPS_CONFIG", "APTIEN_OPS_OPERATOR"):
        os.environ.pop(var, None)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ["XDG_DATA_HOME"], os.environ["XDG_CONFIG_HOME"] = (
            str(tmp / "data"),
            str(tmp / "cfg"),
        )
        server = start_pg(tmp, settings)
        try:
            yield tmp, server
        finally:
            server.stop()
