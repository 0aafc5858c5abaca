"""Vault ownership (snekmate ownable_2step): transfer_ownership, accept_ownership, renounce_ownership."""

import boa
import pytest
from backstop.protocol.harness import actor

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def unwired(protocol, vault_for):
    """A fresh vault with no engine, so that `set_engine` shows who holds owner rights."""
    return vault_for(protocol.token, wire=False)


@pytest.fixture(scope="session")
def new_owner():
    return actor("new_owner")


def test_transfer_ownership__by_owner__sets_pending_owner_only(unwired, owner, new_owner, emitted):
    with boa.env.prank(owner):
        unwired.transfer_ownership(new_owner)
    (event,) = emitted(unwired, "OwnershipTransferStarted")
    assert (event.previous_owner, event.new_owner) == (owner, new_owner)
    assert unwired.pending_owner() == new_owner
    assert unwired.owner() == owner


def test_transfer_ownership__by_non_owner__reverts(unwired, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        unwired.transfer_ownership(attacker)
    assert unwired.pending_owner() == ZERO


def test_accept_ownership__by_pending_owner__hands_over_owner_rights(unwired, owner, new_owner, engine, emitted):
    with boa.env.prank(owner):
        unwired.transfer_ownership(new_owner)
    with boa.env.prank(new_owner):
        unwired.accept_ownership()
        (event,) = emitted(unwired, "OwnershipTransferred")
        assert (event.previous_owner, event.new_owner) == (owner, new_owner)
        assert unwired.owner() == new_owner
        assert unwired.pending_owner() == ZERO
    with boa.env.prank(owner), boa.reverts("ownable: caller is not the owner"):
        unwired.set_engine(engine)
    with boa.env.prank(new_owner):
        unwired.set_engine(engine)
    assert unwired.engine() == engine


@pytest.mark.parametrize("caller", ["owner", "attacker"])
def test_accept_ownership__by_other_than_pending_owner__reverts(unwired, owner, new_owner, request, caller):
    with boa.env.prank(owner):
        unwired.transfer_ownership(new_owner)
    with boa.env.prank(request.getfixturevalue(caller)), boa.reverts("ownable_2step: caller is not the new owner"):
        unwired.accept_ownership()
    assert unwired.owner() == owner
    assert unwired.pending_owner() == new_owner


def test_accept_ownership__after_transfer_to_zero__cancelled(unwired, owner, new_owner):
    with boa.env.prank(owner):
        unwired.transfer_ownership(new_owner)
        unwired.transfer_ownership(ZERO)
    with boa.env.prank(new_owner), boa.reverts("ownable_2step: caller is not the new owner"):
        unwired.accept_ownership()
    assert unwired.owner() == owner


def test_renounce_ownership__by_owner__leaves_no_owner(unwired, owner, new_owner, engine):
    with boa.env.prank(owner):
        unwired.transfer_ownership(new_owner)
        unwired.renounce_ownership()
    assert unwired.owner() == ZERO
    assert unwired.pending_owner() == ZERO  # a pending transfer dies with it
    with boa.env.prank(owner), boa.reverts("ownable: caller is not the owner"):
        unwired.set_engine(engine)


def test_renounce_ownership__by_non_owner__reverts(unwired, owner, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        unwired.renounce_ownership()
    assert unwired.owner() == owner
