"""``tenant provision | suspend | resume | cancel | reinstate | purge`` and
``fleet check | migrate``."""

from __future__ import annotations

import click

from aptien_ops.cli import interrupts
from aptien_ops.cli.output import table
from aptien_ops.cli.params import TextLimit, if_version_option, reason_option
from aptien_ops.cli.progress import Bar, StepPrinter
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.cli.tenants import tenant
from aptien_ops.domain import validate_tenant_name
from aptien_ops.domain.free_text import COMPANY, CONTACT_NAME, REASON, RESIDENCY_OVERRIDE
from aptien_ops.wording import plural


def _show(state: CliState, data: dict[str, object], verb: str) -> None:
    state.out(data, f"{data['name']}: {verb} ({data['state']})")


@tenant.command("provision")
@click.argument("name")
@click.option(
    "--country",
    required=True,
    help="The client's country (decides the region): its ISO 3166-1 alpha-2 code or its exact "
    "name; text that only matches names is refused with the candidates.",
)
@click.option(
    "--region",
    help="Only to confirm the region; contradicting the country needs --residency-override.",
)
@click.option(
    "--residency-override",
    metavar="REASON",
    callback=TextLimit(RESIDENCY_OVERRIDE),
    help="Admin only: place the tenant outside its country's region (logged;"
    f" {RESIDENCY_OVERRIDE.help}).",
)
@click.option(
    "--contact-name",
    callback=TextLimit(CONTACT_NAME),
    help=f"The client's representative ({CONTACT_NAME.help}).",
)
@click.option("--contact-email", help="The representative's e-mail.")
@click.option("--contact-phone", help="The representative's phone.")
@click.option(
    "--company", callback=TextLimit(COMPANY), help=f"The client's company name ({COMPANY.help})."
)
@pass_state
def tenant_provision(
    state: CliState,
    name: str,
    country: str,
    region: str | None,
    residency_override: str | None,
    contact_name: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    company: str | None,
) -> None:
    """Create tenant NAME with its own database in its country's region.

    Rerunning after an interruption resumes where it stopped; rerunning once it has finished
    reports the tenant as it is (a different country, region or contact is a conflict).

    \b
    Example:
      aptien-ops tenant provision acme-gmbh --country DE --contact-email it@acme.example
    """
    from aptien_ops.services.provisioning import ProvisionRequest

    console = state.console()
    request = ProvisionRequest(
        name,
        country,
        region,
        residency_override,
        contact_name,
        contact_email,
        contact_phone,
        company,
    )
    steps = StepPrinter(not state.json, heading=f"provisioning {name}:")
    worked: list[str] = []

    def progress(step: str, status: str) -> None:
        if status != "skip":
            worked.append(step)
        steps(step, status)

    tenant = console.provisioning.provision(request, progress=progress)
    where = f"on {tenant.cluster} in {tenant.region}"
    verb = f"active {where}" if worked else f"provisioned already, {where}; nothing changed"
    _show(state, tenant.as_json(), verb)


@tenant.command("suspend")
@click.argument("name")
@reason_option(kept="the ops log and the tenant's history")
@if_version_option("tenant")
@pass_state
def tenant_suspend(state: CliState, name: str, reason: str, seen: int | None) -> None:
    """Stop NAME's own users logging in and end their sessions (backups and inspection go on)."""
    _show(state, state.console().lifecycle.suspend(name, reason, seen=seen).as_json(), "suspended")


@tenant.command("resume")
@click.argument("name")
@if_version_option("tenant")
@pass_state
def tenant_resume(state: CliState, name: str, seen: int | None) -> None:
    """Let a suspended tenant log in again."""
    _show(state, state.console().lifecycle.resume(name, seen=seen).as_json(), "resumed")


@tenant.command("cancel")
@click.argument("name")
@click.option(
    "--retain-days", type=int, help="Keep it restorable this long (default from ops.toml)."
)
@if_version_option("tenant")
@pass_state
def tenant_cancel(state: CliState, name: str, retain_days: int | None, seen: int | None) -> None:
    """Cancel NAME: no more logins; restorable until the retention end, then purgeable."""
    validate_tenant_name(name)  # before the question quotes it
    state.confirm(f"cancel tenant {name}? Its users can no longer log in")
    data = state.console().lifecycle.cancel(name, retain_days, seen=seen).as_json()
    _show(state, data, f"cancelled, retained until {data['retain_until']}")


@tenant.command("reinstate")
@click.argument("name")
@if_version_option("tenant")
@pass_state
def tenant_reinstate(state: CliState, name: str, seen: int | None) -> None:
    """Undo the cancel of NAME within its retention: it is active again and its users can log
    in (a tenant suspended before its cancel is suspended again, for the same reason)."""
    tenant = state.console().lifecycle.reinstate(name, seen=seen)
    _show(state, tenant.as_json(), "reinstated")


