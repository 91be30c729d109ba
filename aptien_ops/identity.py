"""Who is acting: in a sandbox the OS account of the process, in production the operator sudo
reports to the service account (see :mod:`aptien_ops.bastion`); never ``$USER``."""

from __future__ import annotations

import os
import pwd
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aptien_ops import bastion
from aptien_ops.domain import ACCOUNT_NAME, Identity
from aptien_ops.errors import InvalidInput
from aptien_ops.login_record import login_host, terminal_line

if TYPE_CHECKING:
    from aptien_ops.config import Settings

_SESSION_ID = secrets.token_hex(8)
#: How each origin is labelled: where the console read it, and so how far it can be trusted.
FROM_LOGIN_RECORD = "utmp login record"
FROM_ENVIRONMENT = "SSH_CONNECTION, as the environment says"


def validate_operator_name(name: str) -> str:
    """Raises: InvalidInput if ``name`` is not a plausible OS account name."""
    if not ACCOUNT_NAME.fullmatch(name or ""):
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


def ssh_origin(env: Mapping[str, str], *, login_record: bool = False) -> str | None:
    """Where the session came from, labelled with where that was read; None for a local one.

    With ``login_record`` the terminal's utmp record comes first (what sshd wrote, the
    client's address only; the port is added from ``$SSH_CONNECTION`` when that names the
    same address); without a terminal or a record, the client end of ``$SSH_CONNECTION``
    ("ip port"), which anyone can set and is labelled so.
    """
    conn = env.get("SSH_CONNECTION", "").split()
    if login_record and (line := terminal_line()) is not None:
        host = login_host(line)
        if host is not None:
            if not host:
                return None
            if len(conn) >= 2 and conn[0] == host:
                return f"{host} {conn[1]} ({FROM_LOGIN_RECORD}; the port from SSH_CONNECTION)"
            return f"{host} ({FROM_LOGIN_RECORD})"
    return f"{conn[0]} {conn[1]} ({FROM_ENVIRONMENT})" if len(conn) >= 2 else None


def current_identity(
    settings: Settings, env: Mapping[str, str] | None = None, *, unattended: bool = False
) -> Identity:
    """The identity of this run.

    In a sandbox, the account of the process; ``APTIEN_OPS_OPERATOR`` may name another operator
    (demos and tests) and the ops log then records both names. In production, the operator
    is the account sudo reports (the invoking account, ``SUDO_USER``), recorded beside the
    account the console runs as (the service account: ``os_account``);
    ``APTIEN_OPS_OPERATOR`` is kept as ``requested`` only, and the catalog refuses to open
    with it (and logs the attempt). ``unattended`` (a region's worker): started without sudo,
    as a systemd unit is, the service account acts as itself
    (:func:`aptien_ops.bastion.unattended_operator`).

    Raises:
        InvalidInput: ``APTIEN_OPS_OPERATOR`` or the account sudo reports is malformed.
        Forbidden: production, and this is not the service account run through sudo by an
            operator (the message says how to run it).
    """
    env = os.environ if env is None else env
    override = env.get("APTIEN_OPS_OPERATOR") or None
    if override is not None:
        validate_operator_name(override)
    if settings.sandbox:
        account = os_account()
        return Identity(
            override or account, account, ssh_origin(env), _SESSION_ID, requested=override
        )
    service = bastion.this_service_account()
    if service is None:
        raise bastion.refuse_production(settings)
    bastion.check_service_settings(settings, service)
    by = bastion.unattended_operator if unattended else bastion.sudo_operator
    operator = validate_operator_name(by(service, env))
    return Identity(
        operator,
        service.name,
        ssh_origin(env, login_record=True),
        _SESSION_ID,
        requested=override,
    )
