"""Two-step ownership (snekmate ownable_2step): who may configure feeds and guards."""

import boa

from backstop.protocol.harness import HEARTBEAT, feed_answer
from backstop.units import wad

ETH = 0
ZERO = "0x0000000000000000000000000000000000000000"


def _set_feed(oracle, caller, aggregator):
    with boa.env.prank(caller):
        oracle.set_feed(ETH, aggregator, HEARTBEAT, 1, feed_answer(1_000_000), wad("0.25"))


def test_owner__after_deploy__is_deployer(oracle, owner):
    assert oracle.owner() == owner


def test_accept_ownership__by_pending_owner__transfers_control(oracle, owner, trader, feed):
    with boa.env.prank(owner):
        oracle.transfer_ownership(trader)
    with boa.env.prank(trader):
        oracle.accept_ownership()
    assert (oracle.owner(), oracle.pending_owner()) == (trader, ZERO)
    _set_feed(oracle, trader, feed.address)
    with boa.reverts("ownable: caller is not the owner"):
        _set_feed(oracle, owner, feed.address)


def test_transfer_ownership__pending_not_accepted__pending_owner_cannot_configure(oracle, owner, trader, feed):
    with boa.env.prank(owner):
        oracle.transfer_ownership(trader)
    assert oracle.owner() == owner
    with boa.reverts("ownable: caller is not the owner"):
        _set_feed(oracle, trader, feed.address)


def test_accept_ownership__by_attacker__reverts_not_new_owner(oracle, owner, trader, attacker):
    with boa.env.prank(owner):
        oracle.transfer_ownership(trader)
    with boa.env.prank(attacker), boa.reverts("ownable_2step: caller is not the new owner"):
        oracle.accept_ownership()


def test_transfer_ownership__by_attacker__reverts_not_owner(oracle, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        oracle.transfer_ownership(attacker)


def test_renounce_ownership__by_owner__no_one_can_configure(oracle, owner, feed):
    with boa.env.prank(owner):
        oracle.renounce_ownership()
    assert oracle.owner() == ZERO
    with boa.reverts("ownable: caller is not the owner"):
        _set_feed(oracle, owner, feed.address)


def test_renounce_ownership__by_attacker__reverts_not_owner(oracle, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        oracle.renounce_ownership()
