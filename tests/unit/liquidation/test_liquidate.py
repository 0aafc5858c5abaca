"""Clearinghouse.liquidate: partial to maintenance * (1 + buffer), full near
bankruptcy, penalty split keeper / fund, bad debt covered by the fund.

Parameters (backstop.protocol.harness.LIQUIDATION): penalty 1% of closed notional, keeper
20% of it clamped to 0.10..1,000 USD, buffer 10%. ETH mmr 5%, skew_scale 100,000.
"""

import boa
import pytest

from backstop.units import WAD, wad
from tests.invariants import assert_invariants

ETH, BTC = 0, 1


def test_liquidate__healthy_account__reverts(protocol, long_10_eth, keeper):
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: account healthy"):
        protocol.engine.liquidate(long_10_eth)


def test_liquidate__flat_account__reverts_healthy(protocol, trader, keeper):
    protocol.fund_trader(trader, 100)
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: account healthy"):
        protocol.engine.liquidate(trader)


def test_liquidate__slightly_unhealthy__partial_and_ends_healthy_with_position_open(
    protocol, long_10_eth, keeper, events
):
    # At 1040: equity 378.999 < maintenance 520. Target 572 with the 10% buffer;
    # closing fraction f at mark: 378.999 - f * 104 >= (1 - f) * 572  ->  f ~ 0.4124.
    protocol.set_price(ETH, 1040)
    assert protocol.lens.is_liquidatable(long_10_eth)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (fill,) = events(protocol.engine, "Liquidation")
    (settled,) = events(protocol.engine, "LiquidationSettled")
    size = protocol.engine.position(long_10_eth, ETH).size
    assert wad("5.8") < size < wad("5.9")
    assert fill.size_closed == size - wad(10)
    assert not settled.fully_closed and settled.bad_debt == 0
    equity, maint = protocol.lens.equity(long_10_eth), protocol.lens.maintenance_req(long_10_eth)
    assert equity >= maint * 11 // 10
    assert not protocol.lens.is_liquidatable(long_10_eth)
    # Least size: closing noticeably less would miss the target.
    assert equity - maint * 11 // 10 < wad(2)
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__partial__penalty_split_between_keeper_and_fund(protocol, long_10_eth, keeper, events):
    protocol.set_price(ETH, 1040)
    fund_before = protocol.vault.collateral(protocol.fund)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (fill,) = events(protocol.engine, "Liquidation")
    (settled,) = events(protocol.engine, "LiquidationSettled")
    closed_notional = (-fill.size_closed * wad(1040) + WAD - 1) // WAD
    assert settled.penalty == fill.penalty == (closed_notional * wad("0.01") + WAD - 1) // WAD
    assert settled.keeper_reward == settled.penalty * 2 // 10  # 20%, within 5..1,000
    assert protocol.vault.collateral(keeper) == settled.keeper_reward
    assert protocol.vault.collateral(protocol.fund) - fund_before == settled.penalty - settled.keeper_reward
    assert settled.fund_share == settled.penalty - settled.keeper_reward


def test_liquidate__near_bankruptcy__closes_fully_and_penalty_is_what_is_left(protocol, long_10_eth, keeper, events):
    # At 1003: equity 8.999 < the 100.30 penalty of a full close -> full close,
    # at the mark whatever the skew: collateral left 9979.999 + 10030 - 20001 =
    # 8.999, all of it the penalty; the keeper gets 20% of that, 1.7998.
    protocol.set_price(ETH, 1003)
    fund_before = protocol.vault.collateral(protocol.fund)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (settled,) = events(protocol.engine, "LiquidationSettled")
    assert settled.fully_closed
    assert protocol.engine.position(long_10_eth, ETH).size == 0
    assert protocol.engine.open_markets(long_10_eth) == 0
    assert settled.penalty == wad("8.999")
    assert settled.keeper_reward == wad("1.7998")
    assert protocol.vault.collateral(long_10_eth) == 0
    assert protocol.vault.collateral(protocol.fund) == fund_before + wad("7.1992")
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__bad_debt__fund_covers_it_exactly(protocol, long_10_eth, keeper, seed_fund, events):
    # At 900: a fill at the mark, collateral after the close 9979.999 + 9000 - 20001 = -1021.001,
    # exactly the equity at the mark the gate saw.
    seed_fund(2_000)
    fund_before = protocol.vault.collateral(protocol.fund)
    protocol.set_price(ETH, 900)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (covered,) = events(protocol.engine, "BadDebtCovered")
    (settled,) = events(protocol.engine, "LiquidationSettled")
    assert covered.account == long_10_eth
    assert covered.amount == settled.bad_debt == wad("1021.001")
    assert settled.penalty == 0 and settled.keeper_reward == wad("0.1")  # the fund pays the min reward
    assert settled.fund_share == -wad("0.1")
    assert protocol.vault.collateral(long_10_eth) == 0
    assert protocol.vault.collateral(protocol.fund) == fund_before - wad("1021.001") - wad("0.1")
    assert covered.fund_balance == protocol.vault.collateral(protocol.fund)
    assert protocol.lens.equity(long_10_eth) == 0
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__bad_debt_beyond_fund__reverts_adl_required(protocol, long_10_eth, keeper):
    protocol.set_price(ETH, 900)
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: ADL required"):
        protocol.engine.liquidate(long_10_eth)
    assert protocol.engine.position(long_10_eth, ETH).size == wad(10)


