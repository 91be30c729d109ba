"""The one permission matrix: which roles may do what. CLI and TUI both go through it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from aptien_ops.domain.values import parse_choice
from aptien_ops.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    SECURITY = "security"
    PARTNER_MANAGER = "partner-manager"
    BILLING = "billing"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)


class Action(StrEnum):
    REGION_VIEW = "region.view"
    TENANT_VIEW = "tenant.view"
    TENANT_PROVISION = "tenant.provision"
    TENANT_RESIDENCY_OVERRIDE = "tenant.residency-override"
    TENANT_SUSPEND = "tenant.suspend"
    TENANT_RESUME = "tenant.resume"
    TENANT_CANCEL = "tenant.cancel"
    TENANT_REINSTATE = "tenant.reinstate"
    TENANT_PURGE = "tenant.purge"
    TENANT_UPDATE = "tenant.update"
    FLEET_CHECK = "fleet.check"
    FLEET_MIGRATE = "fleet.migrate"
    OPERATOR_VIEW = "operator.view"
    OPERATOR_ADD = "operator.add"
    OPERATOR_GRANT = "operator.grant"
    OPERATOR_GRANT_ADMIN = "operator.grant-admin"
    OPERATOR_REVOKE = "operator.revoke"
    APPROVAL_VIEW = "approval.view"
    APPROVAL_DECIDE = "approval.decide"
    OPSLOG_VIEW = "ops-log.view"
    OPSLOG_VERIFY = "ops-log.verify"
    OPSLOG_CHECKPOINT = "ops-log.checkpoint"
    SANDBOX_SEED = "sandbox.seed"
    INSPECT_METADATA = "inspect.metadata"
    INSPECT_EXPORT = "inspect.export"
    BACKUP_RUN = "backup.run"
    BACKUP_VIEW = "backup.view"
    BACKUP_VERIFY = "backup.verify"
    BACKUP_PRUNE = "backup.prune"
    BACKUP_RECONCILE = "backup.reconcile"
    BACKUP_RESTORE = "backup.restore"
    BACKUP_REPLACE = "backup.replace"
    POLICY_VIEW = "policy.view"
    POLICY_SET = "policy.set"
    OPERATOR_GRANT_SECURITY = "operator.grant-security"
    OPERATOR_REVOKE_ADMIN = "operator.revoke-admin"
    KEYS_INIT = "keys.init"
    DOCTOR_RUN = "doctor.run"
    PARTNER_VIEW = "partner.view"
    PARTNER_ADD = "partner.add"
    PARTNER_UPDATE = "partner.update"
    PARTNER_END = "partner.end"
    PARTNER_AGREEMENT = "partner.agreement"
    PARTNER_REVIEW = "partner.review"
    PARTNER_ASSIGN = "partner.assign"
    PARTNER_UNASSIGN = "partner.unassign"
    PARTNER_SHARE = "partner.share"
    PARTNER_IMPORT = "partner.import"
    PARTNER_PUBLISH = "partner.publish"
    BREACH_VIEW = "breach.view"
    BREACH_OPEN = "breach.open"
    BREACH_UPDATE = "breach.update"
    BREACH_TIMELINE = "breach.timeline"
    BREACH_CLOSE = "breach.close"
    BREACH_REPORT = "breach.report"
    BREACH_SCOPE = "breach.scope"
    BREACH_NOTIFY = "breach.notify"
    BREACH_EXEMPT = "breach.exempt"
    BILLING_STATE = "billing.state"
    BILLING_VIEW = "billing.view"
    BILLING_LINK = "billing.link"
    BILLING_UNLINK = "billing.unlink"
    BILLING_SYNC = "billing.sync"
    BILLING_WEBHOOK = "billing.webhook"
    SESSION_START = "session.start"
    SESSION_END = "session.end"
    SESSION_VIEW = "session.view"
    BILLING_NOTIFY = "billing.notify"
    NOTICE_VIEW = "notice.view"
    NOTICE_DRAFT = "notice.draft"
    NOTICE_RESOLVE = "notice.resolve"
    NOTICE_CANCEL = "notice.cancel"
    NOTICE_SEND = "notice.send"
    NOTICE_UPDATE = "notice.update"
    NOTICE_PUBLISH = "notice.publish"
    NOTICE_EDIT = "notice.edit"
    NOTICE_SEND_USERS = "notice.send-users"
    JOB_VIEW = "job.view"
    JOB_RETRY = "job.retry"
    JOB_CANCEL = "job.cancel"
    JOB_WORK = "job.work"
    JOB_PRUNE = "job.prune"


_ALL_STAFF = frozenset(Role)
_OPS = frozenset({Role.OPERATOR, Role.ADMIN})
_ADMIN = frozenset({Role.ADMIN})
#: The partner register, assignments and contact sharing: admins approve nothing here.
_PARTNERS = frozenset({Role.PARTNER_MANAGER})
#: Personal-data breaches: the security officer runs them; admins see them.
_SECURITY = frozenset({Role.SECURITY})
_SECURITY_OR_ADMIN = frozenset({Role.SECURITY, Role.ADMIN})
#: Billing: the billing role links tenants to Stripe and sees what is kept; admins as billing.
_BILLING = frozenset({Role.BILLING, Role.ADMIN})

#: Admins manage people and approve; they do not read personal data (inspection needs security).
MATRIX: dict[Action, frozenset[Role]] = {
    Action.REGION_VIEW: _ALL_STAFF,
    Action.TENANT_VIEW: _ALL_STAFF,
    Action.TENANT_PROVISION: _OPS,
    Action.TENANT_RESIDENCY_OVERRIDE: _ADMIN,
    Action.TENANT_SUSPEND: _OPS,
    Action.TENANT_RESUME: _OPS,
    Action.TENANT_CANCEL: _OPS,
    Action.TENANT_REINSTATE: _OPS,
    Action.TENANT_PURGE: _ADMIN,
    # The client's representative (name, e-mail, phone) and company: the contact card.
    Action.TENANT_UPDATE: _OPS,
    Action.FLEET_CHECK: _ALL_STAFF,
    Action.FLEET_MIGRATE: _OPS,
    Action.OPERATOR_VIEW: _ALL_STAFF,
    Action.OPERATOR_ADD: _ADMIN,
    Action.OPERATOR_GRANT: _ADMIN,
    Action.OPERATOR_GRANT_ADMIN: _ADMIN,
    Action.OPERATOR_REVOKE: _ADMIN,
    Action.APPROVAL_VIEW: _ALL_STAFF,
    # Security staff decide only what APPROVERS lets them (breach notices).
    Action.APPROVAL_DECIDE: frozenset({Role.ADMIN, Role.SECURITY}),
    Action.OPSLOG_VIEW: frozenset({Role.ADMIN, Role.SECURITY}),
    Action.OPSLOG_VERIFY: frozenset({Role.ADMIN, Role.SECURITY}),
    # Signing the log's head into the backup stores is part of every backup run.
    Action.OPSLOG_CHECKPOINT: _OPS,
    Action.SANDBOX_SEED: _OPS,
    # Login and audit metadata is personal data (emails, IPs): security staff only.
    Action.INSPECT_METADATA: frozenset({Role.SECURITY}),
    Action.INSPECT_EXPORT: frozenset({Role.SECURITY}),
    Action.BACKUP_RUN: _OPS,
    Action.BACKUP_VIEW: _ALL_STAFF,
    Action.BACKUP_VERIFY: _OPS,
    Action.BACKUP_PRUNE: _OPS,
    Action.BACKUP_RECONCILE: _OPS,
    # Into a new tenant; over a live tenant's own data (replace) is four-eyes by default.
    Action.BACKUP_RESTORE: _OPS,
    Action.BACKUP_REPLACE: _OPS,
    Action.POLICY_VIEW: _ALL_STAFF,
    Action.POLICY_SET: _ADMIN,
    Action.OPERATOR_GRANT_SECURITY: _ADMIN,
    Action.OPERATOR_REVOKE_ADMIN: _ADMIN,
    Action.KEYS_INIT: _ADMIN,
    # The doctor's findings are about the install (paths, modes, roles, reachability): no
    # personal data and no secret, so every member of staff may check it.
    Action.DOCTOR_RUN: _ALL_STAFF,
    # The register, assignments, checks and who shared what with whom (never a card): staff.
    Action.PARTNER_VIEW: _ALL_STAFF,
    Action.PARTNER_ADD: _PARTNERS,
    Action.PARTNER_UPDATE: _PARTNERS,
    Action.PARTNER_END: _PARTNERS,
    Action.PARTNER_AGREEMENT: _PARTNERS,
    Action.PARTNER_REVIEW: _PARTNERS,
    Action.PARTNER_ASSIGN: _PARTNERS,
    Action.PARTNER_UNASSIGN: _PARTNERS,
    # A client's contact card, given to its assigned partner: logged (who, partner, tenant,
    # reason; never the card).
    Action.PARTNER_SHARE: _PARTNERS,
    Action.PARTNER_IMPORT: _PARTNERS,
    # The official list on the website: what it says is the partner manager's to publish.
    Action.PARTNER_PUBLISH: _PARTNERS,
    # An incident and its clock, timeline, reports and scope counts (never a recipient).
    Action.BREACH_VIEW: _SECURITY_OR_ADMIN,
    Action.BREACH_OPEN: _SECURITY,
    Action.BREACH_UPDATE: _SECURITY,
    Action.BREACH_TIMELINE: _SECURITY,
    Action.BREACH_CLOSE: _SECURITY,
    # A report to the authority, written to a file and recorded with its SHA-256.
    Action.BREACH_REPORT: _SECURITY,
    # The affected people of tenants (user ids and e-mail addresses): personal data, logged.
    Action.BREACH_SCOPE: _SECURITY,
    # Notices to the affected people (four-eyes: a different security or admin approves).
    Action.BREACH_NOTIFY: _SECURITY,
    # An Art. 34(3) exemption instead of notifying, with its rationale.
    Action.BREACH_EXEMPT: _SECURITY,
    # A tenant's licence state (licence, group, period end): every member of staff.
    Action.BILLING_STATE: _ALL_STAFF,
    # Everything kept of its billing (Stripe ids, the latest invoice's number, amount, status).
    Action.BILLING_VIEW: _BILLING,
    Action.BILLING_LINK: _BILLING,
    Action.BILLING_UNLINK: _BILLING,
    # Reading Stripe into the catalog (never a card): the billing role, and admins.
    Action.BILLING_SYNC: _BILLING,
    # A signed Stripe webhook delivery applied to the catalog (the account an HTTPS endpoint
    # pipes it through is a billing operator).
    Action.BILLING_WEBHOOK: _BILLING,
    # An interactive session begins and ends: every member of staff, recorded in the ops log.
    Action.SESSION_START: _ALL_STAFF,
    Action.SESSION_END: _ALL_STAFF,
    # Who is on now and where they connect from (colleagues' addresses): logged.
    Action.SESSION_VIEW: _SECURITY_OR_ADMIN,
    # Licence-ending and non-payment notices to the tenants' representatives (e-mail, in-app).
    Action.BILLING_NOTIFY: _BILLING,
    # Operational notices (maintenance, outages, changes): every member of staff sees them;
    # operators write, resolve and cancel them.
    Action.NOTICE_VIEW: _ALL_STAFF,
    Action.NOTICE_DRAFT: _OPS,
    Action.NOTICE_RESOLVE: _OPS,
    Action.NOTICE_CANCEL: _OPS,
    # To the tenants' representatives (the catalog's contacts): the operator role suffices.
    Action.NOTICE_SEND: _OPS,
    Action.NOTICE_UPDATE: _OPS,
    # The regions' public status pages of operational notices.
    Action.NOTICE_PUBLISH: _OPS,
    # A notice's title, body or window while it is a draft or scheduled.
    Action.NOTICE_EDIT: _OPS,
    # Telling the tenants' users (e-mails read from the tenant databases): operators ask, a
    # different security or admin operator approves (always four-eyes).
    Action.NOTICE_SEND_USERS: _OPS,
    # The job queue (a PostgreSQL catalog's): what is queued, running and failed, per region.
    Action.JOB_VIEW: _ALL_STAFF,
    Action.JOB_RETRY: _OPS,
    Action.JOB_CANCEL: _OPS,
    # Running a region's worker; each job it runs is then authorised as the operator who
    # queued it, under that job's own action (backup.run, backup.verify, …).
    Action.JOB_WORK: _OPS,
    # Deleting finished jobs past a retention (the workers do it hourly by themselves).
    Action.JOB_PRUNE: _OPS,
}

#: Who may approve a four-eyes request, by the action requested.
APPROVERS: dict[str, frozenset[Role]] = {
    "operator.grant-admin": _ADMIN,
    "tenant.purge": _ADMIN,
    "breach.notify": frozenset({Role.SECURITY, Role.ADMIN}),
    "operator.grant-security": _ADMIN,
    "operator.revoke-admin": _ADMIN,
    "policy.set": _ADMIN,
    "backup.replace": _ADMIN,
    "notice.send-users": frozenset({Role.SECURITY, Role.ADMIN}),
}

#: Reads of catalog data that is not personal: a refusal is logged, a success is not (the ops
#: log records changes, reads of personal data, requests and every refusal).
UNLOGGED_READS = frozenset(
    {
        Action.REGION_VIEW,
        Action.TENANT_VIEW,
        Action.FLEET_CHECK,
        Action.OPERATOR_VIEW,
        Action.APPROVAL_VIEW,
        Action.OPSLOG_VIEW,
        Action.BACKUP_VIEW,
        Action.POLICY_VIEW,
        Action.PARTNER_VIEW,
        Action.BREACH_VIEW,
        Action.BILLING_STATE,
        Action.BILLING_VIEW,
        Action.NOTICE_VIEW,
        Action.JOB_VIEW,
    }
)

#: The reads, logged or not: read-only mode refuses every other action (they change something).
READ_ONLY_SAFE = UNLOGGED_READS | {
    Action.SESSION_START,  # a session's own record changes nothing of the platform
    Action.SESSION_END,
    Action.SESSION_VIEW,
    Action.OPSLOG_VERIFY,
    Action.INSPECT_METADATA,
    Action.DOCTOR_RUN,
}


def validate_role(role: str) -> Role:
    """Raises: InvalidInput naming the known roles."""
    return parse_choice(Role, role, "role", hint=f"roles: {', '.join(ROLES)}", shown=40)


def is_allowed(roles: Iterable[str], action: Action) -> bool:
    """Whether the matrix lets ``roles`` do ``action`` (read-only mode aside: see
    :func:`offered`)."""
    return bool(MATRIX[action] & _known(roles))


#: Why an action is not offered in read-only mode, in the CLI's words.
NOT_IN_READ_ONLY = "not available in read-only mode"


def read_only_refusal(what: str) -> Forbidden:
    """What read-only mode answers to ``what`` (an action, or a command that changes files
    outside the catalog, such as ``sandbox.init``)."""
    return Forbidden(f"{what} is {NOT_IN_READ_ONLY}", hint="restart without --read-only")


def needs_role(roles: Iterable[str]) -> str:
    """``needs role admin or operator``: the CLI's hint when the operator's roles fall short."""
    return f"needs role {' or '.join(sorted(roles))}"


@dataclass(frozen=True)
class Offer:
    """Whether an action is offered to an operator in the console's mode, and if not, why.

    Services refuse what is not offered (:meth:`refusal`); screens, the palette and the
    dashboard hide it; all of them ask :func:`offered`.
    """

    action: Action
    allowed: bool
    read_only: bool
    """Not offered because the console runs read-only (whatever the roles)."""
    needs: tuple[str, ...]
    """The roles that allow the action, sorted: ``("admin", "operator")``."""

    @property
    def reason(self) -> str:
        """``needs role admin or operator`` or ``not available in read-only mode``; empty when
        the action is offered."""
        if self.allowed:
            return ""
        return NOT_IN_READ_ONLY if self.read_only else needs_role(self.needs)

    def refusal(self, operator: str) -> Forbidden:
        """The Forbidden a service raises when ``operator`` attempts the action anyway."""
        if self.read_only:
            return read_only_refusal(str(self.action))
        return Forbidden(f"{operator} may not {self.action}", hint=self.reason)


def offered(roles: Iterable[str], action: Action, read_only: bool) -> Offer:
    """Whether ``action`` is offered to an operator holding ``roles`` (none: not an operator)
    in read-only mode or not. Read-only mode refuses every action that changes something,
    whatever the roles; otherwise the matrix decides."""
    needs = tuple(sorted(str(r) for r in MATRIX[action]))
    if read_only and action not in READ_ONLY_SAFE:
        return Offer(action, allowed=False, read_only=True, needs=needs)
    return Offer(action, allowed=is_allowed(roles, action), read_only=False, needs=needs)


def approvers(requested_action: str) -> frozenset[Role]:
    """Who may approve a four-eyes request for ``requested_action`` (admins unless listed)."""
    return APPROVERS.get(requested_action, _ADMIN)


def may_approve(roles: Iterable[str], requested_action: str) -> bool:
    return bool(approvers(requested_action) & _known(roles))


def _known(roles: Iterable[str]) -> set[Role]:
    return {Role(r) for r in roles if r in ROLES}
