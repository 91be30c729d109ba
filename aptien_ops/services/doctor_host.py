"""The doctor's checks of the bastion host: who runs the console, its accounts, its files.

Production only (docs/production.md, sections 1-4 and "Files and their modes"). Files are
judged for the service account, whoever runs the doctor: by the same rules the console
applies when it opens a key (:mod:`aptien_ops.keyfiles`) and its config
(:mod:`aptien_ops.bastion`). Nothing is read from a secret but its mode; a key's content is
only checked to be a key.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from aptien_ops import bastion
from aptien_ops.config import SecretRef, Settings
from aptien_ops.errors import OpsError
from aptien_ops.keyfiles import OPSLOG_KEY, REGION_KEY, SIGNING_KEY, check_private, decode_key
from aptien_ops.services.doctor_results import Finding

#: Shells that let nobody log in.
NO_LOGIN = frozenset({"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"})
ESCROW = "restore it from the key escrow"


@dataclass(frozen=True)
class Account:
    """An OS account, and what the permission bits of a file let it do."""

    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def named(cls, name: str) -> Account | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return cls(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))

    @classmethod
    def this_process(cls) -> Account:
        uid = os.geteuid()
        gids = frozenset([os.getegid(), *os.getgroups()])
        return cls(bastion.account_name(uid) or f"uid {uid}", uid, gids)

    def may(self, info: os.stat_result, bits: int) -> bool:
        """Whether the mode bits give this account ``bits`` (4 read, 2 write, 1 enter/run)."""
        if self.uid == 0:
            return True
        shift = 6 if info.st_uid == self.uid else 3 if info.st_gid in self.gids else 0
        return (info.st_mode >> shift) & bits == bits


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _cannot_look(check: str, path: Path, exc: OSError, service: str) -> Finding:
    me = Account.this_process().name
    return Finding.failed(
        check,
        f"cannot look at {path} as {me}: {exc.strerror}",
        f"run the doctor as the service account: {bastion.sudo_command(service)}",
    )


# ----------------------------------------------------------------------------- the process


def process_findings(settings: Settings, environ: Mapping[str, str]) -> list[Finding]:
    """Whether this process is the service account run through sudo by an operator, and its
    config root's alone."""
    return [_process_account(settings, environ), _config(settings)]


def _process_account(settings: Settings, environ: Mapping[str, str]) -> Finding:
    check = "process.account"
    try:
        service = bastion.this_service_account()
        if service is None:
            return Finding.from_error(check, bastion.refuse_production(settings))
        operator = bastion.sudo_operator(service, environ)
    except OpsError as refused:
        return Finding.from_error(check, refused)
    return Finding.passed(
        check, f"runs as the service account {service.name}, through sudo by {operator}"
    )


def _config(settings: Settings) -> Finding:
    check = "process.config"
    path = settings.path
    if path is None:  # the embedded default is a sandbox's: not reached in production
        return Finding.failed(check, "no config file", "install /etc/<service account>/ops.toml")
    try:
        for part in (path.parent, path):
            bastion.check_roots_alone(part, os.lstat(part))
    except OpsError as refused:
        return Finding.from_error(check, refused)
    service = settings.bastion.service_account
    fixed = bastion.service_config_path(service)
    if path != fixed:
        return Finding.failed(
            check,
            f"the config in use is {path}, not the service account's {fixed}",
            f"run it as the service account: {bastion.sudo_command(service)}",
        )
    return Finding.passed(check, f"{path} and its directory are root's, writable by nobody else")


# ----------------------------------------------------------------------------- accounts


def account_findings(settings: Settings) -> list[Finding]:
    """The service account (no login shell), the operators group, the event log's group."""
    bastion_settings = settings.bastion
    name = bastion_settings.service_account
    findings = [_service_account(name, settings.data_dir)]
    if bastion_settings.operators_group:
        findings.append(_group("accounts.operators-group", bastion_settings.operators_group, None))
    if bastion_settings.log_group:
        findings.append(_group("accounts.log-group", bastion_settings.log_group, name))
    return findings


