"""The ops-log chain itself: every edit, removal, reorder and truncation is named."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from aptien_ops.domain import Identity, OpsLogEntry, OpsLogHead
from aptien_ops.errors import ExitCode, IntegrityFailure
from aptien_ops.opslog import Event, genesis_head, next_entry, redact, verify_chain

KEY = b"k" * 32
WHO = Identity("ada", "ada", "10.0.0.5 52113", "s1")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def chain(n: int) -> tuple[list[OpsLogEntry], OpsLogHead]:
    head = genesis_head(KEY)
    entries = []
    for i in range(n):
        event = Event("tenant.suspend", f"t{i}", {"reason": "r"}, "ok")
        entry, head = next_entry(KEY, head, WHO, event, T0 + timedelta(seconds=i))
        entries.append(entry)
    return entries, head


def failure(entries: list[OpsLogEntry], head: OpsLogHead | None) -> str:
    with pytest.raises(IntegrityFailure) as info:
        verify_chain(KEY, entries, head)
    assert info.value.exit_code == ExitCode.INTEGRITY
    return info.value.message


def test_an_intact_chain_verifies() -> None:
    entries, head = chain(5)
    report = verify_chain(KEY, entries, head)
    assert (report.entries, report.head_seq) == (5, 5)


def test_an_edited_entry_is_named() -> None:
    entries, head = chain(5)
    entries[2] = dataclasses.replace(entries[2], target="someone-else")
    assert "entry #3 was edited" in failure(entries, head)


def test_a_deleted_entry_is_named() -> None:
    entries, head = chain(5)
    del entries[1]
    assert "#2 is missing" in failure(entries, head)


def test_reordered_entries_are_detected() -> None:
    entries, head = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert "#3 is out of order" in failure(entries, head) or "entry #" in failure(entries, head)


def test_renumbered_entries_after_a_deletion_are_detected() -> None:
    entries, head = chain(5)
    del entries[1]
    entries = [dataclasses.replace(e, seq=i + 1) for i, e in enumerate(entries)]
    assert "entry #2 was edited" in failure(entries, head)


def test_a_truncated_tail_is_detected_by_the_signed_head() -> None:
    entries, head = chain(5)
    assert "entries #4–#5 are missing from the end" in failure(entries[:3], head)


def test_a_forged_head_is_detected() -> None:
    entries, head = chain(5)
    forged = OpsLogHead(seq=3, hmac=entries[2].hmac, signature="0" * 64)
    assert "head checkpoint was tampered" in failure(entries[:3], forged)


def test_a_missing_head_is_detected() -> None:
    entries, _ = chain(2)
    assert "head checkpoint is missing" in failure(entries, None)


def test_the_wrong_key_fails_at_the_first_entry() -> None:
    entries, head = chain(2)
    with pytest.raises(IntegrityFailure, match="#1 was edited"):
        verify_chain(b"x" * 32, entries, head)


def test_secret_looking_parameters_are_redacted() -> None:
    assert redact({"password": "p", "api_token": "t", "reason": "ok"}) == {
        "password": "[redacted]",
        "api_token": "[redacted]",
        "reason": "ok",
    }
