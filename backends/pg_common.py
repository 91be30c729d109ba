"""What every PostgreSQL adapter shares: URL parsing, the SCRAM verifier, error translation.

Kept free of SQLAlchemy so a command that only talks to tenant clusters does not pay for
importing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg

from aptien_ops.errors import Conflict, Forbidden, InvalidInput, NotFound, OpsError, Unavailable

SCRAM_ITERATIONS = 4096
"""PostgreSQL's own default (``scram_iterations``), so verifiers look like the server's."""

_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")

#: SQLSTATEs that mean "lost a race or the object is busy": rerunning may succeed.
_CONFLICT_STATES = frozenset({"55006", "55P03", "40001", "40P01", "2BP01", "42P04", "42710"})


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
        raise InvalidInput(f"not a PostgreSQL URL: scheme {parts.scheme!r}", hint="use postgresql+psycopg://…")
    if parts.password is not None:
        raise InvalidInput("the cluster URL contains a password", hint="use password_file or password_env")
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
            raise InvalidInput("the cluster URL contains a password", hint="use password_file or password_env")
        params[key] = value
    return params


def scram_sha256_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
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
    stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22, stringprep.in_table_c3,
    stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7,
    stringprep.in_table_c8, stringprep.in_table_c9, stringprep.in_table_a1,
)


def _saslprep_or_raw(password: str) -> bytes:
    # Mirrors PostgreSQL's pg_saslprep(): SASLprep (RFC 4013) the password, and where that is
    # not possible (prohibited characters, bad bidi) use the raw UTF-8 bytes, as libpq does.
    raw = password.encode("utf-8")
    if password.isascii():
        return raw
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c))
    text = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    if not text or any(check(c) for c in text for check in _PROHIBITED):
        return raw
    rand_al = [stringprep.in_table_d1(c) for c in text]
    if any(rand_al) and (any(stringprep.in_table_d2(c) for c in text) or not (rand_al[0] and rand_al[-1])):
        return raw
    return text.encode("utf-8")


def driver_message(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The driver's message on one line, any secret blanked out, cut to a readable length."""
    text = " ".join(str(exc).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= 240 else text[:237] + "..."


def translate_pg_error(exc: psycopg.Error, what: str, secrets: Iterable[str | None] = ()) -> OpsError:
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
