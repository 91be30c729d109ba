"""The public website's breach notices: per region a static HTML page and a JSON feed.

Files go into ``[notifications.website] dir`` as ``<region>/breach-notices.html`` and
``<region>/breach-notices.json``, each written to a temporary file in the same directory,
flushed to disk and renamed over the old one, so the web server never serves half a file.
The page is rendered by Jinja2 with autoescaping: a title full of markup shows as text. The
feed keeps every incident published in the region (newest first), one entry per incident.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from aptien_ops.domain.notices import WebsiteNotice
from aptien_ops.errors import IntegrityFailure, Unavailable
from aptien_ops.ports.notifications import WebsitePublisher

PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Data breach notices ({{ region }})</title>
</head>
<body>
<h1>Data breach notices</h1>
{% for e in entries %}
<article id="{{ e.incident_id }}">
<h2>{{ e.title }}</h2>
<p><small>Published {{ e.published_at }} · reference {{ e.incident_id }}</small></p>
<h3>What happened</h3>
<p>{{ e.nature }}</p>
<h3>Likely consequences</h3>
<p>{{ e.consequences }}</p>
<h3>What we have done and what we recommend</h3>
<p>{{ e.measures }}</p>
<p>Data protection officer: {{ e.dpo_contact }}</p>
</article>
{% endfor %}
</body>
</html>
"""

FEED_NAME = "breach-notices.json"
PAGE_NAME = "breach-notices.html"


@cache
def _page() -> Template:
    env = Environment(autoescape=True, undefined=StrictUndefined)
    return env.from_string(PAGE)


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
            page = _page().render(region=notice.region, entries=entries)
            _write_atomically(directory / FEED_NAME, json.dumps(feed, indent=2) + "\n")
            _write_atomically(directory / PAGE_NAME, page)
        except OSError as exc:
            raise Unavailable(
                f"cannot write the website notice in {directory}: {exc.strerror}"
            ) from None
        return (directory / PAGE_NAME, directory / FEED_NAME)

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
