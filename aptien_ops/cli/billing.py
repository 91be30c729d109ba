"""``billing`` commands: syncing with Stripe hangs on this group from its own module."""

from __future__ import annotations

import click


@click.group()
def billing() -> None:
    """Billing through Stripe: each linked tenant's licence and payment status, never a card
    (docs/billing.md).

    \b
    Examples:
      aptien-ops billing sync
      aptien-ops billing sync --full --json
    """
