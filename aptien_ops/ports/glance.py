"""The TUI's first frame: a light look at the catalog before the full console connects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aptien_ops.glance import DashboardGlance


class CatalogGlance(Protocol):
    """A light, read-only look at the catalog with the raw driver (no SQLAlchemy): what the
    TUI's first frame shows. Built from the ``CatalogSettings``; connects once per call."""

    def glance(self, operator: str) -> DashboardGlance | None:
        """The dashboard's data for ``operator``, read in one read-only transaction; None when
        the catalog is not ready for it (missing, schema revision other than this code's head,
        ops log not yet signed, or a URL form this adapter does not read).

        Raises: Unavailable (cannot connect or read), ConfigError (unreadable password).
        """
        ...
