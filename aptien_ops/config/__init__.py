"""Typed, validated settings read from ``ops.toml``.

Where the file is found (first match wins): ``--config``, ``$APTIEN_OPS_CONFIG``,
``./ops.toml``, the user config dir (``$XDG_CONFIG_HOME/aptien-ops/ops.toml``); with none of
those, the embedded default (``aptien_ops/default_ops.toml``, identical to the repository's
``ops.toml``) runs a sandbox in the user data dir.

Every error names the file, the key and the reason. Secrets are never accepted as values in
the file: a password comes from ``password_file`` or ``password_env``.
"""

from aptien_ops.config.loading import find_config, load_settings
from aptien_ops.config.parsing import parse_settings
from aptien_ops.config.residency import check_residency
from aptien_ops.config.settings import (
    APP_NAME,
    DEFAULT_CONFIG,
    DEFAULT_SERVICE_ACCOUNT,
    FOUR_EYES_ACTIONS,
    VERIFY_LEVELS,
    BackupPolicy,
    BastionSettings,
    BillingSettings,
    CatalogSettings,
    ClusterSettings,
    EmailSettings,
    InspectionSettings,
    JobSettings,
    LoggingSettings,
    NotificationSettings,
    PartnerSettings,
    RegionSettings,
    SecretRef,
    SecuritySettings,
    Settings,
    TenantSettings,
    TuiSettings,
    WebsiteSettings,
    region_or_fail,
    user_config_dir,
    user_data_dir,
)

__all__ = [
    "APP_NAME",
    "DEFAULT_CONFIG",
    "DEFAULT_SERVICE_ACCOUNT",
    "FOUR_EYES_ACTIONS",
    "VERIFY_LEVELS",
    "BackupPolicy",
    "BastionSettings",
    "BillingSettings",
    "CatalogSettings",
    "ClusterSettings",
    "EmailSettings",
    "InspectionSettings",
    "LoggingSettings",
    "NotificationSettings",
    "PartnerSettings",
    "RegionSettings",
    "SecretRef",
    "SecuritySettings",
    "Settings",
    "TenantSettings",
    "TuiSettings",
    "JobSettings",
    "WebsiteSettings",
    "check_residency",
    "find_config",
    "load_settings",
    "parse_settings",
    "region_or_fail",
    "user_config_dir",
    "user_data_dir",
]
