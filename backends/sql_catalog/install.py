"""What the catalog's database says of its own installation, read without changing anything.

``aptien-ops doctor`` asks: the schema's revision against this code's, and on PostgreSQL what
the runtime role may do to the ops log (``has_table_privilege``, the server's own answer, so a
grant made by hand or inherited from another role shows) and whether the append-only triggers
of revision 0004 are in place and enabled; and what it may do to the breach notices' history
(campaigns, outbox, exemptions) beyond adding to it and moving a delivery's state on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from aptien_ops.backends import catalog_outbox as o
from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.roles import OUTBOX, OUTBOX_MOVES
from aptien_ops.domain import CatalogInstall, SchemaState

MIGRATIONS = Path(__file__).parent.with_name("catalog_migrations") / "versions"
#: Privileges nobody but a migration should have on the ops log and on the breach notices'
#: history (of whose outbox's columns the runtime role may update only ``OUTBOX_MOVES``).
REWRITES = ("UPDATE", "DELETE", "TRUNCATE")
#: The triggers revision 0004 creates (frozen there, as every migration is).
APPEND_ONLY_TRIGGERS = (
    "opslog_no_rewrite",
    "opslog_no_truncate",
    "opslog_head_kept",
    "opslog_head_no_truncate",
)


def known_revisions() -> frozenset[str]:
    """The revisions this code's migrations know (``NNNN_*.py``), without importing Alembic."""
    return frozenset(p.name.split("_", 1)[0] for p in MIGRATIONS.glob("[0-9]*_*.py"))


def schema_state(stored: str | None) -> SchemaState:
    if stored is None:
        return SchemaState.NONE
    if stored == s.SCHEMA_HEAD:
        return SchemaState.CURRENT
    return SchemaState.BEHIND if stored in known_revisions() else SchemaState.NEWER


def postgres_install(
    conn: Connection, stored: str | None, state: SchemaState, runtime: str | None
) -> CatalogInstall:
    """The installation as the connected (runtime) role sees it. Raises: SQLAlchemyError."""
    log = s.opslog.name
    rewrites: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": log}).scalar() is not None:
        rewrites = tuple(privilege for privilege in REWRITES if _may(conn, log, privilege))
        enabled = set(
            conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
                    " AND tgrelid IN (to_regclass(:log), to_regclass(:head))"
                ),
                {"log": log, "head": s.opslog_head.name},
            ).scalars()
        )
        missing = tuple(name for name in APPEND_ONLY_TRIGGERS if name not in enabled)
    excess, fix = outbox_rewrites(conn, runtime)
    return CatalogInstall(
        "postgresql", state, stored, s.SCHEMA_HEAD, runtime, rewrites, missing, excess, fix
    )


def _may(conn: Connection, table: str, privilege: str, column: str | None = None) -> bool:
    """The server's answer: may the connected role do ``privilege`` to the table (or the
    column)? A table-wide privilege covers every column."""
    if column is None:
        query, values = "has_table_privilege(CAST(:t AS regclass), :p)", {}
    else:
        query, values = "has_column_privilege(CAST(:t AS regclass), :c, :p)", {"c": column}
    found = conn.execute(text(f"SELECT {query}"), {"t": table, "p": privilege, **values})
    return bool(found.scalar())


def outbox_rewrites(conn: Connection, runtime: str | None) -> tuple[tuple[str, ...], str | None]:
    """What the connected role may do to the breach notices' history beyond :data:`OUTBOX`
    (``has_table_privilege`` / ``has_column_privilege``), and the owner's statements that
    take it back."""
    excess: list[str] = []
    tables: list[str] = []
    for table in OUTBOX:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            continue  # a catalog before revision 0007
        found = [f"{p} on {table}" for p in REWRITES if _may(conn, table, p)]
        if table == o.breach_outbox.name and f"UPDATE on {table}" not in found:
            kept = [c.name for c in o.breach_outbox.columns if c.name not in OUTBOX_MOVES]
            found += [f"UPDATE of {table}.{c}" for c in kept if _may(conn, table, "UPDATE", c)]
        excess += found
        if found:
            tables.append(table)
    if not excess:
        return (), None
    role = runtime or "<runtime role>"
    fix = " ".join(
        f"REVOKE ALL ON {t} FROM {role}; GRANT {', '.join(OUTBOX[t])} ON {t} TO {role};"
        for t in tables
    )
    return tuple(excess), fix
