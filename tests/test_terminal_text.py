"""The one sanitiser between data and an operator's terminal: every control, DEL, C1 and
invisible formatting character shown as a visible escape; every other character as it is."""

from __future__ import annotations

import unicodedata

import pytest

from aptien_ops.terminal_text import shown, stripped

#: The categories never written raw, and what each one is.
ESCAPED = {"Cc": "control", "Cf": "format", "Cs": "surrogate", "Zl": "line sep", "Zp": "para sep"}


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        # C0 controls: every one, with the three everyone knows in their short form.
        *((chr(n), f"\\x{n:02x}") for n in range(0x20) if chr(n) not in "\t\n\r"),
        ("\t", "\\t"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\x7f", "\\x7f"),  # DEL
        # C1 controls: a terminal takes U+009B as CSI and U+009D as OSC.
        *((chr(n), f"\\x{n:02x}") for n in range(0x80, 0xA0)),
        # Bidi: marks, embeddings and overrides, isolates, the Arabic letter mark.
        ("\u200e", "\\u200e"),
        ("\u200f", "\\u200f"),
        *((chr(n), f"\\u{n:04x}") for n in range(0x202A, 0x202F)),
        *((chr(n), f"\\u{n:04x}") for n in range(0x2066, 0x206A)),
        ("\u061c", "\\u061c"),
        # Invisible: zero-width space, non-joiner, joiner, word joiner, BOM, soft hyphen.
        ("\u200b", "\\u200b"),
        ("\u200c", "\\u200c"),
        ("\u200d", "\\u200d"),
        ("\u2060", "\\u2060"),
        ("\ufeff", "\\ufeff"),
        ("\u00ad", "\\xad"),
        ("\U000e0041", "\\U000e0041"),  # a tag letter: invisible ASCII smuggled in
        ("\u2028", "\\u2028"),  # line and paragraph separators
        ("\u2029", "\\u2029"),
        ("\udc9b", "\\udc9b"),  # an undecodable byte, as surrogateescape keeps it
    ],
)
def test_each_control_and_invisible_character_is_shown_escaped(raw: str, visible: str) -> None:
    assert shown(f"a{raw}b") == f"a{visible}b"


def test_the_attacks_of_the_issue_reach_the_terminal_as_plain_characters() -> None:
    osc52 = "\x1b]52;c;cHduZWQ=\x07"
    assert shown(osc52) == "\\x1b]52;c;cHduZWQ=\\x07"
    assert shown("\x1b]0;title\x07\x1b[2J") == "\\x1b]0;title\\x07\\x1b[2J"
    assert shown("\x9b31m") == "\\x9b31m"
    assert shown("evil\u202egpj.exe") == "evil\\u202egpj.exe"


@pytest.mark.parametrize(
    "text",
    [
        "Zoë Ünal",
        "Łódź, Ørsted, Ñandú",
        "山田太郎",
        "שלום עולם",  # right-to-left letters are text, not controls
        "مرحبا",
        "🙂 ✓ → …",
        "a\u00a0b\u3000c",  # no-break and ideographic spaces
        "C:\\Users\\x1b",  # a backslash stays a backslash
        "[bold red]markup[/] [link=https://evil.example]x[/link]",  # markup is plain text
        "",
    ],
)
def test_text_of_every_script_is_shown_as_it_is(text: str) -> None:
    assert shown(text) == text


def test_every_code_point_of_the_escaped_categories_is_escaped_and_no_other() -> None:
    everything = "".join(chr(n) for n in range(0x110000))
    safe = shown(everything)
    assert not [c for c in safe if unicodedata.category(c) in ESCAPED]
    kept = "".join(c for c in everything if unicodedata.category(c) not in ESCAPED)
    assert shown(kept) == kept


def test_a_message_of_several_lines_keeps_its_line_feeds_only() -> None:
    assert shown("one\ntwo\r\n\tthree\x1b[2J", multiline=True) == "one\ntwo\\r\n\\tthree\\x1b[2J"
    assert shown("one\ntwo") == "one\\ntwo"  # a field is one line


def test_a_width_cuts_the_shown_text_with_an_ellipsis() -> None:
    assert shown("\x1b[2Jabcdef", width=8) == "\\x1b[2J…"
    assert shown("abc", width=3) == "abc"
    assert len(shown("\u202e" * 100, width=48)) == 48


def test_shown_text_is_shown_the_same_again() -> None:
    once = shown("\x1b]0;x\x07\u202e\x9b\n", multiline=True)
    assert shown(once, multiline=True) == once and shown(shown("\x00")) == shown("\x00")


def test_values_that_are_not_text_are_shown_as_their_text() -> None:
    assert shown(42) == "42" and shown(3.5) == "3.5"


def test_stripped_drops_what_shown_escapes_and_keeps_line_feeds() -> None:
    hostile = "a\x1b[2J\x9bb\u202ec\u200bd\u2028e\tf\r\ng é 中"
    assert stripped(hostile) == "a[2Jbcdef\ng é 中"
    assert stripped(42) == "42" and stripped("plain text") == "plain text"
