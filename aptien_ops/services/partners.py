"""The partner service: the register of business partners, their agreements and reviews,
their assignment to tenants and the audited sharing of a client's contact card.

:class:`PartnerService` puts together its parts, one module per idea: reading and checking
(``partner_reads``), changing the register (``partner_changes``), assignments and shares
(``partner_links``), publishing and importing (``partner_files``). Results are in
``partner_results``. Every date is a UTC calendar date.
"""

from __future__ import annotations

from aptien_ops.services.partner_changes import PartnerInput, PartnerUpdate
from aptien_ops.services.partner_files import PartnerFiles, Published

__all__ = ["PartnerInput", "PartnerService", "PartnerUpdate", "Published"]


class PartnerService(PartnerFiles):
    """Every partner use case (see the module's docstring); built by the composition root."""
