"""Adapters to real systems, loaded by name from the configuration (never imported by the
core at import time). One module per real system."""

from __future__ import annotations

import importlib
from typing import Any

#: name in ops.toml -> "module:attribute"
REGISTRY: dict[str, dict[str, str]] = {
    "catalog": {"sql": "aptien_ops.backends.sql_catalog:SqlCatalog"},
    "tenant_store": {
        "sqlite": "aptien_ops.backends.sqlite_tenants:SqliteTenantStore",
        "postgresql": "aptien_ops.backends.postgres_tenants:PostgresTenantStore",
    },
    "sealer": {"aes-gcm": "aptien_ops.backends.region_keys:RegionSealer"},
    "keyring": {"files": "aptien_ops.backends.keyring:FileKeyring"},
    "backup_keys": {"age": "aptien_ops.backends.age_keys:AgeBackupKeys"},
    "activity": {"platform": "aptien_ops.backends.sandbox_platform:seed_tenant"},
    "backup_repository": {"fs": "aptien_ops.backends.backup_repository:FsBackupRepository"},
    "client_tools": {"postgresql": "aptien_ops.backends.pg_tools:client_tools"},
    "mail_transport": {
        "smtp": "aptien_ops.backends.notify_mail:SmtpTransport",
        "maildir": "aptien_ops.backends.notify_mail:MaildirTransport",
    },
    "inapp_writer": {"tenant": "aptien_ops.backends.notify_inapp:TenantMessages"},
    "website": {"files": "aptien_ops.backends.notify_website:SiteFiles"},
    "status_page": {"files": "aptien_ops.backends.status_page:StatusFiles"},
    "billing_source": {"stripe": "aptien_ops.backends.stripe_billing:StripeBilling"},
    "sandbox_billing": {"localstripe": "aptien_ops.backends.sandbox_stripe:SandboxStripe"},
    "billing_server": {
        "serve": "aptien_ops.backends.sandbox_stripe:serve",
        "answers": "aptien_ops.backends.sandbox_stripe:answers",
    },
    "job_queue": {"procrastinate": "aptien_ops.backends.job_queue:ProcrastinateQueue"},
    "job_board": {"postgresql": "aptien_ops.backends.job_board:PostgresJobBoard"},
    "inspection_reader": {
        "sqlite": "aptien_ops.backends.inspection_readers.sqlite:SqliteInspectionReader",
        "postgresql": "aptien_ops.backends.inspection_readers.postgres:PostgresInspectionReader",
    },
}


def load(kind: str, name: str) -> Any:
    """The adapter class registered as ``name`` for ``kind``. Raises KeyError if unknown."""
    module, _, attr = REGISTRY[kind][name].partition(":")
    return getattr(importlib.import_module(module), attr)
