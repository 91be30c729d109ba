"""Who runs the production console: its service account, reached through sudo.

In production the console runs as a dedicated service account, the only one that can read the
catalog's credentials and the keys; operators reach it with ``sudo -u <account> aptien-ops …``
(docs/production.md). An account is a service account when ``/etc/<account>/ops.toml`` exists,
owned by root and writable by nobody else: that file is then its one config (``--config`` and
``$APTIEN_OPS_CONFIG`` are refused) and the operator is the account sudo reports.

Nothing here takes a path or a name from the environment, except sudo's own ``SUDO_USER`` and
``SUDO_UID``, and those only in a process that really runs as the service account: an operator
who sets them in their own shell is still themselves (and still refused in production).
"""

from __future__ import annotations

import os
import pwd
import shlex
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aptien_ops.errors import ConfigError, Forbidden, IntegrityFailure

if TYPE_CHECKING:
    from aptien_ops.config import Settings

#: Where service accounts' configs live: ``/etc/<account>/ops.toml``. A constant on purpose:
#: neither the environment nor an argument may move it.
ETC = Path("/etc")
CONFIG_NAME = "ops.toml"
CONFIG_ENV = "APTIEN_OPS_CONFIG"
PROGRAM = "aptien-ops"


@dataclass(frozen=True)
class ServiceAccount:
    """The service account this process runs as, and its fixed config."""

    name: str
    uid: int
    config: Path


def account_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def service_config_path(account: str) -> Path:
    return ETC / account / CONFIG_NAME


def this_service_account() -> ServiceAccount | None:
    """The service account of this process's effective uid, or None for any other account.

    Raises:
        IntegrityFailure: ``/etc/<account>/ops.toml`` (or its directory) exists but is not
            root's alone: someone else could rewrite the production config.
        ConfigError: the account cannot read its own ``/etc/<account>`` directory.
    """
    uid = os.geteuid()
    name = account_name(uid)
    if name is None or uid == 0:
        return None
    config = service_config_path(name)
    try:
        info = os.lstat(config)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        raise ConfigError(
            f"{config.parent} is not readable by {name}", hint=f"chmod 755 {config.parent}"
        ) from None
    for path, found in ((config.parent, os.lstat(config.parent)), (config, info)):
        check_roots_alone(path, found)
    return ServiceAccount(name, uid, config)


def check_roots_alone(path: Path, info: os.stat_result) -> None:
    """Raises: IntegrityFailure if ``path`` (``info`` its ``lstat``) is a symlink, not root's,
    or writable by others: the production config and its directory must be root's alone."""
    if stat.S_ISLNK(info.st_mode):
        raise IntegrityFailure(
            f"the production config path {path} is a symbolic link",
            hint=f"replace it by the file itself, owned by root: {path}",
        )
    if info.st_uid != 0:
        raise IntegrityFailure(
            f"the production config path {path} belongs to {account_name(info.st_uid)}, not root",
            hint=f"chown root:root {path}",
        )
    if info.st_mode & 0o022:
        raise IntegrityFailure(
            f"the production config path {path} is writable by group or others"
            f" (mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod go-w {path}",
        )


def refuse_other_config(
    account: ServiceAccount, explicit: object | None, env: Mapping[str, str]
) -> None:
    """Raises: Forbidden if ``--config`` or ``$APTIEN_OPS_CONFIG`` is given to a service
    account, whose config is fixed."""
    for source, value in (("--config", explicit), ("APTIEN_OPS_CONFIG", env.get(CONFIG_ENV))):
        if value:
            raise Forbidden(
                f"{source} is refused: as {account.name} the config is fixed at {account.config}",
                hint=f"run it without {source}",
            )


def check_service_settings(settings: Settings, account: ServiceAccount) -> None:
    """Raises: ConfigError if the service account's config is not a production config that
    names this account as its ``[bastion] service_account``."""
    if settings.mode != "production":
        raise ConfigError(
            f"{account.config}: mode: the service account's config must be production"
        )
    if settings.bastion.service_account != account.name:
        raise ConfigError(
            f"{account.config}: bastion.service_account: must name the account it is fixed"
            f" for, {account.name!r}, not {settings.bastion.service_account!r}"
        )


