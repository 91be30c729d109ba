"""Stripe as the console reads it: :class:`aptien_ops.ports.billing.BillingSource` through
stripe-python's ``StripeClient`` (its ``v1`` namespace).

Nothing of Stripe leaves this module but the records of :mod:`aptien_ops.domain.billing`
(:mod:`.stripe_reduce` makes them) and the console's own errors: every ``stripe`` exception is
translated here. A rate limit (429), a 5xx or a network error is tried again with backoff, at
most ``[billing] max_attempts`` times in all, then ``Unavailable`` (exit 6); the wait goes
through an injected ``sleep``, so tests do not wait. A wrong or revoked key is
``Unavailable`` with a message of our own: the key, and Stripe's text that may quote part of
it, never reach a message, a log or a traceback.

Lists are read page by page with stripe-python's own ``next_page`` (what ``auto_paging_iter``
does), each page a request that is retried on its own: a long read does not start over.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import stripe

from aptien_ops.backends import stripe_reduce as reduce
from aptien_ops.config import BillingSettings
from aptien_ops.domain.billing import BillingEvent, CustomerFacts, InvoiceFacts, SubscriptionFacts
from aptien_ops.errors import ConfigError, IntegrityFailure, InvalidInput, NotFound, Unavailable
from aptien_ops.ports.billing import BillingSource

T = TypeVar("T")

#: Objects per list request (Stripe's maximum).
PAGE = 100
#: The first wait after a failed request; each further wait doubles, up to MAX_DELAY_S.
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0
#: Anything shaped like a Stripe secret, scrubbed from whatever text of Stripe's we quote.
_SECRET_LIKE = re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_\w+|\bwhsec_\w+|\bsk_\w+")
_KEY_HINT = "check [billing] api_key_file / api_key_env (the key is never shown)"


class StripeBilling:
    """One ``StripeClient`` on the configured key (and ``api_base``, if set)."""

    def __init__(
        self, settings: BillingSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Raises: ConfigError (the key cannot be read, or is empty)."""
        key = settings.api_key.read()
        if not key:
            raise ConfigError("[billing] names an empty API key", hint=_KEY_HINT)
        self._settings = settings
        self._sleep = sleep
        self._secrets = [key]
        self._client = stripe.StripeClient(
            key,
            base_addresses={"api": settings.api_base} if settings.api_base else {},
            max_network_retries=0,  # retried here, with the injected sleep
            http_client=stripe.RequestsClient(timeout=settings.timeout_seconds),
        )

    def __repr__(self) -> str:
        return f"StripeBilling(api_base={self._settings.api_base or 'stripe'!r})"

    # -- BillingSource ------------------------------------------------------------------------

    def customer(self, customer_id: str) -> CustomerFacts:
        found = reduce.customer(
            self._call(
                f"read the customer {customer_id}",
                lambda: self._client.v1.customers.retrieve(customer_id),
            )
        )
        if found.deleted:
            raise NotFound(f"the Stripe customer {customer_id} was deleted")
        return found

    def create_customer(self, *, name: str, email: str | None, tenant: str) -> CustomerFacts:
        params: Any = {"name": name, "metadata": {"tenant": tenant}}
        if email:
            params["email"] = email
        # One key for every attempt: a retry after a lost answer creates no second customer.
        options: Any = {"idempotency_key": f"aptien-ops-link-{tenant}-{uuid.uuid4().hex}"}
        created = self._call(
            f"create a customer for {tenant}",
            lambda: self._client.v1.customers.create(params, options),
        )
        return reduce.customer(created)

    def subscriptions(self) -> Iterator[SubscriptionFacts]:
        params: Any = {"status": "all", "limit": PAGE}
        for obj in self._each(
            "list subscriptions", lambda: self._client.v1.subscriptions.list(params)
        ):
            yield reduce.subscription(obj)

    def invoices(self) -> Iterator[InvoiceFacts]:
        params: Any = {"limit": PAGE}
        for obj in self._each("list invoices", lambda: self._client.v1.invoices.list(params)):
            yield reduce.invoice(obj)

    def latest_event_id(self) -> str | None:
        params: Any = {"limit": 1}
        page = self._call("list events", lambda: self._client.v1.events.list(params))
        return str(page.data[0]["id"]) if page.data else None

    def events_after(self, cursor: str | None) -> Iterator[BillingEvent]:
        """Stripe lists events newest first; those since the cursor's second are read (all
        of them before the first is returned: a failure mid-read applies none), then handed
        over oldest first, up to but not including the cursor.

        Raises: NotFound (Stripe no longer keeps the cursor's event: 30 days).
        """
        params: dict[str, Any] = {"limit": PAGE}
        if cursor is not None:
            try:
                anchor = self._call(
                    "read the last event synced", lambda: self._client.v1.events.retrieve(cursor)
                )
            except NotFound:
                raise NotFound(
                    f"Stripe no longer keeps the event {cursor} the last sync stopped at",
                    hint="Stripe keeps events 30 days: aptien-ops billing sync --full",
                ) from None
            params["created"] = {"gte": int(anchor["created"])}
        newer: list[BillingEvent] = []
        listed: Any = params
        for obj in self._each("list events", lambda: self._client.v1.events.list(listed)):
            if obj["id"] == cursor:
                break
            newer.append(reduce.event(obj))
        newer.reverse()
        return iter(newer)

    def webhook_event(self, payload: bytes, signature: str) -> BillingEvent:
        secret = self._settings.webhook_secret.read()
        if not secret:
            raise ConfigError(
                "[billing] names no webhook secret: a delivery cannot be verified",
                hint="set webhook_secret_file or webhook_secret_env",
            )
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the webhook's body is not UTF-8 text") from None
        try:
            stripe.WebhookSignature.verify_header(
                text, signature, secret, self._settings.webhook_tolerance_seconds
            )
        except stripe.SignatureVerificationError:
            raise IntegrityFailure(
                "the webhook's Stripe-Signature does not verify: forged, signed for another"
                " endpoint, or older than the tolerance",
                hint="nothing was applied",
            ) from None
        try:
            body = json.loads(text)
        except ValueError:
            raise InvalidInput(
                "the webhook's body is not JSON", hint="nothing was applied"
            ) from None
        if not isinstance(body, dict) or body.get("object") != "event":
            raise InvalidInput("the webhook's body is not a Stripe event")
        try:
            return reduce.event(body)
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("the webhook's body is not a Stripe event") from None

    # -- one request, retried; a list, page by page -------------------------------------------

    def _each(self, what: str, first: Callable[[], Any]) -> Iterator[Any]:
        page = self._call(what, first)
        while True:
            yield from page.data
            if not page.has_more or not page.data:
                return
            page = self._call(what, page.next_page)

    def _call(self, what: str, request: Callable[[], T]) -> T:
        """``request``, tried again after a 429, a 5xx or a network error.

        Raises: Unavailable (the key refused, or still failing after the last attempt),
        NotFound (404), InvalidInput (Stripe refused the request: 400).
        """
        attempts = self._settings.max_attempts
        reason = ""
        for attempt in range(1, attempts + 1):
            try:
                return request()
            except stripe.AuthenticationError:
                raise Unavailable(
                    "Stripe refused the API key (wrong or revoked)", hint=_KEY_HINT
                ) from None
            except stripe.PermissionError:
                raise Unavailable(
                    f"the API key may not {what}",
                    hint="a restricted key needs read access to customers, subscriptions,"
                    " invoices and events, and write access to customers (docs/billing.md)",
                ) from None
            except stripe.RateLimitError:
                reason = "rate limited (429)"
            except stripe.APIConnectionError:
                reason = "no answer from Stripe (network)"
            except stripe.InvalidRequestError as refused:
                status = refused.http_status
                if status == 404:
                    raise NotFound(f"Stripe has nothing to {what}") from None
                raise InvalidInput(
                    f"Stripe refused to {what} ({status}): {self._scrubbed(refused.user_message)}"
                ) from None
            except stripe.StripeError as failed:
                status = failed.http_status
                if status is None or status < 500 and status != 409:
                    raise Unavailable(f"Stripe answered {status} to {what}") from None
                reason = f"Stripe answered {status}"
            if attempt < attempts:
                self._sleep(min(FIRST_DELAY_S * 2 ** (attempt - 1), MAX_DELAY_S))
        raise Unavailable(
            f"could not {what}: {reason}, {attempts} attempts",
            hint="try again later; nothing read after the failure was applied",
        )

    def _scrubbed(self, text: str | None) -> str:
        text = text or "no reason given"
        for secret in self._secrets:
            text = text.replace(secret, "[key]")
        return _SECRET_LIKE.sub("[key]", text)[:200]


_: type[BillingSource] = StripeBilling
