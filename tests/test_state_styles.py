"""A state reads the same on every screen: its colour is decided in ``screens/formatting.py``
and nowhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rich.text import Text

from aptien_ops.domain import ApprovalState, TenantState
from aptien_ops.screens import formatting

SCREENS = Path(__file__).resolve().parent.parent / "screens"
#: Every state and status a screen colours; two of them as keys of one dict is a style table.
STATES = (
    {str(s) for s in TenantState}
    | {str(s) for s in ApprovalState}
    | set(formatting.BACKUP_STATUS_STYLES)
    | set(formatting.STEP_MARKS)
    | {"ok", "denied"}
)


def state_tables(path: Path) -> list[str]:
    """Dict literals in ``path`` keyed by two or more known states: ``line: keys``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys & STATES) >= 2:
                found.append(f"{node.lineno}: {sorted(keys & STATES)}")
    return found


@pytest.mark.parametrize(
    "module", sorted(p.name for p in SCREENS.glob("*.py") if p.name != "formatting.py")
)
def test_no_screen_keeps_a_style_table_of_its_own(module: str) -> None:
    assert state_tables(SCREENS / module) == [], f"move it to screens/formatting.py ({module})"


def test_the_scan_would_see_a_style_table() -> None:
    assert state_tables(SCREENS / "formatting.py")


def test_every_tenant_and_approval_state_has_its_colour() -> None:
    for state in TenantState:
        assert formatting.tenant_state_text(state).style, state
    for approval in ApprovalState:
        assert formatting.approval_state_text(approval).style, approval


@pytest.mark.parametrize(
    "text, style",
    [
        (formatting.tenant_state_text(TenantState.ACTIVE), "green"),
        (formatting.tenant_state_text(TenantState.PURGED), "dim"),
        (formatting.tenant_state_text("something new"), ""),
        (formatting.approval_state_text(ApprovalState.PENDING), "bold yellow"),
        (formatting.backup_status_text("missing"), "bold red"),
        (formatting.outcome_text("ok"), "green"),
        (formatting.outcome_text("pending"), "yellow"),
        (formatting.outcome_text("failed:unavailable"), "bold red"),
        (formatting.step_mark("done"), "green"),
    ],
)
def test_states_keep_the_colours_operators_know(text: Text, style: str) -> None:
    assert text.style == style
