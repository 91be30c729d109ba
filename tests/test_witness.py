"""The check of the catalog's ops log against a witness outside it, on synthetic chains.

The witness is the JSON event log as :class:`EventLog` writes it (the SIEM's copy) or the
checkpoints ``backup run`` signs into the stores. Each attack leaves a chain that verifies on
its own (an attacker with the ops-log key re-signs the head); only the witness sees it.
"""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import pytest
from test_opslog_chain import KEY, T0, WHO, chain

from aptien_ops.domain import OpsLogCheckpoint, OpsLogEntry, OpsLogHead
from aptien_ops.errors import ExitCode, IntegrityFailure, NotFound
from aptien_ops.eventlog import EventLog
from aptien_ops.opslog import Event, draft, genesis_head, head_signature, next_entry, verify_chain
from aptien_ops.witness import Witness, WitnessReport, check_witness, tap


def event_log(path: Path, entries: list[OpsLogEntry]) -> Path:
    log = EventLog(path)
    for e in entries:
        log.entry(e)
    log.close()
    return path


def witness_of(*paths: Path) -> Witness:
    witness = Witness()
    for path in paths:
        witness.read_event_log(path)
    return witness


def cut(entries: list[OpsLogEntry], n: int) -> tuple[list[OpsLogEntry], OpsLogHead]:
    """The first ``n`` entries with a head re-signed to match: a truncation by someone
    holding the ops-log key, or a saved head and table put back."""
    if n == 0:
        return [], genesis_head(KEY)
    last = entries[n - 1]
    return entries[:n], OpsLogHead(n, last.hmac, head_signature(KEY, n, last.hmac))


def checked(witness: Witness, entries: list[OpsLogEntry], head: OpsLogHead) -> WitnessReport:
    """As ``ops-log verify --witness`` does: the chain first, in the same pass the witness."""
    seen: dict[int, str] = {}
    report = verify_chain(KEY, tap(entries, witness.sightings, seen), head)
    return check_witness(witness, seen, report.head_seq)


def failure(witness: Witness, entries: list[OpsLogEntry], head: OpsLogHead) -> str:
    with pytest.raises(IntegrityFailure) as info:
        checked(witness, entries, head)
    assert info.value.exit_code == ExitCode.INTEGRITY
    return info.value.message


def checkpoint(entries: list[OpsLogEntry], seq: int, region: str = "eu") -> OpsLogCheckpoint:
    """The checkpoint a backup run signs when entry ``seq`` of ``entries`` is the head."""
    head, first = entries[seq - 1], entries[0]
    return OpsLogCheckpoint(seq, head.hmac, first.hmac, "2026-01-05T10:00:00Z", "db", region)


# ----------------------------------------------------------------------------- nothing wrong


def test_a_witness_behind_the_catalog_passes(tmp_path: Path) -> None:
    entries, head = chain(6)
    witness = witness_of(event_log(tmp_path / "events.jsonl", entries[:4]))
    witness.take_checkpoints("eu", [checkpoint(entries, 3)], [])
    report = checked(witness, entries, head)
    assert (report.witnessed, report.highest_seq, report.untrusted) == (4, 4, [])


def test_a_witness_level_with_the_catalog_passes(tmp_path: Path) -> None:
    entries, head = chain(3)
    witness = witness_of(event_log(tmp_path / "e.jsonl", entries))
    assert checked(witness, entries, head).witnessed == 3


# ----------------------------------------------------------------------------- the attacks


def test_a_wiped_log_with_a_genesis_head_is_named_from_entry_1(tmp_path: Path) -> None:
    entries, _ = chain(5)
    message = failure(witness_of(event_log(tmp_path / "e.jsonl", entries)), *cut(entries, 0))
    assert "ops log is empty but the witness saw 5 entries" in message
    assert "entry #1 is missing" in message


def test_a_truncation_is_named_at_the_first_missing_entry(tmp_path: Path) -> None:
    entries, _ = chain(7)
    message = failure(witness_of(event_log(tmp_path / "e.jsonl", entries)), *cut(entries, 4))
    assert "rolled back or truncated: entry #5 (seen by the witness at" in message
    assert "every entry up to #7" in message and "the catalog's head is #4" in message


def test_a_rollback_seen_only_by_a_checkpoint_names_the_first_missing_entry() -> None:
    entries, _ = chain(9)
    witness = Witness()
    witness.take_checkpoints("us", [checkpoint(entries, 2, "us"), checkpoint(entries, 9, "us")], [])
    message = failure(witness, *cut(entries, 5))
    assert "entries #6–#9 are missing (the witness saw #9 at 2026-01-05T10:00:00Z" in message
    assert "region us's checkpoint" in message


def test_a_log_rewritten_with_the_key_differs_from_the_witness(tmp_path: Path) -> None:
    entries, _ = chain(4)
    witness = witness_of(event_log(tmp_path / "e.jsonl", entries))
    head = genesis_head(KEY)
    forged = []
    for i in range(4):  # the same number of entries, one of them quietly different
        target = "someone-else" if i == 2 else f"t{i}"
        event = Event("tenant.suspend", target, {"reason": "r"}, "ok")
        entry, head = next_entry(KEY, head, WHO, event, T0 + timedelta(seconds=i))
        forged.append(entry)
    assert "entry #3 differs from the witness's copy" in failure(witness, forged, head)


