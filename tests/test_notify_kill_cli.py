"""``aptien-ops breach notify ID`` as the real program, killed with SIGKILL at several points of
a campaign and run again: every affected person gets exactly one notice per channel. E-mail is
counted by a real SMTP server on loopback (aiosmtpd), in-app messages in the tenants' own
databases, the website in its pages and feed; on a SQLite and a PostgreSQL catalog.

The kills wait on events, never on time: the website's page appearing, the first in-app
message in a tenant database, or the SMTP server holding the MAIL command that follows the
N-th message it accepted (the program then waits for an answer, its N-th row marked sent).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from waiting import until

from aptien_ops.composition import Console, open_console
from aptien_ops.config import load_settings
from aptien_ops.domain.incidents import Recipient
from aptien_ops.errors import PendingApproval
from aptien_ops.services.incident_scope import ScopeRequest
from aptien_ops.services.incidents import IncidentInput

from cli_runner import run_cli
from smtp_server import Counting, smtp_server
from tenant_seeding import france_and_canada
from tls_certs import make_server_cert

CHANNELS = "email,website,inapp"
PROGRAM = Path(sys.executable).with_name("aptien-ops")


@dataclass
class Campaign:
    config: Path
    server: Counting
    incident: str
    people: list[Recipient]
    tenant_files: dict[str, Path]
    """Each affected tenant's SQLite database."""
    website: Path

    def run(
        self, kill_when: str = "", *, code: int = 0, signum: int = signal.SIGKILL
    ) -> subprocess.CompletedProcess[str] | None:
        """``aptien-ops breach notify`` as sam; with ``kill_when``, ``signum`` once it holds:
        ``website`` (a region's page is written), ``inapp`` (a tenant has a message), or
        ``email:N`` (the server has N messages and holds the next MAIL). The program ends
        with the signal (SIGKILL), or exits 128 + it (SIGHUP, SIGTERM: it cleans up)."""
        kind, _, n = kill_when.partition(":")
        if kind:
            # A hold must hold: the previous run's end set ``release``, and a hold that is
            # already released drops the connection and lets the next mails through.
            self.server.held.clear()
            self.server.release.clear()
        if kind == "email":
            self.server.hold_after = int(n)
        elif kind:
            self.server.hold_after = len(self.server.messages)  # never past the first mail
        argv = [str(PROGRAM), "--config", str(self.config), "breach", "notify", self.incident]
        child = subprocess.Popen(
            [*argv, "--channels", CHANNELS],
            env={**os.environ, "APTIEN_OPS_OPERATOR": "sam"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if not kind:
                out, err = child.communicate(timeout=240)
                assert child.returncode == code, err
                return subprocess.CompletedProcess(child.args, code, out, err)

            def running() -> None:
                assert child.poll() is None, f"finished before {kill_when}: {child.stderr}"

            until(self._reached(kind), f"the campaign reached {kill_when}", meanwhile=running)
            child.send_signal(signum)
            _, err = child.communicate(timeout=240)
            assert child.returncode == (-signum if signum == signal.SIGKILL else 128 + signum), err
            return None
        finally:
            self.server.release.set()
            if child.poll() is None:
                child.kill()
                child.communicate()

    def _reached(self, kind: str) -> object:
        if kind == "email":
            return self.server.held.is_set
        if kind == "website":
            return lambda: any(self.website.glob("*/breach-notices.html"))
        return lambda: any(inapp_rows(path) for path in self.tenant_files.values())


def inapp_rows(database: Path) -> list[tuple[str, str]]:
    """(user id, dedupe key) of each breach notice in a tenant database, read directly."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT user_id, dedupe_key FROM user_messages WHERE kind = 'breach-notice'"
        ).fetchall()
    return [(str(u), k) for u, k in rows]


def send_through(config: Path, port: int, security: str = "none", more: str = "") -> None:
    """Point the config's ``[notifications.email]`` at the SMTP server on ``port``."""
    head, tail = config.read_text().split("[notifications.email]")
    email = f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
    tail = tail[tail.index("from_address") :]
    config.write_text(f"{head}[notifications.email]\n{email}{more}{tail}")


@pytest.fixture
def campaign(catalog_config: Path) -> Iterator[Campaign]:
    """Two seeded tenants (France, Canada), an incident scoped to all of them and its notice
    approved (sam requests, ada approves), the e-mail going to the server on loopback."""
    with smtp_server() as (server, port):
        send_through(catalog_config, port)
        admin = open_console(catalog_config)
        sam = open_console(catalog_config, env={"APTIEN_OPS_OPERATOR": "sam"})
        try:
            yield _prepared(catalog_config, server, admin, sam)
        finally:
            sam.close()
            admin.close()


def _prepared(config: Path, server: Counting, admin: Console, sam: Console) -> Campaign:
    request = france_and_canada(admin, users=6, events=20, logins=30)
    tenants = [admin.tenants.show(s.tenant) for s in admin.seeding.seed(request)]
    detail = sam.incidents.open(
        IncidentInput(
            "Support export readable",
            "confidentiality",
            datetime.now(UTC),
            consequences="Names and e-mail addresses may be known to others.",
            measures_taken="The export was deleted.",
            dpo_contact="dpo@aptien.example",
        )
    )
    sam.incidents.scope(detail.id, ScopeRequest(everything=True))
    with pytest.raises(PendingApproval) as requested:
        sam.notices.notify(detail.id, CHANNELS)
    admin.approvals.approve(requested.value.approval_id)
    with admin.ctx.catalog.read() as tx:
        people = list(tx.incident_scope.each_recipient(detail.id))
    files = {t.name: admin.ctx.store(t.cluster or "").path(t.name) for t in tenants}  # type: ignore[attr-defined]
    assert all(path.exists() for path in files.values()), files
    website = load_settings(config).notifications.website.dir
    return Campaign(config, server, detail.id, people, files, website)


def exactly_once(c: Campaign) -> None:
    """One e-mail per person at the server, one in-app message per person in its tenant's
    database, one entry per region on the website, and the outbox all sent."""
    assert c.server.per_recipient() == Counter({p.email: 1 for p in c.people})
    for tenant, path in c.tenant_files.items():
        wanted = sorted(p.user_ref for p in c.people if p.tenant == tenant)
        rows = inapp_rows(path)
        assert sorted(user for user, _ in rows) == wanted, tenant
        assert len({key for _, key in rows}) == len(rows)
    regions = sorted({p.region for p in c.people})
    assert sorted(p.name for p in c.website.iterdir()) == regions
    for region in regions:
        feed = json.loads((c.website / region / "breach-notices.json").read_text())
        assert [e["incident_id"] for e in feed["notices"]] == [c.incident]
        page = (c.website / region / "breach-notices.html").read_text()
        assert re.findall(r'<article id="([^"]+)">', page) == [c.incident]
    deliveries = subprocess.run(
        [str(PROGRAM), "--config", str(c.config), "--json", "breach", "deliveries", c.incident],
        env={**os.environ, "APTIEN_OPS_OPERATOR": "sam"},
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    counts = {ch: v for ch, v in json.loads(deliveries.stdout)["channels"].items()}
    n = len(c.people)
    assert counts == {
        "email": {"sent": n, "pending": 0, "failed": 0},
        "inapp": {"sent": n, "pending": 0, "failed": 0},
        "website": {"sent": len(regions), "pending": 0, "failed": 0},
    }


@pytest.mark.parametrize(
    "kills",
    [
        pytest.param(["website", "inapp", "email:1"], id="each-channel"),
        pytest.param(["email:4", "email:9", "email:11"], id="mid-email-thrice"),
    ],
)
def test_the_real_program_killed_at_several_points_then_rerun_notifies_each_person_once(
    campaign: Campaign, kills: list[str]
) -> None:
    assert len(campaign.people) == 12  # six users in each of the two tenants
    for point in kills:
        assert campaign.run(point) is None
    assert len(campaign.server.messages) == int(kills[-1].split(":")[1])  # the last kill's
    finished = campaign.run()
    assert finished is not None
    exactly_once(campaign)
    again = campaign.run()  # a run after the end sends nothing more
    assert again is not None
    exactly_once(campaign)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["sighup", "sigterm"])
def test_the_connection_lost_mid_campaign_records_what_was_sent_and_a_rerun_sends_the_rest(
    campaign: Campaign, signum: int
) -> None:
    assert campaign.run("email:4", signum=signum) is None
    assert len(campaign.server.messages) == 4
    listed = run_cli("--json", "ops-log", "list", "--limit", "20", config=campaign.config)
    [notify, *_] = [e for e in listed.json() if e["action"] == "breach.notify"]
    assert notify["outcome"] == "failed:interrupted"
    deliveries = run_cli(
        "--json", "breach", "deliveries", campaign.incident, config=campaign.config
    ).json()
    assert deliveries["channels"]["email"]["sent"] == 4  # each accepted message is marked
    assert campaign.run() is not None
    exactly_once(campaign)


def test_the_real_program_logs_in_over_starttls_and_never_shows_the_password(
    campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same campaign to a server that requires STARTTLS and a login: a wrong password is
    exit 6 with nothing sent and the password in no output or log; the right one sends each
    notice once, encrypted."""
    cert = make_server_cert(tmp_path / "tls")
    password = "right-Pa55-" + os.urandom(6).hex()
    login = f'user = "aptien-ops"\npassword_env = "SMTP_PW"\nca_file = "{cert.ca_file}"\n'
    with smtp_server(starttls=cert.server_context(), accounts={"aptien-ops": password}) as (
        server,
        port,
    ):
        campaign.server = server
        send_through(campaign.config, port, "starttls", login)
        wrong = "wrong-Pa55-" + os.urandom(6).hex()
        monkeypatch.setenv("SMTP_PW", wrong)
        refused = campaign.run(code=6)
        assert refused is not None and "refused the login of aptien-ops (535" in refused.stderr
        assert server.messages == [] and server.logins[0] == ("aptien-ops", False)
        monkeypatch.setenv("SMTP_PW", password)
        sent = campaign.run()
        assert sent is not None
        exactly_once(campaign)
        assert all(m.encrypted and m.login == "aptien-ops" for m in server.messages)
    logs = load_settings(campaign.config).logging.file.parent
    said = [refused.stdout, refused.stderr, sent.stdout, sent.stderr]
    said += [p.read_text(errors="replace") for p in logs.iterdir() if p.is_file()]
    assert said[-1]  # the event log was written
    for secret in (wrong, password):
        assert not any(secret in text for text in said)
