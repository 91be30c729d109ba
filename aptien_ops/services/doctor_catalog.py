"""The doctor's checks of the catalog: reachable, at this code's schema, opened by the console,
its recorded mode, and in production its policy, its admins and its two roles.

The catalog is read through a :class:`~aptien_ops.ports.CatalogProbe` of its own, as it is:
nothing here creates, upgrades or grants. What depends on an earlier check that failed (the
policy of a catalog that cannot be reached) is reported as not checked, never as passed.
"""

from __future__ import annotations

from collections.abc import Callable

from aptien_ops.config import Settings
from aptien_ops.domain import CatalogInstall, SchemaState
from aptien_ops.errors import InvalidInput, OpsError
from aptien_ops.permissions import Role
from aptien_ops.policy import KEYS, Policy
from aptien_ops.ports import CatalogProbe, CatalogTx
from aptien_ops.services.doctor_results import Finding, not_checked

ROLES_DOC = "docs/production.md, Catalog roles"
DOCTOR_DOC = "docs/production.md, Doctor"
#: What is read from the catalog's records, once its schema is this code's.
RECORDS = ("catalog.opens", "catalog.mode", "catalog.policy", "catalog.admins")
#: The PostgreSQL roles that keep the ops log append-only and the breach notices' history
#: (campaigns, outbox, exemptions) as it was sent.
ROLES = (
    "catalog.owner",
    "catalog.log-privileges",
    "catalog.triggers",
    "catalog.outbox-privileges",
)


def uncurrent(probe: Callable[[], CatalogProbe]) -> str | None:
    """None when the console can open the catalog without changing it (reachable, schema at
    this code's revision); otherwise why not. The doctor opens it only then: opening a catalog
    whose schema is behind (or absent) upgrades (or creates) it, and a doctor changes nothing.
    """
    try:
        catalog = probe()
        try:
            install = catalog.install_state()
        finally:
            catalog.dispose()
    except OpsError:
        return "the catalog cannot be reached"
    if install.schema is SchemaState.CURRENT:
        return None
    if install.schema is SchemaState.NONE:
        return "there is no catalog yet"
    return f"the catalog's schema is not at revision {install.code_revision}"


def catalog_findings(
    settings: Settings, probe: Callable[[], CatalogProbe], opens: Finding
) -> list[Finding]:
    """Every catalog check. ``opens`` is how the console's own opening of the catalog went
    (bootstrap: a signed ops-log head, a recorded mode that is the config's)."""
    try:
        catalog = probe()
    except OpsError as refused:  # a password file it cannot read, a malformed url
        return [
            Finding.from_error("catalog.reachable", refused),
            *not_checked(["catalog.schema", *RECORDS, *ROLES], "the catalog cannot be reached"),
        ]
    try:
        return _reachable(settings, catalog, opens)
    finally:
        catalog.dispose()


def _reachable(settings: Settings, catalog: CatalogProbe, opens: Finding) -> list[Finding]:
    try:
        install = catalog.install_state()
    except OpsError as refused:
        fix = "check that the database server is up and that catalog.url names it"
        return [
            Finding.from_error("catalog.reachable", refused, fix),
            *not_checked(["catalog.schema", *RECORDS, *ROLES], "the catalog cannot be reached"),
        ]
    where = f"{catalog.url_for_display} answers ({install.database})"
    findings = [Finding.passed("catalog.reachable", where)]
    if install.schema is SchemaState.NONE and settings.sandbox:
        new = "no catalog yet: the first command creates it"
        return [
            *findings,
            Finding.passed("catalog.schema", new),
            *(Finding.not_applicable(c, new) for c in (*RECORDS, *ROLES)),
        ]
    findings.append(_schema(settings, install))
    if install.schema is SchemaState.CURRENT:
        findings.append(opens)
        findings += _records(settings, catalog)
    else:
        why = f"the catalog's schema is not at revision {install.code_revision}"
        findings += not_checked(RECORDS, why)
    findings += _roles(settings, install)
    return findings


def _schema(settings: Settings, install: CatalogInstall) -> Finding:
    check, stored, head = "catalog.schema", install.schema_revision, install.code_revision
    state = install.schema
    upgrade = f"run any command with catalog.owner's password in place ({ROLES_DOC})"
    if state is SchemaState.CURRENT:
        return Finding.passed(check, f"the schema is at revision {head}, this aptien-ops's")
    if state is SchemaState.NONE:
        first = "an initial admin runs any command: it creates it"
        return Finding.failed(check, "the catalog has no schema yet", first)
    if state is SchemaState.BEHIND:
        return Finding.failed(check, f"the schema is at revision {stored}, not {head}", upgrade)
    if state is SchemaState.NEWER:
        return Finding.failed(
            check,
            f"the schema (revision {stored}) is newer than this aptien-ops ({head})",
            "upgrade aptien-ops before using this catalog",
        )
    return Finding.failed(
        check,
        f"the runtime role {install.runtime_role} may not read the schema's revision",
        f"{upgrade}: the owner grants its privileges again",
    )


