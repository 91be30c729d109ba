"""The first run on a catalog, and what every later run checks before anything else.

A new catalog gets the signed head of its empty ops log, its first admins, its mode and, in
production, its security policy, all in one transaction. A catalog that was ever written
must have a signed head (an empty or missing head there is tampering, not a fresh start),
and is opened only by a config of the mode it was created in.
"""

from __future__ import annotations

from aptien_ops.domain import Identity, Operator
from aptien_ops.errors import ConfigError, IntegrityFailure, OpsError
from aptien_ops.opslog import Event, genesis_head, head_blanked, head_missing, next_entry
from aptien_ops.permissions import Role
from aptien_ops.policy import Policy
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
#: Names under which a refused opening is logged.
OPEN = "catalog.open"


def bootstrap(ctx: OpsContext, catalog: Catalog) -> None:
    """Create what a new catalog needs, or check an existing one.

    ``catalog`` is the connected one (``ctx.catalog`` may be the deferred catalog that is
    being connected right now). A crash before the first commit leaves the catalog unsigned
    and empty, and the next run does it again.

    Raises: ConfigError (a new production catalog without ``security.initial_admins``),
    IntegrityFailure (an ops log with entries but no signed head; a catalog created in the
    other mode; ``APTIEN_OPS_OPERATOR`` against a production catalog — both logged), and the
    catalog's errors (Unavailable, Conflict).
    """
    with catalog.read() as tx:
        head = tx.opslog.head()
        written = bool(tx.opslog.entries(limit=1))
        mode = tx.policy.mode()
    if head is None:
        raise head_missing()
    if not head.signature:
        if written:
            raise head_blanked()
        _create(ctx, catalog)
    elif mode is None:
        _record_mode(ctx, catalog)  # a catalog from before the mode was recorded
    elif mode != ctx.settings.mode:
        _refuse(
            ctx,
            catalog,
            f"this is a {mode} catalog; a {ctx.settings.mode} config may not open it",
            "use the catalog's own configuration",
        )
    if not ctx.settings.sandbox and ctx.identity.requested is not None:
        _refuse(
            ctx,
            catalog,
            f"APTIEN_OPS_OPERATOR ({ctx.identity.requested}) is not honoured against a"
            " production catalog",
            "unset it: in production you act as the account sudo reports",
        )


def _create(ctx: OpsContext, catalog: Catalog) -> None:
    settings = ctx.settings
    if settings.sandbox:
        first = {ctx.identity.os_account: (Role.ADMIN,), **SANDBOX_OPERATORS}
    else:
        if not settings.security.initial_admins:
            raise ConfigError(
                f"{settings.source}: security.initial_admins: a new production catalog needs"
                " at least one initial admin"
            )
        first = {name: (Role.ADMIN,) for name in settings.security.initial_admins}
    policy = Policy.from_settings(settings)
    with catalog.transaction() as tx:
        head = tx.opslog.head(for_update=True)
        if head is not None and head.signature:
            return  # another process bootstrapped it meanwhile
        now = ctx.now()
        for name, roles in first.items():
            if tx.operators.get(name) is None:
                tx.operators.insert(
                    Operator(name, frozenset(str(r) for r in roles), "aptien-ops", now)
                )
        tx.policy.record_mode(settings.mode)
        if not settings.sandbox:
            for key, value in policy.stored().items():
                tx.policy.put(key, value, "aptien-ops", now, None)
        params = {
            "mode": settings.mode,
            "operators": {k: list(map(str, v)) for k, v in first.items()},
            **({"policy": policy.as_json()} if not settings.sandbox else {}),
        }
        system = Identity(
            "aptien-ops", ctx.identity.os_account, ctx.identity.ssh_origin, ctx.identity.session_id
        )
        event = Event("catalog.init", catalog.url_for_display, params, "ok")
        entry, new_head = next_entry(
            ctx.opslog_key, genesis_head(ctx.opslog_key), system, event, now
        )
        tx.opslog.append(entry, new_head)
    ctx.events.entry(entry)


def _record_mode(ctx: OpsContext, catalog: Catalog) -> None:
    """Record the mode of a catalog created before modes were recorded (its first upgrade)."""
    mode = ctx.settings.mode
    event = Event("catalog.record-mode", catalog.url_for_display, {"mode": mode}, "ok")
    with catalog.transaction() as tx:
        if tx.policy.mode() is not None:
            return
        tx.policy.record_mode(mode)
        if not ctx.settings.sandbox:
            for key, value in Policy.from_settings(ctx.settings).stored().items():
                tx.policy.put(key, value, "aptien-ops", ctx.now(), None)
        entry = ctx.append(tx, event)
    ctx.events.entry(entry)


def _refuse(ctx: OpsContext, catalog: Catalog, message: str, hint: str) -> None:
    """Log the refused opening (when the catalog takes it) and raise IntegrityFailure."""
    refusal = IntegrityFailure(message, hint=hint)
    event = Event(OPEN, ctx.settings.source, {"error": refusal.message}, "failed:integrity")
    try:
        with catalog.transaction() as tx:
            entry = ctx.append(tx, event)
        ctx.events.entry(entry)
    except OpsError:
        pass  # the refusal stands either way
    raise refusal
