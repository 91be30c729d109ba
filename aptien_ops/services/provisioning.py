"""Provisioning a tenant as resumable steps recorded in the catalog.

reserve → owner-role → database → schema → inspector-grants → backup-identity → active

Each step is idempotent and recorded when done, so killing the process at any point and
running the same ``tenant provision`` again converges to one active tenant with nothing
orphaned. Rerun once it has finished, the same request reports the tenant as it is (every
step "done earlier", nothing touched); a different request for that name is a conflict. A
lease on the tenant row (``host:pid:session``) keeps two processes from working on the same
tenant at once; a lease whose process has died, or that has expired, is taken over.

Meeting an existing tenant (finished, resumed, conflict) and its lease are
:mod:`provisioning_resume`; choosing the region and cluster is :mod:`provisioning_placement`.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aptien_ops.config import RegionSettings
from aptien_ops.domain import (
    StateChange,
    StepRecord,
    Tenant,
    TenantState,
    validate_email,
    validate_tenant_name,
)
from aptien_ops.domain.free_text import COMPANY, CONTACT_NAME, RESIDENCY_OVERRIDE
from aptien_ops.domain.partner_input import parse_phone
from aptien_ops.errors import Forbidden, OpsError
from aptien_ops.permissions import Action, offered
from aptien_ops.regions import RegionResolver
from aptien_ops.services.context import Attempt, OpsContext, existing_tenant
from aptien_ops.services.provisioning_placement import (
    chosen_region,
    least_loaded,
    reachable_clusters,
)
from aptien_ops.services.provisioning_resume import (
    FILLED,
    LEASE,
    check_filling,
    finished_for,
    leased,
)
from aptien_ops.tenant_schema import TENANT_SCHEMA_VERSION

STEPS = (
    "reserve",
    "owner-role",
    "database",
    "schema",
    "inspector-grants",
    "backup-identity",
    "active",
)
#: Called with (step, status) as provisioning goes: status is "start", "done" or "skip".
Progress = Callable[[str, str], None]


def check_contact_email(email: str) -> str:
    """The contact's address as the catalog keeps it (the console's one e-mail rule).

    Raises: InvalidInput saying what is wrong with it.
    """
    return validate_email(email, what="the contact e-mail")


def secret_context(tenant: str, kind: str) -> str:
    return f"tenant/{tenant}/{kind}"


@dataclass(frozen=True)
class Filling:
    """Data a new tenant's database gets before it goes active (``backup restore --to``): a
    step of its own between ``backup-identity`` and ``active``, run by ``fill`` (which returns
    the step's detail), and the attempt is ``action`` with ``params`` instead of a provision.

    A tenant reserved with a filling is resumed only with one (and one without, only without),
    so an interrupted restore never goes active empty."""

    step: str
    action: Action
    params: dict[str, object]
    fill: Callable[[Tenant], str]


@dataclass(frozen=True)
class ProvisionRequest:
    name: str
    country: str
    """The client's country: its ISO 3166-1 alpha-2 code or its exact name (any case)."""
    region: str | None = None
    residency_override: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    """The representative's phone (on the contact card a partner may be given)."""
    company: str | None = None
    """The client's company name, as that card shows it."""


class ProvisioningService:
    def __init__(self, ctx: OpsContext, resolver: RegionResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver
        self._me = f"{socket.gethostname()}:{os.getpid()}:{ctx.identity.session_id}"

    # -- the use case ---------------------------------------------------------------------

    def provision(
        self,
        request: ProvisionRequest,
        progress: Progress | None = None,
        *,
        filling: Filling | None = None,
    ) -> Tenant:
        """Provision (or resume provisioning) a tenant; with ``filling``, put data into its
        database before it goes active. The same request (without a filling) for a tenant
        whose provisioning finished returns it as it is, changing nothing.

        Raises: InvalidInput (name, country, region contradiction, contact), Forbidden,
        Conflict (exists for another request or purged, being provisioned elsewhere, region
        full), Unavailable (no reachable cluster, or a cluster went down mid-way: rerun to
        resume).
        """
        name = validate_tenant_name(request.name)
        request = self._checked_text(request)
        # The country as typed: its code or exact name, never the first of several matches.
        resolution = self.resolver.resolve_named(request.country)
        region = chosen_region(
            self.ctx.settings, resolution, request.region, request.residency_override
        )
        report = progress or (lambda step, status: None)
        params: dict[str, object] = {"country": resolution.country.alpha2, "region": region.name}
        if request.residency_override:
            params["residency_override"] = request.residency_override
        action = Action.TENANT_PROVISION
        steps: tuple[str, ...] = STEPS
        if filling is not None:
            action, steps = filling.action, (*STEPS[:-1], filling.step, STEPS[-1])
            params.update(filling.params)

        with self.ctx.audited(action, name, params) as attempt:
            if request.residency_override:
                self._check_override()
            # A restore has its own "done already" (the backup it restored): a tenant that
            # exists is never one it may report as restored.
            finished = (
                None if filling else self._finished(request, resolution.country.alpha2, region)
            )
            if finished is not None:
                for step in steps[1:]:
                    report(step, "skip")
                attempt.ok(already=str(finished.state))
                return finished
            self._preflight(region)
            tenant = self._reserve(request, resolution.country.alpha2, region, filling)
            if tenant.state != TenantState.PROVISIONING:  # another run finished it meanwhile
                for step in steps[1:]:
                    report(step, "skip")
                attempt.ok(already=str(tenant.state))
                return tenant
            try:
                done = {s.step for s in self._steps(name)}
                for step in steps[1:]:
                    if step in done:
                        report(step, "skip")
                        continue
                    report(step, "start")
                    self._run_step(attempt, step, tenant, region, filling)
                    report(step, "done")
            except (OpsError, KeyboardInterrupt):  # a failure, Ctrl-C, a hang-up, SIGTERM
                self._release(name)
                raise
            with self.ctx.catalog.read() as tx:
                return existing_tenant(tx, name)
        raise AssertionError("unreachable: the attempt returns or raises")

    # -- steps ----------------------------------------------------------------------------

    def _preflight(self, region: RegionSettings) -> None:
        """What every step will need from this machine, checked before a tenant is reserved:
        a missing key or password fails here, leaving no tenant stuck in provisioning.

        Raises: ConfigError naming the missing file or variable.
        """
        self.ctx.sealer(region.name)  # the region key seals the owner password
        for cluster in region.clusters:
            cluster.password.read()
            cluster.inspector_password.read()

    def _check_override(self) -> None:
        """Raises: Forbidden unless the operator may place a tenant outside its region."""
        with self.ctx.catalog.read() as tx:
            roles = self.ctx.roles(tx)
        offer = offered(roles, Action.TENANT_RESIDENCY_OVERRIDE, self.ctx.read_only)
        if not offer.allowed:
            raise Forbidden(
                f"{self.ctx.identity.operator} may not override residency", hint=offer.reason
            )

    def _reserve(
        self,
        request: ProvisionRequest,
        country: str,
        region: RegionSettings,
        filling: Filling | None = None,
    ) -> Tenant:
        name = request.name
        candidates = reachable_clusters(self.ctx, region)
        with self.ctx.catalog.transaction() as tx:
            now = self.ctx.now()
            existing = tx.tenants.get(name, for_update=True)
            if existing is not None:
                if filling is None:
                    # Finished by a run that won the race since this one looked (see provision).
                    done = finished_for(
                        existing, country, region.name, request.contact_name, request.contact_email
                    )
                    if done is not None:
                        return done
                check_filling(tx, existing, filling.step if filling else "")
                resumed = leased(existing, country, region.name, self._me, self.ctx.now())
                return tx.tenants.update(resumed, by=self.ctx.identity.operator)
            cluster = least_loaded(tx, region, candidates)
            tenant = Tenant(
                name,
                country,
                region.name,
                cluster,
                TenantState.PROVISIONING,
                request.contact_name,
                request.contact_email,
                now,
                now,
                lease_owner=self._me,
                lease_until=now + LEASE,
                contact_phone=request.contact_phone,
                company=request.company,
            )
            tx.tenants.insert(tenant)
            detail = f"cluster {cluster}" + (f"{FILLED}{filling.step}" if filling else "")
            tx.tenant_history.mark_step(name, "reserve", now, detail)
            tx.tenant_history.add_state_change(
                name,
                StateChange(
                    now,
                    None,
                    "provisioning",
                    self.ctx.identity.operator,
                    request.residency_override,
                ),
            )
            return tenant

    def _finished(
        self, request: ProvisionRequest, country: str, region: RegionSettings
    ) -> Tenant | None:
        """Raises: Conflict (see :func:`finished_for`)."""
        with self.ctx.catalog.read() as tx:
            existing = tx.tenants.get(request.name)
        return finished_for(
            existing, country, region.name, request.contact_name, request.contact_email
        )

    def _run_step(
        self,
        attempt: Attempt,
        step: str,
        tenant: Tenant,
        region: RegionSettings,
        filling: Filling | None = None,
    ) -> None:
        name = tenant.name
        assert tenant.cluster is not None
        store = self.ctx.store(tenant.cluster)
        sealer = self.ctx.sealer(region.name)
        detail: str | None = None
        sealed: str | None = None
        changes: dict[str, Any] = {}
        if step == "owner-role":
            password = self._owner_password(name, region)
            store.create_owner_role(name, password)
        elif step == "database":
            store.create_database(name, self._owner_password(name, region))
        elif step == "schema":
            version = store.apply_schema(name, TENANT_SCHEMA_VERSION, region=region.name)
            changes["schema_version"] = version
            detail = f"version {version}"
        elif step == "inspector-grants":
            cluster = self.ctx.cluster_settings(tenant.cluster)
            store.grant_inspector(name, region.inspector_role, cluster.inspector_password.read())
            detail = region.inspector_role
        elif step == "backup-identity":
            with self.ctx.catalog.read() as tx:
                current = tx.tenants.get(name)
            if current is None or not current.backup_recipient:
                assert self.ctx.backup_keys is not None
                recipient, identity = self.ctx.backup_keys.generate()
                changes["backup_recipient"] = recipient
                sealed = sealer.seal(identity.encode(), secret_context(name, "backup_identity"))
                detail = recipient
        elif filling is not None and step == filling.step:
            detail = filling.fill(tenant)
            changes["schema_version"] = TENANT_SCHEMA_VERSION
        now = self.ctx.now()
        with attempt.transaction() as tx:
            if step == "backup-identity" and sealed is not None:
                tx.secrets.put(name, "backup_identity", sealed)
            if step == "active":
                tx.tenant_history.add_state_change(
                    name, StateChange(now, "provisioning", "active", self.ctx.identity.operator)
                )
                changes.update(state=TenantState.ACTIVE, lease_owner=None, lease_until=None)
                # The attempt's one entry commits with the activation.
                attempt.ok(cluster=tenant.cluster)
            else:
                changes.update(lease_until=now + LEASE)
            current = existing_tenant(tx, name, for_update=True)
            changed = replace(current, updated_at=now, **changes)
            tx.tenants.update(changed, by=self.ctx.identity.operator)
            tx.tenant_history.mark_step(name, step, now, detail)

    def _owner_password(self, name: str, region: RegionSettings) -> str:
        """The owner's password: generated once, kept only sealed in the catalog."""
        context = secret_context(name, "owner_password")
        sealer = self.ctx.sealer(region.name)
        with self.ctx.catalog.read() as tx:
            sealed = tx.secrets.get(name, "owner_password")
        if sealed is None:
            # Generated once: the write transaction re-checks, so two runs cannot both store one.
            with self.ctx.catalog.transaction() as tx:
                sealed = tx.secrets.get(name, "owner_password")
                if sealed is None:
                    password = secrets.token_urlsafe(32)
                    tx.secrets.put(name, "owner_password", sealer.seal(password.encode(), context))
                    return password
        return sealer.unseal(sealed, context).decode()

    # -- helpers --------------------------------------------------------------------------

    def _steps(self, name: str) -> list[StepRecord]:
        with self.ctx.catalog.read() as tx:
            return tx.tenant_history.steps(name)

    def _release(self, name: str) -> None:
        with self.ctx.catalog.transaction() as tx:
            tenant = tx.tenants.get(name, for_update=True)
            if tenant is not None and tenant.lease_owner == self._me:
                released = replace(tenant, lease_owner=None, lease_until=None)
                tx.tenants.update(released, by=self.ctx.identity.operator)

    @staticmethod
    def _checked_text(request: ProvisionRequest) -> ProvisionRequest:
        """``request`` with its contact and override reason as kept. Raises: InvalidInput."""
        if request.contact_email is not None:
            request = replace(request, contact_email=check_contact_email(request.contact_email))
        if request.contact_name is not None:
            request = replace(request, contact_name=CONTACT_NAME.check(request.contact_name))
        override = RESIDENCY_OVERRIDE.optional(request.residency_override)
        return replace(
            request,
            residency_override=override,
            contact_phone=parse_phone(request.contact_phone, "the contact phone"),
            company=COMPANY.optional(request.company),
        )
