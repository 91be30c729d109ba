"""The texts of an operational notice, per kind and language (English and German; any other
gets English): the e-mail's and in-app message's subject and body.

Rendered with Jinja2 from an :class:`OpNoticeContent` by the breach notices' environment
(:mod:`aptien_ops.notice_texts`: strict about undefined names, control characters removed
from every value, plain text). A notice holds its own title, body, window, status and update;
nothing of any tenant.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from aptien_ops.domain.notices import LANGUAGES
from aptien_ops.domain.op_notices import OpNoticeContent
from aptien_ops.notice_texts import _environment, _plain

if TYPE_CHECKING:
    from jinja2 import Template

#: Unicode categories a notice's text loses: controls, invisible formatting, surrogates, and
#: the line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: language -> kind -> what the subject calls it.
KIND_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "maintenance": "Planned maintenance",
        "outage": "Service disruption",
        "change": "Upcoming change",
    },
    "de": {
        "maintenance": "Geplante Wartung",
        "outage": "Störung",
        "change": "Bevorstehende Änderung",
    },
}
#: language -> status -> its words.
STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "draft": "draft",
        "scheduled": "scheduled",
        "in-progress": "in progress",
        "resolved": "resolved",
        "cancelled": "cancelled",
    },
    "de": {
        "draft": "Entwurf",
        "scheduled": "geplant",
        "in-progress": "läuft",
        "resolved": "behoben",
        "cancelled": "abgesagt",
    },
}

#: language -> (subject, body).
TEXTS: dict[str, tuple[str, str]] = {
    "en": (
        "{% if c.update_text %}Update: {% endif %}{{ kind }}: {{ c.title }}",
        """\
Hello,

{{ kind }} on the Aptien platform (reference {{ c.notice_id }}):

{{ c.title }}
When: {{ c.starts_at }} to {{ c.ends_at or "until further notice" }} (UTC)
Status: {{ status }}
{% if c.update_text %}
Update:
{{ c.update_text }}
{% endif %}

{{ c.body }}

Aptien operations
""",
    ),
    "de": (
        "{% if c.update_text %}Aktualisierung: {% endif %}{{ kind }}: {{ c.title }}",
        """\
Guten Tag,

{{ kind }} auf der Aptien-Plattform (Referenz {{ c.notice_id }}):

{{ c.title }}
Wann: {{ c.starts_at }} bis {{ c.ends_at or "auf Weiteres" }} (UTC)
Status: {{ status }}
{% if c.update_text %}
Aktualisierung:
{{ c.update_text }}
{% endif %}

{{ c.body }}

Aptien Betrieb
""",
    ),
}


@cache
def _template(language: str, part: int) -> Template:
    return _environment().from_string(TEXTS[language][part])


def _clean(value: str) -> str:
    """:func:`notice_texts._plain`, and no C1 control or invisible formatting character
    (bidi overrides, zero-width characters) either: a mail reader shows what was typed."""
    return "".join(
        ch for ch in _plain(value) if ch == "\n" or unicodedata.category(ch) not in _HIDDEN
    )


class _Safe:
    """The content's fields with control and formatting characters removed (attribute access
    for templates)."""

    def __init__(self, c: OpNoticeContent) -> None:
        self.notice_id, self.title = _clean(c.notice_id), _clean(c.title)
        self.starts_at, self.ends_at = _clean(c.starts_at), _clean(c.ends_at)
        self.body, self.update_text = _clean(c.body), _clean(c.update_text)


@lru_cache(maxsize=256)
def render_op_notice(content: OpNoticeContent, language: str) -> tuple[str, str]:
    """(subject, body) of the notice in ``language`` (English if it has no texts)."""
    language = language if language in LANGUAGES else "en"
    values = {
        "c": _Safe(content),
        "kind": KIND_WORDS[language][content.notice_kind],
        "status": STATUS_WORDS[language][content.status],
    }
    subject = str(_template(language, 0).render(values))
    body = str(_template(language, 1).render(values))
    return " ".join(subject.split()), body


def op_texts_digest(content: OpNoticeContent) -> str:
    """sha256 of the content and of the templates (what the campaign records)."""
    h = hashlib.sha256(content.digest().encode())
    for language in LANGUAGES:
        subject, body = TEXTS[language]
        h.update(subject.encode() + b"\0" + body.encode() + b"\0")
    return h.hexdigest()
