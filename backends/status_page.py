"""A region's status page of operational notices, as static files in the website directory:
``DIR/<region>/status.html``, ``status.json`` and ``status.atom``.

Rendered by Jinja2 with autoescaping (HTML and the Atom feed's XML alike: a title of
``<script>`` shows as text), every value without control or invisible formatting characters
(which XML does not allow); the JSON by ``json.dumps`` (ASCII, every other character
escaped). Each file is written to a temporary file beside it, flushed and renamed over the old
one (``notify_website``'s writer). ``website/status.html`` and ``website/status.atom`` in
``[notifications] templates_dir`` replace the built-in templates (escaped all the same).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
)

from aptien_ops.backends.notify_website import _write_atomically
from aptien_ops.domain.op_notices import StatusEntry
from aptien_ops.errors import InvalidInput, Unavailable
from aptien_ops.ports import StatusPage
from aptien_ops.terminal_text import stripped

HTML = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Aptien status: {{ region }}</title>
<link rel="alternate" type="application/atom+xml" href="status.atom"></head>
<body>
<h1>Aptien status: {{ region }}</h1>
<p><small>Updated {{ now }}</small></p>
{% for title, group in groups %}
<h2>{{ title }}</h2>
{% for e in group %}
<article id="{{ e.id }}">
<h3>{{ e.title }}</h3>
<p><small>{{ e.kind }} · {{ e.status }} · {{ e.starts_at }} to
{{ e.ends_at or "until further notice" }}</small></p>
<pre>{{ e.body }}</pre>
{% for u in e.updates if u.text %}
<p><small>{{ u.at }} · {{ u.status }}</small><br>{{ u.text }}</p>
{% endfor %}
</article>
{% else %}
<p>None.</p>
{% endfor %}
{% endfor %}
</body>
</html>
"""

ATOM = """\
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Aptien status: {{ region }}</title>
<id>urn:aptien:status:{{ region }}</id>
<updated>{{ now }}</updated>
{% for e in entries %}
<entry>
<title>{{ e.title }}</title>
<id>urn:aptien:notice:{{ e.id }}</id>
<updated>{{ e.updated_at }}</updated>
<summary>{{ e.kind }} · {{ e.status }} · {{ e.starts_at }} to {{ e.ends_at or "open" }}</summary>
<content type="text">{{ e.body }}</content>
</entry>
{% endfor %}
</feed>
"""

NAMES = ("status.html", "status.json", "status.atom")


#: The templates' names: a file of that name in ``[notifications] templates_dir`` replaces it.
TEMPLATES = {"website/status.html": HTML, "website/status.atom": ATOM}


@cache
def _templates(overrides: Path | None) -> tuple[Template, Template]:
    """The HTML page's and the Atom feed's templates: the override directory's, else these;
    autoescaped whatever the file is called."""
    loaders: list[BaseLoader] = [FileSystemLoader(overrides)] if overrides is not None else []
    env = Environment(
        loader=ChoiceLoader([*loaders, DictLoader(TEMPLATES)]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        finalize=stripped,
    )
    try:
        return env.get_template("website/status.html"), env.get_template("website/status.atom")
    except (TemplateError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"status page template: {str(exc)[:200]}",
            hint="fix the file in [notifications] templates_dir",
        ) from None


class StatusFiles:
    """Implements :class:`aptien_ops.ports.StatusPage` over a directory; ``templates``: the
    directory whose ``website/status.html`` and ``website/status.atom`` replace the built-in
    templates."""

    def __init__(self, directory: Path, templates: Path | None = None) -> None:
        self.directory = directory
        self.templates = templates

    def publish(self, region: str, entries: Sequence[StatusEntry], now: datetime) -> Sequence[Path]:
        shown = [e.as_json() for e in entries]
        stamp = now.isoformat().replace("+00:00", "Z")
        current = [e for e in shown if e["status"] in ("scheduled", "in-progress")]
        past = [e for e in shown if e["status"] not in ("scheduled", "in-progress")]
        groups = [("Current and scheduled", current), ("Past 90 days", past)]
        html, atom = _templates(self.templates)
        feed = {"region": region, "updated": stamp, "notices": shown}
        try:
            texts = (
                html.render(region=region, now=stamp, groups=groups),
                json.dumps(feed, indent=2, ensure_ascii=True) + "\n",
                atom.render(region=region, now=stamp, entries=shown),
            )
        except TemplateError as exc:
            raise InvalidInput(
                f"status page template: {str(exc)[:200]}",
                hint="fix the file in [notifications] templates_dir",
            ) from None
        directory = self.directory / region
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, text in zip(NAMES, texts, strict=True):
                _write_atomically(directory / name, text)
        except OSError as exc:
            raise Unavailable(
                f"cannot write the status page in {directory}: {exc.strerror}"
            ) from None
        return tuple(directory / name for name in NAMES)


_: type[StatusPage] = StatusFiles
