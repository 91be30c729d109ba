"""One e-mail rule for the whole console: a tenant's contact (CLI and form) and the user an
inspection looks for accept and refuse exactly the same addresses, with the same words.
Domains are case-insensitive, so ``Ops@Example.COM`` is an address everywhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aptien_ops.composition import Console
from aptien_ops.domain import TenantState
from aptien_ops.errors import InvalidInput
from aptien_ops.inspect_query import check_email
from aptien_ops.services.provisioning import ProvisionRequest, check_contact_email

#: Both doors an e-mail address comes in by.
ENTRY_POINTS: dict[str, Callable[[str], str]] = {
    "contact e-mail": check_contact_email,
    "inspect user": check_email,
}

ACCEPTED = [
    "ops@example.com",
    "Ops@Example.COM",
    "greta@ACME.EXAMPLE",
    "o'brien+ops@acme.example",
    "';DELETE/**/FROM/**/users;--@x.example",  # quotes and semicolons are data
    "ops@xn--bcher-kva.example",
    "x" * 64 + "@acme.example",
    "  ops@acme.example\t",  # pasted with blanks around it
]

#: (address, why, in the words every entry point uses).
REFUSED = [
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("not-an-address", "'not-an-address' has no @"),
    ("ops@acme@example.com", "has more than one @"),
    ("@acme.example", "has nothing before the @"),
    ("ops@localhost", "'ops@localhost' has no dot in its domain"),
    ("ops@acme.", "has an empty part in its domain"),
    ("ops@.acme.example", "has an empty part in its domain"),
    ("ops@acme..example", "has an empty part in its domain"),
    ("ops@acme.x", "ends in a one-character domain part"),
    ("o ps@acme.example", "contains a space, control or invisible character"),
    ("'; DELETE FROM users; --@x.example", "contains a space, control or invisible character"),
    ("ops@acme.example\x1b[2J", "contains a space, control or invisible character"),
    ("ops\u202e@acme.example", "contains a space, control or invisible character"),
    ("ops\u200b@acme.example", "contains a space, control or invisible character"),
    ("x" * 65 + "@acme.example", "has more than 64 characters before the @"),
    ("ops@" + "a" * 250 + ".example", "is longer than 254 characters"),
]


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("address", ACCEPTED)
def test_an_address_is_accepted_by_every_entry_point(entry: str, address: str) -> None:
    kept = ENTRY_POINTS[entry](address)
    # The contact is kept as typed; an inspection looks the user up lower-cased.
    assert kept == (address.strip() if entry == "contact e-mail" else address.strip().lower())


@pytest.mark.parametrize("address, why", REFUSED)
def test_an_address_is_refused_alike_by_every_entry_point(address: str, why: str) -> None:
    reasons = {}
    for entry, check in ENTRY_POINTS.items():
        with pytest.raises(InvalidInput) as refused:
            check(address)
        message = refused.value.message
        assert why in message and "\n" not in message, entry
        assert "\x1b" not in message and "\u202e" not in message, entry  # escaped, never raw
        reasons[entry] = message.partition("must be an e-mail address: ")[2]
    assert len(set(reasons.values())) == 1, reasons


def test_a_long_address_is_quoted_60_characters_at_most() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_contact_email("z" * 500 + "@acme.example")
    assert "z" * 58 not in refused.value.message and "z" * 57 + "..." in refused.value.message


def test_a_contact_with_an_upper_case_domain_is_provisioned_as_typed(
    console: Console, tenant_name: str
) -> None:
    tenant = console.provisioning.provision(
        ProvisionRequest(tenant_name, "DE", contact_email=" Ops@Example.COM ")
    )
    assert (tenant.state, tenant.contact_email) == (TenantState.ACTIVE, "Ops@Example.COM")


@pytest.mark.parametrize("address, why", REFUSED[2:6])
def test_a_refused_address_reaches_no_system(
    console: Console, tenant_name: str, address: str, why: str
) -> None:
    before = len(console.opslog.list(1000))
    with pytest.raises(InvalidInput, match="the contact e-mail must be an e-mail address"):
        console.provisioning.provision(ProvisionRequest(tenant_name, "DE", contact_email=address))
    with pytest.raises(InvalidInput, match="EMAIL must be an e-mail address"):
        console.inspection.find_user(address)
    assert len(console.opslog.list(1000)) == before and console.tenants.list() == []
