"""The domain's plain values: time, tenant names and e-mail addresses, each with its rule."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from aptien_ops.errors import InvalidInput

TENANT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
#: An OS account (or group) name, as Debian's ``adduser`` allows them: operators are accounts.
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
#: Names a tenant may not take: they collide with PostgreSQL's own databases and roles.
RESERVED_TENANT_NAMES = frozenset(
    {"postgres", "template0", "template1", "public", "pg-catalog", "admin", "root"}
)


#: Where the console reads the time: ``OpsContext.clock``, injected by the composition root
#: (tests pass a fixed or manual clock; nothing else reads the time of day).
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The system clock in UTC: the default :data:`Clock`."""
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """UTC ISO-8601 with a ``Z``, as every output of the console shows time."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def validate_tenant_name(name: str) -> str:
    """Return ``name`` if it is a valid tenant name.

    Raises:
        InvalidInput: before any system is touched, with the rule spelled out.
    """
    if not isinstance(name, str):
        raise InvalidInput("a tenant name must be text")
    shown = name if len(name) <= 48 else name[:45] + "..."
    if not TENANT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid tenant name {shown!r}",
            hint="3-40 characters: lower-case a-z, digits and '-', starting with a letter, "
            "not ending with '-'",
        )
    if name in RESERVED_TENANT_NAMES:
        raise InvalidInput(f"tenant name {name!r} is reserved", hint="choose another name")
    return name


Choice = TypeVar("Choice", bound=StrEnum)


def parse_choice(
    kind: type[Choice], value: str, what: str, *, hint: str | None = None, shown: int = 30
) -> Choice:
    """The member of ``kind`` that ``value`` names (a role, a state, as typed).

    Raises:
        InvalidInput: ``unknown <what> '<value>'`` (at most ``shown`` characters of it), with
        ``hint``, by default the members: ``one of active, suspended, …``.
    """
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(
            f"unknown {what} {value[:shown]!r}", hint=hint or f"one of {', '.join(kind)}"
        ) from None


def yearly_id(value: str, pattern: re.Pattern[str], what: str, example: str) -> str:
    """``value`` if ``pattern`` (``INC-2026-0001``, ``NTC-2026-0001``) matches all of it.

    Raises: InvalidInput ``invalid <what> id '…'`` (quoting at most 30 characters), with the
    ``example``."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value[:30]) if isinstance(value, str) else ""
        raise InvalidInput(f"invalid {what} id {shown}".strip(), hint=f"like {example}")
    return value


#: RFC 5321's limits: 64 characters before the ``@``, 254 in all.
EMAIL_LOCAL_MAX = 64
EMAIL_MAX = 254
#: Unicode categories an address never contains: controls, invisible formatting (bidi
#: controls, zero-width characters), surrogates and every kind of space.
_NOT_IN_EMAIL = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def validate_email(text: str, *, what: str, hint: str | None = None) -> str:
    """The address in ``text`` without surrounding whitespace, if the console accepts it.

    The one e-mail rule of the console (a tenant's contact, a user to look for): one ``@``;
    1-64 characters before it; after it a domain of dot-separated, non-empty parts, at least
    two, the last of two or more characters; 254 characters in all; no space, control or
    invisible character anywhere. Case is kept as typed and never judged (domains are
    case-insensitive); quotes, semicolons and the like are data.

    Raises:
        InvalidInput: ``<what> must be an e-mail address: <why>`` (``what`` names the field,
        e.g. ``the contact e-mail``), one line, quoting at most 60 characters of ``text``
        (escaped), with ``hint`` if given.
    """
    why = _email_fault(text)
    if why is not None:
        raise InvalidInput(f"{what} must be an e-mail address: {why}", hint=hint)
    return text.strip()


#: A plain address: printable ASCII without a space, one ``@``, 1-64 characters before it,
#: two or more non-empty dot-separated parts after it, the last of two or more characters.
_PLAIN_EMAIL = re.compile(r"[!-?A-~]{1,64}@(?:[!-\-/-?A-~]+\.)+[!-\-/-?A-~]{2,}")


def plain_email(text: str) -> bool:
    """True when ``text`` (already stripped) is a plain address the e-mail rule accepts as
    it is; False says nothing (:func:`validate_email` decides, and says why). One regular
    expression instead of the rule's steps: for the many addresses of an import."""
    return len(text) <= EMAIL_MAX and _PLAIN_EMAIL.fullmatch(text) is not None


def _plain_ascii(text: str) -> bool:
    """True when ``text`` is printable ASCII without a space: then it holds no character of
    ``_NOT_IN_EMAIL`` (the only ones in ASCII are the controls and the space), and the
    character-by-character look-up can be skipped."""
    return text.isascii() and text.isprintable() and " " not in text


def _email_fault(text: object) -> str | None:
    """Why ``text`` (stripped) is not an e-mail address, or None."""
    if not isinstance(text, str):
        return "it is not text"
    address = text.strip()
    if not address:
        return "it is empty"
    shown = repr(address if len(address) <= 60 else address[:57] + "...")
    if len(address) > EMAIL_MAX:
        return f"{shown} is longer than {EMAIL_MAX} characters"
    if not _plain_ascii(address) and any(unicodedata.category(c) in _NOT_IN_EMAIL for c in address):
        return f"{shown} contains a space, control or invisible character"
    local, at, domain = address.partition("@")
    if not at:
        return f"{shown} has no @"
    if "@" in domain:
        return f"{shown} has more than one @"
    if not local:
        return f"{shown} has nothing before the @"
    if len(local) > EMAIL_LOCAL_MAX:
        return f"{shown} has more than {EMAIL_LOCAL_MAX} characters before the @"
    parts = domain.split(".")
    if len(parts) < 2:
        return f"{shown} has no dot in its domain"
    if not all(parts):
        return f"{shown} has an empty part in its domain (a dot at an end, or two dots)"
    if len(parts[-1]) < 2:
        return f"{shown} ends in a one-character domain part"
    return None
