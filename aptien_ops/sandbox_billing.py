"""The sandbox's billing: a licence for most demo tenants, in each state operations meet
(active, trialing, past due, unpaid, cancelled, one ending soon without renewing), kept by the
sandbox's own Stripe-compatible server (``aptien-ops sandbox billing-server``: localstripe on
loopback) and read into the catalog by a full ``billing sync``.

Without that server billing stays "not connected" (no ``[billing]`` in the sandbox's config).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: Where ``sandbox billing-server`` listens unless told otherwise (loopback only).
BILLING_PORT = 12111
#: The sandbox server's API key: localstripe takes any ``sk_test_`` key; never a real one.
SANDBOX_KEY = "sk_test_aptien_sandbox"
_SECTION = re.compile(r"^\[billing\]", re.MULTILINE)


@dataclass(frozen=True)
class DemoLicence:
    """One demo tenant's subscription in the sandbox server."""

    tenant: str
    status: str
    """The subscription's status: active, trialing, past_due, unpaid or canceled."""
    started_days_ago: int = 0
    """Its period started this many days ago (so it ends sooner)."""
    cancels: bool = False
    """Set to cancel at the period's end: the licence will not renew."""


#: deccan-pharma is left unlinked: a tenant whose licence is ``none``.
DEMO_LICENCES: tuple[DemoLicence, ...] = (
    DemoLicence("acme-gmbh", "active"),
    DemoLicence("nordlicht-as", "trialing"),
    DemoLicence("savanna-logistics", "past_due", started_days_ago=12),
    DemoLicence("nile-textiles", "unpaid", started_days_ago=25),
    DemoLicence("anatolia-foods", "active", started_days_ago=20, cancels=True),
    DemoLicence("lagos-fintech", "past_due", started_days_ago=5),
    DemoLicence("maple-health", "active", started_days_ago=3),
    DemoLicence("gotham-legal", "canceled", started_days_ago=40),
    DemoLicence("paulista-retail", "trialing", started_days_ago=2),
    DemoLicence("sakura-robotics", "active", started_days_ago=14),
    DemoLicence("outback-mining", "unpaid", started_days_ago=18),
)


def billing_url(port: int = BILLING_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def connect_billing(config: Path, url: str) -> bool:
    """Give the sandbox's ``config`` a ``[billing]`` section on the sandbox server at ``url``
    (its key in a file beside it, 0600). Returns False if it has one already (left as it is).
    """
    text = config.read_text(encoding="utf-8")
    if _SECTION.search(text):
        return False
    key = config.parent / "stripe-sandbox.key"
    key.touch(mode=0o600)
    key.write_text(SANDBOX_KEY + "\n", encoding="utf-8")
    section = (
        "\n# The sandbox's Stripe-compatible server (aptien-ops sandbox billing-server).\n"
        f'[billing]\napi_key_file = "{key}"\napi_base = "{url}"\n'
    )
    config.write_text(text + section, encoding="utf-8")
    return True
