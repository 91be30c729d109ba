"""The sandbox's Stripe: localstripe (a Stripe-compatible server, installed with the dev
extras) served on loopback by ``aptien-ops sandbox billing-server``, and the demo customers
made in it by ``sandbox init``. Sandbox only; never loaded in production.

The server is localstripe with three changes made in its process: its store stays in memory
(localstripe would pickle it to one fixed file in /tmp), events are listed newest first (as
Stripe lists them), and a subscription created with ``metadata[sandbox_status]`` takes that
status (localstripe cannot put one in ``trialing``, ``past_due`` or ``unpaid`` by itself). Its
invoices are numbered when finalised (``SBX-0001``, …: localstripe gives them no number), and
the first invoice of a subscription made ``past_due`` or ``unpaid`` stays ``open``, due at the
period's start, as Stripe keeps the invoice its client has not paid (localstripe's is paid by
the test card).
"""

from __future__ import annotations

import itertools
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aptien_ops.backends.stripe_billing import StripeBilling
from aptien_ops.domain.billing import CustomerFacts
from aptien_ops.errors import Unavailable
from aptien_ops.sandbox_billing import SANDBOX_KEY, DemoLicence

INSTALL_HINT = "pip install localstripe==1.15.10 (./scripts/bootstrap installs the dev extras)"
#: The test card every demo customer pays with (Stripe's own test number).
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def _patch(resources: Any) -> None:
    resources.Store.dump_to_disk = lambda self: None
    listed = resources.Event._api_list_all.__func__

    def newest_first(cls: Any, url: Any, /, **kwargs: Any) -> Any:
        page = listed(cls, url, **kwargs)
        page._list.reverse()
        return page

    resources.Event._api_list_all = classmethod(newest_first)
    made = resources.Subscription.__init__

    def with_status(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        wanted = (self.metadata or {}).get("sandbox_status")
        if wanted:
            self.status = wanted

    resources.Subscription.__init__ = with_status
    _patch_invoices(resources)


#: The subscription states whose latest invoice the client has not paid.
_UNPAID = ("past_due", "unpaid")


def _patch_invoices(resources: Any) -> None:
    numbers = itertools.count(1)
    finalize = resources.Invoice._finalize

    def numbered(self: Any) -> None:
        finalize(self)
        self.number = f"SBX-{next(numbers):04d}"

    resources.Invoice._finalize = numbered
    paid_or_not = resources.Invoice.status.fget

    def status(self: Any) -> Any:
        shown = paid_or_not(self)
        return "open" if shown == "paid" and getattr(self, "_sandbox_unpaid", False) else shown

    resources.Invoice.status = property(status)
    made = resources.Subscription.__init__

    def unpaid(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)  # its first invoice made, finalised and paid by now
        if self.status in _UNPAID and self.latest_invoice:
            invoice = resources.Invoice._api_retrieve(self.latest_invoice)
            invoice._sandbox_unpaid = True
            invoice.due_date = invoice.date

    resources.Subscription.__init__ = unpaid


def serve(port: int, ready: Callable[[str], None]) -> None:
    """Serve localstripe on 127.0.0.1:``port`` until interrupted; ``ready`` is told its URL
    once it listens.

    Raises: Unavailable (localstripe is not installed; the port is taken)."""
    try:
        import localstripe.resources as resources
        from aiohttp import web
        from localstripe import server
    except ImportError:
        raise Unavailable("localstripe is not installed", hint=INSTALL_HINT) from None
    _patch(resources)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        # Listening before ``ready`` says so: a client started on that word (sandbox init)
        # is queued until the server below answers, never refused. aiohttp's own listen()
        # comes only once its loop runs, later.
        sock.listen(128)
    except OSError as refused:
        sock.close()
        raise Unavailable(
            f"cannot listen on 127.0.0.1:{port}: {refused.strerror}",
            hint="is a billing server running already? or choose --port",
        ) from None
    url = f"http://127.0.0.1:{port}"
    ready(url)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


def answers(url: str) -> bool:
    """Whether a Stripe-compatible server answers at ``url`` (a list of customers)."""
    request = urllib.request.Request(
        f"{url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:  # noqa: S310 - loopback
            return b'"list"' in reply.read(4096)
    except (OSError, urllib.error.URLError, ValueError):
        return False


class SandboxStripe(StripeBilling):
    """The sandbox server seen as Stripe, and what only a sandbox does there: a demo
    customer with a card and a subscription in the state asked for."""

    _plan: str | None = None

    def seed_customer(
        self, demo: DemoLicence, *, name: str, email: str | None, now: datetime
    ) -> CustomerFacts:
        """Raises: Unavailable, InvalidInput (the server refused a request)."""
        v1 = self._client.v1
        customer = self.create_customer(name=name, email=email, tenant=demo.tenant)
        cid = customer.customer_id
        method: Any = {"type": "card", "card": TEST_CARD}
        card = self._call("create a card", lambda: v1.payment_methods.create(method))
        self._call("attach a card", lambda: v1.payment_methods.attach(card.id, {"customer": cid}))
        default: Any = {"invoice_settings": {"default_payment_method": card.id}}
        self._call("set the card", lambda: v1.customers.update(cid, default))
        start = now.astimezone(UTC) - timedelta(days=demo.started_days_ago)
        params: Any = {
            "customer": cid,
            "items": [{"plan": self._demo_plan()}],
            "metadata": {"sandbox_status": demo.status},
            "backdate_start_date": int(start.timestamp()),
        }
        if demo.status == "trialing":
            params["trial_end"] = int((now + timedelta(days=14)).timestamp())
        sub = self._call("create a subscription", lambda: v1.subscriptions.create(params))
        if demo.cancels:
            ending: Any = {"cancel_at_period_end": True}
            self._call("end a subscription", lambda: v1.subscriptions.update(sub.id, ending))
        return customer

    def _demo_plan(self) -> str:
        if self._plan is None:
            v1 = self._client.v1
            product = self._call(
                "create a product", lambda: v1.products.create({"name": "Aptien licence"})
            )
            plan: Any = {
                "product": product.id,
                "amount": 4900,
                "currency": "eur",
                "interval": "month",
            }
            self._plan = self._call("create a plan", lambda: v1.plans.create(plan)).id
        return self._plan
