"""The backups screen at 80x24, as an operator sees it. Review each SVG change before
accepting it (``--snapshot-update``).

Deterministic by construction: a frozen clock, OS account and id seed, tenants provisioned and
backed up for real (SQLite sandbox clusters), and the run shown mid-way held at exactly half of
its bytes until the picture is taken.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import ProgressBar
from tui_helpers import ManualClock, keys, until
from waiting import HANG_GUARD_S

from aptien_ops.composition import Console
from aptien_ops.errors import IntegrityFailure
from aptien_ops.screens.app import OpsApp
from aptien_ops.services.backups import BackupPage
from aptien_ops.services.backups.pages import BackupPages

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


@pytest.fixture
def stored_size_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """age (rage) writes a grease stanza of random length into every header, so the stored
    size of the very same dump differs by up to ~100 bytes from run to run: the pictures show
    it pinned to 1,650 bytes (what every other column shows is as the service returned it)."""
    paged = BackupPages.page  # BackupService.page is bound to it per console

    def pinned(self: BackupPages, *args: Any, **kwargs: Any) -> BackupPage:
        page = paged(self, *args, **kwargs)
        rows = tuple(
            dataclasses.replace(r, record=dataclasses.replace(r.record, ciphertext_size=1_650))
            for r in page.rows
        )
        return dataclasses.replace(page, rows=rows)

    monkeypatch.setattr(BackupPages, "page", pinned)


@pytest.fixture
def shelf(
    frozen: None,
    stored_size_pinned: None,
    provisioned: Callable[..., str],
    open_as: Callable[..., Console],
) -> None:
    """acme-gmbh backed up and restore-tested; maple-health backed up, then its file tampered
    with and a quick verification failing on it."""
    provisioned("acme-gmbh", "DE")
    provisioned("maple-health", "CA")
    olga = open_as("olga")
    [good] = olga.backups.run(["acme-gmbh"])
    [bad] = olga.backups.run(["maple-health"])
    assert good.backup_id and bad.backup_id
    olga.backups.verify(good.backup_id, "restore")
    data = (
        olga.settings.regions["us"].backup_store / "maple-health" / f"{bad.backup_id}.dump.zst.age"
    )
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(IntegrityFailure):
        olga.backups.verify(bad.backup_id, "quick")


def test_backups_verified_and_failed(
    snap_compare: SnapCompare, shelf: None, open_as: Callable[..., Console]
) -> None:
    app = OpsApp(open_as("olga"), clock=ManualClock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("8"))


def test_backups_verify_level_dialog(
    snap_compare: SnapCompare, shelf: None, open_as: Callable[..., Console]
) -> None:
    app = OpsApp(open_as("olga"), clock=ManualClock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("8", "down", "v"))


def test_backups_restore_dialog(
    snap_compare: SnapCompare, shelf: None, open_as: Callable[..., Console]
) -> None:
    app = OpsApp(open_as("olga"), clock=ManualClock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("8", "down", "E"))


def test_backups_restored_into_a_new_tenant(
    snap_compare: SnapCompare, shelf: None, open_as: Callable[..., Console]
) -> None:
    app = OpsApp(open_as("olga"), clock=ManualClock(), cursor_blink=False)
    restore = keys("8", "down", "E", "text:acme-restored", "enter")
    assert snap_compare(app, terminal_size=(80, 24), run_before=restore)


class ReleasingApp(OpsApp):
    """Lets a held backup finish when the snapshot is taken and the app exits."""

    release: threading.Event

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self.release.set()
        super().exit(*args, **kwargs)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # whatever happened, no thread stays held


def test_backup_progress_mid_run(
    snap_compare: SnapCompare,
    frozen: None,
    provisioned: Callable[..., str],
    open_as: Callable[..., Console],
    monkeypatch: pytest.MonkeyPatch,
    release: threading.Event,
) -> None:
    provisioned("acme-gmbh", "DE")
    console = open_as("olga")
    half = console.ctx.store("eu-sandbox-1").size_bytes("acme-gmbh") // 2
    repository = console.backups.repository("eu")
    create = repository.create
    reported = threading.Event()

    def held_create(
        *args: Any, progress: Callable[[int], None] | None = None, **kwargs: Any
    ) -> Any:
        assert progress is not None
        progress(half)  # as the codec reports after half the dump, then hold until the picture
        reported.set()
        release.wait(timeout=HANG_GUARD_S)
        return create(*args, progress=progress, **kwargs)

    monkeypatch.setattr(repository, "create", held_create)
    app = ReleasingApp(console, clock=ManualClock(), cursor_blink=False)
    app.release = release

    async def run_before(pilot: Pilot[None]) -> None:
        await keys("8", "b")(pilot)
        await pilot.press("enter")  # backs up acme-gmbh, the tenant that is due
        # The timeout is a safety net: the held worker reports long before it.
        assert await asyncio.to_thread(reported.wait, 60), "the backup never reported progress"
        bar = pilot.app.screen.query_one(ProgressBar)
        # settle would wait for the held backup: only let the screen handle its messages.
        await until(pilot, lambda: bar.progress, "the progress bar to move", workers=False)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
