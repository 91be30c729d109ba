"""Operator sessions: an interactive session starts and ends as an ops-log event, and
``operator sessions`` says who is on now, from where and since when.

A session is this run of the console (its session id, :mod:`aptien_ops.identity`). Its start
entry records the process that holds it (pid, the kernel's start time of that pid, the host),
so that a session whose process is gone without an end entry (a crash, ``kill -9``, a host
reboot) shows as *stale*, never as on forever; a pid reused by another process has another
start time. One-shot scripted commands are no sessions: each of their entries carries the
origin and session id already.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aptien_ops.domain import OpsLogEntry
from aptien_ops.permissions import Action
from aptien_ops.services.context import OpsContext

#: How many session events (starts and ends) ``operator sessions`` reads, newest first.
WINDOW = 500
ON, STALE, ENDED, ELSEWHERE = "on", "stale", "ended", "elsewhere"
STATES = (ON, STALE, ENDED, ELSEWHERE)


@dataclass(frozen=True)
class Holder:
    """The process that holds a session: enough to tell later whether it still runs."""

    pid: int
    host: str
    started: str
    """The kernel's start time of ``pid`` (clock ticks since boot, ``/proc/<pid>/stat``)."""

    def as_params(self) -> dict[str, object]:
        return {"pid": self.pid, "host": self.host, "process_started": self.started}

    @classmethod
    def of_this_process(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), process_start(os.getpid()) or "")

    def alive(self) -> bool | None:
        """Whether the process still runs (None: it runs on another host; this one cannot
        tell)."""
        if self.host != socket.gethostname():
            return None
        return bool(self.started) and process_start(self.pid) == self.started


def process_start(pid: int, proc: Path = Path("/proc")) -> str | None:
    """The start time of process ``pid`` as the kernel counts it, or None if it is gone."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold ")"
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class SessionStarted:
    session_id: str
    operator: str
    origin: str | None
    at: str
    holder: Holder

    def as_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "operator": self.operator,
            "origin": self.origin,
            "since": self.at,
            **self.holder.as_params(),
        }


@dataclass(frozen=True)
class SessionRow:
    """One session as ``operator sessions`` shows it."""

    session_id: str
    operator: str
    os_account: str
    origin: str | None
    since: str
    state: str
    """``on``, ``stale`` (no end recorded and its process is gone), ``ended``, or
    ``elsewhere`` (no end recorded, held on another host: this one cannot tell)."""
    ended_at: str | None
    host: str
    pid: int

    def as_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "operator": self.operator,
            "os_account": self.os_account,
            "origin": self.origin,
            "since": self.since,
            "state": self.state,
            "ended_at": self.ended_at,
            "host": self.host,
            "pid": self.pid,
        }


@dataclass(frozen=True)
class SessionList:
    sessions: list[SessionRow]
    """Newest first."""

    def as_json(self) -> list[dict[str, object]]:
        return [s.as_json() for s in self.sessions]


class SessionService:
    def __init__(self, ctx: OpsContext) -> None:
        self.ctx = ctx

    def start(self) -> SessionStarted:
        """Record that this run's interactive session began.

        Raises: Forbidden (logged) for someone who is not an active operator."""
        who, holder = self.ctx.identity, Holder.of_this_process()
        with self.ctx.audited(Action.SESSION_START, who.operator, holder.as_params()) as attempt:
            attempt.ok()
        assert attempt.entry is not None
        return SessionStarted(
            who.session_id, who.operator, who.ssh_origin, attempt.entry.at, holder
        )

    def end(self, session: SessionStarted, reason: str) -> None:
        """Record that ``session`` ended, and why (``quit``, ``idle``, …)."""
        params = {"reason": reason, "since": session.at, **session.holder.as_params()}
        with self.ctx.audited(Action.SESSION_END, session.operator, params):
            pass

    def list(self, *, ended: bool = False) -> SessionList:
        """The sessions of the newest ``WINDOW`` session events: those on now and the stale
        ones (with ``ended``, those that ended too). A read of personal data (where
        colleagues connect from): logged.

        Raises: Forbidden (logged) unless the operator is a security officer or an admin."""
        with self.ctx.audited(Action.SESSION_VIEW, "sessions") as attempt:
            with attempt.transaction() as tx:
                events = tx.opslog.page(limit=WINDOW, grep="session.")
                rows = [r for r in _sessions(events) if ended or r.state != ENDED]
                attempt.ok(shown=len(rows))
        return SessionList(rows)


def _sessions(events: list[OpsLogEntry]) -> list[SessionRow]:
    """Each ``ok`` session start among ``events`` (newest first), with its end if recorded."""
    ends = {
        e.session_id: e.at for e in events if e.action == Action.SESSION_END and e.outcome == "ok"
    }
    rows = []
    for e in events:
        if e.action != Action.SESSION_START or e.outcome != "ok":
            continue
        holder = _holder(e)
        if e.session_id in ends:
            state = ENDED
        else:
            alive = holder.alive()
            state = ELSEWHERE if alive is None else ON if alive else STALE
        rows.append(
            SessionRow(
                e.session_id,
                e.operator,
                e.os_account,
                e.ssh_origin,
                e.at,
                state,
                ends.get(e.session_id),
                holder.host,
                holder.pid,
            )  # fmt: skip
        )
    return rows


def _holder(entry: OpsLogEntry) -> Holder:
    params: Mapping[str, object] = json.loads(entry.params or "{}")
    pid = params.get("pid")
    return Holder(
        pid if isinstance(pid, int) else 0,
        str(params.get("host", "")),
        str(params.get("process_started", "")),
    )
