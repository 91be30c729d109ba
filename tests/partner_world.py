"""A register to test partners against: consoles as the sandbox's demo operators sharing one
manual clock, tenants written straight into the catalog, and partners added through the
service (pat, the partner manager)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Tenant, TenantState
from aptien_ops.services.partners import PartnerInput

from cli_runner import Result, run_cli

START = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
FAR = "2099-12-31"


class PartnerWorld:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.now = START
        self._consoles: dict[str, Console] = {}

    def at(self, day: date, hour: int = 12) -> None:
        """Move the clock to ``day`` (UTC) at ``hour``."""
        self.now = datetime.combine(day, time(hour), tzinfo=UTC)

    def as_(self, operator: str) -> Console:
        if operator not in self._consoles:
            env = {"APTIEN_OPS_OPERATOR": operator}
            self._consoles[operator] = open_console(self.config, env=env, clock=lambda: self.now)
        return self._consoles[operator]

    @property
    def pat(self) -> Console:
        return self.as_("pat")

    def tenant(
        self,
        name: str,
        country: str = "DE",
        region: str = "eu",
        state: TenantState = TenantState.ACTIVE,
        **contact: str,
    ) -> str:
        now = self.now
        cluster = f"{region}-sandbox-1"
        record = Tenant(name, country, region, cluster, state, None, None, now, now)
        if contact:
            from dataclasses import replace

            record = replace(record, **contact)  # type: ignore[arg-type]
        with self.as_("ada").ctx.catalog.transaction() as tx:
            tx.tenants.insert(record)
        return name

    def partner(
        self,
        name: str = "nordic-sales",
        coverage: tuple[str, ...] = ("DE", "AT"),
        kinds: tuple[str, ...] = ("sales",),
        *,
        agreement: tuple[date, date | None] | None = (date(2027, 1, 1), date(2027, 12, 31)),
    ) -> str:
        self.pat.partners.add(PartnerInput(name, f"{name.title()} GmbH", kinds, coverage))
        if agreement is not None:
            start, end = agreement
            self.pat.partners.agreement_add(
                name, f"PA-{name}", signed_on=start, effective_from=start, expires_on=end
            )
        return name

    def close(self) -> None:
        for console in self._consoles.values():
            console.close()


# -- the same through the command line, on the real clock ---------------------------------------


def pat(config: Path, *args: str | Path) -> object:
    """``aptien-ops --json partner ARGS`` as pat, which must succeed; its JSON."""
    result = run_cli("--json", "partner", *args, config=config, operator="pat")
    assert result.code == 0, result.stderr
    return result.json()


def cli_tenant(config: Path, name: str = "acme-gmbh", country: str = "DE") -> None:
    """Provision ``name`` as olga, with a representative (Anna Adler)."""
    result = run_cli(
        "tenant",
        "provision",
        name,
        "--country",
        country,
        "--contact-name",
        "Anna Adler",
        "--contact-email",
        "anna@acme.example",
        config=config,
        operator="olga",
    )
    assert result.code == 0, result.stderr


def cli_partner(
    config: Path, name: str = "nordic-sales", kind: str = "sales", *, expires_on: str = FAR
) -> None:
    """Add ``name`` covering the eu region, with agreement PA-1 in force from 2020 to
    ``expires_on``."""
    pat(config, "add", name, "--legal-name", f"{name} AB", "--kind", kind, "--coverage", "eu")
    pat(
        config,
        "agreement",
        "add",
        name,
        "PA-1",
        "--signed-on",
        "2020-01-01",
        "--effective-from",
        "2020-01-01",
        "--expires-on",
        expires_on,
    )


def share_card(config: Path, *flags: str, reason: str = "intro") -> Result:
    """``aptien-ops [FLAGS] partner share-contacts acme-gmbh --partner nordic-sales`` as pat."""
    return run_cli(
        *flags,
        "partner",
        "share-contacts",
        "acme-gmbh",
        "--partner",
        "nordic-sales",
        "--reason",
        reason,
        config=config,
        operator="pat",
    )
