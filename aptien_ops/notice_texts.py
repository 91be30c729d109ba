"""The texts of a breach notice, per language (English and German; any other gets English):
the e-mail's and in-app message's subject and body, and the website page's own words.

Rendered with Jinja2 from the incident's :class:`NoticeContent`. A notice says what happened
and what to do; besides the tenant's own name it holds nothing of any tenant's data, and the
same text goes to every recipient of a language. Plain text (e-mail, in-app) is rendered
without HTML escaping, but every value loses its control and invisible formatting characters
(C0, C1, bidi controls, zero-width; newlines stay: :func:`aptien_ops.terminal_text.stripped`),
and a subject is one line; the website's HTML is rendered by its adapter with autoescaping,
its values stripped the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from aptien_ops.domain.billing_notices import BillingNoticeContent
from aptien_ops.domain.notices import LANGUAGES, NoticeContent, Recipient
from aptien_ops.domain.op_notices import OpNoticeContent
from aptien_ops.terminal_text import stripped

if TYPE_CHECKING:
    from jinja2 import Environment, Template

SUBJECT: dict[str, str] = {
    "en": "Important: a personal data breach concerning your {{ tenant }} account",
    "de": "Wichtig: Verletzung des Schutzes personenbezogener Daten ({{ tenant }})",
}

BODY: dict[str, str] = {
    "en": """\
Hello,

we are writing to inform you of a personal data breach that may concern your account
with {{ tenant }} on the Aptien platform (reference {{ c.incident_id }}).

What happened:
{{ c.nature }}

Likely consequences:
{{ c.consequences }}

What we have done and what we recommend:
{{ c.measures }}

If you have questions, contact our data protection officer: {{ c.dpo_contact }}

Aptien
""",
    "de": """\
Guten Tag,

wir informieren Sie über eine Verletzung des Schutzes personenbezogener Daten, die Ihr Konto
bei {{ tenant }} auf der Aptien-Plattform betreffen kann (Aktenzeichen {{ c.incident_id }}).

Was geschehen ist:
{{ c.nature }}

Wahrscheinliche Folgen:
{{ c.consequences }}

Was wir getan haben und was wir empfehlen:
{{ c.measures }}

Bei Fragen wenden Sie sich an unseren Datenschutzbeauftragten: {{ c.dpo_contact }}

Aptien
""",
}


#: The website page's own words, per language (the incident's texts are as the record has them).
WEBSITE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Data breach notices",
        "published": "Published",
        "reference": "reference",
        "nature": "What happened",
        "consequences": "Likely consequences",
        "measures": "What we have done and what we recommend",
        "dpo": "Data protection officer",
        "other_languages": "Other languages",
    },
    "de": {
        "title": "Hinweise zu Verletzungen des Schutzes personenbezogener Daten",
        "published": "Veröffentlicht",
        "reference": "Aktenzeichen",
        "nature": "Was geschehen ist",
        "consequences": "Wahrscheinliche Folgen",
        "measures": "Was wir getan haben und was wir empfehlen",
        "dpo": "Datenschutzbeauftragte",
        "other_languages": "Andere Sprachen",
    },
}
#: Each language's name in itself (the pages link to each other by it).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "de": "Deutsch"}


def notice_languages(recipients: Iterable[Recipient]) -> tuple[str, ...]:
    """The languages the recipients read notices in, English always among them, sorted."""
    return tuple(sorted({r.notice_language() for r in recipients} | {"en"}))


@cache
def _environment() -> Environment:
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    env.finalize = stripped
    return env


@cache
def _template(kind: str, language: str) -> Template:
    source = (SUBJECT if kind == "subject" else BODY)[language]
    return _environment().from_string(source)


class _Safe:
    """The content's fields with control and formatting characters removed (attribute access
    for templates)."""

    def __init__(self, content: NoticeContent) -> None:
        self.incident_id = stripped(content.incident_id)
        self.title = stripped(content.title)
        self.nature = stripped(content.nature)
        self.consequences = stripped(content.consequences)
        self.measures = stripped(content.measures)
        self.dpo_contact = stripped(content.dpo_contact)


def render(content: NoticeContent, recipient: Recipient, channel: str = "email") -> tuple[str, str]:
    """(subject, body) for ``recipient`` in their language: the same for every recipient of
    a tenant and language, so a campaign renders each pair once. A billing notice has texts
    of its own (:mod:`aptien_ops.billing_notice_texts`), an operational notice too
    (:mod:`aptien_ops.op_notice_texts`), per ``channel`` (``email``, ``inapp``)."""
    if isinstance(content, BillingNoticeContent):
        from aptien_ops.billing_notice_texts import render_billing

        return render_billing(content, recipient.notice_language())
    if isinstance(content, OpNoticeContent):
        from aptien_ops.op_notice_texts import render_op_notice

        return render_op_notice(content, recipient.notice_language(), channel)
    return _rendered(content, recipient.tenant, recipient.notice_language())


@lru_cache(maxsize=4096)
def _rendered(content: NoticeContent, tenant: str, language: str) -> tuple[str, str]:
    values = {"c": _Safe(content), "tenant": tenant}
    subject = str(_template("subject", language).render(values))
    body = str(_template("body", language).render(values))
    return " ".join(subject.split()), body


def texts_digest(content: NoticeContent) -> str:
    """sha256 of the content and of every template: what an approval binds the texts to."""
    h = hashlib.sha256(content.digest().encode())
    for language in LANGUAGES:
        h.update(SUBJECT[language].encode() + b"\0" + BODY[language].encode() + b"\0")
        for key, words in sorted(WEBSITE[language].items()):
            h.update(f"{key}={words}".encode() + b"\0")
    return h.hexdigest()
