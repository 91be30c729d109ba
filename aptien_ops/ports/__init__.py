"""Ports: what the services need from the outside world, as small Protocols.

Adapters live in ``aptien_ops.backends`` (one module or package per real system) and are
loaded by name from the configuration by the composition root. Every method documents the
console errors it raises; adapters translate their driver's exceptions into those at their
edge, so nothing above sees a driver exception. Each adapter states its conformance
statically (``_: type[Port] = Adapter`` at the end of its module), checked by mypy.
"""

from aptien_ops.ports.backups import BackupRepository
from aptien_ops.ports.billing import BillingRepository, BillingSource
from aptien_ops.ports.catalog import (
    ApprovalRepository,
    BackupIndex,
    Catalog,
    CatalogProbe,
    CatalogTx,
    OperatorRepository,
    OpsLogRepository,
    PolicyRepository,
    TenantHistory,
    TenantRepository,
    TenantSecrets,
)
from aptien_ops.ports.clusters import (
    BackupKeys,
    ClusterPrivileges,
    DatabaseFacts,
    DbConnection,
    Keyring,
    RegionKeyFiles,
    Sealer,
    TenantStore,
)
from aptien_ops.ports.incidents import IncidentRepository, IncidentScopeRepository
from aptien_ops.ports.inspection import InspectionReader
from aptien_ops.ports.notifications import (
    InAppWriter,
    MailTransport,
    StatusPage,
    WebsitePublisher,
)
from aptien_ops.ports.op_notices import NoticeRepository
from aptien_ops.ports.outbox import BreachOutbox
from aptien_ops.ports.partners import AssignmentRepository, PartnerRepository
from aptien_ops.ports.sandbox import ActivityStats, ActivityWriter

__all__ = [
    "ActivityStats",
    "ActivityWriter",
    "ApprovalRepository",
    "AssignmentRepository",
    "BackupIndex",
    "BackupKeys",
    "BackupRepository",
    "BillingRepository",
    "BillingSource",
    "BreachOutbox",
    "ClusterPrivileges",
    "Catalog",
    "CatalogProbe",
    "CatalogTx",
    "DatabaseFacts",
    "DbConnection",
    "InAppWriter",
    "IncidentRepository",
    "IncidentScopeRepository",
    "NoticeRepository",
    "StatusPage",
    "InspectionReader",
    "Keyring",
    "MailTransport",
    "OperatorRepository",
    "OpsLogRepository",
    "PartnerRepository",
    "PolicyRepository",
    "RegionKeyFiles",
    "Sealer",
    "TenantHistory",
    "TenantRepository",
    "TenantSecrets",
    "TenantStore",
    "WebsitePublisher",
]
