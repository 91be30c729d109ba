"""``[notifications]``: how breach notices reach people — e-mail and the public website.

The embedded default (a sandbox) delivers e-mail into a Maildir under the data dir (any mail
reader opens it) and writes the website's notices into ``website/`` beside it. Production
names a real SMTP server; its password comes from ``password_file`` or ``password_env``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from aptien_ops.config.reader import TableReader
from aptien_ops.config.settings import (
    SMTP_SECURITY,
    EmailSettings,
    NotificationSettings,
    WebsiteSettings,
)
from aptien_ops.domain import validate_email
from aptien_ops.errors import InvalidInput

_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")


def parse_notifications(top: TableReader, as_path: Callable[[str], Path]) -> NotificationSettings:
    """Raises: ConfigError naming the key."""
    section = top.sub("notifications", {})
    e = section.sub("email", {})
    transport = e.get("transport", str, "maildir")
    if transport not in ("smtp", "maildir"):
        raise e.fail("transport", f'must be "smtp" or "maildir", got {transport!r:.40}')
    security = e.get("security", str, "starttls")
    if security not in SMTP_SECURITY:
        raise e.fail("security", f"must be one of {', '.join(SMTP_SECURITY)}, got {security!r:.40}")
    host = e.get("host", str, "localhost")
    if not _HOST.match(host):
        raise e.fail("host", f"{host!r:.60} is not a host name")
    port = e.get("port", int, 465 if security == "tls" else 587)
    if not 1 <= port <= 65535:
        raise e.fail("port", f"must be between 1 and 65535, got {port}")
    sender = e.get("from_address", str, EmailSettings.from_address)
    try:
        validate_email(sender, what="from_address")
    except InvalidInput as exc:
        raise e.fail("from_address", exc.message) from None
    user = e.get("user", str, None)
    if user is not None and security == "none":
        raise e.fail("user", 'a login needs security = "starttls" or "tls" (never in clear)')
    ca_file = e.get("ca_file", str, None)
    if ca_file is not None and security == "none":
        raise e.fail("ca_file", 'applies to security = "starttls" or "tls" only')
    rate = e.get("rate_per_second", (int, float), 0)
    if not 0 <= rate <= 100_000:
        raise e.fail("rate_per_second", f"must be between 0 and 100000, got {rate}")
    attempts = e.get("max_attempts", int, EmailSettings.max_attempts)
    if not 1 <= attempts <= 50:
        raise e.fail("max_attempts", f"must be between 1 and 50, got {attempts}")
    timeout = e.get("timeout_seconds", (int, float), EmailSettings.timeout_seconds)
    if not 0 < timeout <= 600:
        raise e.fail("timeout_seconds", f"must be between 0 and 600, got {timeout}")
    email = EmailSettings(
        transport=transport,
        maildir=as_path(e.get("maildir", str, "mail")),
        host=host,
        port=port,
        security=security,
        user=user,
        password=e.secret(),
        from_address=sender,
        ca_file=as_path(ca_file) if ca_file is not None else None,
        rate_per_second=float(rate),
        max_attempts=attempts,
        timeout_seconds=float(timeout),
    )
    e.done()
    w = section.sub("website", {})
    website = WebsiteSettings(dir=as_path(w.get("dir", str, "website")))
    w.done()
    templates = section.get("templates_dir", str, None)
    templates_dir = as_path(templates) if templates is not None else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise section.fail("templates_dir", f"{str(templates_dir)[:80]} is not a directory")
    section.done()
    return NotificationSettings(email=email, website=website, templates_dir=templates_dir)
