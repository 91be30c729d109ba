"""The settings' types, each field documented; what the console needs from ``ops.toml``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aptien_ops.errors import ConfigError, InvalidInput

APP_NAME = "aptien-ops"
DEFAULT_CONFIG = Path(__file__).parent.with_name("default_ops.toml")
REGION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
CLUSTER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
#: A PostgreSQL role the config may name (quoted wherever it reaches SQL).
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Keys that would hold a secret if they were allowed in the file.
SECRET_KEYS = re.compile(r"(^|_)(password|passwd|secret|token|api_key|apikey|private_key)$")
FOUR_EYES_ACTIONS = frozenset(
    {
        "operator.grant-admin",
        "operator.grant-security",
        "operator.revoke-admin",
        "tenant.purge",
        "breach.notify",
        "backup.replace",
    }
)


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
    """SQLAlchemy URL of the catalog: ``sqlite:///…`` or ``postgresql+psycopg://…``.

    With ``owner`` set, its user is the runtime role: it reads and writes the records and may
    only read and append to the ops log."""
    password: SecretRef = field(default_factory=SecretRef)
    owner: str | None = None
    """PostgreSQL role that owns the catalog's tables and alone runs its migrations, then
    grants the runtime role its privileges. Unset: the url's role runs migrations itself."""
    owner_password: SecretRef = field(default_factory=SecretRef)
    """The owner's password; read only when the schema must be created or upgraded."""


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
    schedule: str = ""
    """On a PostgreSQL catalog, a cron expression (5 fields, or a 6th for seconds) at which
    the region's workers queue what is due (``backup run --due --enqueue``), once per tick
    whatever the number of workers; empty: off (cron runs it instead)."""


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

    @property
    def signing_key_file(self) -> Path:
        """The region's signing key (backup manifests): ``region-<r>.sign.key`` beside
        :attr:`key_file`."""
        return self.key_file.with_name(f"region-{self.name}.sign.key")

    @property
    def public_key_file(self) -> Path:
        """The signing key's public half (PEM), safe to publish: ``region-<r>.sign.pub``."""
        return self.key_file.with_name(f"region-{self.name}.sign.pub")


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
    session_max_hours: int = 12
    """A TUI session ends this many hours after it began, idle or not, with a warning
    beforehand (a production catalog's policy takes it when it is created)."""


@dataclass(frozen=True)
class TuiSettings:
    """``[tui]``."""

    refresh_seconds: int = 30
    """Screens of shared state (dashboard, tenants, approvals, backups, ops log) read the
    catalog again this often while shown (0: only on demand, r or ctrl+r)."""


@dataclass(frozen=True)
class JobSettings:
    """``[jobs]``: how long a PostgreSQL catalog's job queue keeps finished jobs."""

    keep_days: int = 14
    """Succeeded, cancelled and aborted jobs are deleted this many days after they ended."""
    keep_failed_days: int = 90
    """Failed jobs (neither retried nor cancelled) are kept this many days."""
    notice_batch: int = 1000
    """A notice campaign's job delivers at most this many outbox rows of its region, then
    queues the next batch if any is left."""


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
class PartnerSettings:
    """The partner policy's periods (``[partners]``); every date is a UTC calendar date."""

    review_interval_months: int = 12
    """A review's next one is due this many months later (also a new partner's first)."""
    review_grace_days: int = 30
    """A review overdue by more than this many days makes the partner ineligible (its
    assignments lapse)."""
    expiring_within_days: int = 30
    """``partner check`` and ``partner list --expiring-within`` default: agreements ending
    within this many days."""


@dataclass(frozen=True)
class LoggingSettings:
    file: Path
    """The JSON event log (the SIEM's copy), created private: 0600, or 0640 for
    ``[bastion] log_group``."""
    level: str
    rotate_mib: int = 64
    """The event log is rotated when it would grow past this many MiB (0: never)."""
    keep_rotated: int = 5
    """How many rotated files (``<file>.1`` … ``<file>.N``, newest first) are kept."""


