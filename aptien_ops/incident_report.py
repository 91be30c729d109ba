"""The report to the supervisory authority (GDPR Art. 33(3) a–d), rendered with Jinja2.

Markdown and HTML come from the templates below, never from string concatenation: HTML with
autoescaping on, Markdown through a finaliser that escapes every value (so a hostile title is
text in either, never markup or a link). JSON is the same content serialised. The file is
written whole or not at all, never over an existing one (``write_new``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from aptien_ops.errors import Conflict, Unavailable
from aptien_ops.export_file import new_file

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")


def md_text(value: object) -> str:
    """A value as Markdown text: on one line, HTML's ``<``, ``>`` and ``&`` as entities and
    every Markdown mark escaped."""
    if value is None:
        return "-"
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


MARKDOWN = """\
# Personal data breach {{ r.id }}: {{ r.phase }} report

Notification to the supervisory authority under GDPR Article 33.
Controller: Aptien. Report {{ r.phase }}, generated {{ r.generated_at }} by {{ r.generated_by }}.

## The breach

- Title: {{ r.title }}
- Nature: {{ r.nature }}
- Happened: {{ r.happened_from }} to {{ r.happened_to }}
- Aptien became aware: {{ r.aware_at }}
- Deadline (72 hours): {{ r.deadline_at }}
{% if r.late %}- Reported after 72 hours; reasons for the delay: {{ r.delay_reasons }}
{% endif %}- Severity: {{ r.severity }}; risk to people: {{ r.risk_to_people }}
- Rationale: {{ r.risk_rationale }}

## Categories and approximate numbers (Art. 33(3)(a))

- Categories of data: {{ r.data_categories | join(", ") if r.data_categories else None }}
- Categories of people: {{ r.subject_categories | join(", ") if r.subject_categories else None }}
- People concerned, approximately: {{ r.approx_people }}
- Records concerned, approximately: {{ r.approx_records }}
{% if r.scope %}- Affected people identified: {{ r.scope.people }} in {{ r.scope.tenants }} client \
environments ({% for region, n in r.scope.per_region.items() %}{{ region }}: {{ n }}\
{% if not loop.last %}, {% endif %}{% endfor %})
{% endif %}
## Data protection officer (Art. 33(3)(b))

- Contact: {{ r.dpo_contact }}

## Likely consequences (Art. 33(3)(c))

- {{ r.consequences }}

## Measures (Art. 33(3)(d))

- Taken: {{ r.measures_taken }}
- Proposed: {{ r.measures_proposed }}
{% if r.exemptions %}
## Exemptions from informing the people (Art. 34(3))

{% for e in r.exemptions %}- {{ e.ground }}: {{ e.rationale }} (recorded {{ e.recorded_at }})
{% endfor %}{% endif %}
## Timeline (UTC)

{% for e in r.timeline %}- {{ e.at }} {{ e.kind }} ({{ e.operator }}): {{ e.text }}
{% endfor %}
## Earlier reports

