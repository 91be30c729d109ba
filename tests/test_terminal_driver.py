"""screens/terminal_driver.py: a terminal that goes away never blocks the console, and a
second start of application mode never leaves two input threads."""

from __future__ import annotations

import asyncio
import io
import signal
import threading
from collections.abc import Iterator

import pytest
from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

from aptien_ops.screens.terminal_driver import ConsoleDriver, TerminalOutput


class ClosedPty(io.StringIO):
    """A terminal that takes ``taken`` writes, then fails every one as a closed pty does."""

    def __init__(self, taken: int) -> None:
        super().__init__()
        self.taken = taken

    def write(self, text: str) -> int:
        if self.taken <= 0:
            raise OSError(5, "Input/output error")
        self.taken -= 1
        return super().write(text)


def test_writes_after_the_terminal_went_away_are_dropped_and_never_block() -> None:
    pty = ClosedPty(taken=3)
    writer = WriterThread(TerminalOutput(pty))  # type: ignore[arg-type]
    writer.start()
    done = threading.Event()

    def app_writes() -> None:  # far more than Textual's queue holds
        for n in range(MAX_QUEUED_WRITES * 5):
            writer.write(f"frame {n};")
        writer.stop()
        done.set()

    threading.Thread(target=app_writes, daemon=True).start()
    assert done.wait(60), "a write waited for ever on a terminal that is gone"
    assert pty.getvalue() == "frame 0;frame 1;frame 2;"


@pytest.fixture
def driver() -> Iterator[ConsoleDriver]:
    """A driver that is not started (its constructor sets SIGTSTP and SIGCONT handlers, put
    back afterwards)."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}

    async def made() -> ConsoleDriver:  # Textual's driver takes the running loop
        return ConsoleDriver(app=None)  # type: ignore[arg-type]

    try:
        yield asyncio.run(made())
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)


def _input_thread(driver: ConsoleDriver) -> threading.Thread:
    """A thread that reads input as Textual's does: until the driver's exit event."""

    def reads() -> None:
        while not driver.exit_event.wait(0.1):
            pass

    return threading.Thread(target=reads, name="textual-input", daemon=True)


def test_a_second_start_of_application_mode_stops_the_input_thread_before_it(
    driver: ConsoleDriver,
) -> None:
    first = _input_thread(driver)
    driver._key_thread = first
    first.start()
    second = _input_thread(driver)
    driver._key_thread = second  # what start_application_mode does on a second SIGCONT
    assert not first.is_alive() and driver._key_thread is second
    assert not driver.exit_event.is_set()  # the new thread reads as it should
    second.start()
    driver.exit_event.set()
    second.join(30)
    assert not second.is_alive()
