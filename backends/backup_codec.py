"""Backup streams: plaintext → zstd → age (X25519) → file, and back, hashing as bytes pass.

Memory stays bounded whatever the size: data moves in chunks of at most :data:`CHUNK`, pulled
by pyrage (``encrypt_io``/``decrypt_io``) through zstandard's streaming reader and writer.
SHA-256 is computed over the plaintext (the dump itself) and over the ciphertext (the file)
on the way, so nothing is read twice.

zstd runs at level 1 with two worker threads: on dumps of this platform (payloads are hex
text of AES-GCM ciphertext) level 1 compresses as well as level 3 (42 % of the dump either
way) for 40 % of the CPU, and CPU is what a backup competes for with pg_dump and the server.
Its match finder gets a 4 KiB-entry hash table and 6-byte minimum matches instead of level 1's
16 Ki and 7: on a 800 MB dump 1.09 instead of 1.24 CPU-s for 42.0 % instead of 41.6 %.
Negative levels are cheaper still but store hex as it is (76 %), which age, the ciphertext
hash and the disk then pay for.

Encrypting runs in the calling thread and everything before it (reading the dump, hashing it,
compressing it) in a :class:`_Compressing` thread: pyrage holds the GIL while it encrypts,
while reads, SHA-256 and zstd release it, so the two halves overlap (≈ 8 % less wall time
for a 1 GB tenant on 2 CPUs; see docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, BinaryIO, Protocol, cast

import pyrage
import zstandard
from pyrage import x25519

from aptien_ops.errors import InvalidInput

CHUNK = 1 << 20
#: age encrypts its payload in chunks of 64 KiB of plaintext (each + a 16-byte tag).
AGE_CHUNK = 64 * 1024
ZSTD_LEVEL = 1
ZSTD_THREADS = 2
ZSTD_HASH_LOG = 12
ZSTD_MIN_MATCH = 6
#: How often ``progress`` is called, in plaintext bytes.
PROGRESS_STEP = 4 << 20


def compression_params() -> zstandard.ZstdCompressionParameters:
    """The zstd settings of every backup (see the module doc); any zstd decompresses them."""
    return zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL,
        hash_log=ZSTD_HASH_LOG,
        min_match=ZSTD_MIN_MATCH,
        threads=ZSTD_THREADS,
        write_checksum=True,
    )


class Sink(Protocol):
    """Where decrypted plaintext goes (a pg_restore's stdin, a scratch file, ...)."""

    def write(self, data: bytes, /) -> int: ...


class Source(Protocol):
    """Where a dump's bytes come from (pg_dump's stdout, a file, a tee of either)."""

    def read(self, size: int = -1, /) -> bytes: ...


def recipient_fingerprint(recipient: str) -> str:
    """``sha256:<first 16 hex>`` of the ``age1…`` recipient string (names the key, reveals
    nothing)."""
    return "sha256:" + hashlib.sha256(recipient.strip().encode("ascii")).hexdigest()[:16]


def parse_recipient(recipient: str) -> x25519.Recipient:
    """Raises: InvalidInput if ``recipient`` is not an ``age1…`` X25519 recipient."""
    try:
        return x25519.Recipient.from_str(recipient.strip())
    except (pyrage.RecipientError, ValueError, AttributeError):
        raise InvalidInput("the tenant's backup recipient is not an age X25519 recipient") from None


def parse_identity(identity: str) -> x25519.Identity:
    """Raises: InvalidInput (never showing the value) if it is not an ``AGE-SECRET-KEY-1…``."""
    try:
        return x25519.Identity.from_str(identity.strip())
    except (pyrage.IdentityError, ValueError, AttributeError):
        raise InvalidInput("the tenant's backup identity is not an age X25519 identity") from None


class HashingReader:
    """Reads ``raw``, hashing and counting what passes; remembers the first OSError it saw."""

    def __init__(self, raw: Source, progress: Callable[[int], None] | None = None) -> None:
        self._raw = raw
        self._progress = progress
        self._reported = 0
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.error: OSError | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size if size and size > 0 else CHUNK)
        except OSError as exc:
            self.error = self.error or exc
            raise
        if data:
            self.sha256.update(data)
            self.size += len(data)
            if self._progress is not None and self.size - self._reported >= PROGRESS_STEP:
                self._reported = self.size
                self._progress(self.size)
        return data