{% for p in r.earlier %}- {{ p.phase }}, {{ p.recorded_at }}, reference {{ p.reference }}, \
SHA-256 {{ p.sha256 }}
{% else %}- None: this is the first report.
{% endfor %}"""

HTML = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Breach {{ r.id }}: {{ r.phase }} report</title></head>
<body>
<h1>Personal data breach {{ r.id }}: {{ r.phase }} report</h1>
<p>Notification to the supervisory authority under GDPR Article 33. Controller: Aptien.
Generated {{ r.generated_at }} by {{ r.generated_by }}.</p>
<h2>The breach</h2>
<dl>
<dt>Title</dt><dd>{{ r.title }}</dd>
<dt>Nature</dt><dd>{{ r.nature }}</dd>
<dt>Happened</dt><dd>{{ r.happened_from or "-" }} to {{ r.happened_to or "-" }}</dd>
<dt>Aptien became aware</dt><dd>{{ r.aware_at }}</dd>
<dt>Deadline (72 hours)</dt><dd>{{ r.deadline_at }}</dd>
{% if r.late %}<dt>Reasons for the delay</dt><dd>{{ r.delay_reasons }}</dd>
{% endif %}<dt>Severity</dt><dd>{{ r.severity }}</dd>
<dt>Risk to people</dt><dd>{{ r.risk_to_people }}: {{ r.risk_rationale or "-" }}</dd>
</dl>
<h2>Categories and approximate numbers (Art. 33(3)(a))</h2>
<ul>
<li>Categories of data: {{ r.data_categories | join(", ") or "-" }}</li>
<li>Categories of people: {{ r.subject_categories | join(", ") or "-" }}</li>
<li>People concerned, approximately:
{{ "-" if r.approx_people is none else r.approx_people }}</li>
<li>Records concerned, approximately:
{{ "-" if r.approx_records is none else r.approx_records }}</li>
{% if r.scope %}<li>Affected people identified: {{ r.scope.people }} in {{ r.scope.tenants }}
client environments ({% for region, n in r.scope.per_region.items() %}{{ region }}: {{ n }}
{%- if not loop.last %}, {% endif %}{% endfor %})</li>
{% endif %}</ul>
<h2>Data protection officer (Art. 33(3)(b))</h2>
<p>{{ r.dpo_contact or "-" }}</p>
<h2>Likely consequences (Art. 33(3)(c))</h2>
<p>{{ r.consequences or "-" }}</p>
<h2>Measures (Art. 33(3)(d))</h2>
<ul><li>Taken: {{ r.measures_taken or "-" }}</li>
<li>Proposed: {{ r.measures_proposed or "-" }}</li></ul>
{% if r.exemptions %}<h2>Exemptions from informing the people (Art. 34(3))</h2>
<ul>{% for e in r.exemptions %}<li>{{ e.ground }}: {{ e.rationale }}
(recorded {{ e.recorded_at }})</li>{% endfor %}</ul>
{% endif %}<h2>Timeline (UTC)</h2>
<table>
<tr><th>At</th><th>Kind</th><th>Operator</th><th>Entry</th></tr>
{% for e in r.timeline %}<tr><td>{{ e.at }}</td><td>{{ e.kind }}</td><td>{{ e.operator }}</td>\
<td>{{ e.text }}</td></tr>
{% endfor %}</table>
<h2>Earlier reports</h2>
<ul>{% for p in r.earlier %}<li>{{ p.phase }}, {{ p.recorded_at }}, reference
{{ p.reference or "-" }}, SHA-256 {{ p.sha256 }}</li>{% else %}<li>None: this is the first.</li>
{% endfor %}</ul>
</body>
</html>
"""


def render(fmt: str, content: dict[str, Any]) -> bytes:
    """The report of ``content`` (the JSON form of the report) in ``fmt``, as UTF-8 bytes."""
    if fmt == "json":
        return (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    from jinja2 import Environment, StrictUndefined

    if fmt == "html":
        env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
        return env.from_string(HTML).render(r=content).encode("utf-8")
    env = Environment(
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=md_text,
    )
    return env.from_string(MARKDOWN).render(r=content).encode("utf-8")


def check_output(output: Path) -> Path:
    """The absolute path to write. Raises: InvalidInput (no such directory), Conflict (a file
    is there: a report is never overwritten)."""
    return new_file(output, "a report")


def staged(target: Path, data: bytes) -> Path:
    """``data`` written and synced under a hidden name beside ``target`` (0600); :func:`publish`
    links it into place. Raises: Unavailable."""
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise Unavailable(f"cannot write the report {target}: {exc.strerror or exc}") from None
    return partial


def publish(partial: Path, target: Path) -> None:
    """Link the staged file into place (never over a file that appeared meanwhile) and drop its
    hidden name. Raises: Conflict, Unavailable."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise Conflict(f"{target} appeared meanwhile; nothing was overwritten") from None
    except OSError as exc:
        raise Unavailable(f"cannot write the report {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
