"""Validating a parsed ``ops.toml`` into :class:`~aptien_ops.config.settings.Settings`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aptien_ops.config.billing import parse_billing
from aptien_ops.config.notifications import parse_notifications
from aptien_ops.config.reader import TableReader, check_url
from aptien_ops.config.residency import check_residency
from aptien_ops.config.settings import (
    CLUSTER_NAME,
    DEFAULT_SERVICE_ACCOUNT,
    FOUR_EYES_ACTIONS,
    REGION_NAME,
    ROLE_NAME,
    VERIFY_LEVELS,
    BackupPolicy,
    BastionSettings,
    CatalogSettings,
    ClusterSettings,
    InspectionSettings,
    JobSettings,
    LoggingSettings,
    PartnerSettings,
    RegionSettings,
    SecuritySettings,
    Settings,
    TenantSettings,
    TuiSettings,
    user_data_dir,
)
from aptien_ops.domain import ACCOUNT_NAME, TENANT_NAME


def _backup_policy(b: TableReader) -> BackupPolicy:
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
    schedule = " ".join(b.get("schedule", str, default.schedule).split())
    if schedule and not _CRON.fullmatch(schedule):
        raise b.fail(
            "schedule", f"must be a cron expression of 5 or 6 fields, got {schedule!r:.60}"
        )
    b.done()
    return BackupPolicy(
        hours["interval_hours"],
        level,
        hours["verify_within_hours"],
        keep["keep_daily"],
        keep["keep_weekly"],
        keep["keep_monthly"],
        tuple(dict.fromkeys(holds)),
        schedule,
    )


#: A cron expression: 5 fields (minute … weekday), or 6 (with seconds), of numbers, names,
#: ``*``, ranges, lists and steps; croniter (the workers') reads it.
_CRON = re.compile(r"[0-9A-Za-z*/,?-]+( [0-9A-Za-z*/,?-]+){4,5}")


def _catalog(cat: TableReader, url: str) -> CatalogSettings:
    """Raises: ConfigError naming the key of ``[catalog]`` that is wrong."""
    owner = cat.get("owner", str, None)
    owner_password = cat.secret("owner_password")
    if owner is None and (owner_password.file or owner_password.env):
        key = "owner_password_file" if owner_password.file else "owner_password_env"
        raise cat.fail(key, "is only used with catalog.owner")
    if owner is not None:
        if not ROLE_NAME.fullmatch(owner):
            raise cat.fail("owner", f"{owner!r:.70} is not a PostgreSQL role name")
        if not url.startswith("postgresql"):
            raise cat.fail("owner", "applies to a PostgreSQL catalog only")
        runtime = urlsplit(url).username
        if not runtime:
            raise cat.fail(
                "url", "must name the runtime role (postgresql+psycopg://ROLE@…) with an owner"
            )
        if unquote(runtime) == owner:
            raise cat.fail("owner", "must be a role other than the url's (the runtime role)")
    settings = CatalogSettings(url, cat.secret(), owner, owner_password)
    cat.done()
    return settings


def _bastion(b: TableReader) -> BastionSettings:
    """Raises: ConfigError naming the key of ``[bastion]`` that is wrong."""
    service = b.get("service_account", str, DEFAULT_SERVICE_ACCOUNT)
    operators = b.get("operators_group", str, None)
    log_group = b.get("log_group", str, None)
    for key, name in (
        ("service_account", service),
        ("operators_group", operators),
        ("log_group", log_group),
    ):
        if name is not None and not ACCOUNT_NAME.fullmatch(name):
            raise b.fail(key, f"{name!r:.40} is not an account or group name")
    if service == "root":
        raise b.fail("service_account", "must be an account of its own, not root")
    b.done()
    return BastionSettings(service, operators, log_group)


def _tui(t: TableReader) -> TuiSettings:
    """``[tui]``: how often screens of shared state read the catalog again by themselves."""
    seconds = t.get("refresh_seconds", int, TuiSettings.refresh_seconds)
    if seconds != 0 and not 5 <= seconds <= 3600:
        raise t.fail("refresh_seconds", f"must be 0 (never) or between 5 and 3600, got {seconds}")
    t.done()
    return TuiSettings(seconds)


def _jobs(t: TableReader) -> JobSettings:
    """``[jobs]``: how long the job queue keeps finished jobs, in days."""
    keep = t.get("keep_days", int, JobSettings.keep_days)
    failed = t.get("keep_failed_days", int, JobSettings.keep_failed_days)
    if not 1 <= keep <= 3650:
        raise t.fail("keep_days", f"must be between 1 and 3650, got {keep}")
    if not keep <= failed <= 3650:
        raise t.fail("keep_failed_days", f"must be between keep_days and 3650, got {failed}")
    batch = t.get("notice_batch", int, JobSettings.notice_batch)
    if not 1 <= batch <= 1_000_000:
        raise t.fail("notice_batch", f"must be between 1 and 1000000, got {batch}")
    t.done()
    return JobSettings(keep, failed, batch)


def parse_settings(raw: dict[str, Any], path: Path | None) -> Settings:
    """Validate a parsed TOML document into :class:`Settings`.

    Raises:
        ConfigError: naming the file, the key and the reason.
    """
    file = str(path) if path else "embedded default"
    top = TableReader(file, "", raw)
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
    check_url(cat, "url", catalog_url, ("sqlite", "postgresql"))
    catalog = _catalog(cat, catalog_url)

    log = top.sub("logging", {})
    level = log.get("level", str, "info")
    if level not in ("debug", "info", "warning", "error"):
        raise log.fail("level", f"must be one of debug, info, warning, error, got {level!r}")
    rotation: dict[str, int] = {}
    for key, high in (("rotate_mib", 64 * 1024), ("keep_rotated", 1000)):
        rotation[key] = log.get(key, int, getattr(LoggingSettings, key))
        if not 0 <= rotation[key] <= high:
            raise log.fail(key, f"must be between 0 and {high}, got {rotation[key]}")
    logging = LoggingSettings(
        file=as_path(log.get("file", str, "logs/aptien-ops.jsonl")), level=level, **rotation
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
    session_hours = sec.get("session_max_hours", int, SecuritySettings.session_max_hours)
    if not 1 <= session_hours <= 24 * 7:
        raise sec.fail("session_max_hours", f"must be between 1 and 168, got {session_hours}")
    admins = sec.get("initial_admins", list, [])
    if not all(isinstance(a, str) and a for a in admins):
        raise sec.fail("initial_admins", "must be a list of OS account names")
    security = SecuritySettings(
        idle_lock_minutes=idle,
        session_max_hours=session_hours,
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
        r = TableReader(file, f"regions.{rname}", rtable)
        clusters: list[ClusterSettings] = []
        raw_clusters = r.get("clusters", list, required=True)
        if not raw_clusters:
            raise r.fail("clusters", "a region needs at least one cluster")
        for i, ctable in enumerate(raw_clusters):
            c = TableReader(file, f"regions.{rname}.clusters.{i}", ctable)
            cname = c.get("name", str, required=True)
            if not CLUSTER_NAME.match(cname):
                raise c.fail("name", f"{cname!r} is not a valid cluster name")
            kind = c.get("kind", str, required=True)
            if kind not in ("sqlite", "postgresql"):
                raise c.fail("kind", f'must be "sqlite" or "postgresql", got {kind!r}')
            url = expand(c.get("url", str, required=True))
            check_url(c, "url", url, (kind,))
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
        if not ROLE_NAME.fullmatch(inspector):
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

    par = top.sub("partners", {})
    partner_values: dict[str, int] = {}
    for key, low, high in (
        ("review_interval_months", 1, 60),
        ("review_grace_days", 0, 365),
        ("expiring_within_days", 0, 3650),
    ):
        partner_values[key] = par.get(key, int, getattr(PartnerSettings, key))
        if not low <= partner_values[key] <= high:
            raise par.fail(key, f"must be between {low} and {high}, got {partner_values[key]}")
    par.done()

    bastion = _bastion(top.sub("bastion", {}))
    tui = _tui(top.sub("tui", {}))
    jobs = _jobs(top.sub("jobs", {}))
    notifications = parse_notifications(top, as_path)
    billing = parse_billing(top)

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
        partners=PartnerSettings(**partner_values),
        bastion=bastion,
        notifications=notifications,
        billing=billing,
        tui=tui,
        jobs=jobs,
    )
    check_residency(settings)
    return settings
