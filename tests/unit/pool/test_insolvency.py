"""A pool whose equity is gone (traders' profits exceed its capital) is worth nothing per
share: totalAssets is 0, deposits would hand new money to the traders it owes, so they
revert "Pool: insolvent" until the pool is recapitalised.

Hand-computed (pool 10,000 USD; ETH: mark 2000, imr 10%, skew_scale 100,000):
  a trader buying 45 ETH fills at 2000.45 (cost 90,020.25; pool margin 9,000 <= equity);
  at 2300 the pool's unrealised loss is 45 * 2300 - 90,020.25 = 13,479.75 > its equity.
"""

import boa
import pytest

from tests.invariants import assert_invariants
from tests.unit.pool.helpers import ETH, MAX_UINT256


@pytest.fixture
def insolvent(empty_protocol, lp, trader, deposit, open_position):
    """A 10,000 USD pool short 45 ETH to the trader, then ETH at 2300: pool equity < 0."""
    p = empty_protocol
    deposit(p, lp, p.units(10_000))
    open_position(p, trader, ETH, 45, 20_000)
    p.set_price(ETH, 2_300)
    assert p.lens.equity(p.pool.address) < 0
    return p


def test_totalAssets__negative_pool_equity__zero(insolvent, lp, trader):
    assert insolvent.pool.totalAssets() == 0
    assert insolvent.pool.maxWithdraw(lp) == 0
    assert insolvent.pool.maxRedeem(lp) == 0
    assert_invariants(insolvent, [lp, trader])


def test_maxDeposit__negative_pool_equity__zero(insolvent, other_trader):
    assert insolvent.pool.maxDeposit(other_trader) == 0
    assert insolvent.pool.maxMint(other_trader) == 0


def test_deposit__negative_pool_equity__reverts_insolvent(insolvent, other_trader, approve_assets):
    approve_assets(insolvent, other_trader, insolvent.units(100_000))
    with boa.env.prank(other_trader), boa.reverts("Pool: insolvent"):
        insolvent.pool.deposit(insolvent.units(100_000))


def test_mint__negative_pool_equity__reverts_insolvent(insolvent, other_trader, approve_assets):
    approve_assets(insolvent, other_trader, insolvent.units(100_000))
    with boa.env.prank(other_trader), boa.reverts("Pool: insolvent"):
        insolvent.pool.mint(10**6)


def test_redeem__negative_pool_equity__reverts_zero_assets(insolvent, lp):
    shares = insolvent.pool.balanceOf(lp)
    with boa.env.prank(lp), boa.reverts("Pool: zero assets"):
        insolvent.pool.redeem(shares)


def test_deposit__recapitalised_by_donation__accepted_again(
    insolvent, owner, lp, trader, other_trader, deposit, donate
):
    p = insolvent
    donate(p, owner, p.units(10_000))
    assert p.pool.totalAssets() > 0

    shares = deposit(p, other_trader, p.units(1_000))

    assert shares > 0
    assert p.pool.convertToAssets(shares) <= p.units(1_000)
    assert_invariants(p, [lp, trader, other_trader])


def test_deposit__price_back_above_insolvency__accepted_again(insolvent, other_trader, deposit):
    p = insolvent
    p.set_price(ETH, 2_000)

    assert p.pool.maxDeposit(other_trader) == MAX_UINT256
    assert deposit(p, other_trader, p.units(1_000)) > 0
