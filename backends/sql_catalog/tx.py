"""One catalog transaction: the repositories of every record group, on one connection."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from aptien_ops.backends.sql_catalog.approvals import SqlApprovals
from aptien_ops.backends.sql_catalog.backups import SqlBackupIndex
from aptien_ops.backends.sql_catalog.billing import SqlBilling
from aptien_ops.backends.sql_catalog.breach_outbox import SqlBreachOutbox
from aptien_ops.backends.sql_catalog.history import SqlTenantHistory
from aptien_ops.backends.sql_catalog.incident_scope import SqlIncidentScope
from aptien_ops.backends.sql_catalog.incidents import SqlIncidents
from aptien_ops.backends.sql_catalog.op_notices import SqlNotices
from aptien_ops.backends.sql_catalog.operators import SqlOperators
from aptien_ops.backends.sql_catalog.opslog import SqlOpsLog
from aptien_ops.backends.sql_catalog.partner_assignments import SqlPartnerAssignments
from aptien_ops.backends.sql_catalog.partners import SqlPartners
from aptien_ops.backends.sql_catalog.policy import SqlPolicy
from aptien_ops.backends.sql_catalog.secrets import SqlTenantSecrets
from aptien_ops.backends.sql_catalog.tenants import SqlTenants
from aptien_ops.errors import OpsError
from aptien_ops.ports import CatalogTx


class SqlCatalogTx:
    """One catalog transaction (implements :class:`aptien_ops.ports.CatalogTx`); its
    repositories share its connection. None of them raises a driver exception."""

    def __init__(
        self,
        conn: Connection,
        *,
        dialect: str,
        error: Callable[[sa_exc.SQLAlchemyError], OpsError],
    ) -> None:
        self.conn = conn
        self.pg = dialect == "postgresql"
        #: Turns a SQLAlchemy error into the console's (the engine's display URL, no secret).
        self.error = error
        #: Set when a secret was destroyed or replaced: the engine scrubs it after commit.
        self.shred_after_commit = False
        self.tenants = SqlTenants(self)
        self.tenant_history = SqlTenantHistory(self)
        self.secrets = SqlTenantSecrets(self)
        self.operators = SqlOperators(self)
        self.approvals = SqlApprovals(self)
        self.opslog = SqlOpsLog(self)
        self.backups = SqlBackupIndex(self)
        self.policy = SqlPolicy(self)
        self.partners = SqlPartners(self)
        self.partner_assignments = SqlPartnerAssignments(self)
        self.incidents = SqlIncidents(self)
        self.incident_scope = SqlIncidentScope(self)
        self.breach_outbox = SqlBreachOutbox(self)
        self.billing = SqlBilling(self)
        self.op_notices = SqlNotices(self)


_: type[CatalogTx] = SqlCatalogTx
