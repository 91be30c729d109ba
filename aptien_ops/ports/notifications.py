"""Where breach notices go: an e-mail transport, the tenants' in-app messages, the website.

Each adapter translates its driver's errors at its edge: a notice that could not be delivered
raises :class:`~aptien_ops.domain.notices.DeliveryFailed` (permanent or not); a channel that
cannot be reached at all raises ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aptien_ops.domain.notices import InAppMessage, Mail, WebsiteNotice
from aptien_ops.domain.op_notices import StatusEntry
from aptien_ops.ports.clusters import DbConnection


class MailTransport(Protocol):
    """Sends e-mail over one connection, reused for every message (reconnecting if it drops)."""

    def send(self, mail: Mail) -> None:
        """Returns once the server accepted the message (SMTP: its reply to DATA).

        Raises: DeliveryFailed (permanent: 5xx or an invalid address; else try again later),
        Unavailable if the server cannot be reached or refuses the login.
        """
        ...

    def delivered(self, message_id: str) -> bool:
        """Whether a message with this Message-ID is known to have been delivered already
        (a Maildir can tell; an SMTP server cannot, and says False)."""
        ...

    def close(self) -> None:
        """Ends the session politely (QUIT); never raises."""
        ...


class InAppWriter(Protocol):
    """Writes in-app messages into one tenant database, as the platform shows them."""

    def write(self, conn: DbConnection, messages: Sequence[InAppMessage], now: datetime) -> int:
        """Insert the messages not there yet (one per ``dedupe_key``) in the connection's
        transaction; returns how many were new.

        Raises: Conflict (the database is busy), Unavailable, IntegrityFailure (no message table:
        the tenant's schema is older than the in-app messages; run ``fleet migrate``).
        """
        ...


class WebsitePublisher(Protocol):
    """Publishes a region's notice: a static HTML page and a JSON feed."""

    def publish(self, notice: WebsiteNotice) -> Sequence[Path]:
        """Write (or rewrite) the region's page and feed atomically; returns the files.

        Raises: Unavailable if the directory cannot be written.
        """
        ...


class StatusPage(Protocol):
    """A region's status page of operational notices: HTML, a JSON feed and an Atom feed."""

    def publish(self, region: str, entries: Sequence[StatusEntry], now: datetime) -> Sequence[Path]:
        """Write the region's three files atomically (each replaced whole); returns them.

        Raises: Unavailable if the directory cannot be written.
        """
        ...
