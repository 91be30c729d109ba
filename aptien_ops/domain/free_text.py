"""Free text operators type, and how much of it the console keeps: one limit per kind of field.

Every service checks its free-text fields here before it touches anything (exit 2), and the
command line's ``--help`` quotes the same limits, so the numbers live in this table only. A
limit counts characters after white space is collapsed: a reason is kept as one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aptien_ops.errors import InvalidInput


@dataclass(frozen=True)
class FreeText:
    """A kind of free-text field: how messages name it and how long it may be."""

    field: str
    """How a message names it: ``the reason``."""
    limit: int
    """The most characters kept, after white space is collapsed."""
    advice: str | None = None
    """The hint of a refusal for longer text."""

    @property
    def help(self) -> str:
        """The limit as ``--help`` states it: ``at most 500 characters``."""
        return f"at most {self.limit:,} characters"

    def check(
        self, value: str | None, *, missing: str | None = None, hint: str | None = None
    ) -> str:
        """``value`` with its white space collapsed, if it is not empty and within the limit.

        Raises:
            InvalidInput: ``missing`` (default: ``<field> is empty``) with ``hint`` for empty or
            blank text; ``<field> must be at most N characters`` for longer text. Neither quotes
            the text.
        """
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{self.field} must be text")
        text = self.within_limit(value or "")
        if not text:
            raise InvalidInput(missing or f"{self.field} is empty", hint=hint)
        return text

    def within_limit(self, value: str) -> str:
        """``value`` with its white space collapsed, if it is within the limit (empty is).

        Raises: InvalidInput ``<field> must be at most N characters``, not quoting the text.
        """
        text = " ".join(value.split())
        if len(text) > self.limit:
            raise InvalidInput(
                f"{self.field} must be {self.help}; this one has {len(text):,}", hint=self.advice
            )
        return text

    def check_lines(self, value: str | None) -> str:
        """:meth:`check`, but line breaks stay (Markdown): each line's white space is
        collapsed, trailing blank lines dropped; the limit counts the line breaks too.
        Raises: InvalidInput, as :meth:`check`."""
        lines = [" ".join(line.split()) for line in (value or "").splitlines()]
        text = "\n".join(lines).strip("\n")
        if not text:
            raise InvalidInput(f"{self.field} is empty")
        if len(text) > self.limit:
            raise InvalidInput(
                f"{self.field} must be {self.help}; this one has {len(text):,}", hint=self.advice
            )
        return text

    def optional(self, value: str | None) -> str | None:
        """:meth:`check`, but None (or blank text) stays None."""
        return None if value is None or not value.strip() else self.check(value)

    def check_each(self, values: Sequence[str]) -> list[str]:
        """:meth:`check` of each value, in bulk (an import's column).
        Raises: InvalidInput, as :meth:`check` for the first value refused."""
        texts = [" ".join(v.split()) for v in values]
        if all(texts) and max(map(len, texts), default=0) <= self.limit:
            return texts
        return [self.check(v) for v in values]

    def optional_each(self, values: Sequence[str]) -> list[str | None]:
        """:meth:`optional` of each value, in bulk. Raises: InvalidInput, as :meth:`check`."""
        texts = [" ".join(v.split()) for v in values]
        if max(map(len, texts), default=0) <= self.limit:
            return [text or None for text in texts]
        return [self.optional(v) for v in values]


#: Why an operator did something (suspend, reject a request, purge early, export personal
#: data): kept in the ops log and the tenant's history.
REASON = FreeText("the reason", 500, "say it briefly and keep the details in a ticket")
#: Why an admin places a tenant outside its country's region (logged with the provisioning).
RESIDENCY_OVERRIDE = FreeText("the residency override reason", 500, REASON.advice)
#: The client's representative, as the tenant shows it.
CONTACT_NAME = FreeText("the contact name", 200)
#: A filter value of an inspection (result, action, datasheet, record id, IP address); the
#: longest e-mail address RFC 3696 allows, which is plenty for the others.
FILTER_VALUE = FreeText("a filter value", 320)
#: The client's company, as the contact card a partner may be given shows it.
COMPANY = FreeText("the company name", 200)
#: A business partner's registered legal name.
LEGAL_NAME = FreeText("the legal name", 200)
#: A partnership agreement's reference (as the signed document names it).
AGREEMENT_REFERENCE = FreeText("the agreement reference", 80)
#: What a partner review found.
REVIEW_NOTES = FreeText("the review notes", 2000, "keep the details in the review's own file")

#: An incident's title, as lists show it.
INCIDENT_TITLE = FreeText("the incident title", 200)
#: What an incident record says of itself (rationale, consequences, measures, delay reasons).
INCIDENT_TEXT = FreeText("the incident text", 4000, "keep the details in the incident's ticket")
#: A line of an incident's timeline.
TIMELINE_TEXT = FreeText("the timeline entry", 2000, "keep the details in the incident's ticket")
#: How the data protection officer is reached (name, e-mail, phone).
DPO_CONTACT = FreeText("the DPO contact", 320)
#: A category of data or of people affected by an incident (``contact details``).
INCIDENT_CATEGORY = FreeText("a category", 80)

#: The supervisory authority's reference of a report (its case number).
REPORT_REFERENCE = FreeText("the report reference", 80)

#: An operational notice's title, as lists, e-mails and the status page show it.
NOTICE_TITLE = FreeText("the notice title", 200)
#: An operational notice's body (Markdown; its line breaks are kept).
NOTICE_BODY = FreeText("the notice body", 8000, "link to a page with the details")
#: The text of a notice's update (``notice update --text``; line breaks kept).
NOTICE_UPDATE_TEXT = FreeText("the update text", 2000, "link to a page with the details")

#: The text a list is narrowed to (``--grep``, the TUI's ``/``): a substring of a shown column.
GREP = FreeText("the filter text", 200, "a part of what a row shows is enough")

#: Every kind, for the documentation and the tests.
ALL = (
    REASON,
    RESIDENCY_OVERRIDE,
    CONTACT_NAME,
    FILTER_VALUE,
    GREP,
    COMPANY,
    LEGAL_NAME,
    AGREEMENT_REFERENCE,
    REVIEW_NOTES,
    INCIDENT_TITLE,
    INCIDENT_TEXT,
    TIMELINE_TEXT,
    DPO_CONTACT,
    INCIDENT_CATEGORY,
    REPORT_REFERENCE,
    NOTICE_TITLE,
    NOTICE_BODY,
    NOTICE_UPDATE_TEXT,
)
