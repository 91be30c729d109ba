"""The catalog's two PostgreSQL roles as a DBA creates them (docs/production.md, Catalog roles),
on a fresh database of the suite's server, and production configs that use them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from aptien_ops.backends import catalog_schema
from aptien_ops.identity import os_account
from aptien_ops.sandbox import write_sandbox_config

from pg_fixtures import PgServer

SQLITE_CATALOG_URL = 'url = "sqlite:///{data_dir}/catalog.db"'
RUNTIME_PW, OWNER_PW = "APTIEN_TEST_RUNTIME_PW", "APTIEN_TEST_OWNER_PW"


@dataclass(frozen=True)
class CatalogRoles:
    server: PgServer
    database: str
    owner: str
    owner_password: str
    runtime: str
    runtime_password: str

    def execute(self, role: str, *statements: str) -> None:
        """Run ``statements`` in one transaction as ``role`` (the owner or the runtime role)."""
        password = self.owner_password if role == self.owner else self.runtime_password
        info = self.server.conninfo(self.database, user=role, password=password)
        with psycopg.connect(info) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def scalar(self, query: str) -> object:
        """Run ``query`` as the server's superuser; its one value, if it returns rows."""
        with psycopg.connect(self.server.conninfo(self.database), autocommit=True) as conn:
            cursor = conn.execute(query.encode())
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def create_login_role(server: PgServer, role: str, password: str, attributes: str = "") -> None:
    """``CREATE ROLE role LOGIN PASSWORD … attributes`` (``CREATEDB CREATEROLE``), as the
    server's superuser."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + attributes).format(
                sql.Identifier(role), sql.Literal(password)
            )
        )


def create_catalog_roles(server: PgServer, prefix: str = "append_only") -> CatalogRoles:
    """A fresh database owned by a new owner role, and a runtime role with no privileges yet."""
    suffix = secrets.token_hex(4)
    made = CatalogRoles(
        server,
        server.fresh_database(prefix),
        f"ops_owner_{suffix}",
        secrets.token_urlsafe(16),
        f"ops_runtime_{suffix}",
        secrets.token_urlsafe(16),
    )
    create_login_role(server, made.owner, made.owner_password)
    create_login_role(server, made.runtime, made.runtime_password)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(made.database), sql.Identifier(made.owner)
            )
        )
    return made


def roles_in_env(server: PgServer, prefix: str, patch: pytest.MonkeyPatch) -> CatalogRoles:
    """:func:`create_catalog_roles`, with both passwords in :data:`RUNTIME_PW` and
    :data:`OWNER_PW` (undone with ``patch``), as :func:`production_config` reads them."""
    made = create_catalog_roles(server, prefix)
    patch.setenv(RUNTIME_PW, made.runtime_password)
    patch.setenv(OWNER_PW, made.owner_password)
    return made


def production_config(directory: Path, roles: CatalogRoles, *, owner: bool = True) -> Path:
    """A production config on the roles' database: the runtime role, with the owner or not
    (their passwords in :data:`RUNTIME_PW` and :data:`OWNER_PW`)."""
    config, _ = write_sandbox_config(directory)
    body = config.read_text(encoding="utf-8")
    body = body.replace('mode = "sandbox"', 'mode = "production"', 1)
    admins = f'initial_admins = ["ada", "{os_account()}"]'
    body = body.replace("initial_admins = []", admins, 1)
    catalog = f'url = "{roles.server.url(roles.database, user=roles.runtime)}"\n'
    catalog += f'password_env = "{RUNTIME_PW}"'
    if owner:
        catalog += f'\nowner = "{roles.owner}"\nowner_password_env = "{OWNER_PW}"'
    config.write_text(body.replace(SQLITE_CATALOG_URL, catalog, 1), encoding="utf-8")
    return config


def operators_as_at_0003(patch: pytest.MonkeyPatch) -> None:
    """The operator adapter reads the ``operators`` table as revision 0003 had it (no row
    version, migration 0009), as the console of that release did."""
    from sqlalchemy import MetaData, Table

    from aptien_ops.backends.sql_catalog import operators
    from aptien_ops.domain import Operator

    later = {"version", "changed_by", "changed_at"}
    old = [c._copy() for c in catalog_schema.operators.columns if c.name not in later]
    patch.setattr(catalog_schema, "operators", Table("operators", MetaData(), *old))

    def as_at_0003(row: object, roles: dict[str, set[str]]) -> Operator:
        name = row.name  # type: ignore[attr-defined]
        held = frozenset(roles.get(name, ()))
        return Operator(name, held, row.added_by, row.added_at, row.active)  # type: ignore[attr-defined]

    patch.setattr(operators, "_operator", as_at_0003)
