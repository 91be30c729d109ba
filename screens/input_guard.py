"""Escape sequences a client sends as input never act as keys.

Textual's input parser reads what it does not understand as the keys it is made of: an OSC
string a client sends (``ESC ] 2 ; title BEL``, or a terminal's answer to a query it never
asked) or an unknown CSI sequence (``ESC [ 1 ; 5 s``) arrives as ``]``, ``2``, ``t``, ``i``,
``l``… and every letter that is a binding acts (``l`` Logins, ``s`` Suspend, ``c`` Cancel).
Over SSH anything can send such bytes. :class:`InputGuard` drops them before the parser sees
them: whole control strings (OSC, DCS, SOS, PM, APC, up to their BEL or ST, even when split
across reads; a read that begins with ESC ends one that was cut off, so a lost terminator
never swallows the keys after it), and CSI sequences whose final byte is none of those that
Textual reads as a key, a mouse or focus report, or a terminal's answer. Plain text, keys,
the Escape key itself, alt+key and bracketed pastes pass unchanged.
"""

from __future__ import annotations

import re
from typing import Any

ESC = "\x1b"
#: ESC followed by one of these opens a control string: OSC ], DCS P, SOS X, PM ^, APC _.
STRING_OPENERS = "]PX^_"
#: A control string ends at BEL or ST (ESC \); a CAN or SUB aborts it.
_STRING_END = re.compile(r"\x07|\x1b\\|[\x18\x1a]")
#: CSI: parameters, intermediates, then one final byte.
_CSI = re.compile(r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*([\x40-\x7e])")
#: The final bytes Textual reads: cursor and function keys (A-H, P-S, Z, ~, u), mouse (M, m),
#: focus (I, O), cursor position (R), mode reports (y), in-band resize (t).
KNOWN_FINALS = frozenset("ABCDEFHPQRSZ~uMmIOyt")


class InputGuard:
    """Cleans the terminal's input, chunk by chunk as it is read."""

    def __init__(self) -> None:
        self.in_string = False
        """A control string began in an earlier chunk and has not ended yet."""
        self.string_escape = False
        """The last chunk ended with the ESC of what may be the string's ST (``ESC \\``)."""

    def clean(self, data: str) -> str:
        if self.in_string and (self.string_escape and data.startswith("\\")):
            self.in_string = self.string_escape = False  # ST split across two reads
            data = data[1:]
        elif self.in_string and data.startswith(ESC):
            # A key (Esc, an arrow) or a new sequence: whatever was cut off, it is over.
            self.in_string = self.string_escape = False
        kept: list[str] = []
        at = 0
        while at < len(data):
            if self.in_string:
                end = _STRING_END.search(data, at)
                if end is None:
                    self.string_escape = data.endswith(ESC)
                    return "".join(kept)  # the rest of the chunk is inside the string
                self.in_string = False
                at = end.end()
                continue
            escape = data.find(ESC, at)
            if escape < 0:
                kept.append(data[at:])
                break
            kept.append(data[at:escape])
            opener = data[escape + 1 : escape + 2]
            if opener and opener in STRING_OPENERS and escape + 2 < len(data):
                # a string; but an opener that ends the chunk is a key (alt+], alt+P, …)
                self.in_string = True
                at = escape + 2
                continue
            csi = _CSI.match(data, escape)
            if csi is not None and csi.group(1) not in KNOWN_FINALS:
                at = csi.end()
                continue
            kept.append(ESC)
            at = escape + 1
        return "".join(kept)


def guarded_parser(parser_class: type[Any]) -> type[Any]:
    """A subclass of Textual's input parser whose input goes through an :class:`InputGuard`."""

    class GuardedParser(parser_class):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.guard = InputGuard()

        def feed(self, data: str) -> Any:
            if not data:
                return super().feed(data)  # the end of input
            kept = self.guard.clean(data)
            return super().feed(kept) if kept else ()  # "" would say the input ended

    return GuardedParser


def install() -> None:
    """Make the Linux driver (the one a terminal on a bastion gets) read its input through
    the guard; called once, before the app runs."""
    from textual.drivers import linux_driver

    parser = getattr(linux_driver, "XTermParser")  # noqa: B009 - the driver's, not exported
    if not getattr(parser, "guarded", False):
        guarded = guarded_parser(parser)
        guarded.guarded = True
        setattr(linux_driver, "XTermParser", guarded)  # noqa: B010
