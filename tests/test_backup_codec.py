"""The backup stream itself: dump → zstd → age and back, with its two threads and their errors."""

from __future__ import annotations

import errno
import hashlib
import io
import random
import threading
from pathlib import Path

import pytest
from pyrage import x25519
from waiting import HANG_GUARD_S

from aptien_ops.backends import backup_codec


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    identity = x25519.Identity.generate()
    return str(identity.to_public()), str(identity)


def dump_like(size: int) -> bytes:
    """Text that compresses like a tenant dump (hex payloads between repeated row prefixes),
    the same for the same ``size``."""
    payloads = random.Random(size)
    rows, n = [], 0
    while n < size:
        row = b"audit\t%d\t" % n + payloads.randbytes(48).hex().encode() + b"\n"
        rows.append(row)
        n += len(row)
    return b"".join(rows)[:size]


def compressing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "backup-compress"]


def test_what_is_encrypted_decrypts_to_the_same_bytes_and_hashes(
    tmp_path: Path, keys: tuple[str, str]
) -> None:
    recipient, identity = keys
    plain = dump_like(5 * backup_codec.CHUNK + 12345)
    seen: list[int] = []
    out = tmp_path / "b.age"
    with open(out, "wb") as fh:
        sealed = backup_codec.encrypt(io.BytesIO(plain), fh, recipient, seen.append)
    assert sealed.plaintext_size == len(plain)
    assert sealed.plaintext_sha256 == hashlib.sha256(plain).hexdigest()
    assert sealed.ciphertext_size == out.stat().st_size
    assert sealed.ciphertext_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert sealed.ciphertext_size < len(plain) * 0.7  # it was compressed before it was encrypted
    assert seen == sorted(seen) and seen[-1] == len(plain)
    back = io.BytesIO()
    opened = backup_codec.decrypt(out, identity, back, expected_size=sealed.ciphertext_size)
    assert opened.problem is None
    assert back.getvalue() == plain
    assert not compressing_threads()


def test_an_empty_source_makes_a_valid_empty_backup(tmp_path: Path, keys: tuple[str, str]) -> None:
    recipient, identity = keys
    out = tmp_path / "e.age"
    with open(out, "wb") as fh:
        sealed = backup_codec.encrypt(io.BytesIO(b""), fh, recipient)
    assert sealed.plaintext_size == 0
    back = io.BytesIO()
    assert (
        backup_codec.decrypt(out, identity, back, expected_size=sealed.ciphertext_size).problem
        is None
    )
    assert back.getvalue() == b""


class FailingSource:
    """Gives ``good`` bytes, then fails like a broken disk."""

    def __init__(self, good: int) -> None:
        self._left = good

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        n = min(size, self._left)
        self._left -= n
        return b"x" * n


def test_a_source_that_fails_mid_stream_raises_its_own_error(
    tmp_path: Path, keys: tuple[str, str]
) -> None:
    with open(tmp_path / "f.age", "wb") as fh, pytest.raises(OSError) as caught:
        backup_codec.encrypt(FailingSource(3 * backup_codec.CHUNK), fh, keys[0])  # type: ignore[arg-type]
    assert caught.value.errno == errno.EIO
    assert not compressing_threads()


class FullDisk(io.RawIOBase):
    def __init__(self, room: int) -> None:
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)


class EndlessSource:
    """Random bytes for ever (a dump far bigger than the disk), counting what was read."""

    def __init__(self) -> None:
        self.read_bytes = 0
        self._block = random.Random(1).randbytes(backup_codec.CHUNK)  # incompressible

    def read(self, size: int = -1) -> bytes:
        self.read_bytes += len(self._block)
        return self._block


def test_a_destination_that_fills_up_raises_enospc_and_stops_reading(keys: tuple[str, str]) -> None:
    source = EndlessSource()
    with pytest.raises(OSError) as caught:
        backup_codec.encrypt(source, FullDisk(2 * backup_codec.CHUNK), keys[0])  # type: ignore[arg-type]
    assert caught.value.errno == errno.ENOSPC
    assert not compressing_threads()
    # Reading stopped soon after the failure: what waits between the threads is bounded
    # (the queue, and zstd's jobs in flight).
    assert source.read_bytes < 48 * backup_codec.CHUNK


class StuckSource:
    """A dump that sends three chunks, then hangs until released (a stuck pg_dump)."""

    def __init__(self) -> None:
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.reader: threading.Thread | None = None
        self._chunks = 3
        self._bytes = random.Random(3)

    def read(self, size: int = -1) -> bytes:
        if self._chunks:
            self._chunks -= 1
            return self._bytes.randbytes(size)
        self.reader = threading.current_thread()
        self.hanging.set()
        self.release.wait()
        return b""


class DiskFullOnceSourceHangs(io.RawIOBase):
    """Fails its first write with ENOSPC, but only once the source is hanging; then records
    each time the codec waits for the hanging thread (the timeout it gives ``join``)."""

    def __init__(self, source: StuckSource) -> None:
        self._source = source
        self.joins: list[float | None] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        # A safety net only: the source hangs after its third chunk.
        assert self._source.hanging.wait(HANG_GUARD_S), "the source never got to hang"
        assert self._source.reader is not None
        self._count_joins(self._source.reader)
        raise OSError(errno.ENOSPC, "No space left on device")

    def _count_joins(self, thread: threading.Thread) -> None:

        def counted_join(timeout: float | None = None) -> None:
            # Returns as a join whose timeout ran out does: the thread stays stuck however long
            # one waits, so the wait itself would tell nothing more than its bound.
            self.joins.append(timeout)

        thread.join = counted_join  # type: ignore[method-assign]


def test_a_failed_write_waits_once_and_briefly_for_a_stuck_source(
    keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        backup_codec, "ZSTD_THREADS", 0
    )  # output as soon as input: no wait on zstd's jobs
    source = StuckSource()
    dest = DiskFullOnceSourceHangs(source)
    try:
        with pytest.raises(OSError) as caught:
            backup_codec.encrypt(source, dest, keys[0])  # type: ignore[arg-type]
        assert caught.value.errno == errno.ENOSPC
        # One bounded wait for the stuck thread, not one per clean-up; and it gave up on the
        # thread (still hanging) instead of waiting for it to end.
        assert dest.joins == [backup_codec._STOP_WAIT]
        assert source.reader is not None and source.reader.is_alive()
    finally:
        source.release.set()  # what killing pg_dump does to the reading thread
    for thread in compressing_threads():
        threading.Thread.join(thread, 60)
    assert not compressing_threads()
