"""The breach notices' history on PostgreSQL is kept by the server's own privileges: the runtime
role adds campaigns, outbox rows and exemptions and moves a notice's delivery state on, and
can do nothing else to them (no DELETE, no TRUNCATE, no UPDATE of what was sent to whom).
A campaign still runs as that role; ``doctor`` reports the grants, and its fix restores them.

Each test gets a fresh database of the suite's server with the owner and runtime roles a DBA
creates (docs/production.md, Catalog roles); the attacks are made with psycopg directly, as
someone holding the runtime role's password could.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from aptien_ops.backends.notify_mail import MaildirTransport
from aptien_ops.backends.notify_website import SiteFiles
from aptien_ops.composition import Console, open_console
from aptien_ops.config import EmailSettings
from aptien_ops.domain import Identity
from aptien_ops.domain.incidents import Exemption
from aptien_ops.domain.notices import Recipient
from aptien_ops.services.notify_engine import Channels, Engine

from catalog_roles import CatalogRoles, roles_in_env
from catalog_roles import production_config as roles_config
from cli_runner import run_cli
from notice_samples import CONTENT, NOW, start_campaign
from pg_fixtures import PgServer

pytestmark = pytest.mark.postgres

PEOPLE = [Recipient("acme-gmbh", "eu", str(n), f"u{n}@acme.example") for n in range(1, 4)]
ATTACKS = (
    "DELETE FROM breach_outbox",
    "TRUNCATE breach_outbox",
    "UPDATE breach_outbox SET email = 'attacker@evil.example'",
    "UPDATE breach_outbox SET recipient = 'acme-gmbh/99'",
    "UPDATE breach_outbox SET idempotency_key = 'x'",
    "UPDATE breach_outbox SET channel = 'inapp'",
    "DELETE FROM breach_campaigns",
    "UPDATE breach_campaigns SET content = '{}'",
    "UPDATE breach_campaigns SET approved_by = 'vic'",
    "DELETE FROM breach_exemptions",
    "TRUNCATE breach_exemptions",
    "UPDATE breach_exemptions SET rationale = 'never mind'",
)


@pytest.fixture
def install(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Console, CatalogRoles, Path]]:
    """A production config on the two roles, and a console as ada: the owner creates the
    catalog and grants the runtime role, which the console then works as."""
    roles = roles_in_env(pg_server, "outbox_grants", monkeypatch)
    config = roles_config(tmp_path / "prod", roles)
    console = open_console(config, identity=Identity("ada", "ada", None, "s-ada"))
    yield console, roles, config
    console.close()


def history(roles: CatalogRoles) -> object:
    """Everything of the outbox's history, read by the superuser."""
    return roles.scalar(
        "SELECT json_build_array("
        " (SELECT json_agg(o ORDER BY id) FROM (SELECT id, recipient, email, channel,"
        "  idempotency_key, state, attempts FROM breach_outbox) o),"
        " (SELECT json_agg(c ORDER BY id) FROM breach_campaigns c),"
        " (SELECT json_agg(e ORDER BY id) FROM breach_exemptions e))::text"
    )


def test_a_campaign_runs_as_the_runtime_role_which_cannot_rewrite_its_history(
    install: tuple[Console, CatalogRoles, Path], tmp_path: Path
) -> None:
    ada, roles, _ = install
    catalog = ada.ctx.catalog
    campaign = start_campaign(catalog, ("website", "email"), PEOPLE)
    assert start_campaign(catalog, ("website", "email"), PEOPLE) == campaign  # ON CONFLICT
    channels = Channels(
        mail=MaildirTransport(EmailSettings(maildir=tmp_path / "mail")),
        website=SiteFiles(tmp_path / "site"),
    )
    counts = Engine(catalog, campaign, channels, now=lambda: NOW, sleep=lambda s: None).run()
    assert {c.channel: c.sent for c in counts} == {"email": 3, "website": 1}
    with catalog.transaction() as tx:
        tx.breach_outbox.add_exemption(
            CONTENT.incident_id,
            Exemption("unintelligible", "encrypted", "sam", datetime(2026, 3, 3, tzinfo=UTC)),
        )
    before = history(roles)
    for attack in ATTACKS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            roles.execute(roles.runtime, attack)
    roles.execute(roles.runtime, "UPDATE breach_outbox SET attempts = attempts WHERE false")
    assert history(roles) == before


def test_doctor_reports_the_outbox_grants_and_its_fix_restores_them(
    install: tuple[Console, CatalogRoles, Path],
) -> None:
    _, roles, config = install

    def finding() -> dict[str, object]:
        result = run_cli("--json", "doctor", config=config, as_account="ada")
        [found] = [f for f in result.json() if f["check"] == "catalog.outbox-privileges"]
        return dict(found)

    first = finding()
    assert first["verdict"] == "pass"
    assert str(first["detail"]).startswith(f"the server says {roles.runtime} may only add")
    with psycopg.connect(roles.server.conninfo(roles.database), autocommit=True) as conn:
        for grant in (
            "DELETE ON breach_outbox",
            "UPDATE (email) ON breach_outbox",
            "UPDATE ON breach_exemptions",
        ):
            conn.execute(f"GRANT {grant} TO {roles.runtime}".encode())
    broken = finding()
    assert broken["verdict"] == "fail"
    assert broken["detail"] == (
        f"the server says {roles.runtime} may rewrite the breach notices' history:"
        " DELETE on breach_outbox, UPDATE of breach_outbox.email, UPDATE on breach_exemptions"
    )
    fix = str(broken["fix"])
    prefix = "as the catalog's owner: "
    assert fix.startswith(prefix)
    roles.execute(roles.owner, *fix.removeprefix(prefix).split(";")[:-1])
    assert finding()["verdict"] == "pass"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.execute(roles.runtime, "DELETE FROM breach_outbox")