def test_liquidate__fund_just_enough__covers_without_going_negative(protocol, long_10_eth, keeper, seed_fund, events):
    # The fund holds 10.0005 of fees; top it up to exactly the 1021.001 of bad
    # debt at the mark: the close fills at the mark, so that is all it needs
    # (and nothing is left for the keeper's top-up).
    seed_fund("1011.0005")
    protocol.set_price(ETH, 900)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (settled,) = events(protocol.engine, "LiquidationSettled")
    assert settled.bad_debt == wad("1021.001") and settled.keeper_reward == 0
    assert protocol.vault.collateral(protocol.fund) == 0
    assert protocol.vault.collateral(long_10_eth) == 0
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__reward_above_max__clamped(protocol, long_10_eth, keeper, owner, events):
    with boa.env.prank(owner):
        protocol.configurator.set_liquidation_params((wad("0.01"), wad("0.2"), 0, wad(1), wad("0.1")))
    protocol.set_price(ETH, 1040)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    (settled,) = events(protocol.engine, "LiquidationSettled")
    assert settled.penalty * 2 // 10 > wad(1)
    assert settled.keeper_reward == wad(1)


def test_liquidate__stale_price__reverts_with_oracle_reason(protocol, long_10_eth, keeper):
    protocol.set_price(ETH, 1040)
    boa.env.time_travel(seconds=3601)
    with boa.env.prank(keeper), boa.reverts("Oracle: stale price"):
        protocol.engine.liquidate(long_10_eth)


def test_liquidate__guarded_market__still_liquidates(protocol, long_10_eth, keeper, seed_fund):
    seed_fund(2_000)
    protocol.set_price(ETH, 900)  # -55% in one round: guarded
    protocol.oracle.refresh(ETH)
    assert protocol.oracle.guarded(ETH)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    assert protocol.engine.position(long_10_eth, ETH).size == 0


def test_liquidate__two_markets__closes_the_same_fraction_of_each(protocol, trader, keeper, events):
    protocol.fund_trader(trader, 20_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(40))
        protocol.engine.trade(BTC, wad("0.5"))
    protocol.set_price(ETH, 1580)
    assert protocol.lens.is_liquidatable(trader)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(trader)
    fills = events(protocol.engine, "Liquidation")
    assert [f.market for f in fills] == [ETH, BTC]
    eth, btc = (protocol.engine.position(trader, m).size for m in (ETH, BTC))
    assert eth > 0 and btc > 0
    assert abs(-fills[0].size_closed * WAD // wad(40) - -fills[1].size_closed * WAD // wad("0.5")) < 10**12
    assert not protocol.lens.is_liquidatable(trader)
    assert_invariants(protocol, [trader, keeper])


def test_liquidate__keeper_reward__withdrawable(protocol, long_10_eth, keeper):
    protocol.set_price(ETH, 1040)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
        reward_units = protocol.vault.collateral(keeper) // protocol.vault.SCALE()
        protocol.engine.withdraw(reward_units)
    assert protocol.token.balanceOf(keeper) == reward_units > 0
