"""Clearinghouse.withdraw: equity - amount >= initial margin, amount <= collateral."""

import boa
import pytest

from backstop.units import wad
from tests.invariants import assert_invariants

ETH, BTC = 0, 1


def test_withdraw__flat_account__pays_out_everything(protocol, trader):
    amount = protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader):
        protocol.engine.withdraw(amount)
    assert protocol.token.balanceOf(trader) == amount
    assert protocol.vault.collateral(trader) == 0
    assert_invariants(protocol, [trader])


def test_withdraw__to_receiver__pays_receiver(protocol, trader, other_trader):
    amount = protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader):
        protocol.engine.withdraw(amount, other_trader)
    assert protocol.token.balanceOf(other_trader) == amount


def test_withdraw__flat_account_on_failing_feed__still_works(protocol, trader):
    amount = protocol.fund_trader(trader, 1_000)
    protocol.feeds[ETH].set_reverting(True)
    with boa.env.prank(trader):
        protocol.engine.withdraw(amount)
    assert protocol.token.balanceOf(trader) == amount


def test_withdraw__up_to_free_collateral__succeeds_and_one_more_unit_reverts(protocol, trader):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
    free_units = protocol.lens.free_collateral(trader) // protocol.vault.SCALE()
    with boa.env.prank(trader):
        with boa.reverts("Clearinghouse: insufficient margin"):
            protocol.engine.withdraw(free_units + 1)
        protocol.engine.withdraw(free_units)
    assert protocol.lens.equity(trader) >= protocol.lens.initial_req(trader)
    assert_invariants(protocol, [trader])


def test_withdraw__more_than_collateral__reverts_insufficient_collateral(protocol, trader):
    amount = protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader), boa.reverts("Clearinghouse: insufficient collateral"):
        protocol.engine.withdraw(amount + 1)
    assert protocol.vault.collateral(trader) == amount * protocol.vault.SCALE()


def test_withdraw__unrealised_profit__not_withdrawable_beyond_collateral(protocol, trader):
    protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    protocol.set_price(ETH, 2400)  # +~400 unrealised
    collateral_units = protocol.vault.collateral(trader) // protocol.vault.SCALE()
    with boa.env.prank(trader), boa.reverts("Clearinghouse: insufficient collateral"):
        protocol.engine.withdraw(collateral_units + 1)


def test_withdraw__zero__reverts(protocol, trader):
    protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader), boa.reverts("Clearinghouse: zero amount"):
        protocol.engine.withdraw(0)


def test_withdraw__with_position_on_stale_price__reverts_stale(protocol, trader):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    boa.env.time_travel(seconds=3601)
    with boa.env.prank(trader), boa.reverts("Oracle: stale price"):
        protocol.engine.withdraw(protocol.units(1))


def test_withdraw__with_position_in_guarded_market__reverts(protocol, trader, owner):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    with boa.env.prank(owner):
        protocol.oracle.set_guard(ETH, True)
    with boa.env.prank(trader), boa.reverts("Clearinghouse: market guarded"):
        protocol.engine.withdraw(protocol.units(1))


def test_withdraw__to_zero_address__reverts(protocol, trader):
    protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader), boa.reverts("Vault: zero address"):
        protocol.engine.withdraw(protocol.units(1), "0x0000000000000000000000000000000000000000")


def test_free_collateral__failing_price_or_guard__zero_without_revert(protocol, trader, owner):
    """free_collateral says what withdraw would pay now: nothing while withdraw would revert."""
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    assert protocol.lens.free_collateral(trader) > 0
    with boa.env.prank(owner):
        protocol.oracle.set_guard(ETH, True)
    assert protocol.lens.free_collateral(trader) == 0
    with boa.env.prank(owner):
        protocol.oracle.set_guard(ETH, False)
    protocol.feeds[ETH].set_reverting(True)
    assert protocol.lens.free_collateral(trader) == 0


def test_account_health__matches_batch_view(protocol, trader):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    assert protocol.lens.account_health(trader) == protocol.lens.health([trader])[0]
    protocol.feeds[ETH].set_reverting(True)
    assert protocol.lens.account_health(trader).prices_valid is False
