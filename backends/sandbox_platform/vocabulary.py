"""The platform's static vocabulary: the fictional names, titles, companies and user agents
seeded activity is built from, and the mixes activity draws its methods, outcomes, actions and
datasheets from.

Every name is fictional and every company a well-known fictitious one; nothing here is anyone's
real data.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Amara",
    "Bjorn",
    "Chen",
    "Dalia",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Leila",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sanjay",
    "Tamsin",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Aiko",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ingrid",
    "Jamal",
    "Kaori",
    "Lars",
    "Mina",
    "Nikolai",
)
LAST_NAMES = (
    "Abara",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Underwood",
    "Varga",
    "Weber",
    "Xu",
    "Yamamoto",
    "Zielinski",
    "Adeyemi",
    "Bauer",
    "Costa",
    "Dahl",
    "Esposito",
    "Fischer",
    "Gomez",
    "Horvath",
    "Iqbal",
    "Janssen",
    "Kim",
    "Larsen",
    "Mendes",
    "Novak",
)
JOB_TITLES = (
    "Accountant",
    "Account Executive",
    "Backend Engineer",
    "Data Analyst",
    "Facilities Coordinator",
    "Finance Manager",
    "Frontend Engineer",
    "HR Business Partner",
    "IT Support Specialist",
    "Legal Counsel",
    "Marketing Manager",
    "Office Manager",
    "Operations Lead",
    "Payroll Specialist",
    "Product Designer",
    "Product Manager",
    "Recruiter",
    "Sales Manager",
    "Site Reliability Engineer",
    "Support Engineer",
)
DEPARTMENTS = (
    "Engineering",
    "Finance",
    "Legal",
    "Marketing",
    "Operations",
    "People",
    "Sales",
    "Support",
)
#: Well-known fictitious company names.
COMPANIES = (
    "Northwind Traders",
    "Contoso",
    "Fabrikam",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Woodgrove Bank",
    "Alpine Ski House",
)
COMPANY_DOMAINS = tuple(c.lower().replace(" ", "") + ".example" for c in COMPANIES)
STAGES = ("applied", "screening", "interview", "offer", "hired", "rejected")
#: Browsers and the Aptien app, as their user agents spell them.
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.6367.82 Mobile Safari/537.36",
    "AptienMobile/3.8.1 (iOS 17.4; iPhone15,2)",
)
SCRIPT_AGENTS = (
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1)",
)
#: Mailboxes credential-stuffing lists try on every domain; no real user's address looks like
#: these.
STUFFING_NAMES = (
    "admin",
    "info",
    "hr",
    "payroll",
    "it",
    "finance",
    "office",
    "support",
    "ceo",
    "accounts",
)

# ----------------------------------------------------------------------------- mixes

#: Login methods, per tenth of the users: SSO, TOTP, password.
METHOD_MIX = ("sso",) * 5 + ("totp",) * 3 + ("password",) * 2
#: Per login method, 1000 outcomes to draw from: mostly success, a realistic tail of failures.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "password": ("failure:bad_password",) * 30
    + ("failure:unknown_user",) * 6
    + ("failure:locked",) * 3
    + ("success",) * 961,
    "totp": ("failure:bad_password",) * 24
    + ("failure:mfa",) * 14
    + ("failure:unknown_user",) * 6
    + ("failure:locked",) * 3
    + ("success",) * 953,
    "sso": ("failure:mfa",) * 6 + ("failure:locked",) * 2 + ("success",) * 992,
}
#: Change-audit actions per hundred events.
ACTIONS = (
    ("create",) * 22 + ("update",) * 53 + ("export",) * 10 + ("archive",) * 9 + ("delete",) * 6
)
#: Datasheet index per tenth: employees 50%, contacts 30%, applicants 20%.
SHEET_MIX = (0,) * 5 + (1,) * 3 + (2,) * 2
