"""What every PostgreSQL adapter shares: URL parsing, the SCRAM verifier, error translation,
and the statements that act on roles and tenant databases (converging a role, acting as a
tenant's owner, reading its schema version, column-only grants, ending a role's sessions).

Kept free of SQLAlchemy so a command that only talks to tenant clusters does not pay for
importing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import time
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg import sql

from aptien_ops.backends.tenant_schema import parse_version
from aptien_ops.errors import (
    Conflict,
    Forbidden,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    OpsError,
    Unavailable,
)

SCRAM_ITERATIONS = 4096
"""PostgreSQL's own default (``scram_iterations``), so verifiers look like the server's."""

_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")

#: SQLSTATEs that mean "lost a race or the object is busy": rerunning may succeed.
_CONFLICT_STATES = frozenset({"55006", "55P03", "40001", "40P01", "2BP01", "42P04", "42710"})

_META_TABLE = (
    "SELECT c.relkind = 'r' AND NOT c.relrowsecurity FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relname = 'tenant_meta'"
)
_ROLE_POWERS = "SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = %s"


def conninfo_params(url: str) -> dict[str, str]:
    """libpq keywords from a SQLAlchemy-style URL, without any password.

    ``postgresql+psycopg://user@/db?host=/run/pg&port=5432`` and
    ``postgresql+psycopg://user@db.example:5432/db?sslmode=require`` are both understood;
    query parameters are passed through as libpq keywords.

    Raises:
        InvalidInput: not a PostgreSQL URL, or it carries a password (secrets go in
            ``password_file``/``password_env``, never in a URL).
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise InvalidInput(
            f"not a PostgreSQL URL: scheme {parts.scheme!r}", hint="use postgresql+psycopg://…"
        )
    if parts.password is not None:
        raise InvalidInput(
            "the cluster URL contains a password", hint="use password_file or password_env"
        )
    params: dict[str, str] = {}
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if parts.port is not None:
        params["port"] = str(parts.port)
    if parts.username:
        params["user"] = unquote(parts.username)
    dbname = unquote(parts.path.lstrip("/"))
    if dbname:
        params["dbname"] = dbname
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key == "password":
            raise InvalidInput(
                "the cluster URL contains a password", hint="use password_file or password_env"
            )
        params[key] = value
    return params


def scram_sha256_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The ``SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`` string PostgreSQL stores.

    Computed here so ``CREATE ROLE … PASSWORD`` carries a verifier, never the password: the
    plaintext cannot land in ``pg_stat_activity``, ``log_statement`` output or
    ``pg_stat_statements`` (RFC 5802 §3, PostgreSQL's ``scram_build_secret``).
    """
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep_or_raw(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


def _saslprep_or_raw(password: str) -> bytes:
    # Mirrors PostgreSQL's pg_saslprep(): SASLprep (RFC 4013) the password, and where that is
    # not possible (prohibited characters, bad bidi) use the raw UTF-8 bytes, as libpq does.
    raw = password.encode("utf-8")
    if password.isascii():
        return raw
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)
    )
    text = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    if not text or any(check(c) for c in text for check in _PROHIBITED):
        return raw
    rand_al = [stringprep.in_table_d1(c) for c in text]
    if any(rand_al) and (
        any(stringprep.in_table_d2(c) for c in text) or not (rand_al[0] and rand_al[-1])
    ):
        return raw
    return text.encode("utf-8")


def driver_message(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The driver's message on one line, any secret blanked out, cut to a readable length."""
    text = " ".join(str(exc).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= 240 else text[:237] + "..."


def translate_pg_error(
    exc: psycopg.Error, what: str, secrets: Iterable[str | None] = ()
) -> OpsError:
    """Turn a psycopg exception into the console's error, for ``raise … from None``.

    ``what`` says what was being done, naming the cluster (never a password or conninfo).
    """
    detail = driver_message(exc, secrets)
    state = exc.sqlstate or ""
    if state == "42501" or state.startswith("28"):
        return Forbidden(f"{what}: permission denied: {detail}")
    if state == "3D000":
        return NotFound(f"{what}: {detail}")
    if state in _CONFLICT_STATES or state.startswith("23"):
        return Conflict(f"{what}: {detail}", hint="another operation holds it; rerun the command")
    return Unavailable(f"{what}: {detail}")


def converge_role(
    conn: psycopg.Connection,
    role: str,
    *,
    create: sql.Composable,
    alter: sql.Composable | None,
    refusal: str,
) -> None:
    """Create ``role`` WITH ``create`` if missing, else restate ``alter`` on it (None: leave it).

    Only a superuser may even restate NOSUPERUSER/NOREPLICATION/NOBYPASSRLS, so those powers
    are checked instead of set: a squatted role holding them would make every grant moot.

    Raises:
        Conflict: the role exists with superuser, replication or bypassrls powers
            (``refusal`` opens the message: which cluster, what was refused).
        psycopg.Error: anything else, for the caller to translate.
    """
    role_id = sql.Identifier(role)
    found = conn.execute(_ROLE_POWERS, (role,)).fetchone()
    if found is None:
        try:
            # Its own (sub)transaction: losing the race must not abort the caller's.
            with conn.transaction():
                conn.execute(sql.SQL("CREATE ROLE {} WITH {}").format(role_id, create))
            return
        except psycopg.errors.DuplicateObject:
            found = conn.execute(_ROLE_POWERS, (role,)).fetchone()  # a concurrent run won
    if found is not None and found[0]:
        raise Conflict(
            f"{refusal}: role {role} exists with superuser, replication or bypassrls powers",
            hint="a DBA must inspect that role",
        )
    if alter is not None:
        conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(role_id, alter))


def act_as_owner(conn: psycopg.Connection, role: str) -> None:
    """Act as the tenant's owner until the transaction ends, resolving names in ``public``.

    A fixed search_path keeps a schema the platform created (say one named after the role,
    which ``$user`` would pick first) from catching the console's DDL or reads.
    """
    conn.execute("SET LOCAL search_path TO public")
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


def read_schema_version(conn: psycopg.Connection, dbname: str) -> int | None:
    """``tenant_meta.schema_version``, None if there is no tenant_meta.

    Raises: IntegrityFailure if tenant_meta is a view, has row security, or no version row:
    this code never makes one like that, and reading a view would run someone else's code.
    """
    shape = conn.execute(_META_TABLE).fetchone()
    if shape is None:
        return None
    if not shape[0]:
        raise IntegrityFailure(
            f"{dbname}: public.tenant_meta is not the plain table aptien-ops creates"
        )
    row = conn.execute(
        "SELECT value FROM public.tenant_meta WHERE key = 'schema_version'"
    ).fetchone()
    if row is None:
        raise IntegrityFailure(f"{dbname}: tenant_meta has no schema_version row")
    return parse_version(row[0], dbname)


def grant_columns_only(
    conn: psycopg.Connection, role: str, allow_list: Mapping[str, tuple[str, ...]]
) -> None:
    """Make ``role``'s access to schema ``public`` exactly column-level SELECT on ``allow_list``.

    Everything the current role granted it on tables and sequences is revoked first, so a
    rerun inside one transaction also takes back a table-level grant made by hand.
    Raises: psycopg.Error, for the caller to translate.
    """
    role_id = sql.Identifier(role)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role_id))
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role_id))
    conn.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(role_id))
    for table, columns in allow_list.items():
        conn.execute(
            sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier("public", table),
                role_id,
            )
        )


