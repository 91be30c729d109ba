"""Typed, validated settings read from ``ops.toml``.

Where the file is found (first match wins): ``--config``, ``$APTIEN_OPS_CONFIG``,
``./ops.toml``, the user config dir (``$XDG_CONFIG_HOME/aptien-ops/ops.toml``); with none of
those, the embedded default (``aptien_ops/default_ops.toml``, identical to the repository's
``ops.toml``) runs a sandbox in the user data dir.

Every error names the file, the key and the reason. Secrets are never accepted as values in
the file: a password comes from ``password_file`` or ``password_env``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aptien_ops.domain import TENANT_NAME
from aptien_ops.errors import ConfigError, InvalidInput

APP_NAME = "aptien-ops"
DEFAULT_CONFIG = Path(__file__).with_name("default_ops.toml")
REGION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
CLUSTER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
#: Keys that would hold a secret if they were allowed in the file.
SECRET_KEYS = re.compile(r"(^|_)(password|passwd|secret|token|api_key|apikey|private_key)$")
FOUR_EYES_ACTIONS = frozenset({"operator.grant-admin", "tenant.purge", "breach.notify"})


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / APP_NAME


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / APP_NAME


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: a file or an environment variable, never the config itself."""

    file: Path | None = None
    env: str | None = None

    def read(self) -> str | None:
        """Return the secret, or None if none is configured.

        Raises:
            ConfigError: the file or variable is named but cannot be read.
        """
        if self.file is not None:
            try:
                return self.file.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} (a secret) is not set")
            return value
        return None


@dataclass(frozen=True)
class CatalogSettings:
    url: str
    """SQLAlchemy URL of the catalog: ``sqlite:///…`` or ``postgresql+psycopg://…``."""
    password: SecretRef = field(default_factory=SecretRef)


@dataclass(frozen=True)
class ClusterSettings:
    name: str
    kind: str
    """``sqlite`` (a directory of database files) or ``postgresql``."""
    url: str
    capacity: int
    """How many tenant databases the cluster may hold."""
    password: SecretRef = field(default_factory=SecretRef)
    """The cluster admin's password (PostgreSQL)."""
    inspector_password: SecretRef = field(default_factory=SecretRef)
    """The region inspector role's password on this cluster (PostgreSQL inspection)."""


#: Verify levels from weakest to strongest (``backup verify --level``).
VERIFY_LEVELS = ("quick", "full", "restore")


@dataclass(frozen=True)
class BackupPolicy:
    """A region's backup schedule and retention (``[regions.<name>.backup]``)."""

    interval_hours: int = 24
    """A tenant is due for a backup when its last good one is older than this."""
    verify_level: str = "restore"
    """How each new backup must be verified: quick, full or restore."""
    verify_within_hours: int = 24
    """Deadline for that verification, counted from the backup's creation."""
    keep_daily: int = 7
    """Retention (GFS): the newest backup of each of this many days that have backups."""
    keep_weekly: int = 4
    """… of each of this many ISO weeks."""
    keep_monthly: int = 12
    """… of each of this many months."""
    legal_holds: tuple[str, ...] = ()
    """Tenants whose backups are never pruned."""


@dataclass(frozen=True)
class RegionSettings:
    name: str
    description: str
    backup_store: Path
    clusters: tuple[ClusterSettings, ...]
    key_file: Path
    """The region key that seals tenant owner passwords and backup identities in the catalog."""
    inspector_role: str
    """PostgreSQL role with column-level SELECT on metadata columns only."""
    backup: BackupPolicy = field(default_factory=BackupPolicy)
    """Schedule, verification and retention of the region's backups."""


@dataclass(frozen=True)
class SecuritySettings:
    idle_lock_minutes: int
    """The TUI locks after this many idle minutes (0 disables)."""
    four_eyes: frozenset[str]
    """Actions that need a second operator's approval."""
    opslog_key_file: Path
    """HMAC key of the ops log; created at init, never stored in the catalog."""
    initial_admins: tuple[str, ...]
    """OS accounts made admin when a production catalog is first created."""


@dataclass(frozen=True)
class TenantSettings:
    default_retain_days: int
    """How long a cancelled tenant stays restorable before it may be purged."""


@dataclass(frozen=True)
class InspectionSettings:
    """Login/audit inspection (``[inspection]``)."""

    burst_failures: int = 20
    """A burst is at least this many failed logins of one user or one IP ..."""
    burst_window_minutes: int = 10
    """... within this many minutes."""
    parallel_per_cluster: int = 4
    """``inspect user`` searches at most this many tenants of one cluster at once."""


