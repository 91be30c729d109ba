"""Who is acting: the OS account of the process, never ``$USER``."""

from __future__ import annotations

import os
import pwd
import re
import secrets
from collections.abc import Mapping

from aptien_ops.domain import Identity
from aptien_ops.errors import InvalidInput

OPERATOR_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_SESSION_ID = secrets.token_hex(8)


def validate_operator_name(name: str) -> str:
    """Raises: InvalidInput if ``name`` is not a plausible OS account name."""
    if not OPERATOR_NAME.fullmatch(name or ""):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise InvalidInput(
            f"invalid operator name {shown!r}", hint="an OS account name: a-z, 0-9, '_', '.', '-'"
        )
    return name


def os_account() -> str:
    """The account of the process's real uid (what ``ssh`` logged in as)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def ssh_origin(env: Mapping[str, str]) -> str | None:
    """The client end of ``SSH_CONNECTION`` ("ip port"), or None for a local session."""
    conn = env.get("SSH_CONNECTION", "").split()
    return f"{conn[0]} {conn[1]}" if len(conn) >= 2 else None


def current_identity(*, sandbox: bool, env: Mapping[str, str] | None = None) -> Identity:
    """The identity of this run.

    In sandbox mode ``APTIEN_OPS_OPERATOR`` may name another operator (demos and tests); the
    ops log then records both names. Outside a sandbox it is kept as ``requested`` only: the
    catalog refuses to open with it (and logs the attempt).

    Raises:
        InvalidInput: ``APTIEN_OPS_OPERATOR`` is malformed.
    """
    env = os.environ if env is None else env
    account = os_account()
    override = env.get("APTIEN_OPS_OPERATOR") or None
    if override is not None:
        validate_operator_name(override)
    operator = override if override is not None and sandbox else account
    return Identity(
        operator=operator,
        os_account=account,
        ssh_origin=ssh_origin(env),
        session_id=_SESSION_ID,
        requested=override,
    )
