"""Tenants' sealed secrets (owner password, backup identity), crypto-shredded on purge."""

from __future__ import annotations

from sqlalchemy import delete, select

from aptien_ops.backends import catalog_schema as s
from aptien_ops.backends.sql_catalog.base import Repository
from aptien_ops.backends.sql_catalog.errors import guarded
from aptien_ops.ports import TenantSecrets


class SqlTenantSecrets(Repository):
    """Implements :class:`aptien_ops.ports.TenantSecrets`.

    Destroying or replacing a secret also scrubs the old value from the catalog's files after
    commit (``SqlCatalog`` does, see its ``_shred``), so a purge's crypto-shredding holds on
    disk too.
    """

    @guarded
    def get(self, tenant: str, kind: str) -> str | None:
        sec = s.tenant_secrets.c
        stmt = select(sec.sealed).where(sec.tenant == tenant, sec.kind == kind)
        sealed: str | None = self.conn.execute(stmt).scalar()
        return sealed

    @guarded
    def put(self, tenant: str, kind: str, sealed: str) -> None:
        previous = self.get(tenant, kind)
        stmt = self.upsert(s.tenant_secrets).values(tenant=tenant, kind=kind, sealed=sealed)
        update = {"sealed": sealed}
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["tenant", "kind"], set_=update)
        )
        if previous is not None and previous != sealed:
            self.tx.shred_after_commit = True

    @guarded
    def destroy(self, tenant: str, kind: str) -> None:
        sec = s.tenant_secrets.c
        self.conn.execute(delete(s.tenant_secrets).where(sec.tenant == tenant, sec.kind == kind))
        self.tx.shred_after_commit = True


_: type[TenantSecrets] = SqlTenantSecrets
