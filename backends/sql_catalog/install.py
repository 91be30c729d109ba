"""What the catalog's database says of its own installation, read without changing anything.

``aptien-ops doctor`` asks: the schema's revision against this code's, and on PostgreSQL what
the runtime role may do to the ops log (``has_table_privilege``, the server's own answer, so a
grant made by hand or inherited from another role shows) and whether the append-only triggers
of revision 0004 are in place and enabled.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from aptien_ops.backends import catalog_schema as s
from aptien_ops.domain import CatalogInstall, SchemaState

MIGRATIONS = Path(__file__).parent.with_name("catalog_migrations") / "versions"
#: Privileges nobody but a migration should have on the ops log.
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
        rewrites = tuple(
            privilege
            for privilege in REWRITES
            if conn.execute(
                text("SELECT has_table_privilege(CAST(:t AS regclass), :p)"),
                {"t": log, "p": privilege},
            ).scalar()
        )
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
    return CatalogInstall("postgresql", state, stored, s.SCHEMA_HEAD, runtime, rewrites, missing)
