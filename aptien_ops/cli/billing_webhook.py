"""``billing ingest-webhook``: one Stripe webhook delivery piped in by an HTTPS endpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aptien_ops.cli.billing import billing
from aptien_ops.cli.state import CliState, pass_state
from aptien_ops.errors import InvalidInput, NotFound
from aptien_ops.terminal_text import shown


def _body(file: Path | None, limit: int) -> bytes:
    """The delivery's body from ``file`` or stdin, at most ``limit + 1`` bytes read (a longer
    body is refused by the service). Raises: NotFound (no such file), InvalidInput."""
    try:
        if file is None:
            return sys.stdin.buffer.read(limit + 1)
        with file.open("rb") as handle:
            return handle.read(limit + 1)
    except FileNotFoundError:
        raise NotFound(f"no file {shown(str(file))}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read the webhook's body: {exc.strerror}") from None


@billing.command("ingest-webhook")
@click.option(
    "--signature",
    required=True,
    metavar="HEADER",
    help="The delivery's Stripe-Signature header, exactly as received (t=…,v1=…).",
)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the body from FILE (default: stdin), byte for byte as received.",
)
@pass_state
def billing_ingest_webhook(state: CliState, signature: str, file: Path | None) -> None:
    """Verify one Stripe webhook delivery with the endpoint's secret ([billing]
    webhook_secret_file / webhook_secret_env) and apply its event: once per event id, never
    over a newer state. A signature that does not verify, or is older than the tolerance (a
    replay): exit 7, nothing applied. A body that is not JSON or not a Stripe event: exit 2.
    The billing role and admins (the account the endpoint runs it as) ingest.

    \b
    Examples:
      aptien-ops billing ingest-webhook --signature "$HTTP_STRIPE_SIGNATURE" < body.json
      aptien-ops billing ingest-webhook --signature 't=…,v1=…' --file body.json --json
    """
    from aptien_ops.services.billing_webhook import MAX_BODY_BYTES

    payload = _body(file, MAX_BODY_BYTES)
    result = state.console().billing_webhook.ingest(payload, signature)
    change = result.change
    licence = ""
    if change is not None:
        moved = f"{change.before} -> {change.after}" if change.before != change.after else ""
        licence = f": {shown(change.tenant)} {moved or ', '.join(change.fields)}".rstrip()
    state.out(
        result.as_json(),
        f"{shown(result.event_id)} ({shown(result.type)}) {result.outcome}{licence}",
    )
