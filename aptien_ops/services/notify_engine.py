"""The notice engine: delivers what is pending in the outbox (filled by :mod:`notify_fill`).

Exactly once per recipient and channel, whatever stops a run:

- The outbox has one row per incident, channel and recipient (its idempotency key); filling
  it again adds nothing that is there. A rerun only works on ``pending`` rows.
- **Website**: the region's pages (one per language its affected people read) and feed are
  rewritten whole (atomically); a rerun rewrites the same entry, so the row is marked sent
  after the files are in place.
- **In-app**: each tenant's messages are inserted in the tenant's own transaction with a
  unique ``dedupe_key`` per incident and user (a rerun's insert skips what is there); the rows
  are marked sent after that commit.
- **E-mail**: each message is sent, then its row is marked sent in its own catalog
  transaction as soon as the server accepted the DATA (before the next message, long before
  QUIT). The one window no protocol closes is between the server's ``250`` and that commit:
  a process killed exactly there leaves the row pending although the server has the message.
  The rerun closes it as far as the other side allows: the message goes out again with the
  same Message-ID (per incident and recipient), which mail stores drop as a duplicate, and a
  transport that can look (the sandbox's Maildir) is asked first and the row marked sent
  without sending.

A 4xx answer or a dropped connection counts an attempt and leaves the row pending; the engine
comes back to it after a backoff (doubling, capped), at most ``max_attempts`` times in all,
then marks it failed. A 5xx answer or an invalid address fails the row at once.

Every mark (sent, attempt, failed) commits with relaxed durability
(``catalog.transaction(durable=False)``): written to the catalog's log before the next message
goes out, only not flushed to disk (one fsync per message would cost more than sending it). A
``kill -9`` of this process therefore loses no mark. An OS crash or power cut of the catalog's
host (or a PostgreSQL server crash) may lose the last marks: those rows are pending again and
the rerun treats them as the window above (same Message-ID, the Maildir asked first; in-app
inserts skip their ``dedupe_key``; the website's entry is rewritten the same); a lost attempt
count only allows one more try. Nothing else in the outbox is relaxed: the rows themselves
are filled durably.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain, groupby
from typing import TypeVar

from aptien_ops.domain import validate_email
from aptien_ops.domain.notices import (
    LANGUAGES,
    Campaign,
    ChannelCounts,
    DeliveryFailed,
    InAppMessage,
    Mail,
    NoticeContent,
    OutboxRow,
    PendingMessage,
    Recipient,
    WebsiteNotice,
    message_id,
)
from aptien_ops.errors import Conflict, InvalidInput, NotFound, OpsError
from aptien_ops.notice_texts import render
from aptien_ops.ports import Catalog, InAppWriter, MailTransport, TenantStore, WebsitePublisher

#: Outbox rows read (and in-app messages written) per batch.
BATCH = 1000
#: The first retry waits this long; each later one twice as long, at most BACKOFF_CAP_S.
BACKOFF_S = 1.0
BACKOFF_CAP_S = 60.0

#: (channel, done, total): called after each committed step.
Progress = Callable[[str, int, int], None]
Row = TypeVar("Row", OutboxRow, PendingMessage)


class CampaignBusy(Conflict):
    """Another run delivers the campaign (in that region) now."""


@dataclass(frozen=True)
class Channels:
    """How the engine reaches people; a channel left None is not run."""

    mail: MailTransport | None = None
    inapp: InAppWriter | None = None
    website: WebsitePublisher | None = None
    store_of: Callable[[str], TenantStore] | None = None
    """The tenant's cluster (for in-app messages)."""
    sender: str = "privacy@aptien.example"
    max_attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    """How a retry waits its backoff (tests count the waits instead)."""


def _pages(page: Callable[[int], list[Row]]) -> Iterator[Row]:
    """The rows of ``page(after)`` for one id after another, until a page is empty."""
    after = 0
    while rows := page(after):
        yield from rows
        after = rows[-1].id