def _service_account(name: str, home: Path) -> Finding:
    check = "accounts.service"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return Finding.failed(
            check,
            f"there is no account {name}",
            f"useradd --system --user-group --home-dir {home} --shell /usr/sbin/nologin {name}",
        )
    if entry.pw_shell not in NO_LOGIN:
        return Finding.failed(
            check,
            f"the service account {name} has the login shell {entry.pw_shell}",
            f"usermod --shell /usr/sbin/nologin {name}",
        )
    return Finding.passed(check, f"the service account {name} (uid {entry.pw_uid}) cannot log in")


def _group(check: str, group: str, member: str | None) -> Finding:
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return Finding.failed(check, f"there is no group {group}", f"groupadd {group}")
    if member is None:
        members = ", ".join(entry.gr_mem) or "no members yet"
        return Finding.passed(check, f"the group {group} exists ({members})")
    account = Account.named(member)
    if account is None or entry.gr_gid not in account.gids:
        return Finding.failed(
            check,
            f"the service account {member} is not in the group {group}: the event log cannot"
            " be given to it",
            f"usermod -aG {group} {member}",
        )
    return Finding.passed(check, f"the group {group} exists and {member} is in it")


# ----------------------------------------------------------------------------- files


def file_findings(settings: Settings) -> list[Finding]:
    """Data and key directories, every key, the public signing keys, the event log and the
    password files, each as the service account needs it."""
    name = settings.bastion.service_account
    service = Account.named(name)
    if service is None:
        return [Finding.not_checked("files", f"there is no service account {name} to check for")]
    findings = [_directory("files.data-dir", settings.data_dir, service, "data directory", 0o027)]
    keys: dict[Path, str] = {settings.security.opslog_key_file.parent: "opslog"}
    for region in settings.regions.values():
        keys.setdefault(region.key_file.parent, f"region-{region.name}")
    for directory, label in keys.items():
        check = "files.keys-dir" if len(keys) == 1 else f"files.keys-dir.{label}"
        findings.append(_directory(check, directory, service, "keys directory", 0o077))
    findings.append(
        _key("files.key.opslog", settings.security.opslog_key_file, OPSLOG_KEY, service)
    )
    for region in settings.regions.values():
        r = region.name
        findings.append(_key(f"files.key.region-{r}", region.key_file, REGION_KEY, service))
        signing = region.signing_key_file
        findings.append(_key(f"files.key.region-{r}.sign", signing, SIGNING_KEY, service))
        findings.append(_public_key(r, region.public_key_file, service))
    findings.append(_event_log(settings, service))
    findings += [
        _secret(check, what, ref, service)
        for check, what, ref in _secrets(settings)
        if ref.file is not None or ref.env is not None
    ]
    return findings


def _directory(check: str, path: Path, service: Account, what: str, closed: int) -> Finding:
    """``path`` is a directory of the service account, open to nobody in ``closed``'s bits."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Finding.failed(
            check, f"the {what} {path} is missing", f"install -d -o {service.name} -m 0700 {path}"
        )
    except OSError as exc:
        return _cannot_look(check, path, exc, service.name)
    if not stat.S_ISDIR(info.st_mode):
        return Finding.failed(check, f"the {what} {path} is not a directory", f"mkdir {path}")
    if info.st_uid != service.uid:
        owner = bastion.account_name(info.st_uid) or f"uid {info.st_uid}"
        fix = f"chown {service.name} {path}"
        return Finding.failed(
            check, f"the {what} {path} belongs to {owner}, not {service.name}", fix
        )
    if info.st_mode & closed:
        return Finding.failed(
            check,
            f"the {what} {path} is open to others (mode {_mode(info)})",
            f"chmod 700 {path}",
        )
    return Finding.passed(check, f"the {what} {path} is {service.name}'s (mode {_mode(info)})")


def _key(check: str, path: Path, what: str, service: Account) -> Finding:
    """Present, private to the service account by the console's own rule, and a key."""
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            check_private(path, info, what, owner=service.uid)
            decode_key(path, fh.read(), what)
    except FileNotFoundError:
        return Finding.failed(check, f"the {what} {path} is missing", _make_or_restore(what, path))
    except OSError as exc:
        return _cannot_look(check, path, exc, service.name)
    except OpsError as refused:
        return Finding.from_error(check, refused, ESCROW)
    return Finding.passed(check, f"the {what} {path} is private to {service.name}")


