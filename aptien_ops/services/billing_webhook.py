"""``billing ingest-webhook``: one Stripe webhook delivery, verified and applied.

An HTTPS endpoint that receives Stripe's deliveries pipes each body in with its
``Stripe-Signature`` header. The adapter verifies the signature with the endpoint's secret
(stripe-python's own check, with the timestamp tolerance) and reduces the event; it is then
applied by :func:`billing_sync.apply_event`, the one way an event changes the catalog: once
per event id, and never over a newer state. The ops log records the event's id, type and
outcome, never the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aptien_ops.domain.billing import BillingNotConnected
from aptien_ops.errors import InvalidInput
from aptien_ops.permissions import Action
from aptien_ops.ports.billing import BillingSource
from aptien_ops.services.billing_sync import Outcome, TenantChange, apply_event
from aptien_ops.services.context import OpsContext

#: The largest body taken (Stripe's events are a few kilobytes; a larger body is not one).
MAX_BODY_BYTES = 1024 * 1024
#: The longest ``Stripe-Signature`` header taken (a timestamp and a few signatures).
MAX_SIGNATURE_CHARS = 4096


@dataclass(frozen=True)
class WebhookResult:
    """What became of one delivery."""

    event_id: str
    type: str
    outcome: Outcome
    change: TenantChange | None

    def as_json(self) -> dict[str, object]:
        return {
            "event": self.event_id,
            "type": self.type,
            "outcome": str(self.outcome),
            "change": self.change.as_json() if self.change is not None else None,
        }


def check_delivery(payload: bytes, signature: str) -> None:
    """Raises: InvalidInput (no signature, an oversized header or body, an empty body)."""
    if not signature.strip():
        raise InvalidInput(
            "a webhook needs its Stripe-Signature header",
            hint="--signature 't=…,v1=…' as the endpoint received it",
        )
    if len(signature) > MAX_SIGNATURE_CHARS:
        raise InvalidInput(f"the Stripe-Signature is over {MAX_SIGNATURE_CHARS} characters")
    if not payload.strip():
        raise InvalidInput("the webhook's body is empty", hint="pipe the request body in")
    if len(payload) > MAX_BODY_BYTES:
        raise InvalidInput(f"the webhook's body is over {MAX_BODY_BYTES} bytes: not a Stripe event")


class BillingWebhookService:
    def __init__(self, ctx: OpsContext, source: Callable[[], BillingSource | None]) -> None:
        self.ctx = ctx
        self._source = source

    def ingest(self, payload: bytes, signature: str) -> WebhookResult:
        """Verify one delivery and apply its event (see the module's doc).

        Raises: InvalidInput (no signature, a body that is not JSON or not a Stripe event:
        exit 2), Forbidden, IntegrityFailure (the signature does not verify, or is older than
        the tolerance: exit 7), Unavailable (not connected), ConfigError (no webhook secret).
        Nothing is applied unless the delivery verifies."""
        check_delivery(payload, signature)
        with self.ctx.audited(Action.BILLING_WEBHOOK, "stripe", {}) as attempt:
            source = self._source()
            if source is None:
                raise BillingNotConnected()
            event = source.webhook_event(payload, signature)
            with attempt.transaction() as tx:
                applied = apply_event(tx, event, self.ctx.now())
                attempt.ok(
                    event=event.event_id,
                    type=event.type,
                    outcome=str(applied.outcome),
                    tenant=applied.change.tenant if applied.change is not None else None,
                )
        return WebhookResult(event.event_id, event.type, applied.outcome, applied.change)
