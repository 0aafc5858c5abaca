"""Share price: the pool is the other side of every trade, so its shares gain what traders
lose and the pool's fee share, and lose what traders win.

Hand-computed (ETH: mark 2000, skew_scale 100,000, fee 0.1%, half of each fee to the pool):
  trader buys 10 ETH at 2000.1: cost 20,001, fee 20.001, pool's half 10.0005;
  pool holds -10 ETH at cost -20,001, so at mark P its upnl is 20,001 - 10 * P.
Shares are valued at that equity less the fill premium the open skew holds,
P * s^2 / (2 * skew_scale): 10 ETH at 1,900 holds 0.95 USD, at 2,100 1.05 USD
(the trader gets it back when he closes).
"""

import boa

from backstop.units import wad
from tests.invariants import assert_invariants
from tests.unit.pool.helpers import ETH, fill_premium


def test_totalAssets__trader_long_and_price_falls__rises_by_trader_loss(
    protocol, lp, trader, open_position, share_value
):
    p = protocol
    open_position(p, trader, ETH, 10, 10_000)
    price_before = share_value(p)
    lp_before = p.pool.convertToAssets(p.pool.balanceOf(lp))

    p.set_price(ETH, 1_900)

    assert p.pool.totalAssets() == p.units("1000000") + p.units("10.0005") + p.units(1_001) - p.units("0.95")
    assert share_value(p) > price_before
    assert p.pool.convertToAssets(p.pool.balanceOf(lp)) > lp_before
    assert_invariants(p, [trader, lp])


def test_totalAssets__trader_long_and_price_rises__falls_by_trader_profit(
    protocol, lp, trader, open_position, share_value
):
    p = protocol
    open_position(p, trader, ETH, 10, 10_000)
    price_before = share_value(p)

    p.set_price(ETH, 2_100)

    assert p.pool.totalAssets() == p.units("1000000") + p.units("10.0005") - p.units(999) - p.units("1.05")
    assert share_value(p) < price_before
    assert_invariants(p, [trader, lp])


def test_totalAssets__trader_short_and_price_rises__rises_by_trader_loss(protocol, trader, open_position, share_value):
    p = protocol
    # Short 10 ETH fills at 1999.9: proceeds 19,999, fee 19.999, pool's half 9.9995.
    open_position(p, trader, ETH, -10, 10_000)
    price_before = share_value(p)

    p.set_price(ETH, 2_100)

    assert p.pool.totalAssets() == p.units("1000000") + p.units("9.9995") + p.units(1_001) - p.units("1.05")
    assert share_value(p) > price_before
    assert_invariants(p, [trader])


def test_totalAssets__trader_closes_at_loss__keeps_gain_as_collateral(protocol, lp, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, 10, 10_000)
    p.set_price(ETH, 1_900)
    marked = p.pool.totalAssets()

    with boa.env.prank(trader):
        p.engine.trade(ETH, -wad(10))

    # Selling 10 at skew 10 fills at 1900.095: the trader realises -1,000.05 (a bit better
    # than the marked -1,001, as the close lowers the skew) and pays a 19.00095 fee.
    assert p.engine.position(p.pool.address, ETH).size == 0
    assert p.pool.totalAssets() == p.units("1000000") + p.units("10.0005") + p.units("1000.05") + p.units("9.500475")
    assert p.pool.totalAssets() > marked
    assert p.pool.totalAssets() == p.vault.collateral(p.pool.address) // p.vault.SCALE()
    assert_invariants(p, [trader, lp])


def test_redeem__after_traders_lose__lp_gets_back_more_than_deposited(
    protocol, lp, trader, other_trader, open_position, deposit
):
    p = protocol
    paid = p.units(10_000)
    shares = deposit(p, other_trader, paid)
    open_position(p, trader, ETH, 10, 10_000)
    p.set_price(ETH, 1_900)
    with boa.env.prank(trader):
        p.engine.trade(ETH, -wad(10))

    with boa.env.prank(other_trader):
        back = p.pool.redeem(shares)

    assert back > paid
    assert_invariants(p, [trader, other_trader, lp])


