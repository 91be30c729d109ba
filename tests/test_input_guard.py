"""Escape sequences sent as input are dropped before Textual's parser reads them as keys
(screens/input_guard.py); through a real sshd and terminal: tests/test_ssh_tui.py."""

from __future__ import annotations

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from aptien_ops.screens.input_guard import InputGuard, guarded_parser


@pytest.mark.parametrize(
    ("chunks", "kept"),
    [
        (["plain keys"], "plain keys"),
        (["\x1b]2;pwned-title\x07x"], "x"),  # OSC, ended by BEL
        (["\x1b]52;c;cHd", "uZWQ=\x07q"], "q"),  # split across two reads
        (["\x1bP+q544e\x1b\\k"], "k"),  # DCS, ended by ST
        (["\x1b_apc\x1b\\", "\x1b^pm\x07", "\x1bXsos\x07."], "."),
        (["\x1b[1;5s\x1b[99;5pz"], "z"),  # CSI with finals that are bindings
        (["\x1b[2J\x1b[H"], "\x1b[H"),  # clear the screen dropped; Home kept
        (["\x1b[A\x1b[<0;3;4M\x1b[I"], "\x1b[A\x1b[<0;3;4M\x1b[I"),  # a key, a mouse, focus
        (["\x1b[200~s\x1b[201~"], "\x1b[200~s\x1b[201~"),  # a bracketed paste
        (["\x1b"], "\x1b"),  # the Escape key
        (["\x1b]", "x"], "\x1b]x"),  # alt+] then x, each read on its own
        (["\x1b]0;never ended", "\x1b", "s"], "\x1bs"),  # Escape ends a cut-off string
        (["\x1b]11;rgb:0/0/0\x1b", "\\q"], "q"),  # a terminal's answer, its ST split in two
        (["\x1b]0;cut off", "\x1b[Aq"], "\x1b[Aq"),  # a key after it: the string is over
        (["\x1b]0;a", "b", "c\x07d"], "d"),  # a string over three reads
    ],
)
def test_the_guard_keeps_keys_and_drops_sequences(chunks: list[str], kept: str) -> None:
    guard = InputGuard()
    assert "".join(guard.clean(chunk) for chunk in chunks) == kept


def _keys(parser: XTermParser, data: str) -> list[str]:
    found = [e.key for e in parser.feed(data) if isinstance(e, events.Key)]
    return found + [e.key for e in parser.feed("") if isinstance(e, events.Key)]


def test_without_the_guard_textual_reads_the_letters_of_a_sequence_as_keys() -> None:
    hostile = "\x1b]2;title\x07\x1b[1;5s"
    assert {"t", "i", "l", "e"} <= set(_keys(XTermParser(), hostile))
    guarded = guarded_parser(XTermParser)()
    assert _keys(guarded, hostile + "q") == ["q"]
    assert list(guarded_parser(XTermParser)().feed(hostile)) == []  # nothing left: no end
