"""Cross-margin math against hand-computed examples (SPEC section 3).

Setup (both token decimals): the trader deposits 20,000 USD, buys 10 ETH
(mark 2000, fill 2000.1, fee 20.001) and sells 0.5 BTC (mark 50,000, fill
49,998.75, fee 49.99875).
  collateral  = 20,000 - 20.001 - 49.99875                = 19,930.00025
  upnl ETH    = 10 * 2000 - 20,001                         = -1
  upnl BTC    = -0.5 * 50,000 + 24,999.375                 = -0.625
  equity      = 19,928.37525
  notional    = 20,000 + 25,000                            = 45,000
  initial     = 20,000 * 10% + 25,000 * 20%                = 7,000
  maintenance = 20,000 * 5% + 25,000 * 10%                 = 3,500
  ETH liquidation price: 2000 + (3500 - 19928.37525) / (10 * 0.95)   = 270.697342105...
  ETH bankruptcy price:  2000 - 19928.37525 / 10                      = 7.162475
  BTC liquidation price: 50000 + (3500 - 19928.37525) / (-0.5 - 0.05) = 79,869.773181818...
  BTC bankruptcy price:  50000 + 19928.37525 / 0.5                    = 89,856.7505
"""

import boa
import pytest

from backstop.units import wad
from tests.invariants import assert_invariants

ETH, BTC = 0, 1


@pytest.fixture
def cross(protocol, trader):
    protocol.fund_trader(trader, 20_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
        protocol.engine.trade(BTC, -wad("0.5"))
    return trader


def test_equity__long_and_short__matches_hand_computation(protocol, cross):
    assert protocol.vault.collateral(cross) == wad("19930.00025")
    assert protocol.lens.unrealized_pnl(cross, ETH) == -wad(1)
    assert protocol.lens.unrealized_pnl(cross, BTC) == -wad("0.625")
    assert protocol.lens.equity(cross) == wad("19928.37525")
    assert_invariants(protocol, [cross])


def test_requirements__two_markets__sum_per_market_fractions(protocol, cross):
    assert protocol.lens.notional(cross) == wad(45_000)
    assert protocol.lens.initial_req(cross) == wad(7_000)
    assert protocol.lens.maintenance_req(cross) == wad(3_500)


def test_margin_ratio__two_markets__equity_over_notional(protocol, cross):
    assert protocol.lens.margin_ratio(cross) == wad("19928.37525") * 10**18 // wad(45_000)


def test_free_collateral__with_positions__collateral_capped_by_initial_margin(protocol, cross):
    assert protocol.lens.free_collateral(cross) == wad("19928.37525") - wad(7_000)


def test_liquidation_price__long__hand_computed(protocol, cross):
    expected = wad(2000) + (wad(3500) - wad("19928.37525")) * 10**18 // wad("9.5")
    assert protocol.lens.liquidation_price(cross, ETH) == pytest.approx(expected, abs=10)
    assert expected == pytest.approx(wad("270.697342105263157894"), abs=10)


def test_liquidation_price__short__hand_computed(protocol, cross):
    assert protocol.lens.liquidation_price(cross, BTC) == pytest.approx(wad("79869.773181818181818181"), abs=10)


def test_bankruptcy_price__long_and_short__hand_computed(protocol, cross):
    assert protocol.lens.bankruptcy_price(cross, ETH) == wad("7.162475")
    assert protocol.lens.bankruptcy_price(cross, BTC) == wad("89856.7505")


def test_is_liquidatable__short_price_crosses_liquidation_price__flips(protocol, cross):
    liq = protocol.lens.liquidation_price(cross, BTC)
    protocol.set_price(BTC, 79_800)
    assert not protocol.lens.is_liquidatable(cross)
    protocol.set_price(BTC, 79_900)
    assert protocol.lens.is_liquidatable(cross)
    assert wad(79_800) < liq < wad(79_900)


def test_is_liquidatable__exactly_at_maintenance__not_liquidatable(protocol, trader):
    """Liquidatable means strictly below maintenance; check on a single long."""
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
    # equity(P) = 9979.999 + 10 P - 20001 ; maint(P) = 0.5 P  ->  P = 10021.001 / 9.5
    liq = protocol.lens.liquidation_price(trader, ETH)
    assert liq == pytest.approx(wad("1054.842210526315789473"), abs=10)
    protocol.set_price(ETH, 1055)
    assert protocol.lens.equity(trader) == wad("528.999")
    assert protocol.lens.maintenance_req(trader) == wad("527.5")
    assert not protocol.lens.is_liquidatable(trader)
    protocol.set_price(ETH, 1054)
    assert protocol.lens.equity(trader) == wad("518.999")
    assert protocol.lens.maintenance_req(trader) == wad("527")
    assert protocol.lens.is_liquidatable(trader)


def test_bankruptcy_price__at_that_mark__equity_is_zero(protocol, trader):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
    assert protocol.lens.bankruptcy_price(trader, ETH) == wad("1002.1001")
    protocol.set_price(ETH, "1002.1001")
    assert protocol.lens.equity(trader) == 0


def test_views__flat_account__neutral_values(protocol, trader):
    protocol.fund_trader(trader, 100)
    assert protocol.lens.equity(trader) == wad(100)
    assert protocol.lens.notional(trader) == 0
    assert protocol.lens.margin_ratio(trader) == 2**255 - 1
    assert protocol.lens.free_collateral(trader) == wad(100)
    assert not protocol.lens.is_liquidatable(trader)
    assert protocol.lens.liquidation_price(trader, ETH) == 0
    assert protocol.lens.bankruptcy_price(trader, ETH) == 0
    assert protocol.lens.entry_price(trader, ETH) == 0
    assert protocol.lens.unrealized_pnl(trader, ETH) == 0


def test_liquidation_price__overcollateralised_long__zero(protocol, trader):
    protocol.fund_trader(trader, 100_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    assert protocol.lens.liquidation_price(trader, ETH) == 0


def test_pool_equity__mirrors_traders__sum_of_equity_conserved(protocol, cross, other_trader):
    """Whatever the price, trader equity + pool equity + fund is constant (zero-sum)."""
    total = lambda: (  # noqa: E731
        protocol.lens.equity(cross) + protocol.lens.equity(protocol.pool.address) + protocol.vault.collateral(protocol.fund)
    )
    before = total()
    for eth, btc in [(1500, 60_000), (2500, 40_000), (1999, 50_001)]:
        protocol.set_price(ETH, eth)
        protocol.set_price(BTC, btc)
        assert abs(total() - before) <= 2  # one wei of flooring per position
        assert_invariants(protocol, [cross])