def test_totalAssets__open_and_close_at_same_mark__rises_by_pool_fee_share(protocol, trader, share_value):
    p = protocol
    p.fund_trader(trader, 10_000)
    price_before = share_value(p)

    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(10))
        p.engine.trade(ETH, -wad(10))

    # Both legs fill at 2000.1 (no realised PnL); each pays a 20.001 fee, half to the pool.
    assert p.pool.totalAssets() == p.units(1_000_000) + p.units("20.001")
    assert share_value(p) > price_before
    assert_invariants(p, [trader])


def test_totalAssets__fee_pool_share_zero__no_rise_from_fees(protocol, owner, trader):
    p = protocol
    with boa.env.prank(owner):
        p.configurator.set_fee_pool_share(0)
    p.fund_trader(trader, 10_000)

    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(10))
        p.engine.trade(ETH, -wad(10))

    assert p.pool.totalAssets() == p.units(1_000_000)
    assert p.vault.collateral(p.fund) == wad("40.002")  # every fee went to the fund
    assert_invariants(p, [trader])


def test_deposit__after_traders_lose__mints_fewer_shares_per_unit(
    protocol, trader, other_trader, open_position, deposit
):
    p = protocol
    amount = p.units(1_000)
    open_position(p, trader, ETH, 10, 10_000)
    before = p.pool.previewDeposit(amount)

    p.set_price(ETH, 1_900)
    shares = deposit(p, other_trader, amount)

    assert shares < before
    # The newcomer buys in at the new price and the pool's whole equity: what
    # it holds is worth what it paid less its share of the open skew's fill
    # premium (the LPs' who were there when it was paid).
    premium_share = fill_premium(p) * shares // p.pool.totalSupply() // p.vault.SCALE()
    assert amount - premium_share - 2 <= p.pool.convertToAssets(shares) <= amount - premium_share + 1
    assert_invariants(p, [trader, other_trader])


def test_totalAssets__skew_pushed_and_closed_at_a_fixed_price__moves_by_the_fees_only(protocol, trader, open_position):
    """At a fixed mark a fill pays the pool exactly the growth of the premium
    P * s^2 / (2K) it holds, which the share value leaves out: opening 3,000 ETH
    (a 90,000 USD premium) lifts the share value by the pool's half of the
    fee alone, and closing it again by the close's fee, rounding aside."""
    p = protocol
    scale = p.vault.SCALE()
    before = p.pool.totalAssets()
    open_position(p, trader, ETH, 3_000, 1_000_000)
    (opened,) = [e for e in p.engine.get_logs() if type(e).__name__ == "Trade"]
    assert p.engine.price_skew(ETH) == wad(3_000)
    assert abs((p.pool.totalAssets() - before) * scale - opened.fee // 2) <= scale
    with boa.env.prank(trader):
        p.engine.trade(ETH, -wad(3_000))
    (closed,) = [e for e in p.engine.get_logs() if type(e).__name__ == "Trade"]
    assert abs((p.pool.totalAssets() - before) * scale - (opened.fee + closed.fee) // 2) <= scale
    assert_invariants(p, [trader])


def test_previews__open_skew__deposits_value_the_pool_no_lower_than_redemptions(protocol, trader, open_position):
    """The two share values round apart, each in the pool's favour: a deposit
    buys at ceil((equity - floor(premium)) / unit), a redemption sells at
    floor((equity - ceil(premium)) / unit), so a share bought is never cheaper
    than a share sold."""
    p = protocol
    open_position(p, trader, ETH, "1234.567891234", 500_000)
    one = 10 ** p.pool.decimals()
    assets = p.units(1_000)
    assert p.pool.previewMint(one) >= p.pool.previewRedeem(one)
    assert p.pool.previewDeposit(assets) <= p.pool.previewWithdraw(assets)
    assert p.pool.previewRedeem(p.pool.previewDeposit(assets)) <= assets