class Engine:
    """Delivers one campaign's pending rows; see the module docstring. With ``region`` (a
    batch of a region's worker), only the rows of that region: its website entry, and the
    people of its tenants (the region the incident's scope recorded for each); with
    ``limit``, at most that many rows (then :meth:`more` says whether any is left)."""

    def __init__(
        self,
        catalog: Catalog,
        campaign: Campaign,
        channels: Channels,
        *,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        progress: Progress | None = None,
        region: str | None = None,
        limit: int | None = None,
    ) -> None:
        self.catalog, self.campaign, self.channels = catalog, campaign, channels
        self.now, self.sleep = now, sleep
        self.progress = progress or (lambda channel, done, total: None)
        self.region = region
        self._home: dict[str, str] = {}
        self._left = limit

    def run(self) -> list[ChannelCounts]:
        """Deliver what is pending, channel by channel. One run per campaign at a time: two
        would both send the rows neither has marked yet.

        A region's batch holds that region's lock; a whole run holds the campaign's and every
        region's of its scope.

        Raises: Conflict (another run delivers this campaign now), OpsError of a channel.
        """
        name = f"notice campaign {self.campaign.incident_id}"
        with self.catalog.read() as tx:
            scope = tx.incident_scope.tenants(self.campaign.incident_id)
        self._home = {t.tenant: t.region for t in scope}
        with ExitStack() as held:
            if self.region is None:
                held.enter_context(self.catalog.exclusive(name))
            for region in sorted(set(self._home.values()) | {self.region or ""} - {""}):
                if self.region in (None, region):
                    try:
                        held.enter_context(self.catalog.exclusive(f"{name} in {region}"))
                    except Conflict as exc:
                        raise CampaignBusy(exc.message, hint=exc.hint) from None
            return self._run()

    def _limited(self, rows: Iterator[Row]) -> Iterator[Row]:
        """``rows`` while this run's ``limit`` lasts (each row taken counts, also again in a
        later pass)."""
        for row in rows:
            if self._left is not None:
                if self._left <= 0:
                    return
                self._left -= 1
            yield row

    def more(self) -> bool:
        """Whether a row this run would deliver is still pending (after a limited run)."""
        for channel in self.campaign.channels:
            rows: Iterator[OutboxRow | PendingMessage]
            if channel == "inapp":
                rows = _pages(partial(self._messages_pending, channel))
            else:
                rows = _pages(partial(self._rows, channel))
            if any(map(self._mine, rows)):
                return True
        return False

    def _mine(self, row: OutboxRow | PendingMessage) -> bool:
        """Whether this run delivers ``row`` (a region's batch: only its region's)."""
        if self.region is None:
            return True
        if isinstance(row, OutboxRow) and row.channel == "website":
            return row.region == self.region
        return self._home.get(row.tenant or "") == self.region

    def _run(self) -> list[ChannelCounts]:
        for channel in self.campaign.channels:
            if self._left == 0:
                break
            if channel == "website" and self.channels.website is not None:
                self._website(self.channels.website)
            elif channel == "inapp" and self.channels.inapp is not None:
                self._inapp(self.channels.inapp)
            elif channel == "email" and self.channels.mail is not None:
                self._email(self.channels.mail)
        with self.catalog.read() as tx:
            return tx.breach_outbox.counts(self.campaign.incident_id)

    # ------------------------------------------------------------------ reading the outbox

    def _rows(self, channel: str, after: int) -> list[OutboxRow]:
        with self.catalog.read() as tx:
            return tx.breach_outbox.pending(
                self.campaign.incident_id, channel, after=after, limit=BATCH
            )

    def _messages_pending(self, channel: str, after: int) -> list[PendingMessage]:
        with self.catalog.read() as tx:
            return tx.breach_outbox.pending_messages(
                self.campaign.incident_id, after=after, limit=BATCH
            )

    def _rounds(
        self,
        channel: str,
        deliver: Callable[[Iterator[Row], int, int], None],
        page: Callable[[str, int], list[Row]],
    ) -> None:
        """Passes over the pending rows until none is left; each pass after the first waits
        its backoff. Every pass counts an attempt on each row it leaves pending, and a row
        reaching ``max_attempts`` is failed, so the passes end. A pass reads its rows
        ``page`` by ``page`` (by id) while it delivers them: the rows it marks are behind it.
        ``deliver`` is also told how many of the channel's rows were settled before the pass
        and how many it has in all."""
        for round_no in range(self.channels.max_attempts + 1):
            rows = self._limited(
                r for r in _pages(lambda after: page(channel, after)) if self._mine(r)
            )
            first = next(rows, None)
            if first is None:
                return
            if round_no:
                self.sleep(min(BACKOFF_S * 2 ** (round_no - 1), BACKOFF_CAP_S))
            with self.catalog.read() as tx:
                counts = tx.breach_outbox.counts(self.campaign.incident_id)
            [mine] = [c for c in counts if c.channel == channel]
            settled = mine.sent + mine.failed
            deliver(chain([first], rows), settled, settled + mine.pending)

    def _attempt_failed(
        self, row: OutboxRow | PendingMessage, reason: str, permanent: bool
    ) -> None:
        final = permanent or row.attempts + 1 >= self.channels.max_attempts
        with self.catalog.transaction(durable=False) as tx:
            tx.breach_outbox.mark_attempt(row.id, self.now(), reason, failed=final)

    def _sent(self, ids: list[int]) -> None:
        with self.catalog.transaction(durable=False) as tx:
            tx.breach_outbox.mark_sent(ids, self.now())

    # ------------------------------------------------------------------ channels

    def _website(self, site: WebsitePublisher) -> None:
        content = self.campaign.content

        def deliver(rows: Iterator[OutboxRow], done: int, total: int) -> None:
            for row in rows:
                try:
                    site.publish(WebsiteNotice(row.region, content, _languages(row)))
                except OpsError as exc:
                    self._attempt_failed(row, exc.message, permanent=False)
                    continue
                self._sent([row.id])
                done += 1
                self.progress("website", done, total)

        self._rounds("website", deliver, self._rows)

    def _inapp(self, writer: InAppWriter) -> None:
        store_of = self.channels.store_of
        if store_of is None:
            raise InvalidInput("in-app messages need the tenants' clusters")

        def deliver(rows: Iterator[PendingMessage], done: int, total: int) -> None:
            # A pipeline of two: a tenant's messages are written and committed in a thread of
            # their own while this one marks the tenant before it sent and prepares (and reads
            # from the outbox) the tenant after it. A tenant's rows are marked only once its
            # own transaction has committed, as without the thread.
            with ThreadPoolExecutor(1, thread_name_prefix="inapp") as pool:
                ahead: tuple[Future[None], list[PendingMessage]] | None = None
                for tenant, group in groupby(rows, key=lambda r: r.tenant or ""):
                    batch = list(group)
                    messages = self._messages(tenant, batch)
                    written = pool.submit(self._write, writer, store_of(tenant), messages)
                    if ahead is not None:
                        done = self._settle(*ahead, done, total)
                    ahead = (written, batch)
                if ahead is not None:
                    self._settle(*ahead, done, total)

        self._rounds("inapp", deliver, self._messages_pending)

    def _messages(self, tenant: str, batch: list[PendingMessage]) -> list[InAppMessage]:
        """The tenant's messages, their texts rendered once per language."""
        content = self.campaign.content
        texts: dict[str | None, tuple[str, str]] = {}
        for language in {row.language for row in batch}:
            texts[language] = render(content, Recipient(tenant, "", "", "", language), "inapp")
        prefix = f"{self.campaign.incident_id}/{tenant}/"
        return [
            InAppMessage(tenant, ref, *texts[language], prefix + ref)
            for _, _, ref, language, _ in batch
        ]

    def _write(self, writer: InAppWriter, store: TenantStore, messages: list[InAppMessage]) -> None:
        tenant = messages[0].tenant
        with store.connect(tenant) as conn:
            writer.write(conn, messages, self.now())

    def _settle(
        self, written: Future[None], batch: list[PendingMessage], done: int, total: int
    ) -> int:
        """Marks the tenant's rows once its write is over: sent, or an attempt (failed for
        good if the tenant database is gone). Returns how many rows are settled now."""
        try:
            written.result()
        except (NotFound, InvalidInput) as exc:
            for row in batch:
                self._attempt_failed(row, exc.message, permanent=True)
            return done
        except OpsError as exc:
            for row in batch:
                self._attempt_failed(row, exc.message, permanent=False)
            return done
        self._sent([r.id for r in batch])
        done += len(batch)
        self.progress("inapp", done, total)
        return done

    def _email(self, transport: MailTransport) -> None:
        content, sender = self.campaign.content, self.channels.sender

        def deliver(rows: Iterator[OutboxRow], done: int, total: int) -> None:
            for row in rows:
                recipient = row.as_recipient()
                try:
                    validate_email(recipient.email, what="recipient address")
                except InvalidInput:
                    self._attempt_failed(row, "invalid address", permanent=True)
                    continue
                mail = compose_mail(content, recipient, sender)
                if not transport.delivered(mail.message_id):
                    try:
                        transport.send(mail)
                    except DeliveryFailed as exc:
                        self._attempt_failed(row, exc.reason, exc.permanent)
                        continue
                self._sent([row.id])
                done += 1
                self.progress("email", done, total)

        try:
            self._rounds("email", deliver, self._rows)
        finally:
            transport.close()


def _languages(row: OutboxRow) -> tuple[str, ...]:
    """A website row's languages; every language for a row written before they were kept."""
    if not row.language:
        return LANGUAGES
    return tuple(lang for lang in row.language.split(",") if lang in LANGUAGES) or ("en",)


def compose_mail(content: NoticeContent, recipient: Recipient, sender: str) -> Mail:
    """The e-mail to ``recipient``: their language, the Message-ID of the sender's domain."""
    domain = sender.rpartition("@")[2]
    subject, body = render(content, recipient)
    return Mail(
        recipient.email,
        sender,
        subject,
        body,
        message_id(content.incident_id, recipient, domain),
        recipient.notice_language(),
    )
