"""What a notice's reader sees, for the notice tests: a received e-mail as a mail reader shows
it, and the in-app messages in a tenant's database."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Protocol

from aptien_ops.composition import Console

#: The hostile text the notice tests plant in an untrusted field: a C1 CSI, a right-to-left
#: override, a zero-width space and a line break (in a subject, a second line).
HIDDEN = "evil\x9b2J\u202eevil\u200bname\nsecond"
#: What a reader must see of :data:`HIDDEN` (a subject joins its lines with a space).
SEEN = "evil2Jevilname"


class Opens(Protocol):
    """A test world that opens a console as an operator."""

    def console(self, operator: str = ...) -> Console: ...


def read_mail(raw: bytes) -> tuple[str, str]:
    """A message's subject and text as a mail reader shows them (headers and body decoded)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(message["Subject"]), part.get_content()


def inapp_messages(w: Opens, tenant: str = "acme-gmbh") -> list[tuple[int, str, str, str]]:
    """(user id, kind, subject, body) of every in-app message in ``tenant``'s database."""
    admin = w.console("ada")
    record = admin.tenants.show(tenant)
    with admin.ctx.store(record.cluster or "").connect(tenant) as conn:
        rows = conn.execute("SELECT user_id, kind, subject, body FROM user_messages").fetchall()
    admin.close()
    return [tuple(r) for r in rows]
