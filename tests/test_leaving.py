"""aptien_ops/cli/leaving.py: a process whose command is over never stays, whatever thread is
left, and a TUI that stops answering after a hang-up still ends its session and leaves."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

from aptien_ops.cli.leaving import StuckWatch

#: A command that is over, with a thread that never ends left behind (as Textual's second
#: input thread was after ctrl+z / fg).
HELD = """
import threading, sys
threading.Thread(target=threading.Event().wait, name="left-behind").start()
from aptien_ops.cli.leaving import leave
print("outcome")
leave(int(sys.argv[1]), grace=float(sys.argv[2]))
"""


def test_a_thread_left_running_does_not_keep_the_process_and_is_named() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", HELD, "3", "1"], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout) == (3, "outcome\n")
    assert done.stderr == "aptien-ops: exit held by threads: left-behind\n"
    assert time.monotonic() - started < 60


def test_an_exit_that_nothing_holds_is_immediate_and_silent() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HELD.replace(".start()", ""), "0", "60"],
        capture_output=True,
        text=True,
        timeout=30,  # far under the grace: the watchdog played no part
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "outcome\n", "")


def _loop_in_thread() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return loop, thread


def test_a_loop_that_stops_answering_ends_the_process_after_recording() -> None:
    loop, thread = _loop_in_thread()
    blocked = threading.Event()
    loop.call_soon_threadsafe(blocked.wait)  # the loop is stuck from here on
    said: list[str] = []
    ended = threading.Event()
    watch = StuckWatch(
        loop,
        lambda: said.append("recorded"),
        129,
        stuck_s=0.5,
        end=lambda code: (said.append(f"end {code}"), ended.set()),
    )
    watch.start()
    assert ended.wait(60), "the watch never ended the stuck process"
    assert said == ["recorded", "end 129"]
    blocked.set()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def test_a_loop_that_answers_or_a_watch_stopped_ends_nothing() -> None:
    loop, thread = _loop_in_thread()
    ended = threading.Event()
    watch = StuckWatch(loop, lambda: None, 129, stuck_s=0.5, end=lambda code: ended.set())
    watch.start()
    assert not ended.wait(2.5)  # five times the limit, answered all along (LEAVE_S is far)
    watch.stop()  # the app leaves its loop: from here on, the watch ends without a word
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()
    assert not ended.wait(2.5)


def test_an_app_that_answers_but_never_leaves_is_ended_after_its_bound() -> None:
    """A loop that answers every beat, in an app waiting for what will not come: the watch
    ends it ``within_s`` after the signal all the same, the session's end recorded first."""
    loop, thread = _loop_in_thread()
    said: list[str] = []
    ended = threading.Event()
    started = time.monotonic()
    watch = StuckWatch(
        loop,
        lambda: said.append("recorded"),
        143,
        stuck_s=60,
        within_s=1.0,
        end=lambda code: (said.append(f"end {code}"), ended.set()),
    )
    watch.start()
    assert ended.wait(60), "the watch never ended the app that did not leave"
    assert said == ["recorded", "end 143"]
    assert time.monotonic() - started >= 1.0
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()
