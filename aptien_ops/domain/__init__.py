"""Domain records shared by services, adapters and both front ends, one module per idea:
``values`` (time, tenant names, e-mail addresses), ``tenants``, ``people`` (operators,
approvals, identity), ``opslog``, ``catalog``, ``backups`` and ``metadata`` (what the
console may read from a tenant). Import them from here; the limits of free-text fields from
``aptien_ops.domain.free_text``."""

from aptien_ops.domain.backups import BackupManifest, ScratchSweep, VerifyResult
from aptien_ops.domain.catalog import CatalogInfo, CatalogInstall, ClusterLoad, SchemaState
from aptien_ops.domain.metadata import AuditEvent, LoginEvent, UserRecord
from aptien_ops.domain.opslog import OpsLogCheckpoint, OpsLogEntry, OpsLogHead, OpsLogPage
from aptien_ops.domain.people import Approval, ApprovalState, Identity, Operator
from aptien_ops.domain.tenants import (
    TENANT_ORDERS,
    ListedTenant,
    StateChange,
    StepRecord,
    Tenant,
    TenantCount,
    TenantQuery,
    TenantState,
    TenantTally,
)
from aptien_ops.domain.values import (
    ACCOUNT_NAME,
    EMAIL_LOCAL_MAX,
    EMAIL_MAX,
    RESERVED_TENANT_NAMES,
    TENANT_NAME,
    Clock,
    iso,
    parse_choice,
    utcnow,
    validate_email,
    validate_tenant_name,
)

__all__ = [
    "ACCOUNT_NAME",
    "EMAIL_LOCAL_MAX",
    "EMAIL_MAX",
    "RESERVED_TENANT_NAMES",
    "TENANT_NAME",
    "TENANT_ORDERS",
    "Approval",
    "ApprovalState",
    "AuditEvent",
    "BackupManifest",
    "CatalogInfo",
    "CatalogInstall",
    "Clock",
    "ClusterLoad",
    "Identity",
    "ListedTenant",
    "LoginEvent",
    "Operator",
    "OpsLogCheckpoint",
    "OpsLogEntry",
    "OpsLogHead",
    "OpsLogPage",
    "SchemaState",
    "ScratchSweep",
    "StateChange",
    "StepRecord",
    "Tenant",
    "TenantCount",
    "TenantQuery",
    "TenantState",
    "TenantTally",
    "UserRecord",
    "VerifyResult",
    "iso",
    "parse_choice",
    "utcnow",
    "validate_email",
    "validate_tenant_name",
]
