"""The sandbox's partner register: realistic partners in both regions, each in one of the
states the policy knows (eligible, agreement expiring soon, review overdue, suspended after a
failed review, ended), and one whose agreement ran out under an assignment (it has lapsed).

Dates are days relative to the day the sandbox is seeded (the injected clock), so every
screen shows the same picture whenever it is made. ``sandbox init`` and ``sandbox seed`` both
write it (a partner there already is left as it is).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The demo tenants' client representatives: company and phone (the contact card's fields
#: beside the name and e-mail of :data:`aptien_ops.sandbox.DEMO_TENANTS`).
DEMO_COMPANIES: dict[str, tuple[str, str]] = {
    "acme-gmbh": ("ACME GmbH", "+49 30 5550 1234"),
    "nordlicht-as": ("Nordlicht AS", "+47 22 55 01 23"),
    "savanna-logistics": ("Savanna Logistics Ltd", "+254 20 555 0123"),
    "nile-textiles": ("Nile Textiles SAE", "+20 2 5550 1234"),
    "anatolia-foods": ("Anatolia Foods A.S.", "+90 212 555 0123"),
    "lagos-fintech": ("Lagos Fintech Ltd", "+234 1 555 0123"),
    "maple-health": ("Maple Health Inc.", "+1 416 555 0123"),
    "gotham-legal": ("Gotham Legal LLP", "+1 212 555 0123"),
    "paulista-retail": ("Paulista Retail Ltda", "+55 11 5550 1234"),
    "sakura-robotics": ("Sakura Robotics K.K.", "+81 3 5550 1234"),
    "outback-mining": ("Outback Mining Pty Ltd", "+61 2 5550 1234"),
    "deccan-pharma": ("Deccan Pharma Pvt Ltd", "+91 22 5550 1234"),
}


@dataclass(frozen=True)
class DemoPartner:
    """One partner of the sandbox register; days are relative to the seeding day."""

    name: str
    legal_name: str
    kinds: tuple[str, ...]
    countries: tuple[str, ...]
    regions: tuple[str, ...]
    expertise: tuple[str, ...]
    contact: tuple[str, str, str]
    """Name, e-mail, phone of the partner's own contact."""
    agreement: str
    """The agreement's reference."""
    signed: int
    """Days from the seeding day the agreement was signed (and took effect): negative."""
    expires: int | None
    """Days from the seeding day of its last day in force; None: open-ended."""
    reviewed: int
    """Days from the seeding day of its last review (negative)."""
    outcome: str = "pass"
    review_due: int = 300
    """Days from the seeding day the next review is due (negative: overdue)."""
    status: str = "active"
    status_reason: str | None = None
    assign: int = 1
    """How many tenants it covers it is assigned to (in name order, one partner per role)."""
    shares: int = 0
    """How many of its assignments have had the contact card shared (once each)."""


#: The register, eligible partners first; ``nordic-sales`` is the one the CLI docs use.
DEMO_PARTNERS: tuple[DemoPartner, ...] = (
    DemoPartner(
        "nordic-sales",
        "Nordic Sales AB",
        ("sales",),
        ("DK", "FI", "IS", "NO", "SE"),
        (),
        (),
        ("Astrid Lund", "astrid@nordic-sales.example", "+46 8 555 012 34"),
        "NS-2025-01",
        -420,
        310,
        -60,
        shares=1,
    ),
    DemoPartner(
        "rhein-consulting",
        "Rhein Consulting GmbH",
        ("expert",),
        ("AT", "CH", "DE"),
        (),
        ("gdpr", "payroll"),
        ("Jonas Becker", "jonas@rhein-consulting.example", "+49 221 5550 1234"),
        "RC-2024-07",
        -700,
        12,
        -200,
        shares=1,
    ),
    DemoPartner(
        "atlas-partners",
        "Atlas Partners SARL",
        ("expert", "sales"),
        (),
        ("eu",),
        ("logistics", "retail"),
        ("Claire Martin", "claire@atlas-partners.example", "+33 1 5550 1234"),
        "AP-2024-11",
        -380,
        25,
        -120,
    ),
    DemoPartner(
        "liberty-sales",
        "Liberty Sales LLC",
        ("sales",),
        ("CA", "MX", "US"),
        (),
        (),
        ("Sam Carter", "sam@liberty-sales.example", "+1 617 555 0142"),
        "LS-2023-02",
        -900,
        None,
        -90,
        shares=1,
    ),
    DemoPartner(
        "pacific-experts",
        "Pacific Experts Pty Ltd",
        ("expert",),
        ("AU", "JP", "NZ"),
        (),
        ("mining", "robotics"),
        ("Liam Nguyen", "liam@pacific-experts.example", "+61 3 5550 1234"),
        "PE-2024-03",
        -640,
        420,
        -395,
        review_due=-30,
    ),
    DemoPartner(
        "meridian-advisory",
        "Meridian Advisory Ltd",
        ("expert",),
        (),
        ("eu",),
        ("fintech", "textiles"),
        ("Amara Okoye", "amara@meridian.example", "+44 20 5550 1234"),
        "MA-2023-09",
        -760,
        -9,
        -150,
    ),
    DemoPartner(
        "andes-partners",
        "Andes Partners SA",
        ("sales",),
        ("AR", "BR", "CL"),
        (),
        (),
        ("Lucía Rojas", "lucia@andes.example", "+56 2 2555 0123"),
        "AN-2024-05",
        -500,
        230,
        -20,
        outcome="fail",
        status="suspended",
        status_reason="review failed: no proof of data-protection training",
        assign=0,
    ),
    DemoPartner(
        "gulf-advisors",
        "Gulf Advisors FZ-LLC",
        ("expert",),
        ("AE", "SA"),
        (),
        ("finance",),
        ("Omar Haddad", "omar@gulf-advisors.example", "+971 4 555 0123"),
        "GA-2022-01",
        -1100,
        -40,
        -400,
        status="ended",
        status_reason="partnership ended by mutual agreement",
        assign=0,
    ),
)
