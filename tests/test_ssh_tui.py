"""The production TUI through OpenSSH's own sshd, in a real terminal: ``ssh -tt`` in a tmux
pane, driven by keys and read back as the screen shows it.

One full walk (navigate, filter, open a tenant, a read-only action, quit) at 80×24 with
xterm-256color; every other size and ``TERM`` (and ``NO_COLOR``) starts, draws its first
usable screen and quits. The faults: a ``TERM`` no terminal database knows, a 20×10 terminal,
escape sequences typed as input. The fixture (tests/ssh_site.py) needs root and
openssh-server, tmux too: without them these tests are skipped, and failed under CI=true.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ssh_site import SshSite, ssh_site_with_tenants
from tmux_term import Pane, start_pane

#: A TUI session's origin: the address sshd wrote in the login record, the port from sshd's
#: environment.
ORIGIN = re.compile(r"127\.0\.0\.1 \d+ \((utmp login record; the port from )?SSH_CONNECTION.*\)")
#: On the dashboard once its first read is in: the eu row of the tenants card.
DASHBOARD_READ = re.compile(r"│ eu +2 +0 +0 +0 +0 +2 ")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
#: The 8 and 16 colours that are greys: black, white, bright black, bright white.
GREY_BASIC = {30, 37, 40, 47, 90, 97, 100, 107}


def _cube_grey(n: int) -> bool:
    """256-colour index ``n`` is a grey (the grey ramp, or an equal r, g, b in the cube)."""
    if n >= 232 or n in (0, 7, 8, 15):
        return True
    n -= 16
    return 0 <= n < 216 and n // 36 == (n // 6) % 6 == n % 6


def chromatic(painted: str) -> bool:
    """Whether any SGR sequence on the screen sets a colour that is not a grey (NO_COLOR
    leaves Textual's greys: its monochrome filter, not a missing environment variable)."""
    for match in SGR.finditer(painted):
        codes = [int(c) for c in match.group(1).split(";") if c]
        while codes:
            code = codes.pop(0)
            if code in (38, 48) and codes[:1] == [5]:
                if not _cube_grey(codes[1]):
                    return True
                codes = codes[2:]
            elif code in (38, 48) and codes[:1] == [2]:
                r, g, b = codes[1:4]
                if not r == g == b:
                    return True
                codes = codes[4:]
            elif (30 <= code <= 47 or 90 <= code <= 107) and code not in (38, 39, 48, 49):
                if code not in GREY_BASIC:
                    return True
    return False


#: How long quitting may take (1-3 s on a loaded machine); longer fails the test.
QUIT_WITHIN_S = 60.0


@pytest.fixture(scope="module")
def site() -> Iterator[SshSite]:
    with ssh_site_with_tenants() as s:
        yield s


@contextmanager
def _tui(
    site: SshSite, tmp_path: Path, size: tuple[int, int], term: str, **env: str
) -> Iterator[Pane]:
    pane = start_pane(
        tmp_path,
        site.argv(site.bastion.alice, tty=True),
        size,
        {"PATH": "/usr/bin:/bin", "TERM": term, "LANG": "C.UTF-8", **env},
    )
    try:
        with site.explained():
            yield pane
    finally:
        pane.close()


def _first_screen(pane: Pane) -> str:
    pane.wait_for("Tenants by region and state")
    return pane.wait_for(DASHBOARD_READ, "the dashboard's tenant counts")


def _quits(pane: Pane) -> None:
    """q ends the console, and with it the SSH session (its pane), with exit 0; a session
    still open after QUIT_WITHIN_S fails with what still runs of the site (``_tui``)."""
    pane.keys("q")
    status = pane.exit_status(within=QUIT_WITHIN_S)
    assert status == 0, pane.screen()


def test_the_whole_walk_over_ssh(site: SshSite, tmp_path: Path) -> None:
    b = site.bastion
    with _tui(site, tmp_path, (80, 24), "xterm-256color") as pane:
        first = _first_screen(pane)
        assert f"{b.alice} (admin)" in first and "PRODUCTION" in first
        [on] = site.sessions()
        assert (on["operator"], on["state"]) == (b.alice, "on")
        assert ORIGIN.fullmatch(str(on["origin"])), on["origin"]
        pane.keys("2")
        listed = pane.wait_for("1–2 of 2 tenants")
        assert "acme-gmbh" in listed and "globex-sa" in listed
        pane.keys("/")
        pane.wait_for("f1 Help")  # the filter has the focus
        pane.type("glob")
        pane.wait_for("1 found · filter 'glob'")
        # The highlighted tenant's summary follows the list a moment later (a read of its
        # own): once it shows globex-sa, acme-gmbh is nowhere on the screen.
        filtered = pane.wait_for(re.compile(r"country FR\b"), "globex-sa's summary")
        assert "acme-gmbh" not in filtered
        pane.keys("Enter")
        pane.wait_for("⏎ Open")
        pane.keys("Enter")
        detail = pane.wait_for("country FR France")
        assert "globex-sa  active" in detail and "Provisioning steps" in detail
        pane.keys("6")  # the fleet: a read-only check of the catalog against the clusters
        pane.wait_for("d Deep check")
        pane.keys("d")
        checked = pane.wait_for("(deep: every database opened)")
        assert "missing" not in checked
        _quits(pane)
    assert site.sessions() == []
    ended = [r for r in site.sessions("--all") if r["session_id"] == on["session_id"]]
    assert [r["state"] for r in ended] == ["ended"]
    entries = [
        e
        for e in site.last_entries(20)
        if e["session_id"] == on["session_id"] and str(e["action"]).startswith("session.")
    ]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("session.end", "ok"), ("session.start", "ok")]  # fmt: skip
    for entry in entries:
        assert (entry["operator"], entry["os_account"]) == (b.alice, b.service)
        assert entry["ssh_origin"] == on["origin"]