class HashingWriter:
    """Writes to ``raw``, hashing and counting; remembers the first exception of ``raw``."""

    def __init__(self, raw: Sink) -> None:
        self._raw = raw
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        try:
            self._raw.write(data)
        except (OSError, ValueError, zstandard.ZstdError) as exc:
            self.error = self.error or exc
            raise
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing buffered here; pyrage calls it at the end."""


@dataclass(frozen=True)
class Sealed:
    """What :func:`encrypt` wrote."""

    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    ciphertext_sha256: str


def encrypt(
    source: Source, dest: BinaryIO, recipient: str, progress: Callable[[int], None] | None = None
) -> Sealed:
    """Compress and encrypt ``source`` (read to its end) into ``dest``.

    ``source`` is read and ``progress`` called in a thread of this call's own; that thread is
    done when this returns, and when this raises it stops at its next chunk (waiting at most
    :data:`_STOP_WAIT` s for a source that produces nothing).

    Raises:
        InvalidInput: ``recipient`` is not an age X25519 recipient.
        OSError: reading ``source`` or writing ``dest`` failed (the original error, errno kept).
        zstandard.ZstdError, pyrage.EncryptError: the codec failed.
    """
    target = parse_recipient(recipient)
    plain = HashingReader(source, progress)
    sealed = HashingWriter(dest)
    compressed = _Compressing(plain)
    try:
        pyrage.encrypt_io(compressed, sealed, [target])
    except (pyrage.EncryptError, zstandard.ZstdError, OSError, ValueError):
        # The thread may be waiting on a source that never ends (a stuck pg_dump): the caller
        # kills that, which ends the thread's read.
        compressed.stop(timeout=_STOP_WAIT)
        # pyrage wraps a callback's exception in EncryptError and drops its errno.
        cause = sealed.error or plain.error or compressed.error
        if cause is not None:
            raise cause from None
        raise
    finally:
        compressed.stop(timeout=_STOP_WAIT)
    if progress is not None:
        progress(plain.size)
    return Sealed(plain.size, plain.sha256.hexdigest(), sealed.size, sealed.sha256.hexdigest())


_END = b""
_STOP_WAIT = 10.0


class _Compressing:
    """zstd frames of ``plain``, produced by a thread of its own, read by pyrage.

    At most :data:`_QUEUED` compressed pieces wait between the two threads, so memory stays
    bounded. :meth:`stop` ends the thread whatever it is doing (it checks between chunks).
    """

    _QUEUED = 4

    def __init__(self, plain: HashingReader) -> None:
        self._plain = plain
        self._queue: queue.Queue[bytes] = queue.Queue(self._QUEUED)
        self._stopping = threading.Event()
        self._piece, self._offset, self._ended = b"", 0, False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="backup-compress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        compressor = zstandard.ZstdCompressor(compression_params=compression_params())
        try:
            frame = compressor.compressobj()
            while not self._stopping.is_set():
                data = self._plain.read(CHUNK)
                if not data:
                    self._put(frame.flush())
                    break
                self._put(frame.compress(data))
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
            self.error = exc
        finally:
            self._put(_END, last=True)

    def _put(self, piece: bytes, *, last: bool = False) -> None:
        if not piece and not last:
            return
        while not self._stopping.is_set():
            try:
                self._queue.put(piece, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` compressed bytes; b"" at the end.

        Raises: OSError if compressing failed."""
        while self._offset >= len(self._piece):
            if self._ended:
                return b""
            self._piece, self._offset = self._queue.get(), 0
            if not self._piece:
                self._ended = True
                if self.error is not None:
                    raise OSError(f"compressing the dump failed: {self.error}")
                return b""
        end = len(self._piece) if size is None or size < 0 else self._offset + size
        out = self._piece[self._offset : end]
        self._offset += len(out)
        return out

    def stop(self, timeout: float | None = None) -> None:
        """Make the thread finish and wait for it, at most ``timeout`` s; only the first call
        waits."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(timeout)


@dataclass(frozen=True)
class DumpInfo:
    """What a dump of one tenant database says about itself, for its manifest."""

    database: str
    server_version: str
    dump_tool: str
    snapshot: str | None
    row_counts: dict[str, int]
    """Rows per table, counted in the dump's own snapshot (``schema.table`` outside ``public``)."""
    archive_list_sha256: str
    """SHA-256 of ``pg_restore --list`` (PostgreSQL) or of the schema listing (SQLite)."""


