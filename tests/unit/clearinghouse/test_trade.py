"""Clearinghouse.trade: fills against the pool at the impact price, fees, realised PnL.

Hand-computed reference (ETH market: mark 2000, skew_scale 100,000, fee 0.1%,
half of each fee to the pool, half to the fund):
  buy 10 ETH at skew 0: exec = 2000 * (1 + (0 + 10/2) / 100000) = 2000.1
  cost basis 20,001; fee 20.001; collateral 10,000 - 20.001 = 9,979.999
  then sell 10 ETH at mark 2200, skew 10:
  exec = 2200 * (1 + (10 - 10/2) / 100000) = 2200.11; proceeds 22,001.1
  realised = 22,001.1 - 20,001 = 2,000.1; fee 22.0011
"""

import boa
import pytest

from backstop.units import wad
from tests.invariants import assert_invariants

ETH, BTC = 0, 1


def test_trade__open_long__fills_at_impact_price_and_charges_fee(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)

    pos = protocol.engine.position(funded_trader, ETH)
    assert pos.size == wad(10)
    assert pos.cost == wad("20001")
    assert protocol.lens.entry_price(funded_trader, ETH) == wad("2000.1")
    assert protocol.vault.collateral(funded_trader) == wad("9979.999")
    assert protocol.vault.collateral(protocol.fund) == wad("10.0005")
    assert protocol.engine.market_state(ETH).skew == wad(10)
    assert protocol.engine.open_markets(funded_trader) == 1 << ETH
    assert_invariants(protocol, [funded_trader])


def test_trade__open_long__emits_trade_event(protocol, funded_trader, trade):
    log = trade(funded_trader, ETH, 10)
    assert log.account == funded_trader
    assert log.market == ETH
    assert log.size_delta == wad(10)
    assert log.exec_price == wad("2000.1")
    assert log.mark_price == wad(2000)
    assert log.fee == wad("20.001")
    assert log.realized_pnl == 0
    assert log.size == wad(10)


def test_trade__close_in_profit__realises_pnl_from_pool(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)
    pool_before = protocol.vault.collateral(protocol.pool.address)
    protocol.set_price(ETH, 2200)

    trade(funded_trader, ETH, -10)

    assert protocol.engine.position(funded_trader, ETH).size == 0
    assert protocol.engine.position(funded_trader, ETH).cost == 0
    assert protocol.engine.open_markets(funded_trader) == 0
    assert protocol.vault.collateral(funded_trader) == wad("9979.999") + wad("2000.1") - wad("22.0011")
    # The pool pays the realised PnL and keeps half the fee.
    assert protocol.vault.collateral(protocol.pool.address) == pool_before - wad("2000.1") + wad("11.00055")
    assert_invariants(protocol, [funded_trader])


def test_trade__open_short__cost_basis_negative(protocol, funded_trader, trade):
    trade(funded_trader, BTC, "-0.5")
    # BTC: mark 50,000, skew_scale 10,000: exec = 50000 * (1 - 0.25 / 10000) = 49,998.75
    pos = protocol.engine.position(funded_trader, BTC)
    assert pos.size == -wad("0.5")
    assert pos.cost == -wad("24999.375")
    assert protocol.lens.entry_price(funded_trader, BTC) == wad("49998.75")
    # fee 0.2% of 24,999.375
    assert protocol.vault.collateral(funded_trader) == wad(10_000) - wad("49.99875")
    assert_invariants(protocol, [funded_trader])


def test_trade__partial_close__realises_proportional_pnl(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)
    protocol.set_price(ETH, 2100)
    trade(funded_trader, ETH, -4)
    # exec = 2100 * (1 + (10 - 2) / 100000) = 2100.168; proceeds 8,400.672
    # closed cost = 20,001 * 4 / 10 = 8,000.4; realised = 400.272; fee 8.400672
    pos = protocol.engine.position(funded_trader, ETH)
    assert pos.size == wad(6)
    assert pos.cost == wad("12000.6")
    assert protocol.lens.entry_price(funded_trader, ETH) == wad("2000.1")
    assert protocol.vault.collateral(funded_trader) == wad("9979.999") + wad("400.272") - wad("8.400672")
    assert_invariants(protocol, [funded_trader])


def test_trade__flip_long_to_short__closes_then_opens_at_fill_price(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 2)
    # exec of the first buy: 2000 * (1 + 1 / 100000) = 2000.02; cost 4000.04
    fill = trade(funded_trader, ETH, -5)
    # skew 2: exec = 2000 * (1 + (2 - 2.5) / 100000) = 1999.99; cash -9999.95
    # closing part: 2/5 of the cash = -3999.98, realised 3999.98 - 4000.04 = -0.06
    # opened part: -3 ETH for -5999.97
    pos = protocol.engine.position(funded_trader, ETH)
    assert pos.size == -wad(3)
    assert pos.cost == -wad("5999.97")
    assert protocol.lens.entry_price(funded_trader, ETH) == wad("1999.99")
    assert fill.realized_pnl == -wad("0.06")
    assert_invariants(protocol, [funded_trader])