def test_a_log_restarted_after_a_wipe_differs_from_a_checkpoint_at_entry_1() -> None:
    old, _ = chain(5)
    witness = Witness()
    witness.take_checkpoints("eu", [checkpoint(old, 5)], [])
    restarted, head = chain_after_wipe(7)  # longer than the checkpoint's head, even
    assert "entry #1 differs from the witness's copy (region eu's checkpoint" in failure(
        witness, restarted, head
    )


def test_a_log_restarted_after_a_wipe_shows_as_two_different_entries(tmp_path: Path) -> None:
    old, _ = chain(5)
    restarted, head = chain_after_wipe(2)
    log = event_log(tmp_path / "e.jsonl", old + restarted)  # the SIEM saw both lives
    message = failure(witness_of(log), restarted, head)
    assert "the witness saw two different entries #1" in message


def chain_after_wipe(n: int) -> tuple[list[OpsLogEntry], OpsLogHead]:
    head, out = genesis_head(KEY), []
    for i in range(n):
        event = Event("ops-log.verify", "ops-log", {}, "ok")
        entry, head = next_entry(KEY, head, WHO, event, T0 + timedelta(days=1, seconds=i))
        out.append(entry)
    return out, head


# ----------------------------------------------------------------------------- the event log


def test_the_event_log_carries_every_committed_entrys_seq_and_hmac(tmp_path: Path) -> None:
    entries, _ = chain(3)
    witness = witness_of(event_log(tmp_path / "e.jsonl", entries))
    assert {seq: [s.hmac for s in seen] for seq, seen in witness.sightings.items()} == {
        e.seq: [e.hmac] for e in entries
    }


def test_rotated_files_are_read_together_and_gzip_is_understood(tmp_path: Path) -> None:
    entries, head = chain(6)
    old = event_log(tmp_path / "e.jsonl.1", entries[:3])
    rotated = tmp_path / "e.jsonl.1.gz"
    rotated.write_bytes(gzip.compress(old.read_bytes()))
    witness = witness_of(rotated, event_log(tmp_path / "e.jsonl", entries[3:]))
    assert checked(witness, entries, head).witnessed == 6
    assert "entry #4 (seen by the witness" in failure(witness, *cut(entries, 3))


def test_unrecorded_attempts_and_other_events_are_not_witnessed_entries(tmp_path: Path) -> None:
    entries, head = chain(2)
    path = tmp_path / "e.jsonl"
    log = EventLog(path)
    log.entry(entries[0])
    # An attempt the catalog could not take: kept for the SIEM, unchained, never a sighting.
    log.unrecorded(draft(WHO, Event("tenant.suspend", "t9", {}, "denied"), T0), "catalog down")
    log.internal_error(RuntimeError("a bug"))
    log.entry(entries[1])
    log.close()
    report = checked(witness_of(path), entries, head)
    assert (report.witnessed, report.untrusted) == (2, [])


def test_a_malformed_line_is_reported_not_a_crash(tmp_path: Path) -> None:
    entries, head = chain(2)
    path = event_log(tmp_path / "e.jsonl", entries)
    with path.open("a") as fh:
        fh.write('{"event": "ops_action", "seq": "3", "hmac": "x"}\n')
        fh.write("[1, 2]\n")
        fh.write('{"event": "ops_action", "seq": 4, "hm')  # a line cut by a crash
    report = checked(witness_of(path), entries, head)
    assert report.witnessed == 2
    assert [u.split(": ", 1)[1] for u in report.untrusted] == [
        "an ops_action without a valid seq and hmac",
        "not a JSON object",
        "not a JSON line",
    ]
    assert report.untrusted[0].startswith("e.jsonl line 3")


def test_text_from_the_witness_cannot_drive_the_terminal(tmp_path: Path) -> None:
    entries, _ = chain(2)
    path = event_log(tmp_path / "e.jsonl", entries)
    text = path.read_text().replace(entries[1].at, "\\u001b[2J\\u202eevil", 1)
    path.write_text(text)
    message = failure(witness_of(path), *cut(entries, 1))
    assert "\x1b" not in message and "\u202e" not in message and "\\x1b[2J\\u202eevil" in message


def test_a_missing_witness_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="witness file .*nope.jsonl does not exist"):
        witness_of(tmp_path / "nope.jsonl")


def test_an_untrusted_checkpoint_is_reported_and_not_used() -> None:
    entries, head = chain(3)
    witness = Witness()
    witness.take_checkpoints("eu", [checkpoint(entries, 2)], [("/s/_opslog/x.json", "forged")])
    report = checked(witness, entries, head)
    assert report.untrusted == ["/s/_opslog/x.json: forged"] and report.highest_seq == 2