def sudo_operator(account: ServiceAccount, env: Mapping[str, str]) -> str:
    """The operator sudo reports for this invocation of the service account.

    Raises:
        Forbidden: the process does not really run as the service account, was not started
            by sudo, or sudo reports root, the service account itself, or an account whose
            uid is not ``SUDO_UID``.
    """
    run = sudo_command(account.name)
    if os.getuid() != account.uid:
        raise Forbidden(
            f"this process runs as {account.name} only in part (real uid {os.getuid()})",
            hint=f"operators run: {run}",
        )
    name = env.get("SUDO_USER", "")
    if not name:
        raise Forbidden(
            f"operators reach the console through sudo, not as {account.name} directly",
            hint=run,
        )
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise Forbidden(f"sudo reports {name!r:.40}, which is not an account here") from None
    if env.get("SUDO_UID") != str(entry.pw_uid):
        raise Forbidden(f"sudo's SUDO_USER ({name}) and SUDO_UID do not agree")
    if entry.pw_uid in (0, account.uid):
        raise Forbidden(
            f"{name} may not act as an operator",
            hint=f"log in with your own account, then: {run}",
        )
    return name


def unattended_operator(account: ServiceAccount, env: Mapping[str, str]) -> str:
    """Who a region's worker acts as (``aptien-ops worker``, the one command that may run
    unattended): the operator sudo reports, or without sudo (a systemd unit's ``User=``, root's
    ``runuser``: only root can start the service account so) the service account itself, which
    then needs the operator role in the catalog like anyone. Raises: Forbidden as
    :func:`sudo_operator`."""
    if env.get("SUDO_USER") or env.get("SUDO_UID"):
        return sudo_operator(account, env)
    if os.getuid() != account.uid:
        raise Forbidden(
            f"this process runs as {account.name} only in part (real uid {os.getuid()})",
            hint=f"run the worker as {account.name} (systemd User={account.name})",
        )
    return account.name


def refuse_production(settings: Settings) -> Forbidden:
    """The refusal for a production config run by any account but its service account."""
    service = settings.bastion.service_account
    run = sudo_command(service)
    if os.geteuid() == 0:
        return Forbidden("root may not run the production console", hint=f"as an operator: {run}")
    me = account_name(os.geteuid()) or f"uid {os.geteuid()}"
    return Forbidden(
        f"production runs as its service account {service}, not as {me}", hint=f"run: {run}"
    )


def sudo_command(account: str, argv: Sequence[str] | None = None) -> str:
    """The command an operator types: ``sudo -u <account> aptien-ops <this run's arguments>``
    (without ``--config``, which the service account does not take)."""
    argv = sys.argv if argv is None else argv
    started = Path(argv[0]) if argv else Path()
    if started.name == PROGRAM:
        program = argv[0]
    elif (started.parent.name, started.name) == ("aptien_ops", "__main__.py"):
        program = PROGRAM  # python -m aptien_ops
    else:
        return f"sudo -u {account} {PROGRAM} …"  # not the command line: no arguments to show
    args, rest = [], iter(argv[1:])
    for arg in rest:
        if arg == "--config":
            next(rest, None)
        elif not arg.startswith("--config="):
            args.append(arg)
    return shlex.join(["sudo", "-u", account, program, *args])


def service_account_of_my_group() -> str | None:
    """A service account installed on this machine whose ``[bastion] operators_group`` this
    process belongs to, or None: its operators get a hint to use sudo instead of an empty
    personal sandbox. Unreadable or malformed configs are passed over (this is only a hint)."""
    import grp

    mine = set(os.getgroups()) | {os.getegid()}
    for config in sorted(ETC.glob(f"*/{CONFIG_NAME}")):
        try:
            if os.stat(config).st_uid != 0:
                continue
            pwd.getpwnam(config.parent.name)
            bastion = tomllib.loads(config.read_text(encoding="utf-8")).get("bastion", {})
            group = bastion.get("operators_group")
            if isinstance(group, str) and grp.getgrnam(group).gr_gid in mine:
                return config.parent.name
        except (OSError, KeyError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            continue
    return None