#: Ends the client sessions in the databases ``%s`` that this role may end: never a server
#: process (autovacuum, a parallel or replication worker: DROP and ALTER DATABASE wait those
#: out themselves), and a superuser's session only when this role is one. PostgreSQL refuses
#: the rest to a role without SUPERUSER ("must be a superuser to terminate superuser process"),
#: and autovacuum counts as a superuser's.
_END_CLIENT_SESSIONS = """\
SELECT pg_catalog.pg_terminate_backend(a.pid)
FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
WHERE a.datname = ANY(%s) AND a.pid <> pg_catalog.pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND (NOT r.rolsuper OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user))
"""

#: DROP DATABASE attempts while sessions come back or autovacuum works in the database (the
#: server itself waits up to 5 s for autovacuum to leave, at each attempt).
DROP_ATTEMPTS = 3


def end_client_sessions(conn: psycopg.Connection, databases: list[str]) -> None:
    """Terminate the client sessions in ``databases`` that this role may end (see above).

    Raises: psycopg.Error."""
    conn.execute(_END_CLIENT_SESSIONS, (databases,))


def drop_database(conn: psycopg.Connection, dbname: str, where: str) -> None:
    """``DROP DATABASE IF EXISTS dbname`` after ending its client sessions, a bounded number
    of times while it stays in use.

    Raises: Conflict (still in use: a session this role may not end, e.g. a superuser's);
    psycopg.Error.
    """
    for attempt in range(1, DROP_ATTEMPTS + 1):
        end_client_sessions(conn, [dbname])
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
            return
        except psycopg.errors.ObjectInUse as exc:
            if attempt == DROP_ATTEMPTS:
                raise Conflict(
                    f"{where}: {dbname} is still in use after {DROP_ATTEMPTS} attempts:"
                    f" {driver_message(exc)}",
                    hint="a superuser's session (or a server process) that this role may not"
                    " end is using it: end it as a superuser, then rerun",
                ) from None


def end_sessions(conn: psycopg.Connection, role: str, seconds: float, where: str) -> None:
    """Terminate every session whose login role is ``role`` and wait until none is left.

    A session that authenticated just before its role lost LOGIN may show up a moment later,
    and termination is asynchronous, hence the loop.

    Raises: Conflict if sessions remain after ``seconds``; psycopg.Error.
    """
    deadline = time.monotonic() + seconds
    while conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE usename = %s AND pid <> pg_backend_pid()",
        (role,),
    ).fetchall():
        if time.monotonic() > deadline:
            raise Conflict(
                f"{where}: sessions of {role} did not end within {seconds:.0f}s",
                hint="rerun the command",
            )
        time.sleep(0.05)
