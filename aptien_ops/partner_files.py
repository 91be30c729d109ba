"""The partner register's files: the signed document's digest, the published list (HTML or
JSON, everything escaped) and the CSV an import reads (refused naming line and column).

The published file is written whole under a temporary name and renamed into place, so a web
server never serves half a list. Any CSV the console writes defuses spreadsheet formulas
(``aptien_ops.export_file``); this module only reads CSV.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import html
import io
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aptien_ops.errors import InvalidInput, Unavailable

#: The columns of ``partner import``, in the order ``partner import --help`` shows them.
IMPORT_COLUMNS = (
    "name",
    "legal_name",
    "kinds",
    "coverage",
    "expertise",
    "contact_name",
    "contact_email",
    "contact_phone",
    "agreement_reference",
    "signed_on",
    "effective_from",
    "expires_on",
)
#: The most an import file may hold.
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_CELL = 2000
PUBLISH_FORMATS = ("html", "json")
#: Control characters (C0, DEL, C1) and bidirectional embeddings, overrides and isolates:
#: refused in an import's cells.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same but for the line ends (\n, \r) that separate records.
_REFUSED_IN_LINE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def document_digest(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the signed document (the file is read, never stored).
    Raises: InvalidInput (cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InvalidInput(f"--document: cannot read the file: {exc.strerror or exc}") from None
    return digest.hexdigest()


# -- the published list ------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicEntry:
    """One partner as the website shows it: name, kinds, where it acts."""

    name: str
    legal_name: str
    kinds: tuple[str, ...]
    countries: tuple[str, ...]
    regions: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "kinds": list(self.kinds),
            "countries": list(self.countries),
            "regions": list(self.regions),
        }


def render_public(entries: Sequence[PublicEntry], fmt: str, on: str) -> str:
    """The official list as ``html`` (every value escaped) or ``json`` (ASCII only)."""
    if fmt == "json":
        body = {"as_of": on, "partners": [e.as_json() for e in entries]}
        return json.dumps(body, ensure_ascii=True, indent=2) + "\n"
    rows = "\n".join(
        "    <tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(e.legal_name),
            html.escape(", ".join(e.kinds)),
            html.escape(", ".join((*e.regions, *e.countries))),
        )
        for e in entries
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>Aptien partners</title></head>\n<body>\n"
        f"<h1>Aptien's official partners</h1>\n<p>As of {html.escape(on)} (UTC).</p>\n"
        "<table>\n    <tr><th>Partner</th><th>Kind</th><th>Coverage</th></tr>\n"
        f"{rows}\n</table>\n</body>\n</html>\n"
    )


def check_publish(fmt: str, output: str | os.PathLike[str]) -> Path:
    """Raises: InvalidInput (format, missing directory)."""
    if fmt not in PUBLISH_FORMATS:
        raise InvalidInput(f"--format must be html or json, got {fmt[:20]!r}")
    target = Path(output).expanduser().absolute()
    try:
        if len(target.name.encode("utf-8", "surrogateescape")) > 200:
            raise InvalidInput("--output: the file name is longer than 200 bytes")
        if not target.parent.is_dir():
            raise InvalidInput(f"--output: the directory {target.parent} does not exist")
    except OSError as refused:
        raise InvalidInput(f"--output: {refused.strerror}: {target}") from None
    return target


def write_whole(target: Path, text: str) -> str:
    """Write ``text`` to ``target`` (0644, replacing it) whole or not at all; returns its
    SHA-256. Raises: Unavailable."""
    data = text.encode("utf-8")
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except OSError as exc:
        raise Unavailable(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest()


# -- the import file ---------------------------------------------------------------------------


class BadLine(InvalidInput):
    """A cell or line of an import file that is refused: says where."""

    def __init__(self, line: int, message: str, column: str | None = None, hint: str | None = None):
        where = f"line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}", hint=hint)


@dataclass(frozen=True)
class ImportFile:
    """An import file's records, column by column: ``columns[name][i]`` is the ``i``-th
    record's cell in column ``name`` (stripped); that record starts on line ``lines[i]``.
    Blank records are left out."""

    lines: Sequence[int]
    columns: Mapping[str, Sequence[str]]
    sha256: str


def _text(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(
            "the file is UTF-16, not UTF-8", hint="save it as CSV UTF-8 (a BOM is fine)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        line = raw[: bad.start].count(b"\n") + 1
        column = bad.start - (raw.rfind(b"\n", 0, bad.start) + 1) + 1
        raise BadLine(
            line,
            f"byte 0x{raw[bad.start]:02x} at character {column} is not UTF-8",
            hint="save the file as CSV UTF-8 (Latin-1 and Windows-1252 are refused)",
        ) from None


def read_import(path: str | os.PathLike[str]) -> ImportFile:
    """The records of an import file, and its SHA-256. A UTF-8 BOM is skipped.

    Raises: InvalidInput (unreadable, too large, not UTF-8, wrong header, a line with the
    wrong number of cells, a cell too long or holding control characters), each naming the
    line (and column)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read the import file: {exc.strerror or exc}") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"the import file is larger than {MAX_IMPORT_BYTES // 2**20} MiB")
    digest = hashlib.sha256(raw).hexdigest()
    text = _text(raw)
    # Without a quote no cell spans lines (record N is line N), and no cell holds a line end:
    # then one scan of the whole text for control characters, and the longest line, clear
    # every cell at once; else each line's cells are checked, as the first refused says.
    unquoted = '"' not in text
    clear = (
        unquoted
        and _REFUSED_IN_LINE.search(text) is None
        and max(map(len, text.split("\n"))) <= MAX_CELL
    )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        lines = list(enumerate(reader, 1) if unquoted else _numbered(reader))
    except csv.Error as bad:
        raise BadLine(reader.line_num, f"not valid CSV ({bad})") from None
    if not lines:
        raise InvalidInput("the import file is empty", hint=f"header: {','.join(IMPORT_COLUMNS)}")
    header = lines[0][1]
    _check_header(header)
    numbers, records = [], []
    for number, cells in lines[1:]:
        whole = "".join(cells)
        if not whole.strip():
            continue
        if len(cells) != len(header):
            raise BadLine(number, f"{len(cells)} cells, the header has {len(header)}")
        if not clear and (max(map(len, cells)) > MAX_CELL or _REFUSED.search(whole)):
            for name, cell in zip(header, cells, strict=True):
                _check_cell(number, name, cell)
        numbers.append(number)
        records.append(cells)
    # Column by column: the cells of a column are checked (and most of them stored) together.
    columns = zip(*records, strict=True) if records else ((),) * len(header)
    stripped = {name: list(map(str.strip, c)) for name, c in zip(header, columns, strict=True)}
    return ImportFile(numbers, stripped, digest)


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _check_header(header: list[str]) -> None:
    names = [h.strip() for h in header]
    for position, name in enumerate(names, 1):
        if name not in IMPORT_COLUMNS:
            shown = repr(name[:30])
            raise BadLine(
                1,
                f"unknown column {shown}",
                column=str(position),
                hint=f"the header is: {','.join(IMPORT_COLUMNS)}",
            )
        if names.index(name) != position - 1:
            raise BadLine(1, f"column {name} appears twice", column=str(position))
    missing = [c for c in IMPORT_COLUMNS if c not in names]
    if missing:
        raise BadLine(
            1, f"missing column {missing[0]}", hint=f"the header is: {','.join(IMPORT_COLUMNS)}"
        )
    header[:] = names


def _check_cell(line: int, column: str, cell: str) -> None:
    if len(cell) > MAX_CELL:
        raise BadLine(line, f"the cell has {len(cell):,} characters (at most {MAX_CELL:,})", column)
    bad = _REFUSED.search(cell)
    if bad is not None:
        raise BadLine(line, f"a control character (U+{ord(bad.group()):04X}) in the cell", column)
