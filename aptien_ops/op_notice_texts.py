"""The texts of an operational notice: templates per channel, kind and language (English and
German built in), overridable from the directory ``[notifications] templates_dir`` names.

A template is named ``CHANNEL/KIND.LANGUAGE.PART.txt``: the channel ``email`` or ``inapp``,
the kind ``maintenance``, ``outage``, ``change`` or ``notice`` (any kind), the language ``en``
or ``de``, the part ``subject`` or ``body``. For a message the first that exists of these is
used: the channel's (then e-mail's, which in-app falls back to), the language's (then
English), the kind's (then ``notice``); a file in the directory wins over the built-in one
of the same name. The built-in kinds' bodies extend ``email/notice.LANG.body.txt`` (Jinja2's
``{% extends %}``) with their own advice. A template sees ``c`` (the notice: ``notice_id``,
``title``, ``body``, ``starts_at``, ``ends_at``, ``update_text``), ``kind`` and ``status``
(in the language's words).

E-mail and in-app messages are plain text: rendered without HTML escaping (an ``&`` stays an
``&``), but every value first loses its control and invisible formatting characters (C0, C1,
bidi overrides, zero-width, line separators; newlines stay), and a subject is one line. Files
ending ``.html``, ``.xml`` or ``.atom`` (the status page's, :mod:`backends.status_page`) are
autoescaped. Undefined names are errors: a broken override is refused before anything is
recorded (exit 2, naming the file).

A delivery renders its texts once, when it is recorded, into its content (``rendered``):
what the campaign's digest binds and what a rerun sends, whatever the directory holds by then.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from aptien_ops.domain.notices import LANGUAGES
from aptien_ops.domain.op_notices import OpNoticeContent
from aptien_ops.errors import InvalidInput
from aptien_ops.terminal_text import stripped

if TYPE_CHECKING:
    from jinja2 import Environment

#: The channels a notice's messages are rendered for.
MESSAGE_CHANNELS = ("email", "inapp")
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

_BODY = """\
{greeting}

{{% block intro %}}{{{{ kind }}}} {on} (reference {{{{ c.notice_id }}}}):{{% endblock %}}

{{{{ c.title }}}}
{when}: {{{{ c.starts_at }}}} {to} {{{{ c.ends_at or "{open}" }}}} (UTC)
Status: {{{{ status }}}}
{{% if c.update_text %}}
{update}:
{{{{ c.update_text }}}}
{{% endif %}}

