"""A missing tool skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

import pytest
from ci_skips import missing_tool


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="zstd not found"):
        missing_tool("zstd not found (apt-get install zstd)", "the disaster-recovery test")
