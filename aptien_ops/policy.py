"""The security policy: what an operator with a copy of the config must not be able to change.

In a sandbox the policy is the config's (one person's playground). A production catalog
records its policy when it is created (from the config of that first run) and from then on
holds it: the config only says where things are, and ``policy set`` (four-eyes, logged) is
the only way to change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aptien_ops.config import FOUR_EYES_ACTIONS, Settings
from aptien_ops.domain import TENANT_NAME
from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import APPROVERS, ROLES

#: What four-eyes covers even when the policy forgets it: changing the policy itself, and
#: telling the tenants' users an operational notice (their e-mails, at scale).
ALWAYS_FOUR_EYES = frozenset({"policy.set", "notice.send-users"})
#: Actions a policy may put under four-eyes (or name approvers for).
FOUR_EYES_CHOICES = FOUR_EYES_ACTIONS | ALWAYS_FOUR_EYES


@dataclass(frozen=True)
class Policy:
    """The rules that decide who may do what, and for how long a request or a session lasts."""

    four_eyes: frozenset[str]
    """Actions recorded as requests that a different operator must approve."""
    approvers: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(APPROVERS))
    """Per requested action, the roles that may approve it (admin otherwise)."""
    approval_lifetime_hours: int = 24
    """A request older than this can no longer be approved."""
    default_retain_days: int = 30
    """How long a cancelled tenant stays restorable unless the operator says otherwise."""
    legal_holds: frozenset[str] = frozenset()
    """Tenants whose backups retention never deletes."""
    idle_minutes: int = 15
    """The TUI locks (sandbox) or ends the session (production) after this many idle minutes."""
    session_hours: int = 12
    """A TUI session ends after this many hours, idle or not (``security.session_max_hours``
    in a sandbox's config)."""

    def needs_four_eyes(self, action: str) -> bool:
        return action in self.four_eyes or action in ALWAYS_FOUR_EYES

    def approver_roles(self, action: str) -> frozenset[str]:
        return self.approvers.get(action, frozenset({"admin"}))

    def as_json(self) -> dict[str, object]:
        return {key: spec.dump(getattr(self, key)) for key, spec in KEYS.items()}

    def stored(self) -> dict[str, str]:
        """Each key's value as the catalog keeps it (canonical JSON)."""
        return {key: _canonical(value) for key, value in self.as_json().items()}

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy a config describes: a sandbox's, or a new production catalog's first."""
        holds = {name for r in settings.regions.values() for name in r.backup.legal_holds}
        return cls(
            four_eyes=frozenset(settings.security.four_eyes),
            default_retain_days=settings.tenants.default_retain_days,
            legal_holds=frozenset(holds),
            idle_minutes=settings.security.idle_lock_minutes,
            session_hours=settings.security.session_max_hours,
        )

    @classmethod
    def from_stored(cls, values: Mapping[str, str], fallback: Policy) -> Policy:
        """The policy a catalog holds; keys it does not hold yet keep ``fallback``'s value.

        Raises: InvalidInput naming a stored value that is not valid (the catalog was edited).
        """
        policy = fallback
        for key, text in values.items():
            if key in KEYS:
                policy = replace(policy, **{key: KEYS[key].load(_json(key, text), key)})
        return policy

    def with_value(self, key: str, text: str) -> Policy:
        """This policy with ``key`` set from the operator's text (``policy set KEY VALUE``).

        Raises: InvalidInput naming the key and what it takes.
        """
        spec = KEYS.get(key)
        if spec is None:
            raise InvalidInput(f"unknown policy key {key[:40]!r}", hint=f"keys: {', '.join(KEYS)}")
        try:
            value: object = json.loads(text)
        except json.JSONDecodeError:
            value = text  # a bare word: a string
        return replace(self, **{key: spec.load(value, key)})


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json(key: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput(f"the catalog's policy {key} is not valid JSON") from None


@dataclass(frozen=True)
class _Key:
    """How one policy key is read, checked and written."""

    describe: str
    parse: Callable[[object, str], Any]
    dump: Callable[[Any], object]

    def load(self, value: object, key: str = "") -> Any:
        return self.parse(value, key)


def _whole(low: int, high: int) -> Callable[[object, str], int]:
    def parse(value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{key} takes a whole number from {low} to {high}")
        return value

    return parse


def _names(allowed: Callable[[str], bool], what: str) -> Callable[[object, str], frozenset[str]]:
    def parse(value: object, key: str) -> frozenset[str]:
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else None
        if items is None or not all(isinstance(i, str) and allowed(i) for i in items):
            raise InvalidInput(f"{key} takes a list of {what}")
        return frozenset(str(i) for i in items)

    return parse


def _approvers(value: object, key: str) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict) or not all(
        action in FOUR_EYES_CHOICES
        and isinstance(roles, list)
        and roles
        and all(r in ROLES for r in roles)
        for action, roles in value.items()
    ):
        raise InvalidInput(f"{key} takes an object of action -> list of roles")
    return {str(action): frozenset(roles) for action, roles in value.items()}


def _sorted(names: frozenset[str]) -> list[str]:
    return sorted(names)


KEYS: dict[str, _Key] = {
    "four_eyes": _Key(
        "actions that need a second operator's approval",
        _names(
            lambda a: a in FOUR_EYES_CHOICES, f"actions ({', '.join(sorted(FOUR_EYES_CHOICES))})"
        ),
        _sorted,
    ),
    "approvers": _Key(
        "per action, the roles that may approve it",
        _approvers,
        lambda m: {action: sorted(roles) for action, roles in sorted(m.items())},
    ),
    "approval_lifetime_hours": _Key(
        "hours a request stays approvable", _whole(1, 24 * 30), lambda v: v
    ),
    "default_retain_days": _Key(
        "days a cancelled tenant stays restorable", _whole(0, 3650), lambda v: v
    ),
    "legal_holds": _Key(
        "tenants whose backups are never pruned",
        _names(lambda n: bool(TENANT_NAME.fullmatch(n)), "tenant names"),
        _sorted,
    ),
    "idle_minutes": _Key(
        "idle minutes before the TUI session ends", _whole(0, 24 * 60), lambda v: v
    ),
    "session_hours": _Key("hours a TUI session lasts at most", _whole(1, 24 * 7), lambda v: v),
}
