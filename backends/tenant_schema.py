"""The tenant schema as DDL, one frozen list of statements per version and per dialect.

Version ``n`` is applied in one transaction that also records ``tenant_meta.schema_version =
n``, so a crash mid-step leaves version ``n - 1`` and a rerun converges. The statements of a
released version never change: a new index or table is a new version. The adapters
(``postgres_tenants``, ``sqlite_tenants``) run the steps; this module imports no driver, so a
SQLite command never loads psycopg.

On SQLite, timestamps are TEXT in ISO-8601 UTC with microseconds and a ``Z``
(:func:`utc_timestamp`), which sorts as time does; a CHECK refuses any other shape, because a
``+00:00`` or a missing fraction would silently break "newest first" in the inspection views.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aptien_ops.errors import Conflict, IntegrityFailure, InvalidInput

#: The newest version this code can create; equals
#: ``aptien_ops.tenant_schema.TENANT_SCHEMA_VERSION``.
LATEST = 3

POSTGRESQL: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE tenant_meta (key text PRIMARY KEY, value text NOT NULL)",
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " email text NOT NULL UNIQUE, display_name text, created_at timestamptz NOT NULL,"
        " active boolean NOT NULL DEFAULT true, is_admin boolean NOT NULL DEFAULT false)",
        "CREATE TABLE login_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at timestamptz NOT NULL, user_email text NOT NULL, ip text NOT NULL,"
        " user_agent text NOT NULL, result text NOT NULL, method text NOT NULL)",
        "CREATE INDEX login_events_at ON login_events (at DESC, id DESC)",
        "CREATE INDEX login_events_user_at ON login_events (user_email, at DESC, id DESC)",
        "CREATE TABLE audit_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,"
        " datasheet text NOT NULL, record_id text NOT NULL, key_id text NOT NULL,"
        " payload_size integer NOT NULL, payload bytea NOT NULL)",
        "CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC)",
        "CREATE INDEX audit_events_actor_at ON audit_events (actor, at DESC, id DESC)",
        "CREATE TABLE records (id text PRIMARY KEY,"
        " datasheet text NOT NULL CHECK (datasheet IN ('employees','contacts','applicants')),"
        " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, key_id text NOT NULL,"
        " payload_size integer NOT NULL, payload bytea NOT NULL)",
        "CREATE TABLE messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " created_at timestamptz NOT NULL, audience text NOT NULL, kind text NOT NULL,"
        " subject text NOT NULL, body text NOT NULL, dedupe_key text UNIQUE)",
    ),
    2: (
        "CREATE INDEX login_events_ip_at ON login_events (ip, at DESC, id DESC)",
        "CREATE INDEX audit_events_datasheet_at ON audit_events (datasheet, at DESC, id DESC)",
        "CREATE INDEX audit_events_record_at ON audit_events (record_id, at DESC, id DESC)",
    ),
    # In-app messages to one user each (breach notices): one row per dedupe_key.
    3: (
        "CREATE TABLE user_messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " created_at timestamptz NOT NULL,"
        " user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
        " kind text NOT NULL, subject text NOT NULL, body text NOT NULL, read_at timestamptz,"
        " dedupe_key text NOT NULL UNIQUE)",
        "CREATE INDEX user_messages_user_at ON user_messages (user_id, created_at DESC, id DESC)",
    ),
}

#: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` as a GLOB (where ``.`` is literal).
_D2 = "[0-9][0-9]"
_TS_GLOB = f"'{_D2}{_D2}-{_D2}-{_D2}T{_D2}:{_D2}:{_D2}.{_D2}{_D2}{_D2}Z'"


def _ts(column: str) -> str:
    return f"{column} TEXT NOT NULL CHECK ({column} GLOB {_TS_GLOB})"


def _flag(column: str, default: int) -> str:
    return f"{column} INTEGER NOT NULL DEFAULT {default} CHECK ({column} IN (0, 1))"


# A non-INTEGER PRIMARY KEY may hold NULL on SQLite (a legacy quirk), hence NOT NULL on them.
SQLITE: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE tenant_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,"
        f" display_name TEXT, {_ts('created_at')}, {_flag('active', 1)}, {_flag('is_admin', 0)})",
        f"CREATE TABLE login_events (id INTEGER PRIMARY KEY AUTOINCREMENT, {_ts('at')},"
        " user_email TEXT NOT NULL, ip TEXT NOT NULL, user_agent TEXT NOT NULL,"
        " result TEXT NOT NULL, method TEXT NOT NULL)",
        "CREATE INDEX login_events_at ON login_events (at DESC, id DESC)",
        "CREATE INDEX login_events_user_at ON login_events (user_email, at DESC, id DESC)",
        f"CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, {_ts('at')},"
        " actor TEXT NOT NULL, action TEXT NOT NULL, datasheet TEXT NOT NULL,"
        " record_id TEXT NOT NULL, key_id TEXT NOT NULL, payload_size INTEGER NOT NULL,"
        " payload BLOB NOT NULL CHECK (typeof(payload) = 'blob'))",
        "CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC)",
        "CREATE INDEX audit_events_actor_at ON audit_events (actor, at DESC, id DESC)",
        "CREATE TABLE records (id TEXT NOT NULL PRIMARY KEY,"
        " datasheet TEXT NOT NULL CHECK (datasheet IN ('employees','contacts','applicants')),"
        f" {_ts('created_at')}, {_ts('updated_at')}, key_id TEXT NOT NULL,"
        " payload_size INTEGER NOT NULL, payload BLOB NOT NULL CHECK (typeof(payload) = 'blob'))",
        f"CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, {_ts('created_at')},"
        " audience TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
        " dedupe_key TEXT UNIQUE)",
    ),
    2: POSTGRESQL[2],  # plain CREATE INDEX reads the same in both dialects
    3: (
        f"CREATE TABLE user_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, {_ts('created_at')},"
        " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
        " kind TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, read_at TEXT,"
        " dedupe_key TEXT NOT NULL UNIQUE)",
        POSTGRESQL[3][1],
    ),
}

#: dialect -> version -> statements. The adapters look steps up here at run time.
DDL: dict[str, dict[int, tuple[str, ...]]] = {"postgresql": POSTGRESQL, "sqlite": SQLITE}

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def statements(dialect: str, version: int) -> tuple[str, ...]:
    """The DDL of one version step. Raises: InvalidInput for an unknown dialect or version."""
    try:
        return DDL[dialect][version]
    except KeyError:
        raise InvalidInput(f"no tenant schema version {version!r} for {dialect!r}") from None


def check_target(target_version: int) -> int:
    """Return ``target_version`` if this code can reach it.

    Raises:
        InvalidInput: not a positive integer.
        Conflict: newer than :data:`LATEST` (written for a newer aptien-ops).
    """
    if (
        not isinstance(target_version, int)
        or isinstance(target_version, bool)
        or target_version < 1
    ):
        raise InvalidInput(
            f"tenant schema version must be a positive integer, not {target_version!r}"
        )
    if target_version > LATEST:
        raise Conflict(
            f"tenant schema version {target_version} is newer than this aptien-ops knows "
            f"({LATEST})",
            hint="upgrade aptien-ops",
        )
    return target_version


def utc_timestamp(moment: datetime | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits), now if ``moment`` is None.

    The only shape the SQLite schema accepts for a timestamp. Raises: InvalidInput for a
    naive datetime (its time zone would be a guess).
    """
    moment = datetime.now(UTC) if moment is None else moment
    if moment.tzinfo is None:
        raise InvalidInput("a timestamp needs a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def meta_rows(
    tenant: str, region: str, version: int, now: datetime
) -> tuple[dict[str, str], dict[str, str]]:
    """The tenant_meta rows a version step writes: (overwritten, written only if missing).

    ``created_at`` (and SQLite's ``suspended``, added by its adapter) survive a rerun.
    """
    return (
        {"schema_version": str(version), "tenant": tenant, "region": region},
        {"created_at": utc_timestamp(now)},
    )


