"""Operational notices on a production PostgreSQL catalog run as its runtime role, which can do
what notices need and no more: draft, edit, send, update, resolve, cancel, a four-eyes request
to tell users and its approval, the status pages, all as that role; and then it can neither
remove nor rewrite what was announced, to whom (the stored scope, the audience) and who did
what (the dated steps). The attacks are made with psycopg directly, as someone holding the
runtime role's password could (docs/production.md, Catalog roles)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from test_outbox_grants import install

from aptien_ops.composition import Console, open_console
from aptien_ops.domain import Identity, Tenant, TenantState
from aptien_ops.domain.op_notices import NoticeStatus, StepKind
from aptien_ops.errors import PendingApproval
from aptien_ops.identity import os_account
from aptien_ops.services.op_notices import NoticeDraft, NoticeEdit

from catalog_roles import CatalogRoles

pytestmark = pytest.mark.postgres
__all__ = ["install"]  # a production console as ada, on the runtime role

ATTACKS = (
    "DELETE FROM op_notices",
    "UPDATE op_notices SET kind = 'outage'",
    "UPDATE op_notices SET audience = 'users'",
    "UPDATE op_notices SET selection = 'all', targets = ''",
    "UPDATE op_notices SET created_by = 'mallory'",
    "UPDATE op_notices SET id = 'NTC-2099-0001'",
    "ALTER TABLE op_notices DROP COLUMN audience",
    "DELETE FROM op_notice_updates",
    "TRUNCATE op_notice_updates",
    "UPDATE op_notice_updates SET text = 'it never happened'",
    "UPDATE op_notice_updates SET operator = 'mallory'",
    "DELETE FROM op_notice_scope",
    "TRUNCATE op_notice_scope",
    "UPDATE op_notice_scope SET tenant = 'globex'",
)


def history(roles: CatalogRoles) -> object:
    """Everything kept of the notices, read by the superuser."""
    return roles.scalar(
        "SELECT json_build_array("
        " (SELECT json_agg(n ORDER BY id) FROM op_notices n),"
        " (SELECT json_agg(u ORDER BY id) FROM op_notice_updates u),"
        " (SELECT json_agg(s ORDER BY notice_id, tenant) FROM op_notice_scope s))::text"
    )


def test_the_runtime_role_runs_every_notice_use_case_and_cannot_rewrite_what_was_announced(
    install: tuple[Console, CatalogRoles, Path],
) -> None:
    ada, roles, config = install
    now = ada.ctx.now()
    with ada.ctx.catalog.transaction() as tx:
        tx.tenants.insert(
            Tenant("acme-gmbh", "DE", "eu", "eu-sandbox-1", TenantState.ACTIVE, "Anna",
                   "rep@acme.example", now, now)
        )  # fmt: skip
    start = now + timedelta(days=1)

    def draft(audience: str) -> str:
        given = NoticeDraft(
            "maintenance", "Upgrade", "Short.", start, start + timedelta(hours=1),
            clusters=("eu-sandbox-1",), audience=audience,
        )  # fmt: skip
        return ada.op_notices.draft(given).id

    reps = draft("representatives")
    ada.op_notices.edit(reps, NoticeEdit(body="Shorter."))
    sent = ada.op_notice_sending.send(reps, ["email"])
    assert sent.delivery is not None
    assert [(c.channel, c.sent) for c in sent.delivery.channels] == [("email", 1)]
    ada.op_notice_sending.update(reps, "scheduled", "Still on.")
    assert ada.op_notices.resolve(reps, "Done.").notice.status == NoticeStatus.RESOLVED
    users = draft("users")
    with pytest.raises(PendingApproval) as asked:
        ada.op_notice_sending.send(users, ["email"])
    colleague = os_account()
    second = open_console(config, identity=Identity(colleague, colleague, None, "s-2"))
    try:
        second.approvals.approve(asked.value.approval_id)
    finally:
        second.close()
    ada.op_notice_sending.send(users, ["email"])  # its users: read where the tenant lives
    ada.op_notices.cancel(users, "not needed after all")
    assert ada.op_notice_status.publish().regions["eu"] == 2
    kinds = [s.kind for s in ada.op_notices.show(users).steps]
    assert kinds == [StepKind.DRAFTED, StepKind.APPROVED, StepKind.SENT, StepKind.CANCELLED]
    before = history(roles)
    for attack in ATTACKS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            roles.execute(roles.runtime, attack)
    assert history(roles) == before
