"""Witnesses of the ops log kept outside the catalog, and the check of the catalog against them.

The chain and its signed head (:func:`aptien_ops.opslog.verify_chain`) prove that the catalog's
log agrees with itself. They cannot tell an older state that agrees with itself (a saved head
and table put back, or a log cut and re-signed by someone holding the ops-log key, or wiped
back to its genesis head) from the current one. A witness can, because it saw later entries:

- the JSON event log (the SIEM's copy): one ``ops_action`` line with ``seq`` and ``hmac`` for
  every committed entry (:mod:`aptien_ops.eventlog`);
- the checkpoints that ``backup run`` signs into each region's backup store: the head's
  ``seq`` and ``hmac`` at that moment, and the ``hmac`` of entry #1.

Every entry a witness saw must still be in the catalog with the same HMAC, and the catalog's
head must be at least the highest entry seen. A witness that is behind the catalog is normal.
Read the witnesses *before* the catalog: an entry reaches them only after it committed, so
nothing a witness saw can be newer than what a later read of the catalog sees.
"""

from __future__ import annotations

import errno
import gzip
import json
import re
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aptien_ops import terminal_text
from aptien_ops.domain import OpsLogCheckpoint, OpsLogEntry
from aptien_ops.errors import IntegrityFailure, InvalidInput, NotFound, Unavailable

#: The event-log line of a committed entry (``ops_action_unrecorded`` ones have no place).
OPS_ACTION = "ops_action"
_HMAC = re.compile(r"^[0-9a-f]{64}$")
_HINT = (
    "restore the catalog from a backup taken after that entry; the SIEM's copy of the event"
    " log shows what the missing entries were"
)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One entry as a witness saw it."""

    seq: int
    hmac: str
    at: str
    """The entry's time (event log) or the checkpoint's."""
    source: str
    """Where it was seen: ``events.jsonl line 12``, ``region eu's checkpoint``."""


@dataclass
class Witness:
    """Everything the witnesses saw, and what of them could not be trusted."""

    sightings: dict[int, list[Sighting]] = field(default_factory=dict)
    """By seq; more than one only when the witnesses saw different entries with one seq."""
    untrusted: list[str] = field(default_factory=list)
    """Malformed event-log lines, checkpoints whose signature does not verify: reported,
    never used."""
    sources: list[str] = field(default_factory=list)

    def saw(self, sighting: Sighting) -> None:
        seen = self.sightings.get(sighting.seq)
        if seen is None:
            self.sightings[sighting.seq] = [sighting]
        elif all(s.hmac != sighting.hmac for s in seen):
            seen.append(sighting)

    def read_event_log(self, path: Path) -> None:
        """Take every ``ops_action`` line of the JSON event log ``path`` (``.gz`` too, as
        rotation leaves it). Other events are skipped; a malformed line is noted in
        :attr:`untrusted`.

        Raises: NotFound (no such file), InvalidInput (a name the system refuses, too long),
        Unavailable (it cannot be read).
        """
        taken = 0
        try:
            with _open_text(path) as lines:
                name = shown(path.name)
                for number, line in enumerate(lines, 1):
                    taken += self._event_line(name, number, line)
        except FileNotFoundError:
            raise NotFound(f"witness file {shown(str(path))} does not exist") from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:  # what was typed, not a system that is down
                raise InvalidInput(
                    f"the witness file's name is too long ({len(str(path)):,} characters)"
                ) from None
            raise Unavailable(
                f"cannot read the witness file {shown(str(path))}: {exc.strerror or exc}"
            ) from None
        except (EOFError, zlib.error) as exc:
            raise Unavailable(f"cannot read the witness file {shown(str(path))}: {exc}") from None
        self.sources.append(f"event log {shown(str(path))}: entries: {taken}")

    def _event_line(self, name: str, number: int, line: str) -> bool:
        """Take the line if it is a committed entry's; whether it was."""
        if not line.strip():
            return False
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except ValueError:
            self.untrusted.append(f"{where}: not a JSON line")
            return False
        if not isinstance(record, dict):
            self.untrusted.append(f"{where}: not a JSON object")
            return False
        if record.get("event") != OPS_ACTION:
            return False
        seq, mac = record.get("seq"), record.get("hmac")
        if type(seq) is not int or seq < 1 or not isinstance(mac, str) or not _HMAC.fullmatch(mac):
            self.untrusted.append(f"{where}: an {OPS_ACTION} without a valid seq and hmac")
            return False
        at = record.get("at")
        self.saw(Sighting(seq, mac, shown(at) if isinstance(at, str) else "an unknown time", where))
        return True

    def take_checkpoints(
        self, region: str, good: Iterable[OpsLogCheckpoint], bad: Iterable[tuple[str, str]]
    ) -> None:
        """Take a region's signed checkpoints; note the ones that are not to be trusted."""
        count = 0
        for checkpoint in good:
            count += 1
            if checkpoint.seq > 0:  # an empty log's head proves nothing later
                source = f"region {region}'s checkpoint"
                self.saw(Sighting(checkpoint.seq, checkpoint.hmac, checkpoint.at, source))
                self.saw(Sighting(1, checkpoint.first_hmac, checkpoint.at, source))
        self.untrusted += [f"{shown(path)}: {reason}" for path, reason in bad]
        self.sources.append(f"backup store of region {region}: checkpoints: {count}")