@dataclass(frozen=True)
class LoggingSettings:
    file: Path
    level: str


@dataclass(frozen=True)
class Settings:
    path: Path | None
    """The file read, or None for the embedded default."""
    mode: str
    data_dir: Path
    catalog: CatalogSettings
    logging: LoggingSettings
    security: SecuritySettings
    regions: Mapping[str, RegionSettings]
    region_overrides: Mapping[str, str]
    tenants: TenantSettings = field(default_factory=lambda: TenantSettings(default_retain_days=30))
    inspection: InspectionSettings = field(default_factory=InspectionSettings)

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "embedded default"


# ----------------------------------------------------------------------------- discovery


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use, or None for the embedded default.

    Raises:
        ConfigError: ``--config`` or ``$APTIEN_OPS_CONFIG`` names a file that does not exist.
    """
    for source, value in (
        ("--config", explicit),
        ("APTIEN_OPS_CONFIG", os.environ.get("APTIEN_OPS_CONFIG")),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"config file {path} (from {source}) does not exist")
            return path.resolve()
    for candidate in (Path.cwd() / "ops.toml", user_config_dir() / "ops.toml"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Find, read and validate the configuration.

    Raises:
        ConfigError: the file is malformed, has unknown keys, wrong values or a secret in it.
    """
    path = find_config(explicit)
    text_path = path or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(text_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{text_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{text_path}: cannot read: {exc}") from None
    return parse_settings(raw, path)


# ----------------------------------------------------------------------------- validation


class _Reader:
    """Reads one table of the TOML document, remembering its dotted location for errors."""

    def __init__(self, file: str, where: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: [{where}] must be a table")
        self.file, self.where, self.table = file, where, table
        self.seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self._key(key)}: {reason}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False
    ) -> Any:
        self.seen.add(key)
        if key not in self.table:
            if required or default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if isinstance(value, bool) and kind is int or not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(key, f"must be {_article(names)}, got {value!r:.60}")
        return value

    def sub(self, key: str, default: Any = ...) -> _Reader:
        self.seen.add(key)
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return _Reader(self.file, self._key(key), default)
        return _Reader(self.file, self._key(key), self.table[key])

    def secret(self, prefix: str = "password") -> SecretRef:
        file = self.get(f"{prefix}_file", str, None)
        env = self.get(f"{prefix}_env", str, None)
        if file and env:
            raise self.fail(f"{prefix}_file", f"give {prefix}_file or {prefix}_env, not both")
        if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
            raise self.fail(f"{prefix}_env", f"{env!r} is not an environment variable name")
        return SecretRef(file=Path(file).expanduser() if file else None, env=env)

    def done(self) -> None:
        for key in self.table:
            if SECRET_KEYS.search(key):
                raise self.fail(
                    key,
                    "secrets may not be written in the config file; use password_file or password_env",
                )
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


def _article(name: str) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "list": "a list",
        "dict": "a table",
        "bool": "true or false",
    }.get(name, name)


def _check_url(reader: _Reader, key: str, url: str, kinds: tuple[str, ...]) -> None:
    scheme = url.split(":", 1)[0]
    kind = scheme.split("+", 1)[0]
    if "://" not in url or kind not in kinds:
        raise reader.fail(
            key,
            f"must be a URL starting with {' or '.join(k + '://' for k in kinds)}, got {url.split('://')[0]!r}",
        )
    netloc = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        raise reader.fail(
            key, "the URL contains a password; use password_file or password_env instead"
        )


def _backup_policy(b: _Reader) -> BackupPolicy:
    """Raises: ConfigError naming the key of ``[regions.<name>.backup]`` that is wrong."""
    default = BackupPolicy()
    hours: dict[str, int] = {}
    for key in ("interval_hours", "verify_within_hours"):
        hours[key] = b.get(key, int, getattr(default, key))
        if not 1 <= hours[key] <= 24 * 366:
            raise b.fail(key, f"must be between 1 and 8784 hours, got {hours[key]}")
    level = b.get("verify_level", str, default.verify_level)
    if level not in VERIFY_LEVELS:
        raise b.fail(
            "verify_level", f"must be one of {', '.join(VERIFY_LEVELS)}, got {level!r:.40}"
        )
    keep: dict[str, int] = {}
    for key in ("keep_daily", "keep_weekly", "keep_monthly"):
        keep[key] = b.get(key, int, getattr(default, key))
        if not 0 <= keep[key] <= 1000:
            raise b.fail(key, f"must be between 0 and 1000, got {keep[key]}")
    holds = b.get("legal_holds", list, [])
    for name in holds:
        if not isinstance(name, str) or not TENANT_NAME.fullmatch(name):
            raise b.fail("legal_holds", f"{name!r:.50} is not a tenant name")
    b.done()
    return BackupPolicy(
        hours["interval_hours"],
        level,
        hours["verify_within_hours"],
        keep["keep_daily"],
        keep["keep_weekly"],
        keep["keep_monthly"],
        tuple(dict.fromkeys(holds)),
    )


