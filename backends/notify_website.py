"""The public website's breach notices: per region a static HTML page and a JSON feed.

Files go into ``[notifications.website] dir`` as ``<region>/breach-notices.html`` (English,
every notice), ``<region>/breach-notices.<lang>.html`` for each other language the affected
people of a notice read (German: ``.de.html``, that language's notices), linked to each other,
and ``<region>/breach-notices.json``, each written to a temporary file in the same directory,
flushed to disk and renamed over the old one, so the web server never serves half a file.
The page is rendered by Jinja2 with autoescaping: a title full of markup shows as text. The
feed keeps every incident published in the region (newest first), one entry per incident.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from aptien_ops.domain.notices import WebsiteNotice
from aptien_ops.errors import IntegrityFailure, Unavailable
from aptien_ops.notice_texts import LANGUAGE_NAMES, WEBSITE
from aptien_ops.ports.notifications import WebsitePublisher
from aptien_ops.terminal_text import stripped

PAGE = """\
<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ t.title }} ({{ region }})</title>
{% for other in pages if other.lang != lang %}
<link rel="alternate" hreflang="{{ other.lang }}" href="{{ other.name }}">
{% endfor %}
</head>
<body>
<h1>{{ t.title }}</h1>
{% if pages | length > 1 %}
<nav><p>{{ t.other_languages }}:
{% for other in pages if other.lang != lang %}
<a href="{{ other.name }}" hreflang="{{ other.lang }}" lang="{{ other.lang }}">{{ other.label }}</a>
{% endfor %}
</p></nav>
{% endif %}
{% for e in entries %}
<article id="{{ e.incident_id }}">
<h2>{{ e.title }}</h2>
<p><small>{{ t.published }} {{ e.published_at }} · {{ t.reference }} {{ e.incident_id }}</small></p>
<h3>{{ t.nature }}</h3>
<p>{{ e.nature }}</p>
<h3>{{ t.consequences }}</h3>
<p>{{ e.consequences }}</p>
<h3>{{ t.measures }}</h3>
<p>{{ e.measures }}</p>
<p>{{ t.dpo }}: {{ e.dpo_contact }}</p>
</article>
{% endfor %}
</body>
</html>
"""

FEED_NAME = "breach-notices.json"
PAGE_NAME = "breach-notices.html"


def page_name(language: str) -> str:
    """English (every notice) at the plain name; each other language beside it."""
    return PAGE_NAME if language == "en" else f"breach-notices.{language}.html"


@cache
def _page() -> Template:
    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, finalize=stripped
    )
    return env.from_string(PAGE)


def _pages(region: str, entries: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(file name, HTML) of each language page: English lists every notice, another
    language the notices whose affected people read it."""
    spoken = {lang for e in entries for lang in e.get("languages", ()) if lang in WEBSITE}
    languages = ["en", *sorted(spoken - {"en"})]
    links = [
        {"lang": lang, "name": page_name(lang), "label": LANGUAGE_NAMES[lang]} for lang in languages
    ]
    for lang in languages:
        shown = [e for e in entries if lang == "en" or lang in e.get("languages", ())]
        html = _page().render(lang=lang, t=WEBSITE[lang], region=region, entries=shown, pages=links)
        yield page_name(lang), html


class SiteFiles:
    """Writes notices under ``root`` (created on first use)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def publish(self, notice: WebsiteNotice) -> Sequence[Path]:
        """Raises: Unavailable, IntegrityFailure (a feed that is not ours)."""
        c = notice.content
        entry: dict[str, Any] = {
            "incident_id": c.incident_id,
            "title": c.title,
            "nature": c.nature,
            "consequences": c.consequences,
            "measures": c.measures,
            "dpo_contact": c.dpo_contact,
            "published_at": c.published_at,
            "languages": list(notice.languages),
        }
        directory = self._root / notice.region
        try:
            directory.mkdir(parents=True, exist_ok=True)
            entries = [e for e in self._entries(directory) if e["incident_id"] != c.incident_id]
            entries.insert(0, entry)
            entries.sort(key=lambda e: str(e.get("published_at", "")), reverse=True)
            feed = {"region": notice.region, "notices": entries}
            pages = list(_pages(notice.region, entries))
            _write_atomically(directory / FEED_NAME, json.dumps(feed, indent=2) + "\n")
            for name, html in pages:
                _write_atomically(directory / name, html)
        except OSError as exc:
            raise Unavailable(
                f"cannot write the website notice in {directory}: {exc.strerror}"
            ) from None
        return (*(directory / name for name, _ in pages), directory / FEED_NAME)

    @staticmethod
    def _entries(directory: Path) -> list[dict[str, Any]]:
        path = directory / FEED_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (ValueError, UnicodeDecodeError):
            raise IntegrityFailure(f"{path} is not a feed aptien-ops wrote") from None
        notices = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(notices, list) or not all(isinstance(e, dict) for e in notices):
            raise IntegrityFailure(f"{path} is not a feed aptien-ops wrote")
        return notices


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


_: type[WebsitePublisher] = SiteFiles
