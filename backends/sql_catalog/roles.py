"""The catalog's two PostgreSQL roles: the owner runs migrations, the runtime role does the work.

The owner (``catalog.owner``) owns every table and is the only role that changes the schema.
After each migration it grants the runtime role (the user of ``catalog.url``) what the console
needs and no more: the ops log may be read and appended to, never updated, deleted or
truncated, and its head row may be moved but not removed; the breach notices' campaigns,
outbox and exemptions may be read and added to, and of an outbox row only its delivery state
may change. The grants are applied in the migration's own transaction, so a schema and its
privileges are never seen apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import Connection

from aptien_ops.backends import catalog_billing as b
from aptien_ops.backends import catalog_op_notices as n
from aptien_ops.backends import catalog_outbox as o
from aptien_ops.backends import catalog_schema as s
from aptien_ops.errors import Conflict

READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: The outbox's columns a delivery moves on; nothing else of a row ever changes.
OUTBOX_MOVES = ("state", "attempts", "reason", "last_attempt_at")
#: The columns of an operational notice that change after it is drafted.
NOTICE_MOVES = ("status", "title", "body", "starts_at", "ends_at", "updated_by", "updated_at")
#: The breach notices' history: campaigns, outbox rows and Art. 34(3) exemptions are added,
#: never removed; of an outbox row only its delivery state moves on (what was sent to whom
#: stays as it was).
OUTBOX: Mapping[str, tuple[str, ...]] = {
    o.breach_campaigns.name: ("SELECT", "INSERT"),
    o.breach_outbox.name: ("SELECT", "INSERT", f"UPDATE ({', '.join(OUTBOX_MOVES)})"),
    o.breach_exemptions.name: ("SELECT", "INSERT"),
}
#: Tables on which the runtime role gets less than READ_WRITE.
NARROWER: Mapping[str, tuple[str, ...]] = {
    s.opslog.name: ("SELECT", "INSERT"),
    s.opslog_head.name: ("SELECT", "UPDATE"),
    # The mode is recorded once; a runtime role that could delete it could reopen a
    # production catalog as a sandbox.
    s.catalog_meta.name: ("SELECT", "INSERT"),
    # Billing: an applied Stripe event stays applied (idempotency); the cursor is one row,
    # moved on, never removed.
    b.billing_events.name: ("SELECT", "INSERT"),
    b.billing_cursor.name: ("SELECT", "INSERT", "UPDATE"),
    "alembic_version": ("SELECT",),
    # Operational notices: what was announced and who did what stays; of a notice's row only
    # its status, window, texts (notice edit) and last change move on (never its kind,
    # audience, scope or author); its stored scope is written once with it.
    n.op_notices.name: ("SELECT", "INSERT", f"UPDATE ({', '.join(NOTICE_MOVES)})"),
    n.op_notice_updates.name: ("SELECT", "INSERT"),
    n.op_notice_scope.name: ("SELECT", "INSERT"),
    **OUTBOX,
}
#: PostgreSQL 17 lets a non-owner VACUUM a table (``MAINTAIN``): the purge's shredding.
MAINTAIN_SINCE = 170000
ROLES_DOC = "docs/production.md, Catalog roles"


def runtime_privileges() -> dict[str, tuple[str, ...]]:
    """Each table of this schema revision and what the runtime role may do to it."""
    names = [table.name for table in s.metadata.sorted_tables] + ["alembic_version"]
    return {name: NARROWER.get(name, READ_WRITE) for name in names}


def grant_runtime_privileges(conn: Connection, runtime: str) -> None:
    """Give ``runtime`` exactly :func:`runtime_privileges`, as the owner connected on ``conn``.

    Earlier grants are revoked first, so rerunning it also takes back what a DBA added by hand.

    Raises:
        Conflict: a catalog table belongs to another role than the connected owner (the
            owner could not grant on it; the DBA reassigns it first).
    """
    present = {
        str(name)
        for (name,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
    }
    # A catalog held at an older revision (a test pinning it) lacks the newer tables.
    privileges = {t: p for t, p in runtime_privileges().items() if t in present}
    foreign = conn.execute(
        text(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename = ANY(:names) AND tableowner <> current_user ORDER BY tablename"
        ),
        {"names": list(privileges)},
    ).all()
    if foreign:
        table, other = foreign[0]
        raise Conflict(
            f"the catalog table {table} belongs to the role {other}, not to the catalog's owner",
            hint=f"a superuser runs REASSIGN OWNED BY {other} TO <owner> in the catalog"
            f" database ({ROLES_DOC})",
        )
    quote = conn.dialect.identifier_preparer.quote
    role = quote(runtime)
    schema = quote(str(conn.execute(text("SELECT current_schema()")).scalar()))
    statements = [f"GRANT USAGE ON SCHEMA {schema} TO {role}"]
    for table, allowed in privileges.items():
        statements.append(f"REVOKE ALL ON TABLE {quote(table)} FROM {role}")
        statements.append(f"GRANT {', '.join(allowed)} ON TABLE {quote(table)} TO {role}")
    statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    version = int(conn.execute(text("SHOW server_version_num")).scalar() or 0)
    if version >= MAINTAIN_SINCE:
        statements.append(f"GRANT MAINTAIN ON TABLE {quote(s.tenant_secrets.name)} TO {role}")
    statements += _job_queue_grants(conn, role)
    for statement in statements:
        conn.exec_driver_sql(statement)


#: The job queue's schema (revision 0012): procrastinate's own tables and functions.
JOBS_SCHEMA = "procrastinate"


def _job_queue_grants(conn: Connection, role: str) -> list[str]:
    """The runtime role runs the queue: it defers, fetches and finishes jobs, registers
    workers and their heartbeats, all through procrastinate's functions and tables."""
    found = conn.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": JOBS_SCHEMA}
    ).scalar()
    if not found:
        return []
    return [
        f"GRANT USAGE ON SCHEMA {JOBS_SCHEMA} TO {role}",
        f"GRANT {', '.join(READ_WRITE)} ON ALL TABLES IN SCHEMA {JOBS_SCHEMA} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {JOBS_SCHEMA} TO {role}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {JOBS_SCHEMA} TO {role}",
    ]
