"""Text from outside the console, made safe to write to an operator's terminal (SPEC §6).

Contact names come from clients, reasons from other operators, e-mails, IPs and user agents
from strangers at a tenant's login page, names of files from whoever can write a store. Written
raw, ``ESC ] 52`` sets the operator's clipboard, ``ESC ] 0`` retitles the window, a CSI clears
the screen and a bidi override reorders what the operator reads. :func:`shown` is the one
place that decides what of such text reaches a terminal: every control character (C0, DEL,
C1) and every invisible formatting character (bidi marks, embeddings, overrides and isolates,
zero-width spaces and joiners, the BOM, tag characters, line and paragraph separators) becomes
a visible escape: ``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\t``. A backslash is left as it is: the
escapes are for the eye, not to be parsed back.

The rule for every field, now and later (partners' fields included): text this code did not
write itself (a tenant's or partner's data, anything an operator typed, a database's or a
cluster's answer, a file's name or content) goes through :func:`shown` where it is rendered,
and is never parsed as markup. The CLI's ``table``, ``fields``, ``echo``, ``say`` and
``CliState.out`` do it for what they print, and ``OpsError.one_line()`` for every refusal; on
the screens ``plain()`` (``screens/formatting.py``) makes a field's ``Text``, and a table cell
or a ``Static`` takes that ``Text``, never a string (a string is parsed as markup there).
JSON output stays as it is, every non-ASCII character escaped by ``ensure_ascii``.

Text this code sends on (a notice's e-mail subject and body, in-app message, web page) loses
the same characters instead: :func:`stripped` is the one place that decides that, for every
notice's templates (breach, billing, operational) and the pages they publish.

No Textual or Rich here: the command line imports this on every run.
"""

from __future__ import annotations

import unicodedata

#: Categories never written raw: controls (C0, DEL, C1), invisible formatting (bidi controls,
#: zero-width characters, BOM, tags), surrogates (undecodable bytes), and the line and
#: paragraph separators some terminals take as a new line.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    """The visible form of one character: ``\\t`` ``\\n`` ``\\r``, else ``\\xNN``,
    ``\\uNNNN`` or ``\\UNNNNNNNN`` by its code point (as Python writes them)."""
    if char in _SHORT:
        return _SHORT[char]
    n = ord(char)
    if n <= 0xFF:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"


def _hidden(char: str) -> bool:
    """True if ``char`` is one :func:`shown` escapes (see ``_ESCAPED_CATEGORIES``)."""
    return unicodedata.category(char) in _ESCAPED_CATEGORIES


def stripped(value: object) -> str:
    """``value`` (``str()`` of it if it is not text) with every character :func:`shown` would
    escape removed instead, line feeds kept: the plain text a notice's reader is shown (a
    Jinja2 ``finalize`` for plain-text and, escaped after, HTML templates: always a plain
    ``str``, so even a ``Markup`` value is escaped)."""
    text = value if type(value) is str else str(value)
    if text.isprintable():
        return text
    return "".join(c for c in text if c == "\n" or not _hidden(c))


def shown(value: object, *, width: int | None = None, multiline: bool = False) -> str:
    """``value`` (``str()`` of it if it is not text) fit for a terminal.

    Controls and invisible formatting characters are escaped visibly (see the module); with
    ``multiline`` a line feed stays a line feed (a message of several lines), otherwise it is
    shown as ``\\n`` too (one field, one line). Spaces, letters of every script and symbols
    stay as they are. With ``width`` the result is cut to that many characters, the last one
    an ellipsis.
    """
    text = value if isinstance(value, str) else str(value)
    # Every character escaped is one str.isprintable() refuses: most lines cost one scan.
    if not text.isprintable():
        lines = text.split("\n") if multiline else [text]
        text = "\n".join(
            line if line.isprintable() else "".join(_escape(c) if _hidden(c) else c for c in line)
            for line in lines
        )
    if width is not None and len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text
