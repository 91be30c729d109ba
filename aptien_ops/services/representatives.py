"""A tenant's representative as a recipient of the notices' outbox: the billing notices and
the operational notices reach them the same way.

The representative is the tenant record's contact (``contact_email``); the in-app message goes
to the user of the tenant database with that address (case aside), in the tenant's language.
When the tenant database cannot be read, or has no such user, the notice is an e-mail only
(the note says why); with no valid e-mail on record either, there is no row at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from aptien_ops.domain import Tenant, validate_email
from aptien_ops.domain.notices import OutboxRow
from aptien_ops.errors import InvalidInput, OpsError

if TYPE_CHECKING:
    from aptien_ops.services.inspection import InspectionService

#: The representative's recipient key in a notice's outbox rows (one per channel).
REPRESENTATIVE = "representative"


def representative_rows(
    inspection: Callable[[], InspectionService],
    key: str,
    tenant: Tenant,
    channels: Collection[str] = ("inapp", "email"),
) -> tuple[list[OutboxRow], str | None, str]:
    """The representative's outbox rows of ``channels`` for the subject ``key`` (campaign id
    0), why a channel is left out, and the language of the notice."""
    note: list[str] = []
    user, language = None, None
    if "inapp" in channels:
        try:
            reader = inspection().reader_of(tenant)
            language = reader.language(tenant.name)
            wanted = (tenant.contact_email or "").casefold()
            users = reader.users(tenant.name) if wanted else []
            user = next((ref for ref, email in users if email.casefold() == wanted), None)
            if user is None:
                note.append("no user of the tenant has the representative's address: no in-app")
        except OpsError as exc:
            note.append(f"in-app not written: {exc.message}"[:200])
    rows = []
    region, recipient = tenant.region, f"{tenant.name}/{REPRESENTATIVE}"
    if user is not None:
        rows.append(
            OutboxRow(0, 0, key, "inapp", recipient, region, tenant.name, user, None, language)
        )
    if "email" in channels:
        try:
            email = validate_email(tenant.contact_email or "", what="the representative's e-mail")
            rows.append(
                OutboxRow(0, 0, key, "email", recipient, region, tenant.name, REPRESENTATIVE,
                          email, language)
            )  # fmt: skip
        except InvalidInput:
            note.append("no valid representative e-mail on record: no e-mail")
    return rows, "; ".join(note) or None, language or "en"
