"""The sandbox's stand-in for the Aptien platform: it writes synthetic but realistic platform
activity into tenant databases, as the platform itself would write it.

For demos (``sandbox seed``), tests and benchmarks only; production never uses it. It is
loaded by name through the backend registry (``activity: platform``) and implements
:class:`aptien_ops.ports.ActivityWriter`.

It fills a freshly provisioned tenant with users, 90 days of logins (business-hours heavy,
with bursts of failures from one IP), change-audit events and the records they touched. Every
payload is sealed with AES-256-GCM under the tenant's own key, from a ``platform-keys``
directory the console never reads: this package is the only code that holds tenant payload
keys. Names, emails and phone numbers are fictional: built from small lists, on ``*.example``
domains, in reserved phone ranges, with IPs from the documentation ranges (RFC 5737, RFC 3849).

Modules, by idea:

- :mod:`.seed`: :func:`seed_tenant`, the entry point: checks, then writes in batches.
- :mod:`.keys`: the per-tenant payload keys (:func:`platform_key`).
- :mod:`.people`, :mod:`.activity`: who the tenant's users are, and what they do when.
- :mod:`.records`: the records audit events touch, their plaintext, and sealing.
- :mod:`.timeline`: the 90-day window, hourly weights, timestamps per dialect.
- :mod:`.vocabulary`: the fictional names, titles, companies and user agents.
- :mod:`.tables`, :mod:`.postgres`, :mod:`.sqlite`: the tables and each driver's way of
  writing them (binary COPY; executemany).
"""

from __future__ import annotations

from aptien_ops.backends.sandbox_platform.keys import platform_key
from aptien_ops.backends.sandbox_platform.seed import SeedStats, seed_tenant

__all__ = ["SeedStats", "platform_key", "seed_tenant"]