@tenant.command("purge")
@click.argument("name")
@click.option(
    "--before-retention-end",
    metavar="REASON",
    callback=TextLimit(REASON),
    help=f"Purge before the retention end, saying why (e.g. the client asked; {REASON.help}).",
)
@if_version_option("tenant")
@pass_state
def tenant_purge(
    state: CliState, name: str, before_retention_end: str | None, seen: int | None
) -> None:
    """Request the purge of cancelled tenant NAME (a second admin approves).

    Drops its database and role, and destroys its backup identity so every backup of it
    becomes unreadable. A tombstone with the dates stays in the catalog.
    """
    validate_tenant_name(name)  # before the question quotes it
    state.confirm(
        f"purge tenant {name}? This destroys its database and makes its backups unreadable"
    )
    _show(
        state,
        state.console()
        .lifecycle.purge(name, before_retention_end=before_retention_end, seen=seen)
        .as_json(),
        "purged",
    )


@click.group()
def fleet() -> None:
    """The fleet as a whole: drift between catalog and clusters, schema upgrades.

    \b
    Examples:
      aptien-ops fleet check            (exit 7 when drift is found, 6 if a cluster is down)
      aptien-ops fleet check --deep     (also opens every tenant database)
      aptien-ops fleet migrate --region eu --parallel 4
    """


@fleet.command("check")
@click.option(
    "--deep",
    is_flag=True,
    help="Also open every tenant database and read the schema version it holds (slow).",
)
@pass_state
def fleet_check(state: CliState, deep: bool) -> None:
    """Compare the catalog with every cluster (one query each) and the backup stores.

    Finds orphan and missing databases, login flags that disagree with a tenant's state,
    owners and CONNECT grants that are not as provisioned, schemas behind or not recorded,
    tenants past retention, full clusters; reconciles the backup index when you may (else
    lists what that would fix). Exit 7 on drift, 6 if a cluster or store did not answer.
    """
    from aptien_ops.errors import IntegrityFailure, Unavailable

    report = state.console().fleet.check(deep=deep)
    findings = [f.as_json() for f in report.findings]
    for done in report.reconciled or []:
        if done.indexed:
            state.info(f"backup reconcile indexed {len(done.indexed)} backup(s) from the store")
    if state.json:
        state.out(findings)
    elif findings:
        state.out(findings, table(findings, ("kind", "region", "cluster", "tenant", "detail")))
    else:
        state.info(f"no drift: the catalog and {report.clusters} cluster(s) agree")
    if report.unreachable:
        first = report.unreachable[0]
        where = first.cluster or f"the {first.region} backup store"
        raise Unavailable(
            f"{len(report.unreachable)} cluster(s) or store(s) did not answer, first {where}",
            hint=f"{first.detail}; check that it is up and reachable from this host, then"
            " rerun (the rest was checked: see the list above)",
        )
    if findings:
        raise IntegrityFailure(
            f"{plural(len(findings), 'drift finding')}",
            hint="see the list above; fleet migrate fixes schemas behind or unrecorded",
        )


@fleet.command("migrate")
@click.option("--region", help="Only this region.")
@click.option(
    "--parallel", default=2, show_default=True, type=int, help="Tenants upgraded at once."
)
@click.option(
    "--enqueue",
    is_flag=True,
    help="Queue the work for the region workers and return at once with the job ids"
    " (a PostgreSQL catalog).",
)
@pass_state
def fleet_migrate(state: CliState, region: str | None, parallel: int, enqueue: bool) -> None:
    """Upgrade tenant schemas to this version (resumable; one transaction per step); with
    --enqueue, a job per tenant for the region workers."""
    from aptien_ops.errors import Unavailable

    if enqueue:
        from aptien_ops.cli.jobs import show_enqueued

        show_enqueued(state, state.console().jobs.enqueue_migrate(region))
        return

    results = [
        r.as_json()
        for r in state.console().fleet.migrate(
            region=region,
            parallel=parallel,
            progress=Bar("migrating", enabled=not state.json),
            interrupted=interrupts.interrupted,
        )
    ]
    failed = [r for r in results if r["error"]]
    state.out(
        results,
        table(results, ("tenant", "from", "to", "error"))
        + f"\n{plural(len(results), 'tenant')}, {len(failed)} failed",
    )
    if failed:
        raise Unavailable(
            f"{plural(len(failed), 'tenant')} could not be migrated; rerun fleet migrate",
            hint=str(failed[0]["error"]),
        )