def test_trade__two_traders_opposite__pool_holds_net(protocol, funded_trader, other_trader, trade):
    protocol.fund_trader(other_trader, 10_000)
    trade(funded_trader, ETH, 3)
    trade(other_trader, ETH, -5)
    assert protocol.engine.market_state(ETH).skew == -wad(2)
    assert protocol.engine.position(protocol.pool.address, ETH).size == wad(2)
    assert_invariants(protocol, [funded_trader, other_trader])


def test_trade__acceptable_price_met__fills(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10, acceptable_price=wad("2000.1"))
    assert protocol.engine.position(funded_trader, ETH).size == wad(10)


def test_trade__buy_above_acceptable_price__reverts_slippage(protocol, funded_trader, trade):
    with boa.reverts("Clearinghouse: slippage"):
        trade(funded_trader, ETH, 10, acceptable_price=wad("2000.09"))
    assert protocol.engine.position(funded_trader, ETH).size == 0


def test_trade__sell_below_acceptable_price__reverts_slippage(protocol, funded_trader, trade):
    with boa.reverts("Clearinghouse: slippage"):
        trade(funded_trader, ETH, -10, acceptable_price=wad("1999.91"))


def test_trade__zero_size__reverts(protocol, funded_trader, trade):
    with boa.reverts("Clearinghouse: zero size"):
        trade(funded_trader, ETH, 0)


def test_trade__unknown_market__reverts(protocol, funded_trader, trade):
    with boa.reverts("Clearinghouse: unknown market"):
        trade(funded_trader, 2, 1)


def test_trade__by_pool__reverts_system_account(protocol, trade):
    with boa.reverts("Clearinghouse: system account"):
        trade(protocol.pool.address, ETH, 1)


def test_trade__by_insurance_fund__reverts_system_account(protocol, trade):
    with boa.reverts("Clearinghouse: system account"):
        trade(protocol.fund, ETH, 1)


def test_trade__before_pool_is_set__reverts_not_initialised(contracts, owner, trader):
    with boa.env.prank(owner):
        token = contracts["MockERC20"].deploy("Test USD", "tUSD", 6)
        vault = contracts["Vault"].deploy(token.address)
        oracle = contracts["PriceOracle"].deploy()
        configurator = contracts["Configurator"].deploy(wad("0.5"), wad(10))
        deleverager = contracts["Deleverager"].deploy(configurator.address)
        engine = contracts["Clearinghouse"].deploy(vault.address, oracle.address, configurator.address, deleverager.address)
        configurator.set_engine(engine.address)  # bound, but no pool or fund yet
    with boa.env.prank(trader), boa.reverts("Clearinghouse: not initialised"):
        engine.trade(0, wad(1))


def test_trade__without_enough_margin__reverts_insufficient_margin(protocol, funded_trader, trade):
    collateral = protocol.vault.collateral(funded_trader)
    with boa.reverts("Clearinghouse: insufficient margin"):
        trade(funded_trader, ETH, 50)  # 100,000 notional needs 10,000 at 10% plus fees
    assert protocol.vault.collateral(funded_trader) == collateral
    assert protocol.engine.position(funded_trader, ETH).size == 0


def test_trade__at_initial_margin_limit__fills(protocol, funded_trader, trade):
    # 45 ETH: notional 90,000 at mark, initial 9,000; fee ~90 and impact ~45 leave equity ~9,865
    trade(funded_trader, ETH, 45)
    assert protocol.lens.equity(funded_trader) >= protocol.lens.initial_req(funded_trader)


def test_trade__dust_position__reverts_position_too_small(protocol, funded_trader, trade):
    with boa.reverts("Clearinghouse: position too small"):
        trade(funded_trader, ETH, "0.004")  # 8 USD < 10 USD minimum


def test_trade__close_leaving_dust__reverts_position_too_small(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 1)
    with boa.reverts("Clearinghouse: position too small"):
        trade(funded_trader, ETH, "-0.999")


def test_trade__beyond_max_skew__reverts(protocol, funded_trader, owner, trade):
    with boa.env.prank(owner):
        protocol.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(3)))
    trade(funded_trader, ETH, 3)
    with boa.reverts("Clearinghouse: max skew"):
        trade(funded_trader, ETH, 1)


