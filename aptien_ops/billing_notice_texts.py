"""The texts of a billing notice, per kind and language (English and German; any other gets
English): the e-mail's and in-app message's subject and body.

Rendered with Jinja2 from a :class:`BillingNoticeContent`, by the breach notices' environment
(:mod:`aptien_ops.notice_texts`: strict about undefined names, control and invisible
formatting characters removed from every value, plain text). A notice holds the tenant's
name and company, the licence's end and the latest invoice's number, amount and due date;
never a card or anything else of Stripe's.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from aptien_ops.domain.billing_notices import BillingNoticeContent
from aptien_ops.domain.notices import LANGUAGES
from aptien_ops.notice_texts import _environment
from aptien_ops.terminal_text import stripped

if TYPE_CHECKING:
    from jinja2 import Template

_INVOICE_EN = """\
{% if c.invoice_number %}
Invoice: {{ c.invoice_number }}{% if c.amount %}, {{ c.amount }}{% endif %}\
{% if c.invoice_due %}, due {{ c.invoice_due }}{% endif %}
{% endif %}"""
_INVOICE_DE = """\
{% if c.invoice_number %}
Rechnung: {{ c.invoice_number }}{% if c.amount %}, {{ c.amount }}{% endif %}\
{% if c.invoice_due %}, fällig am {{ c.invoice_due }}{% endif %}
{% endif %}"""

#: kind -> language -> (subject, body).
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "expiry": {
        "en": (
            "Your Aptien licence for {{ c.company }} ends on {{ c.period_end }}",
            """\
Hello,

the Aptien licence of {{ c.company }} (tenant {{ c.tenant }}) ends on {{ c.period_end }}\
{% if c.days == 1 %}, within a day{% else %}, within {{ c.days }} days{% endif %},
and it is set not to renew.

To keep using the platform without interruption, renew the subscription before that date.
If you have renewed it already, please disregard this message.

Aptien
""",
        ),
        "de": (
            "Ihre Aptien-Lizenz für {{ c.company }} endet am {{ c.period_end }}",
            """\
Guten Tag,

die Aptien-Lizenz von {{ c.company }} (Mandant {{ c.tenant }}) endet am {{ c.period_end }}\
{% if c.days == 1 %}, also innerhalb eines Tages{% else %}, also innerhalb von {{ c.days }}\
 Tagen{% endif %},
und sie verlängert sich nicht von selbst.

Damit Sie die Plattform ohne Unterbrechung weiter nutzen können, verlängern Sie das
Abonnement bitte vor diesem Datum. Haben Sie es bereits verlängert, ist diese Nachricht
gegenstandslos.

Aptien
""",
        ),
    },
    "past_due": {
        "en": (
            "Payment overdue for your Aptien licence ({{ c.company }})",
            """\
Hello,

a payment for the Aptien licence of {{ c.company }} (tenant {{ c.tenant }}) is overdue.
"""
            + _INVOICE_EN
            + """
We are still trying to collect it. Please pay the invoice or update the payment method so
that the licence stays in good standing. If you have paid already, please disregard this
message.

Aptien
""",
        ),
        "de": (
            "Zahlung für Ihre Aptien-Lizenz überfällig ({{ c.company }})",
            """\
Guten Tag,

eine Zahlung für die Aptien-Lizenz von {{ c.company }} (Mandant {{ c.tenant }}) ist überfällig.
"""
            + _INVOICE_DE
            + """
Wir versuchen weiterhin, sie einzuziehen. Bitte begleichen Sie die Rechnung oder
aktualisieren Sie die Zahlungsart, damit die Lizenz gültig bleibt. Haben Sie bereits
bezahlt, ist diese Nachricht gegenstandslos.

Aptien
""",
        ),
    },
    "unpaid": {
        "en": (
            "Your Aptien licence is unpaid ({{ c.company }})",
            """\
Hello,

the Aptien licence of {{ c.company }} (tenant {{ c.tenant }}) is unpaid: every attempt to
collect the payment has failed.
"""
            + _INVOICE_EN
            + """
The licence is no longer in good standing, and access to the platform may be suspended.
Please pay the invoice as soon as possible. If you have paid already, please disregard this
message.

Aptien
""",
        ),
        "de": (
            "Ihre Aptien-Lizenz ist nicht bezahlt ({{ c.company }})",
            """\
Guten Tag,

die Aptien-Lizenz von {{ c.company }} (Mandant {{ c.tenant }}) ist nicht bezahlt: Alle
Versuche, die Zahlung einzuziehen, sind fehlgeschlagen.
"""
            + _INVOICE_DE
            + """
Die Lizenz ist nicht mehr gültig, und der Zugang zur Plattform kann gesperrt werden. Bitte
begleichen Sie die Rechnung so bald wie möglich. Haben Sie bereits bezahlt, ist diese
Nachricht gegenstandslos.

Aptien
""",
        ),
    },
}


@cache
def _template(kind: str, language: str, part: int) -> Template:
    return _environment().from_string(TEXTS[kind][language][part])


class _Safe:
    """The content's fields with control and formatting characters removed (attribute access
    for templates)."""

    def __init__(self, c: BillingNoticeContent) -> None:
        self.tenant, self.company = stripped(c.tenant), stripped(c.company)
        self.days, self.period_end = c.days, stripped(c.period_end)
        self.invoice_number, self.amount = stripped(c.invoice_number), stripped(c.amount)
        self.invoice_due = stripped(c.invoice_due)


@lru_cache(maxsize=1024)
def render_billing(content: BillingNoticeContent, language: str) -> tuple[str, str]:
    """(subject, body) of the notice in ``language`` (English if it has no texts)."""
    language = language if language in LANGUAGES else "en"
    values = {"c": _Safe(content)}
    subject = str(_template(content.kind, language, 0).render(values))
    body = str(_template(content.kind, language, 1).render(values))
    return " ".join(subject.split()), body


def billing_texts_digest(content: BillingNoticeContent) -> str:
    """sha256 of the content and of its kind's templates (what the campaign records)."""
    h = hashlib.sha256(content.digest().encode())
    for language in LANGUAGES:
        subject, body = TEXTS[content.kind][language]
        h.update(subject.encode() + b"\0" + body.encode() + b"\0")
    return h.hexdigest()