def _records(settings: Settings, catalog: CatalogProbe) -> list[Finding]:
    """Mode, policy and admins, read in one transaction."""
    try:
        with catalog.read() as tx:
            findings = [_mode(settings, tx)]
            if settings.sandbox:
                return [
                    *findings,
                    Finding.not_applicable("catalog.policy", "a sandbox's policy is its config"),
                    Finding.not_applicable("catalog.admins", "a sandbox's admins are demo ones"),
                ]
            return [*findings, _policy(tx), _admins(tx)]
    except OpsError as refused:
        return [Finding.from_error(check, refused) for check in RECORDS[1:]]


def _mode(settings: Settings, tx: CatalogTx) -> Finding:
    check, recorded, wanted = "catalog.mode", tx.policy.mode(), settings.mode
    if recorded == wanted:
        return Finding.passed(check, f"the catalog is recorded as a {wanted} catalog")
    if recorded is None:
        return Finding.failed(
            check, "the catalog has no mode recorded", "run any command: it records it"
        )
    return Finding.failed(
        check,
        f"the catalog is recorded as a {recorded} catalog; this config is {wanted}",
        "point catalog.url at the catalog this config is for",
    )


def _policy(tx: CatalogTx) -> Finding:
    check, stored = "catalog.policy", tx.policy.values()
    set_it = "an admin runs: aptien-ops policy set KEY VALUE (a second admin approves)"
    try:
        Policy.from_stored(stored, fallback=Policy(frozenset()))
    except InvalidInput as invalid:
        return Finding.failed(check, invalid.message, set_it)
    missing = [key for key in KEYS if key not in stored]
    if missing:
        return Finding.failed(
            check,
            f"the catalog's policy lacks {', '.join(missing)} (the defaults apply)",
            set_it.replace("KEY", missing[0]),
        )
    return Finding.passed(check, f"the catalog holds every key of the policy ({len(KEYS)})")


def _admins(tx: CatalogTx) -> Finding:
    check = "catalog.admins"
    admins = sorted(o.name for o in tx.operators.all() if o.active and Role.ADMIN in o.roles)
    if len(admins) >= 2:
        return Finding.passed(check, f"{len(admins)} active admins: {', '.join(admins)}")
    who = f"only one active admin ({admins[0]})" if admins else "no active admin"
    return Finding.failed(
        check,
        f"{who}: four-eyes needs a second admin to approve",
        f"add a second admin: aptien-ops operator add NAME --role viewer, then a DBA grants"
        f" admin ({DOCTOR_DOC})",
    )


def _roles(settings: Settings, install: CatalogInstall) -> list[Finding]:
    """An owner that alone changes the schema, a runtime role that cannot rewrite the log, and
    the log's triggers (PostgreSQL; a production catalog on SQLite has none of them)."""
    if settings.sandbox:
        return [Finding.not_applicable(c, "a sandbox's ops log is its owner's") for c in ROLES]
    if install.database != "postgresql":
        return [
            Finding.failed(
                "catalog.owner",
                "a SQLite catalog has no roles: only its file's mode keeps the ops log append-only",
                f"move the catalog to PostgreSQL, with an owner and a runtime role ({ROLES_DOC})",
            ),
            *(Finding.not_applicable(c, "SQLite has no privileges") for c in ROLES[1:]),
        ]
    runtime, owner = install.runtime_role or "(the url's user)", settings.catalog.owner
    findings = [
        Finding.passed("catalog.owner", f"{owner} owns the catalog; the console works as {runtime}")
        if owner
        else Finding.failed(
            "catalog.owner",
            f"no catalog.owner: the console's role {runtime} owns the catalog and can rewrite"
            " the ops log",
            f"create an owner role and set catalog.owner ({ROLES_DOC})",
        )
    ]
    if install.schema is not SchemaState.CURRENT:
        why = f"the catalog's schema is not at revision {install.code_revision}"
        return [*findings, *not_checked(ROLES[1:], why)]
    rewrites = install.log_rewrites
    findings.append(
        Finding.failed(
            "catalog.log-privileges",
            f"the server says {runtime} may {', '.join(rewrites)} the ops log (opslog)",
            f"as the catalog's owner: REVOKE {', '.join(rewrites)} ON opslog FROM {runtime};",
        )
        if rewrites
        else Finding.passed(
            "catalog.log-privileges",
            f"the server says {runtime} may not UPDATE, DELETE or TRUNCATE the ops log",
        )
    )
    missing = install.missing_triggers
    findings.append(
        Finding.failed(
            "catalog.triggers",
            f"the ops log's append-only triggers are missing or disabled: {', '.join(missing)}",
            f"as the catalog's owner, enable or recreate them ({DOCTOR_DOC})",
        )
        if missing
        else Finding.passed("catalog.triggers", "the ops log's append-only triggers are in place")
    )
    findings.append(_outbox(runtime, install))
    return findings


def _outbox(runtime: str, install: CatalogInstall) -> Finding:
    check, excess = "catalog.outbox-privileges", install.outbox_rewrites
    if excess:
        return Finding.failed(
            check,
            f"the server says {runtime} may rewrite the breach notices' history:"
            f" {', '.join(excess)}",
            f"as the catalog's owner: {install.outbox_fix}",
        )
    return Finding.passed(
        check,
        f"the server says {runtime} may only add breach campaigns, notices and exemptions"
        " and move a notice's delivery state on",
    )