def parse_settings(raw: dict[str, Any], path: Path | None) -> Settings:
    """Validate a parsed TOML document into :class:`Settings`.

    Raises:
        ConfigError: naming the file, the key and the reason.
    """
    file = str(path) if path else "embedded default"
    top = _Reader(file, "", raw)
    mode = top.get("mode", str, "sandbox")
    if mode not in ("sandbox", "production"):
        raise top.fail("mode", f'must be "sandbox" or "production", got {mode!r}')
    base = path.parent if path else Path.cwd()
    data_dir_raw = top.get("data_dir", str, None)
    data_dir = (
        (base / Path(data_dir_raw).expanduser()).resolve()
        if data_dir_raw
        else user_data_dir() / "sandbox"
    )

    def expand(value: str) -> str:
        return value.replace("{data_dir}", str(data_dir))

    def as_path(value: str) -> Path:
        p = Path(expand(value)).expanduser()
        return p if p.is_absolute() else (data_dir / p)

    cat = top.sub("catalog")
    catalog_url = expand(cat.get("url", str, required=True))
    _check_url(cat, "url", catalog_url, ("sqlite", "postgresql"))
    catalog = CatalogSettings(url=catalog_url, password=cat.secret())
    cat.done()

    log = top.sub("logging", {})
    level = log.get("level", str, "info")
    if level not in ("debug", "info", "warning", "error"):
        raise log.fail("level", f"must be one of debug, info, warning, error, got {level!r}")
    logging = LoggingSettings(
        file=as_path(log.get("file", str, "logs/aptien-ops.jsonl")), level=level
    )
    log.done()

    sec = top.sub("security", {})
    idle = sec.get("idle_lock_minutes", int, 15)
    if not 0 <= idle <= 24 * 60:
        raise sec.fail("idle_lock_minutes", f"must be between 0 and 1440, got {idle}")
    four_eyes = sec.get("four_eyes", list, sorted(FOUR_EYES_ACTIONS))
    unknown_actions = [a for a in four_eyes if a not in FOUR_EYES_ACTIONS]
    if unknown_actions:
        raise sec.fail(
            "four_eyes",
            f"unknown action {unknown_actions[0]!r}; known: {', '.join(sorted(FOUR_EYES_ACTIONS))}",
        )
    admins = sec.get("initial_admins", list, [])
    if not all(isinstance(a, str) and a for a in admins):
        raise sec.fail("initial_admins", "must be a list of OS account names")
    security = SecuritySettings(
        idle_lock_minutes=idle,
        four_eyes=frozenset(four_eyes),
        opslog_key_file=as_path(sec.get("opslog_key_file", str, "keys/opslog.key")),
        initial_admins=tuple(admins),
    )
    sec.done()

    regions_table = top.sub("regions")
    regions: dict[str, RegionSettings] = {}
    for rname, rtable in regions_table.table.items():
        regions_table.seen.add(rname)
        if not REGION_NAME.match(rname):
            raise regions_table.fail(rname, "region names are lower-case letters, digits and '-'")
        r = _Reader(file, f"regions.{rname}", rtable)
        clusters: list[ClusterSettings] = []
        raw_clusters = r.get("clusters", list, required=True)
        if not raw_clusters:
            raise r.fail("clusters", "a region needs at least one cluster")
        for i, ctable in enumerate(raw_clusters):
            c = _Reader(file, f"regions.{rname}.clusters.{i}", ctable)
            cname = c.get("name", str, required=True)
            if not CLUSTER_NAME.match(cname):
                raise c.fail("name", f"{cname!r} is not a valid cluster name")
            kind = c.get("kind", str, required=True)
            if kind not in ("sqlite", "postgresql"):
                raise c.fail("kind", f'must be "sqlite" or "postgresql", got {kind!r}')
            url = expand(c.get("url", str, required=True))
            _check_url(c, "url", url, (kind,))
            capacity = c.get("capacity", int, 1000)
            if capacity < 1:
                raise c.fail("capacity", f"must be at least 1, got {capacity}")
            clusters.append(
                ClusterSettings(
                    cname, kind, url, capacity, c.secret(), c.secret("inspector_password")
                )
            )
            c.done()
        inspector = r.get("inspector_role", str, f"aptien_inspector_{rname.replace('-', '_')}")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", inspector):
            raise r.fail("inspector_role", f"{inspector!r} is not a valid role name")
        regions[rname] = RegionSettings(
            name=rname,
            description=r.get("description", str, rname),
            backup_store=as_path(r.get("backup_store", str, required=True)),
            clusters=tuple(clusters),
            key_file=as_path(r.get("key_file", str, f"keys/region-{rname}.key")),
            inspector_role=inspector,
            backup=_backup_policy(r.sub("backup", {})),
        )
        r.done()
    if not regions:
        raise top.fail("regions", "at least one region is required")
    regions_table.done()

    ten = top.sub("tenants", {})
    retain = ten.get("default_retain_days", int, 30)
    if not 0 <= retain <= 3650:
        raise ten.fail("default_retain_days", f"must be between 0 and 3650, got {retain}")
    tenants = TenantSettings(default_retain_days=retain)
    ten.done()

    ins = top.sub("inspection", {})
    inspection_values: dict[str, int] = {}
    for key, low, high in (
        ("burst_failures", 2, 100_000),
        ("burst_window_minutes", 1, 7 * 24 * 60),
        ("parallel_per_cluster", 1, 64),
    ):
        inspection_values[key] = ins.get(key, int, getattr(InspectionSettings, key))
        if not low <= inspection_values[key] <= high:
            raise ins.fail(key, f"must be between {low} and {high}, got {inspection_values[key]}")
    inspection = InspectionSettings(**inspection_values)
    ins.done()

    overrides_table = top.sub("region_overrides", {})
    overrides: dict[str, str] = {}
    for cc, region in overrides_table.table.items():
        overrides_table.seen.add(cc)
        if not re.fullmatch(r"[A-Za-z]{2}", cc):
            raise overrides_table.fail(cc, "keys are ISO 3166-1 alpha-2 country codes")
        if region not in regions:
            raise overrides_table.fail(cc, f"unknown region {region!r}")
        overrides[cc.upper()] = region
    overrides_table.done()
    top.done()

    settings = Settings(
        path,
        mode,
        data_dir,
        catalog,
        logging,
        security,
        regions,
        overrides,
        tenants,
        inspection=inspection,
    )
    check_residency(settings)
    return settings


