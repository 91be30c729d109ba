"""A wider terminal's extra width goes to the columns whose values are cut (an IPv6 address,
an e-mail address, a record id), not all to one."""

from __future__ import annotations

import pytest

from aptien_ops.screens.event_table import column_widths
from aptien_ops.screens.inspect_kinds import AUDIT, LOGINS, EventKind

IPV6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"


def widths_of(kind: EventKind, width: int) -> dict[str, int]:
    return {
        c.title: w for c, w in zip(kind.columns, column_widths(kind.columns, width), strict=True)
    }


@pytest.mark.parametrize("width", [60, 79, 80, 120, 199, 200, 300])
def test_a_line_is_never_wider_than_the_terminal(width: int) -> None:
    for kind in (LOGINS, AUDIT):
        widths = column_widths(kind.columns, width)
        assert sum(widths) + len(widths) <= max(width, sum(c.width for c in kind.columns) + 10)


def test_at_80_columns_the_e_mail_gets_what_the_fixed_columns_leave() -> None:
    widths = widths_of(LOGINS, 79)
    assert widths["IP"] == 15 and widths["User"] == 79 - 5 - (11 + 15 + 14 + 8)


def test_at_200_columns_an_ipv6_address_and_an_e_mail_are_shown_whole() -> None:
    widths = widths_of(LOGINS, 199)
    assert widths["IP"] >= len(IPV6) and widths["User"] >= 40
    audit = widths_of(AUDIT, 199)
    assert audit["Record"] == 24 and audit["Datasheet"] == 16 and audit["Actor"] >= 40
