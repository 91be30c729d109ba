"""One rule says what an operator is offered: ``permissions.offered``. The services refuse with
it, the screens and the palette hide with it, and the CLI's hints are its words."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptien_ops.composition import Console, open_console
from aptien_ops.errors import Forbidden
from aptien_ops.permissions import (
    APPROVERS,
    MATRIX,
    READ_ONLY_SAFE,
    Action,
    Role,
    may_approve,
    offered,
)


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_offered_by_role_and_mode(action: Action, read_only: bool) -> None:
    needed = " or ".join(sorted(MATRIX[action]))
    for role in Role:
        offer = offered([role], action, read_only)
        if read_only and action not in READ_ONLY_SAFE:
            assert (offer.allowed, offer.read_only) == (False, True), role
            assert offer.reason == "not available in read-only mode"
        elif role in MATRIX[action]:
            assert (offer.allowed, offer.reason) == (True, ""), role
        else:
            assert (offer.allowed, offer.read_only) == (False, False), role
            assert offer.reason == f"needs role {needed}"


def test_the_reasons_read_as_the_cli_prints_them() -> None:
    viewer = offered(["viewer"], Action.TENANT_SUSPEND, read_only=False)
    assert viewer.reason == "needs role admin or operator"
    assert (
        viewer.refusal("vic").one_line()
        == "vic may not tenant.suspend (needs role admin or operator)"
    )
    admin = offered(["admin"], Action.TENANT_SUSPEND, read_only=True)
    assert admin.refusal("ada").one_line() == (
        "tenant.suspend is not available in read-only mode (restart without --read-only)"
    )
    # Reading stays offered in read-only mode; no roles (or unknown ones) means nothing is.
    assert offered(["viewer"], Action.TENANT_VIEW, read_only=True).allowed
    assert not offered([], Action.TENANT_VIEW, read_only=False).allowed
    assert not offered(["root", "superuser"], Action.TENANT_VIEW, read_only=False).allowed


def refused_by(console: Console, action: Action) -> Forbidden | None:
    """The services' one door's refusal of ``action``: None when it lets it through."""
    try:
        with console.ctx.catalog.read() as tx:
            console.ctx.authorize(tx, action)
    except Forbidden as refused:
        return refused
    return None


def refusal(console: Console, action: Action) -> str | None:
    """What the services' one door says to ``action``: None when it lets it through."""
    refused = refused_by(console, action)
    return None if refused is None else refused.one_line()


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_the_services_refuse_exactly_what_is_not_offered(
    sandbox_config: Path, as_operator, read_only: bool
) -> None:  # type: ignore[no-untyped-def]
    """The services refuse what the screens do not offer, in the same words; a sandbox's
    refusal then adds which demo colleague holds the role, and how to act as them."""
    as_operator("vic")  # the sandbox's viewer
    console = open_console(sandbox_config, read_only=read_only)
    try:
        for action in Action:
            offer = offered(["viewer"], action, read_only)
            refused = refused_by(console, action)
            if offer.allowed:
                assert refused is None, action
                continue
            expected = offer.refusal("vic")
            assert refused is not None and refused.message == expected.message, action
            hint = refused.hint or ""
            assert hint == expected.hint or (
                hint.startswith(f"{expected.hint}; in this sandbox ")
                and "APTIEN_OPS_OPERATOR=" in hint
                and not offer.read_only
            ), (action, hint)
    finally:
        console.close()


def test_someone_who_is_no_operator_is_told_who_can_add_them(
    sandbox_config: Path, as_operator
) -> None:  # type: ignore[no-untyped-def]
    as_operator("mallory")
    console = open_console(sandbox_config, read_only=True)
    try:
        assert refusal(console, Action.TENANT_VIEW) == (
            "mallory is not an operator of this console "
            "(an admin runs: aptien-ops operator add mallory --role viewer)"
        )
        # Read-only mode is the first reason for a change, whoever asks.
        assert refusal(console, Action.TENANT_SUSPEND) == (
            "tenant.suspend is not available in read-only mode (restart without --read-only)"
        )
    finally:
        console.close()


@pytest.mark.parametrize("requested", sorted(APPROVERS) + ["an.action.nobody.listed"])
def test_only_notices_to_users_are_approved_by_security_staff_everything_else_by_an_admin(
    requested: str,
) -> None:
    # approval.decide is open to security staff so that they can approve breach notices and
    # operational notices to the tenants' users (both reach people's e-mails); APPROVERS keeps
    # them from approving anything else (a purge, an admin grant, the policy).
    assert may_approve(["admin"], requested)
    assert may_approve(["security"], requested) == (
        requested in ("breach.notify", "notice.send-users")
    )
    for role in ("operator", "viewer", "billing", "partner-manager"):
        assert not may_approve([role], requested), role
