"""Who may reach a tenant database on PostgreSQL: its ``public`` schema, the region's inspector
role (column-level SELECT on the metadata columns only), the owner role's logins, and what
the cluster's admin itself may do.

Each function runs its statements on a connection the caller opened and leaves driver errors
to the caller to translate.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from aptien_ops.backends import tenant_schema
from aptien_ops.backends.pg_common import (
    act_as_owner,
    converge_role,
    end_sessions,
    grant_columns_only,
    read_schema_version,
    scram_sha256_verifier,
)
from aptien_ops.errors import Conflict, InvalidInput, NotFound
from aptien_ops.ports import ClusterPrivileges
from aptien_ops.tenant_schema import METADATA_COLUMNS

#: Serialises inspector role changes on a cluster.
_INSPECTOR_LOCK = 0x61707469656E02
#: How long refusing a tenant's login waits for its sessions to end.
_TERMINATE_SECONDS = 10.0
#: An inspector that is the admin, or inherits a tenant's or all data, is not bounded by columns.
_INSPECTOR_TOO_WIDE = (
    "SELECT %(role)s = current_user OR pg_has_role(%(role)s, %(owner)s, 'MEMBER') OR EXISTS ("
    " SELECT 1 FROM pg_roles WHERE rolname IN ('pg_read_all_data', 'pg_write_all_data')"
    " AND pg_has_role(%(role)s, oid, 'MEMBER'))"
)


def create_owned_database(conn: psycopg.Connection, dbname: str, owner: str) -> None:
    """Create ``dbname`` owned by ``owner`` (an existing one is kept and given to it), with
    ``CONNECT`` and ``TEMPORARY`` for the owner alone. Run in autocommit as the admin."""
    db_id, role_id = sql.Identifier(dbname), sql.Identifier(owner)
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db_id, role_id))
        except psycopg.errors.DuplicateDatabase:
            pass
    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db_id, role_id))
    conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db_id))
    conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db_id, role_id))


def lock_down_public_schema(conn: psycopg.Connection, owner: str) -> None:
    """Give schema ``public`` of the connected database to ``owner`` alone.

    Raises: psycopg.Error.
    """
    conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
    conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")


def inspector_login(role: str, password: str | None) -> sql.Composable:
    """``LOGIN PASSWORD <SCRAM verifier>`` with a password, else ``NOLOGIN``.

    Raises: InvalidInput for an invalid role name or an empty password.
    """
    tenant_schema.validate_role_name(role)
    if password is not None and (not isinstance(password, str) or not password):
        raise InvalidInput(f"inspector role {role}: the password must not be empty")
    return (
        sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(scram_sha256_verifier(password)))
        if password
        else sql.SQL("NOLOGIN")
    )


def admit_inspector(
    conn: psycopg.Connection,
    cluster: str,
    dbname: str,
    owner: str,
    role: str,
    login: sql.Composable,
    *,
    new_password: bool,
) -> None:
    """On the admin connection, in one transaction: create ``role`` if missing (``login``; an
    existing role gets it only with a ``new_password``), check that column grants bound it, and
    let it connect to ``dbname``.

    Raises:
        NotFound: no such tenant database.
        Conflict: the role has superuser/replication/bypassrls powers, is the cluster admin,
            or is a member of ``owner`` or ``pg_read_all_data``.
        psycopg.Error: for the caller to translate.
    """
    where = f"cluster {cluster!r}"
    with conn.transaction():
        if (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            is None
        ):
            raise NotFound(f"tenant database {dbname} does not exist on cluster {cluster!r}")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INSPECTOR_LOCK,))
        converge_role(
            conn,
            role,
            create=sql.SQL("NOCREATEDB NOCREATEROLE {}").format(login),
            alter=login if new_password else None,
            refusal=f"{where}: refusing to make {role} an inspector",
        )
        too_wide = conn.execute(_INSPECTOR_TOO_WIDE, {"role": role, "owner": owner}).fetchone()
        if too_wide is None or too_wide[0]:
            raise Conflict(
                f"{where}: role {role} is the cluster admin or a member of {owner} or "
                "pg_read_all_data; column grants would not bound what it reads",
                hint="use a dedicated inspector role",
            )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )


def grant_metadata_columns(conn: psycopg.Connection, dbname: str, owner: str, role: str) -> None:
    """On the tenant's database, as ``owner``, in one transaction: revoke everything ``role``
    holds there, then grant it SELECT on ``METADATA_COLUMNS`` only.

    Raises: Conflict if the tenant has no schema yet; IntegrityFailure (a foreign
    tenant_meta); psycopg.Error.
    """
    with conn.transaction():
        act_as_owner(conn, owner)
        if read_schema_version(conn, dbname) is None:
            raise Conflict(
                f"tenant database {dbname} has no schema yet", hint="apply the schema first"
            )
        grant_columns_only(conn, role, METADATA_COLUMNS)


def switch_login(conn: psycopg.Connection, cluster: str, owner: str, allowed: bool) -> None:
    """On the admin connection: allow or refuse logins of ``owner``; refusing ends its
    sessions too.

    Raises: NotFound (no such role), Conflict (a session would not end in time), psycopg.Error.
    """
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
        raise NotFound(f"tenant role {owner} does not exist on cluster {cluster!r}")
    login = sql.SQL("LOGIN" if allowed else "NOLOGIN")
    conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(sql.Identifier(owner), login))
    if not allowed:
        end_sessions(conn, owner, _TERMINATE_SECONDS, f"cluster {cluster!r}")


#: What the cluster admin needs: tenant databases and their owner roles are created and dropped
#: (CREATEDB, CREATEROLE), and dropping a scratch database autovacuum has entered needs its
#: sessions ended (pg_signal_backend) first.
ADMIN_NEEDS = ("CREATEDB", "CREATEROLE", "pg_signal_backend")
_ADMIN_POWERS = (
    "SELECT current_user, r.rolsuper, r.rolcreatedb, r.rolcreaterole,"
    " pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')"
    " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user"
)


def admin_privileges(conn: psycopg.Connection) -> ClusterPrivileges:
    """What the connected admin role holds of :data:`ADMIN_NEEDS`, and the SQL a superuser runs
    to grant what it lacks. Raises: psycopg.Error."""
    row = conn.execute(_ADMIN_POWERS).fetchone()
    assert row is not None, "the connected role is in pg_roles"
    admin, superuser, createdb, createrole, signal = row
    has = dict(zip(ADMIN_NEEDS, (createdb, createrole, signal), strict=True))
    held = tuple(need for need in ADMIN_NEEDS if superuser or has[need])
    missing = tuple(need for need in ADMIN_NEEDS if need not in held)
    role = sql.Identifier(admin).as_string(conn)
    attributes = [need for need in missing if need.isupper()]
    grants = [f"ALTER ROLE {role} {' '.join(attributes)};"] if attributes else []
    grants += [f"GRANT pg_signal_backend TO {role};"] if "pg_signal_backend" in missing else []
    grant = f"as a superuser: {' '.join(grants)}" if grants else ""
    note = "a superuser: more than the console needs" if superuser else ""
    return ClusterPrivileges(admin, held, missing, grant, note)