#: How the SMTP connection is secured: STARTTLS after connecting, TLS from the first byte
#: (implicit, port 465), or not at all (a relay on loopback only).
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class EmailSettings:
    """``[notifications.email]``: ``transport = "smtp"`` (production) or ``"maildir"``."""

    transport: str = "maildir"
    maildir: Path | None = None
    """Where the ``maildir`` transport delivers (a Maildir: ``cur``, ``new``, ``tmp``)."""
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: SecretRef = field(default_factory=SecretRef)
    from_address: str = "privacy@aptien.example"
    ca_file: Path | None = None
    """PEM file of the certificate authorities to trust for the server's certificate
    (STARTTLS or TLS); None: the system's. Given, only these are trusted."""
    rate_per_second: float = 0.0
    """At most this many messages a second (0: as fast as the server takes them)."""
    max_attempts: int = 5
    """A recipient whose server answers 4xx is tried at most this often, with backoff."""
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class WebsiteSettings:
    """``[notifications.website]``: the directory the public website serves notices from."""

    dir: Path


@dataclass(frozen=True)
class NotificationSettings:
    email: EmailSettings
    website: WebsiteSettings
    templates_dir: Path | None = None
    """``[notifications] templates_dir``: operational notices' templates that replace the
    built-in ones of the same name (docs/notices.md, Templates); None: the built-in ones."""


@dataclass(frozen=True)
class BillingSettings:
    """``[billing]``: Stripe, read through stripe-python (docs/billing.md). With no such
    section billing is "not connected": nothing reaches Stripe and ``billing sync`` says so."""

    api_key: SecretRef
    """The (restricted) API key: ``api_key_file`` or ``api_key_env``, never the file itself."""
    webhook_secret: SecretRef = field(default_factory=SecretRef)
    """The webhook endpoint's signing secret (``whsec_…``), read only to verify a delivery."""
    api_base: str | None = None
    """Another Stripe-compatible server (the sandbox's, a test's): ``https://…``, or
    ``http://`` on loopback only. Unset: Stripe itself."""
    notice_days: tuple[int, ...] = (30, 7, 1)
    """A licence ending within each of these many days is told to the client once."""
    webhook_tolerance_seconds: int = 300
    """A delivery signed longer ago than this is refused (a replay)."""
    max_attempts: int = 5
    """A request that meets a rate limit (429), a 5xx or a network error is tried at most this
    often, with backoff, before the command stops with exit 6."""
    timeout_seconds: float = 30.0
    suspend_after_unpaid_days: int | None = None
    """Off (None) unless set: ``billing notify`` suspends a tenant this many days after its
    non-payment notice went out while it is still past due or unpaid."""


#: The service account a production config names when its ``[bastion]`` section does not.
DEFAULT_SERVICE_ACCOUNT = "aptien-ops"


@dataclass(frozen=True)
class BastionSettings:
    """Who runs the production console on the bastion (``[bastion]``; see docs/production.md)."""

    service_account: str = DEFAULT_SERVICE_ACCOUNT
    """The account the production console runs as, the only one that can read the catalog's
    credentials and the keys. Operators reach it with ``sudo -u <service_account>``; its
    config is then fixed at ``/etc/<service_account>/ops.toml`` (owned by root)."""
    operators_group: str | None = None
    """The group allowed to run the console through sudo (the sudoers rule and sshd's
    ``Match Group`` name it). Its members who run ``aptien-ops`` without sudo and without a
    config of their own are told to use sudo instead of getting a personal sandbox."""
    log_group: str | None = None
    """A group that may read the event log (the SIEM shipper's): the log is then 0640 and
    owned by this group, which the service account must belong to. Unset: 0600."""


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
    partners: PartnerSettings = field(default_factory=PartnerSettings)
    bastion: BastionSettings = field(default_factory=BastionSettings)
    notifications: NotificationSettings = field(
        default_factory=lambda: NotificationSettings(
            EmailSettings(), WebsiteSettings(Path("website"))
        )
    )
    billing: BillingSettings | None = None
    """``[billing]``; None: billing is not connected."""
    tui: TuiSettings = field(default_factory=TuiSettings)
    jobs: JobSettings = field(default_factory=JobSettings)

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "embedded default"


def region_or_fail(settings: Settings, name: str) -> RegionSettings:
    """Raises: InvalidInput naming the known regions."""
    try:
        return settings.regions[name]
    except KeyError:
        raise InvalidInput(
            f"unknown region {name[:40]!r}", hint=f"known regions: {', '.join(settings.regions)}"
        ) from None