def _make_or_restore(what: str, path: Path) -> str:
    region = path.name.removeprefix("region-").split(".")[0]
    if what == OPSLOG_KEY:
        return f"{ESCROW} (a new install: the first run makes it)"
    return f"{ESCROW}, or on a new region: aptien-ops keys init --region {region}"


def _public_key(region: str, path: Path, service: Account) -> Finding:
    check = f"files.key.region-{region}.pub"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Finding.failed(
            check,
            f"the public signing key {path} is missing: the runbook cannot check manifests",
            f"aptien-ops keys init --region {region} (writes it again from the signing key)",
        )
    except OSError as exc:
        return _cannot_look(check, path, exc, service.name)
    if not info.st_mode & stat.S_IROTH:
        return Finding.failed(
            check, f"the public signing key {path} is not readable (mode {_mode(info)})",
            f"chmod 644 {path}",
        )  # fmt: skip
    return Finding.passed(check, f"the public signing key {path} is published (mode {_mode(info)})")


def _event_log(settings: Settings, service: Account) -> Finding:
    """The JSON event log and its rotations: the service account's, 0640 to the log group or
    0600."""
    check, log = "files.event-log", settings.logging.file
    group = settings.bastion.log_group
    want = 0o640 if group else 0o600
    gid = _gid(group) if group else None
    rotated = [
        log.with_name(f"{log.name}.{n}") for n in range(1, settings.logging.keep_rotated + 1)
    ]
    for path in [log, *rotated]:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if path == log:
                return Finding.passed(check, f"{log} is not written yet (made private when it is)")
            continue
        except OSError as exc:
            return _cannot_look(check, path, exc, service.name)
        if info.st_uid != service.uid or (gid is not None and info.st_gid != gid):
            owner = f"{service.name}:{group}" if group else service.name
            return Finding.failed(
                check, f"the event log {path} is not {owner}'s", f"chown {owner} {path}"
            )
        if stat.S_IMODE(info.st_mode) != want:
            return Finding.failed(
                check,
                f"the event log {path} has mode {_mode(info)}, not {want:04o}",
                f"chmod {want:o} {path}",
            )
    shown = f"{want:04o}" + (f", group {group}" if group else "")
    return Finding.passed(check, f"the event log {log} and its rotations are private ({shown})")


def _gid(group: str) -> int | None:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None  # reported by accounts.log-group


def _secrets(settings: Settings) -> Iterator[tuple[str, str, SecretRef]]:
    catalog = settings.catalog
    yield "files.secret.catalog", "catalog password file", catalog.password
    yield "files.secret.catalog-owner", "catalog owner's password file", catalog.owner_password
    for region in settings.regions.values():
        for cluster in region.clusters:
            what = f"password file of cluster {cluster.name}"
            yield f"files.secret.cluster-{cluster.name}", what, cluster.password
            inspector = cluster.inspector_password
            yield f"files.secret.inspector-{cluster.name}", f"inspector {what}", inspector


def _secret(check: str, what: str, ref: SecretRef, service: Account) -> Finding:
    if ref.file is None:
        return Finding.passed(check, f"the {what.removesuffix(' file')} comes from ${ref.env}")
    path = ref.file
    try:
        with open(path, "rb") as fh:
            check_private(path, os.fstat(fh.fileno()), what, owner=service.uid)
    except FileNotFoundError:
        if check == "files.secret.catalog-owner":
            return Finding.passed(check, f"the {what} {path} is absent (needed for upgrades only)")
        fix = f"(umask 077 && cat > {path}) && chown {service.name} {path}"
        return Finding.failed(check, f"the {what} {path} is missing", fix)
    except OSError as exc:
        return _cannot_look(check, path, exc, service.name)
    except OpsError as refused:
        return Finding.from_error(check, refused)
    return Finding.passed(check, f"the {what} {path} is private to {service.name}")


def sandbox_findings() -> list[Finding]:
    """What a sandbox does not need checked, and why."""
    return [
        Finding.not_applicable("process", "a sandbox runs as whoever starts it"),
        Finding.not_applicable("accounts", "a sandbox has no service account"),
        Finding.not_applicable("files", "a sandbox's keys and files are its owner's"),
    ]