def shown(text: str) -> str:
    """``text`` (from a file anyone with access to it could have written) fit for a terminal
    (escaped as :func:`aptien_ops.terminal_text.shown` does), cut to 200 characters."""
    return terminal_text.shown(text, width=200)


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def tap(
    entries: Iterable[OpsLogEntry], wanted: Collection[int], into: dict[int, str]
) -> Iterator[OpsLogEntry]:
    """Pass ``entries`` on unchanged, keeping the HMAC of each seq in ``wanted`` (so the chain
    and the witness are checked in one pass over the catalog)."""
    for entry in entries:
        if entry.seq in wanted:
            into[entry.seq] = entry.hmac
        yield entry


@dataclass(frozen=True)
class WitnessReport:
    witnessed: int
    """How many entries the witnesses saw."""
    highest_seq: int
    sources: list[str]
    untrusted: list[str]

    def as_json(self) -> dict[str, object]:
        return {
            "witnessed": self.witnessed,
            "highest_seq": self.highest_seq,
            "sources": self.sources,
            "untrusted": self.untrusted,
        }


def check_witness(witness: Witness, catalog: Mapping[int, str], head_seq: int) -> WitnessReport:
    """Check a catalog whose chain verified (entries ``#1``–``#head_seq``, ``catalog`` holding
    the HMAC of each witnessed seq) against what ``witness`` saw.

    Raises:
        IntegrityFailure: naming the first seq that is missing from the catalog or differs
            from the witness's copy: a wipe, a truncation, a rollback or a rewrite.
    """
    findings: list[tuple[int, str]] = []
    for seq, seen in witness.sightings.items():
        if seq > head_seq:
            continue
        ours = catalog.get(seq)
        if len(seen) > 1:
            a, b = seen[0], seen[1]
            findings.append(
                (
                    seq,
                    f"the ops log was rolled back or rewritten: the witness saw two different"
                    f" entries #{seq} ({a.source} at {a.at}, {b.source} at {b.at})",
                )
            )
        elif ours != seen[0].hmac:
            s = seen[0]
            findings.append(
                (
                    seq,
                    f"the ops log was rolled back or rewritten: entry #{seq} differs from the"
                    f" witness's copy ({s.source} at {s.at})",
                )
            )
    beyond = sorted(seq for seq in witness.sightings if seq > head_seq)
    if beyond:
        findings.append((head_seq + 1, _missing(witness, beyond, head_seq)))
    if findings:
        seq, message = min(findings)
        more = len(findings) - 1
        if more:
            message += f" ({more} later finding{'s' if more > 1 else ''} too)"
        raise IntegrityFailure(message, hint=_HINT)
    return WitnessReport(
        witnessed=len(witness.sightings),
        highest_seq=max(witness.sightings, default=0),
        sources=list(witness.sources),
        untrusted=list(witness.untrusted),
    )


def _missing(witness: Witness, beyond: list[int], head_seq: int) -> str:
    top = witness.sightings[beyond[-1]][0]
    if head_seq == 0:
        return (
            f"the catalog's ops log is empty but the witness saw {top.seq} entries (up to"
            f" #{top.seq}, {top.source} at {top.at}): the log was wiped; entry #1 is missing"
        )
    first = head_seq + 1
    seen_first = witness.sightings.get(first)
    if seen_first:
        s = seen_first[0]
        what = f"entry #{first} (seen by the witness at {s.at}, {s.source}) is missing"
        if top.seq > first:
            what += f", and so is every entry up to #{top.seq}"
    else:
        what = (
            f"entries #{first}–#{top.seq} are missing (the witness saw #{top.seq} at {top.at},"
            f" {top.source})"
        )
    return f"the ops log was rolled back or truncated: {what}; the catalog's head is #{head_seq}"
