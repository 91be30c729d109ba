"""The suite's one rule for a missing tool: skip naming it, except under CI=true, where it fails."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing_tool(message: str, must_run: str) -> NoReturn:
    """Skip with ``message`` (which names the tool and how to get it); under ``CI=true`` fail
    instead, saying that ``must_run`` ("the PostgreSQL tests") must run there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: {must_run} must run)", pytrace=False)
    pytest.skip(message)
