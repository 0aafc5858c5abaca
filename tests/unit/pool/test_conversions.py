"""LiquidityPool views: totalAssets is the pool's engine equity in token units (rounded down);
convertTo* and preview* price shares from it, rounding in the pool's favour."""

from fractions import Fraction

import boa
import pytest

from backstop.units import wad
from tests.unit.pool.helpers import ETH, VIRTUAL_SHARES, fill_premium


def test_totalAssets__flat_pool__equals_collateral_in_units(protocol):
    assert protocol.pool.totalAssets() == protocol.units(1_000_000)
    assert protocol.lens.equity(protocol.pool.address) == wad(1_000_000)


def test_totalAssets__odd_sized_position__is_engine_equity_less_premium_rounded_down(protocol, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, "1.000000001", 10_000)
    p.set_price(ETH, "2011.12345679")
    equity = p.lens.equity(p.pool.address)
    scale = p.vault.SCALE()
    premium = fill_premium(p)
    skew, price = p.engine.price_skew(ETH), p.oracle.try_prices(1)[0][0]
    assert price * skew * skew % (2 * p.configurator.markets(ETH).skew_scale * 10**18) != 0  # dev: the premium really has to round
    if scale > 1:
        assert (equity - premium) % scale != 0  # dev: the 6-decimal case really has to round

    assert p.pool.totalAssets() == (equity - premium) // scale


def test_totalAssets__open_positions__includes_pool_unrealised_pnl(protocol, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, 10, 10_000)
    p.set_price(ETH, 1_900)

    pool_upnl = p.lens.unrealized_pnl(p.pool.address, ETH)
    collateral = p.vault.collateral(p.pool.address)
    assert pool_upnl > 0
    assert p.pool.totalAssets() == (collateral + pool_upnl - fill_premium(p)) // p.vault.SCALE()


@pytest.mark.parametrize("usd", ["0.000001", "1", "1234.567891", "999999.999999"])
def test_convertToShares__uneven_share_price__rounds_down_and_equals_previewDeposit(uneven_protocol, usd):
    p = uneven_protocol
    assets = p.units(usd)
    exact = Fraction(assets * (p.pool.totalSupply() + VIRTUAL_SHARES), p.pool.totalAssets() + 1)

    shares = p.pool.convertToShares(assets)

    assert shares == int(exact)
    assert p.pool.previewDeposit(assets) == shares


@pytest.mark.parametrize("usd", ["0.000001", "1", "1234.567891", "999999.999999"])
def test_previewWithdraw__uneven_share_price__rounds_up(uneven_protocol, usd):
    p = uneven_protocol
    assets = p.units(usd)
    exact = Fraction(assets * (p.pool.totalSupply() + VIRTUAL_SHARES), p.pool.totalAssets() + 1)

    assert p.pool.previewWithdraw(assets) == -(-exact.numerator // exact.denominator)  # ceil
    assert p.pool.previewWithdraw(assets) == p.pool.convertToShares(assets) + 1


@pytest.mark.parametrize("whole_shares", [1, 1_000, 987_654])
def test_convertToAssets__uneven_share_price__rounds_down_and_equals_previewRedeem(uneven_protocol, whole_shares):
    p = uneven_protocol
    shares = whole_shares * 10 ** p.pool.decimals()
    exact = Fraction(shares * (p.pool.totalAssets() + 1), p.pool.totalSupply() + VIRTUAL_SHARES)

    assets = p.pool.convertToAssets(shares)

    assert assets == int(exact)
    assert p.pool.previewRedeem(shares) == assets


@pytest.mark.parametrize("whole_shares", [1, 1_000, 987_654])
def test_previewMint__uneven_share_price__rounds_up(uneven_protocol, whole_shares):
    p = uneven_protocol
    shares = whole_shares * 10 ** p.pool.decimals()
    exact = Fraction(shares * (p.pool.totalAssets() + 1), p.pool.totalSupply() + VIRTUAL_SHARES)

    assert p.pool.previewMint(shares) == -(-exact.numerator // exact.denominator)  # ceil
    assert p.pool.previewMint(shares) == p.pool.convertToAssets(shares) + 1


def test_convertToShares__empty_pool__virtual_offset_shares_per_unit(empty_protocol):
    p = empty_protocol
    assert p.pool.totalAssets() == 0
    assert p.pool.convertToShares(p.units(7)) == p.units(7) * VIRTUAL_SHARES
    assert p.pool.convertToAssets(p.units(7) * VIRTUAL_SHARES) == p.units(7)


def test_convertToAssets__after_deposit__unchanged_for_existing_holders(uneven_protocol, lp, other_trader, deposit):
    p = uneven_protocol
    held = p.pool.balanceOf(lp)
    before = p.pool.convertToAssets(held)

    deposit(p, other_trader, p.units("55555.555555"))

    # A deposit at the pool's price (rounded its way) cannot dilute the holders.
    assert p.pool.convertToAssets(held) >= before


def test_previewRedeem__after_withdraw__unchanged_for_remaining_holders(uneven_protocol, lp, other_trader, deposit):
    p = uneven_protocol
    deposit(p, other_trader, p.units(50_000))
    held = p.pool.balanceOf(lp)
    before = p.pool.previewRedeem(held)

    with boa.env.prank(other_trader):
        p.pool.withdraw(p.units("12345.678901"))

    assert p.pool.previewRedeem(held) >= before