def _normalise_url(url: str) -> str:
    return url.rstrip("/").lower()


def check_residency(settings: Settings) -> None:
    """Refuse a config that lets two regions share a cluster or a backup store.

    Raises:
        ConfigError: naming both regions and what they share.
    """
    seen_urls: dict[str, str] = {}
    seen_stores: dict[Path, str] = {}
    seen_keys: dict[Path, str] = {}
    names: dict[str, str] = {}
    for region in settings.regions.values():
        store = region.backup_store.resolve()
        for other_store, other in seen_stores.items():
            if (
                store == other_store
                or store.is_relative_to(other_store)
                or other_store.is_relative_to(store)
            ):
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.backup_store: shares storage with region "
                    f"{other!r} ({store}); each region needs its own store"
                )
        seen_stores[store] = region.name
        key = region.key_file.resolve()
        if key in seen_keys:
            raise ConfigError(
                f"{settings.source}: regions.{region.name}.key_file: the region key of {seen_keys[key]!r} is used again; each region seals with its own key"
            )
        seen_keys[key] = region.name
        for cluster in region.clusters:
            url = _normalise_url(cluster.url)
            if url in seen_urls:
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.clusters: cluster URL is also used by region "
                    f"{seen_urls[url]!r}; a cluster belongs to one region only"
                )
            if cluster.name in names:
                raise ConfigError(
                    f"{settings.source}: regions.{region.name}.clusters: cluster name {cluster.name!r} is used twice"
                )
            seen_urls[url] = region.name
            names[cluster.name] = region.name


def region_or_fail(settings: Settings, name: str) -> RegionSettings:
    """Raises: InvalidInput naming the known regions."""
    try:
        return settings.regions[name]
    except KeyError:
        raise InvalidInput(
            f"unknown region {name!r}", hint=f"known regions: {', '.join(settings.regions)}"
        ) from None