def test_trade__reducing_skew_beyond_cap__allowed(protocol, funded_trader, other_trader, owner, trade):
    """A trade that shrinks the pool's exposure is never blocked by the cap."""
    protocol.fund_trader(other_trader, 10_000)
    trade(funded_trader, ETH, 3)
    with boa.env.prank(owner):
        protocol.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(1)))
    trade(other_trader, ETH, -2)  # skew 3 -> 1
    assert protocol.engine.market_state(ETH).skew == wad(1)


def test_trade__pool_beyond_its_margin__reverts_pool_margin(protocol, trader, owner, trade):
    # Nearly no price impact, so the pool's equity stays ~1M while its requirement grows.
    with boa.env.prank(owner):
        protocol.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(10**7), wad(10**6)))
    protocol.fund_trader(trader, 2_000_000)
    trade(trader, ETH, 4000)  # pool requirement 800k < ~1M equity
    with boa.reverts("Clearinghouse: pool margin"):
        trade(trader, ETH, 2000)  # 1.2M > ~1.01M


def test_trade__impact_beyond_skew_scale__reverts_price_impact(protocol, funded_trader, trade):
    with boa.reverts("margin_math: price impact too large"):
        trade(funded_trader, ETH, -250_000)


def test_trade__open_on_stale_price__reverts_stale(protocol, funded_trader, trade):
    boa.env.time_travel(seconds=3601)
    with boa.reverts("Oracle: stale price"):
        trade(funded_trader, ETH, 1)


def test_trade__open_on_negative_price__reverts_non_positive(protocol, funded_trader, trade):
    protocol.feeds[ETH].set_answer(-1)
    with boa.reverts("Oracle: non-positive price"):
        trade(funded_trader, ETH, 1)


def test_trade__close_on_stale_price__exits_at_last_good_price(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)
    boa.env.time_travel(seconds=3601)
    fill = trade(funded_trader, ETH, -10)
    assert fill.mark_price == wad(2000)
    assert protocol.engine.position(funded_trader, ETH).size == 0
    assert_invariants(protocol, [funded_trader])


def test_trade__close_on_reverting_feed__exits(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)
    protocol.feeds[ETH].set_reverting(True)
    trade(funded_trader, ETH, -10)
    assert protocol.engine.position(funded_trader, ETH).size == 0


def test_trade__close_with_other_market_feed_failing__exits(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 2)
    trade(funded_trader, BTC, "0.1")
    protocol.feeds[BTC].set_reverting(True)
    trade(funded_trader, ETH, -2)
    assert protocol.engine.position(funded_trader, ETH).size == 0
    with boa.reverts("Oracle: feed call failed"):
        trade(funded_trader, ETH, 1)  # new risk needs every price of the account


def test_trade__open_after_price_jump__reverts_market_guarded(protocol, funded_trader, trade):
    protocol.set_price(ETH, 2600)  # +30% > 25% max deviation
    protocol.oracle.refresh(ETH)
    with boa.reverts("Clearinghouse: market guarded"):
        trade(funded_trader, ETH, 1)


def test_trade__open_on_jump_before_any_refresh__reverts_market_guarded(protocol, funded_trader, trade):
    protocol.set_price(ETH, 2600)
    with boa.reverts("Clearinghouse: market guarded"):
        trade(funded_trader, ETH, 1)


def test_trade__close_on_guarded_market__allowed(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 1)
    protocol.set_price(ETH, 2600)
    trade(funded_trader, ETH, -1)
    assert protocol.engine.position(funded_trader, ETH).size == 0
    assert protocol.oracle.guarded(ETH)


def test_trade__close_into_negative_equity__reverts(protocol, funded_trader, trade):
    trade(funded_trader, ETH, 10)  # bankruptcy price ~1002.10
    protocol.set_price(ETH, 900)
    with boa.reverts("Clearinghouse: negative equity"):
        trade(funded_trader, ETH, -5)
    assert protocol.engine.position(funded_trader, ETH).size == wad(10)


def test_trade__beyond_128_bit_storage__reverts_position_too_large(protocol, funded_trader, trade):
    """Positions are packed as two int128 halves; an absurd size is refused, not truncated."""
    with boa.reverts("Clearinghouse: position too large"):
        trade(funded_trader, ETH, 10**17)


def test_trade__short_position__round_trips_through_packed_storage(protocol, funded_trader, trade):
    trade(funded_trader, ETH, -3)
    pos = protocol.engine.position(funded_trader, ETH)
    assert pos.size == -wad(3) and pos.cost < 0
    state = protocol.engine.market_state(ETH)
    assert (state.skew, state.total_cost) == (pos.size, pos.cost)
    trade(funded_trader, ETH, 3)
    assert tuple(protocol.engine.market_state(ETH)) == (0, 0)