{{{{ c.body }}}}
{{% block advice %}}{{% endblock %}}
{signature}
"""
_INAPP = """\
{{{{ kind }}}} ({{{{ c.notice_id }}}}): {{{{ c.title }}}}
{{{{ c.starts_at }}}} {to} {{{{ c.ends_at or "{open}" }}}} (UTC) · {{{{ status }}}}
{{% if c.update_text %}}
{{{{ c.update_text }}}}
{{% endif %}}
{{{{ c.body }}}}
"""
_WORDS = {
    "en": {
        "greeting": "Hello,",
        "on": "on the Aptien platform",
        "when": "When",
        "to": "to",
        "open": "until further notice",
        "update": "Update",
        "signature": "Aptien operations",
    },
    "de": {
        "greeting": "Guten Tag,",
        "on": "auf der Aptien-Plattform",
        "when": "Wann",
        "to": "bis",
        "open": "auf Weiteres",
        "update": "Aktualisierung",
        "signature": "Aptien Betrieb",
    },
}
#: language -> kind -> the built-in body's advice.
ADVICE: dict[str, dict[str, str]] = {
    "en": {
        "maintenance": "During the window the service may be slow, read-only or unavailable;"
        " you need not do anything.",
        "outage": "We are working on it and will write again once it is resolved.",
        "change": "Please check before then whether the change concerns your own processes.",
    },
    "de": {
        "maintenance": "Während des Zeitfensters kann der Dienst langsam, schreibgeschützt oder"
        " nicht erreichbar sein; Sie müssen nichts tun.",
        "outage": "Wir arbeiten daran und schreiben Ihnen wieder, sobald sie behoben ist.",
        "change": "Bitte prüfen Sie vorher, ob die Änderung Ihre eigenen Abläufe betrifft.",
    },
}


def _builtin() -> dict[str, str]:
    sources: dict[str, str] = {}
    for lang, words in _WORDS.items():
        update = f"{words['update']}: "
        sources[f"email/notice.{lang}.subject.txt"] = (
            f"{{% if c.update_text %}}{update}{{% endif %}}{{{{ kind }}}}: {{{{ c.title }}}}"
        )
        sources[f"email/notice.{lang}.body.txt"] = _BODY.format(**words)
        sources[f"inapp/notice.{lang}.body.txt"] = _INAPP.format(**words)
        for kind, advice in ADVICE[lang].items():
            sources[f"email/{kind}.{lang}.body.txt"] = (
                f'{{% extends "email/notice.{lang}.body.txt" %}}'
                f"{{% block advice %}}\n{advice}\n{{% endblock %}}"
            )
    return sources


#: The built-in templates, by name.
BUILTIN = _builtin()


def template_names(channel: str, kind: str, language: str, part: str) -> list[str]:
    """The names tried for one part of a message, first found wins."""
    channels = dict.fromkeys((channel, "email"))
    languages = dict.fromkeys((language, "en"))
    return [
        f"{ch}/{k}.{lang}.{part}.txt"
        for ch in channels
        for lang in languages
        for k in (kind, "notice")
    ]


class _Safe:
    """The content's fields with control and formatting characters removed (attribute access
    for templates)."""

    def __init__(self, c: OpNoticeContent) -> None:
        self.notice_id, self.title = stripped(c.notice_id), stripped(c.title)
        self.starts_at, self.ends_at = stripped(c.starts_at), stripped(c.ends_at)
        self.body, self.update_text = stripped(c.body), stripped(c.update_text)


@cache
def environment(directory: Path | None) -> Environment:
    """Jinja2 over the directory's files, then the built-in ones; autoescaped for HTML and
    XML files, strict about undefined names."""
    from jinja2 import (
        ChoiceLoader,
        DictLoader,
        Environment,
        FileSystemLoader,
        StrictUndefined,
        select_autoescape,
    )

    loaders = [FileSystemLoader(directory)] if directory is not None else []
    env = Environment(
        loader=ChoiceLoader([*loaders, DictLoader(BUILTIN)]),
        autoescape=select_autoescape(("html", "xml", "atom"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.finalize = stripped
    return env


class NoticeTemplates:
    """Renders a notice's messages from the built-in templates and the override directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def message(self, content: OpNoticeContent, channel: str, language: str) -> tuple[str, str]:
        """(subject, body) on ``channel`` in ``language``. Raises: InvalidInput (a template
        that does not parse or names what a notice has not, or a directory not readable)."""
        from jinja2 import TemplateError

        env = environment(self.directory)
        values = {
            "c": _Safe(content),
            "kind": KIND_WORDS[language][content.notice_kind],
            "status": STATUS_WORDS[language][content.status],
        }
        kind = content.notice_kind
        parts = []
        for part in ("subject", "body"):
            names = template_names(channel, kind, language, part)
            try:
                parts.append(str(env.select_template(names).render(values)))
            except (TemplateError, OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(
                    f"notice template {self._where(exc, names[0])}: {str(exc)[:200]}",
                    hint="fix the file in [notifications] templates_dir: nothing was recorded",
                ) from None
        return " ".join(parts[0].split()), parts[1]

    def _where(self, exc: BaseException, tried: str) -> str:
        """The override file (and line) the error is in: Jinja2 reports a syntax error's,
        and puts the template's own file and line into the traceback of an error while
        rendering; else the first name tried."""
        where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        base = str(self.directory) + "/" if self.directory is not None else None
        tb = exc.__traceback__
        while tb is not None:
            file = tb.tb_frame.f_code.co_filename
            if base is not None and file.startswith(base):
                where, line = file, tb.tb_lineno
            tb = tb.tb_next
        if where and base is not None and where.startswith(base):
            where = where[len(base) :]
        return f"{where or tried}{f', line {line}' if line else ''}"

    def rendered(self, content: OpNoticeContent) -> str:
        """Every channel's and language's (subject, body), as the content's ``rendered``."""
        texts = {
            f"{channel}.{language}": list(self.message(content, channel, language))
            for channel in MESSAGE_CHANNELS
            for language in LANGUAGES
        }
        return json.dumps(texts, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=256)
def render_op_notice(
    content: OpNoticeContent, language: str, channel: str = "email"
) -> tuple[str, str]:
    """(subject, body) of the notice in ``language`` (English if it has no texts) on
    ``channel``: as rendered when its delivery was recorded, else by the built-in templates."""
    language = language if language in LANGUAGES else "en"
    if content.rendered:
        texts = json.loads(content.rendered)
        for key in (f"{channel}.{language}", f"email.{language}", "email.en"):
            if key in texts:
                subject, body = texts[key]
                return str(subject), str(body)
    return NoticeTemplates().message(content, channel, language)


def op_texts_digest(content: OpNoticeContent) -> str:
    """sha256 of the content with its rendered texts (what the campaign records)."""
    return hashlib.sha256(content.digest().encode()).hexdigest()
