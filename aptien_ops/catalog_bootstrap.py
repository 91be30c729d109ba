"""The first run on a catalog: the signed head of the empty ops log and the first admins."""

from __future__ import annotations

from aptien_ops.domain import Identity, Operator
from aptien_ops.errors import ConfigError
from aptien_ops.opslog import Event, genesis_head, next_entry
from aptien_ops.permissions import Role
from aptien_ops.ports import Catalog
from aptien_ops.services.context import OpsContext

#: Demo colleagues a sandbox starts with, so four-eyes flows can be tried at once.
SANDBOX_OPERATORS: dict[str, tuple[str, ...]] = {
    "ada": (Role.ADMIN,),
    "sam": (Role.SECURITY,),
    "olga": (Role.OPERATOR,),
    "pat": (Role.PARTNER_MANAGER,),
    "bill": (Role.BILLING,),
    "vic": (Role.VIEWER,),
}


def bootstrap(ctx: OpsContext, catalog: Catalog) -> None:
    """On a new catalog: sign the empty log's head and name the first admins.

    ``catalog`` is the connected one (``ctx.catalog`` may be the deferred catalog that is being
    connected right now). Runs in one transaction; a crash before commit leaves the catalog
    unsigned, and the next run does it again.

    Raises: ConfigError (a new production catalog without ``security.initial_admins``), and
    the catalog's errors (Unavailable, Conflict).
    """
    with catalog.read() as tx:
        head = tx.opslog.head()
    if head is not None and head.signature:
        return
    settings = ctx.settings
    if settings.sandbox:
        first = {ctx.identity.os_account: (Role.ADMIN,), **SANDBOX_OPERATORS}
    else:
        if not settings.security.initial_admins:
            raise ConfigError(
                f"{settings.source}: security.initial_admins: a new production catalog needs at least one initial admin"
            )
        first = {name: (Role.ADMIN,) for name in settings.security.initial_admins}
    entries = []
    with catalog.transaction() as tx:
        head = tx.opslog.head(for_update=True)
        if head is not None and head.signature:
            return  # another process bootstrapped it meanwhile
        signed = genesis_head(ctx.opslog_key)
        system = Identity(
            "aptien-ops", ctx.identity.os_account, ctx.identity.ssh_origin, ctx.identity.session_id
        )
        now = ctx.now()
        for name, roles in first.items():
            if tx.operators.get(name) is None:
                tx.operators.insert(
                    Operator(name, frozenset(str(r) for r in roles), "aptien-ops", now)
                )
        entry, new_head = next_entry(
            ctx.opslog_key,
            signed,
            system,
            Event(
                "catalog.init",
                catalog.url_for_display,
                {
                    "mode": settings.mode,
                    "operators": {k: list(map(str, v)) for k, v in first.items()},
                },
                "ok",
            ),
            now,
        )
        tx.opslog.append(entry, new_head)
        entries.append(entry)
    for e in entries:
        ctx.events.entry(e)