@dataclass(frozen=True)
class Opened:
    """What :func:`decrypt` found. ``problem`` is None when the whole file decrypted."""

    problem: str | None
    ciphertext_size: int
    ciphertext_sha256: str
    plaintext_size: int
    plaintext_sha256: str
    sink_error: BaseException | None = None
    """The sink refused data (its reader stopped): the sink's owner knows why."""


def decrypt(
    path: os.PathLike[str] | str, identity: str, sink: Sink, *, expected_size: int
) -> Opened:
    """Decrypt and decompress the file at ``path`` into ``sink``.

    Never raises for a bad file: ``Opened.problem`` says what is wrong with it, e.g.
    ``"truncated at chunk 12 (the file has 786,500 of 900,000 bytes)"``, ``"wrong key: …"``,
    ``"decryption failed at chunk 3: the ciphertext was altered"``.

    Raises:
        InvalidInput: ``identity`` is not an age X25519 identity.
        OSError: the file cannot be opened.
    """
    key = parse_identity(identity)
    plain = HashingWriter(sink)
    decompressor = zstandard.ZstdDecompressor()
    problem: str | None = None
    with open(path, "rb") as fh:
        cipher = HashingReader(fh)
        # zstandard asks for a file; it only ever calls write() and flush() on it.
        target = cast("IO[bytes]", plain)
        compressed = HashingWriter(
            decompressor.stream_writer(target, write_size=CHUNK, closefd=False)
        )
        try:
            pyrage.decrypt_io(cipher, compressed, [key])
        except (pyrage.DecryptError, OSError, ValueError, zstandard.ZstdError) as exc:
            ours = plain.error or cipher.error or compressed.error
            if isinstance(exc, pyrage.DecryptError) and ours is None:
                problem = _header_problem(str(exc), cipher.size)
            else:
                problem = _stream_problem(
                    exc, cipher, compressed, plain, expected_size, os.fstat(fh.fileno()).st_size
                )
    return Opened(
        problem,
        cipher.size,
        cipher.sha256.hexdigest(),
        plain.size,
        plain.sha256.hexdigest(),
        plain.error if problem is not None else None,
    )


def _header_problem(message: str, read: int) -> str:
    if "No matching keys" in message:
        return "wrong key: no matching identity (or a damaged age header)"
    if read == 0 or "fill whole buffer" in message:
        return "truncated before the end of the age header"
    return f"decryption failed: age header: {message}"


def _stream_problem(
    exc: BaseException,
    cipher: HashingReader,
    compressed: HashingWriter,
    plain: HashingWriter,
    expected_size: int,
    file_size: int,
) -> str:
    if plain.error is not None:
        return f"the reader of the plaintext stopped after {plain.size:,} bytes: {plain.error}"
    if cipher.error is not None:
        return f"cannot read the backup file: {cipher.error.strerror or cipher.error}"
    if compressed.error is not None:
        return f"decompression failed after {compressed.size:,} bytes: {compressed.error}"
    chunk = compressed.size // AGE_CHUNK
    if file_size < expected_size:
        return f"truncated at chunk {chunk} (the file has {file_size:,} of {expected_size:,} bytes)"
    if file_size > expected_size:
        return (
            f"decryption failed at chunk {chunk}: {file_size - expected_size:,} bytes were appended"
        )
    return f"decryption failed at chunk {chunk}: the ciphertext was altered ({exc})"