def test_a_session_whose_console_was_killed_shows_as_stale(site: SshSite, tmp_path: Path) -> None:
    with _tui(site, tmp_path, (80, 24), "xterm-256color") as pane:
        _first_screen(pane)
        [on] = site.sessions()
        os.kill(int(str(on["pid"])), signal.SIGKILL)  # no end entry can be written
        pane.exit_status()
    [stale] = site.sessions()
    assert (stale["session_id"], stale["state"]) == (on["session_id"], "stale")


def test_an_account_that_is_not_an_operator_is_told_so_exit_4_and_logged(
    site: SshSite, tmp_path: Path
) -> None:
    b = site.bastion
    pane = start_pane(
        tmp_path,
        site.argv(b.bob, tty=True),
        (80, 24),
        {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8"},
    )
    try:
        with site.explained():
            assert pane.exit_status() == 4
        told = pane.screen(history=True)
        assert f"{b.bob} is not an operator of this console" in " ".join(told.split()), told
    finally:
        pane.close()
    [entry] = site.last_entries(1)
    assert (entry["operator"], entry["action"], entry["outcome"]) == (
        b.bob, "session.start", "denied")  # fmt: skip
    assert ORIGIN.fullmatch(str(entry["ssh_origin"]))


@pytest.mark.parametrize(
    ("size", "term", "no_color"),
    [
        ((80, 24), "screen-256color", False),
        ((80, 24), "tmux-256color", False),
        ((80, 24), "linux", False),
        ((80, 24), "xterm-256color", True),
        ((120, 40), "xterm-256color", False),
        ((120, 40), "screen-256color", False),
        ((120, 40), "tmux-256color", False),
        ((120, 40), "linux", True),
    ],
)
def test_every_size_and_terminal_draws_the_first_screen_and_quits(
    site: SshSite, tmp_path: Path, size: tuple[int, int], term: str, no_color: bool
) -> None:
    env = {"NO_COLOR": "1"} if no_color else {}
    with _tui(site, tmp_path, size, term, **env) as pane:
        first = _first_screen(pane)
        lines = first.splitlines()
        assert len(lines) <= size[1] and max(map(len, lines)) <= size[0]
        assert "q Quit" in lines[-1] or "q Quit" in first
        painted = pane.screen(escapes=True)
        assert chromatic(painted) is not no_color
        _quits(pane)


def test_a_terminal_no_database_knows_still_gets_the_console(site: SshSite, tmp_path: Path) -> None:
    with _tui(site, tmp_path, (80, 24), "aptien-no-such-terminal") as pane:
        _first_screen(pane)
        _quits(pane)


def test_a_20x10_terminal_is_told_the_size_it_needs(site: SshSite, tmp_path: Path) -> None:
    with _tui(site, tmp_path, (20, 10), "xterm-256color") as pane:
        told = re.sub(r"\s", "", pane.wait_for("60×20"))  # wrapped at 20 columns
        assert "Terminal20×10:makeit60×20ormore(qquits)" in told
        pane.resize(80, 24)  # the console comes up: not refused at start (one minimum, 60×20)
        _first_screen(pane)
        _quits(pane)


def test_a_terminal_shrunk_to_20x10_asks_for_room_and_the_console_comes_back(
    site: SshSite, tmp_path: Path
) -> None:
    with _tui(site, tmp_path, (80, 24), "xterm-256color") as pane:
        _first_screen(pane)
        pane.resize(20, 10)
        pane.wait_for("60×20")
        asked = " ".join(pane.screen().split())
        assert "Terminal 20×10: make it 60×20 or more (q quits)" in asked
        assert "╭" not in asked  # nothing of the dashboard shows through
        pane.resize(80, 24)
        _first_screen(pane)
        _quits(pane)


HOSTILE = (
    "\x1b]2;pwned-title\x07",  # set the window title
    "\x1b]52;c;cHduZWQ=\x07",  # write the clipboard
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1bP+q544e\x1b\\",  # a DCS request
    "\x1b[1;5s\x1b[99;5p",  # CSI sequences ending in action letters (s suspend, p purge)
    "\x1b[200~s\x1b[201~",  # a bracketed paste of one action letter
)


def test_escape_sequences_typed_as_input_neither_reach_the_terminal_nor_act(
    site: SshSite, tmp_path: Path
) -> None:
    before = site.last_entries(1)[0]["seq"]
    with _tui(site, tmp_path, (80, 24), "xterm-256color") as pane:
        _first_screen(pane)
        title = pane.info("pane_title")
        pane.keys("2")
        pane.wait_for("1–2 of 2 tenants")
        pane.keys("Enter")
        pane.wait_for("Provisioning steps")
        for sequence in HOSTILE:
            pane.type(sequence)
        pane.keys("o")  # a key after them all: once it is handled, they were too
        screen = pane.wait_for("Provisioning steps")
        assert "Suspend acme-gmbh" not in screen and "Purge" not in screen.splitlines()[0]
        assert "pwned" not in screen and pane.info("pane_title") == title
        pane.keys("Escape")
        pane.wait_for("1–2 of 2 tenants")
        pane.keys("/")
        pane.wait_for("f1 Help")
        pane.type("\x1b]2;pwned-title\x07acme")
        filtered = pane.wait_for("1 found · filter 'acme'")
        assert "pwned" not in filtered and pane.info("pane_title") == title
        pane.keys("Enter")
        pane.wait_for("⏎ Open")
        _quits(pane)
    after = site.bastion.sudo(site.bastion.alice, "--json", "tenant", "show", "acme-gmbh")
    assert after.json()["state"] == "active"
    changed = [e for e in site.last_entries(10) if int(str(e["seq"])) > int(str(before))]
    assert not [e for e in changed if str(e["action"]).startswith("tenant.")], changed