def parse_version(value: object, where: str) -> int:
    """A stored ``schema_version`` value as an int.

    Raises: IntegrityFailure if it is not a version number (``where`` names the database).
    """
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise IntegrityFailure(
            f"{where}: tenant_meta.schema_version is {text[:40]!r}, not a version number"
        )
    return int(text)


#: A PostgreSQL tenant database's comment: the schema version where the cluster shows it
#: (``pg_database``), written by each schema step in its own transaction. The comment is
#: aptien-ops's: ``fleet migrate`` writes it again over anything else.
_VERSION_COMMENT = "aptien-ops tenant schema "


def version_comment(version: int) -> str:
    """The comment that records ``version`` on a PostgreSQL tenant database."""
    return f"{_VERSION_COMMENT}{int(version)}"


def version_from_comment(comment: str | None) -> int | None:
    """The version a database comment records; None for no comment or anyone else's."""
    if comment is None or not comment.startswith(_VERSION_COMMENT):
        return None
    number = comment[len(_VERSION_COMMENT) :]
    return int(number) if number.isascii() and number.isdigit() and len(number) < 9 else None


def validate_role_name(role: str) -> str:
    """Return ``role`` if it may name an inspector role.

    Raises: InvalidInput for anything but ``[a-z_][a-z0-9_]{0,62}``, a ``pg_`` name or a name
    in the tenants' own ``tenant_`` namespace.
    """
    if not isinstance(role, str) or not _ROLE_NAME.fullmatch(role):
        raise InvalidInput(
            f"invalid role name {str(role)[:48]!r}",
            hint="lower-case a-z, digits and '_', at most 63",
        )
    if role.startswith(("pg_", "tenant_")):
        raise InvalidInput(
            f"role name {role!r} is reserved", hint="pg_ and tenant_ names are not inspectors"
        )
    return role
