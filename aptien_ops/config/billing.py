"""``[billing]``: how the console reaches Stripe. No section: billing is not connected.

The API key and the webhook secret come from a file or an environment variable, never from
``ops.toml``. ``api_base`` points stripe-python at another Stripe-compatible server (the
sandbox's, the tests' localstripe); over plain ``http://`` only on loopback, so a key never
crosses a network in clear.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aptien_ops.config.reader import TableReader
from aptien_ops.config.settings import BillingSettings

_LOOPBACK_NAMES = ("localhost",)


def parse_billing(top: TableReader) -> BillingSettings | None:
    """Raises: ConfigError naming the key of ``[billing]`` that is wrong."""
    if "billing" not in top.table:
        top.seen.add("billing")
        return None
    b = top.sub("billing")
    api_key = b.secret("api_key")
    if "api_key" in b.table:
        raise b.fail("api_key", "secrets may not be written in the config file; use api_key_file")
    if api_key.file is None and api_key.env is None:
        raise b.fail("api_key_file", "is required: give api_key_file or api_key_env")
    webhook = b.secret("webhook_secret")
    base = b.get("api_base", str, None)
    if base is not None:
        base = _api_base(b, base)
    days = b.get("notice_days", list, list(BillingSettings.notice_days))
    if not days or not all(type(d) is int and 1 <= d <= 3650 for d in days):
        raise b.fail("notice_days", "must be a list of whole days between 1 and 3650")
    tolerance = b.within("webhook_tolerance_seconds", 300, 1, 86_400)
    attempts = b.within("max_attempts", BillingSettings.max_attempts, 1, 20)
    timeout = b.within("timeout_seconds", BillingSettings.timeout_seconds, 0.001, 600, (int, float))
    suspend = b.get("suspend_after_unpaid_days", int, None)
    if suspend is not None and not (type(suspend) is int and 1 <= suspend <= 3650):
        raise b.fail("suspend_after_unpaid_days", "must be whole days between 1 and 3650")
    b.done()
    return BillingSettings(
        api_key=api_key,
        webhook_secret=webhook,
        api_base=base,
        notice_days=tuple(sorted(set(days), reverse=True)),
        webhook_tolerance_seconds=tolerance,
        max_attempts=attempts,
        timeout_seconds=float(timeout),
        suspend_after_unpaid_days=suspend,
    )


def _api_base(b: TableReader, base: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise b.fail("api_base", f"must be an https:// URL, got {base[:60]!r}")
    if parts.username or parts.password:
        raise b.fail("api_base", "must not hold a user or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise b.fail("api_base", "is a server's address only (scheme, host, port)")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise b.fail("api_base", "http:// only on loopback (the API key would cross in clear)")
    return base.rstrip("/")


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
