"""ERC-4626's rules for the limit and accounting views, on a failing or guarded market.

EIP-4626 says totalAssets, maxDeposit, maxMint, maxWithdraw and maxRedeem MUST NOT
revert, and that the max* views MUST return what the action would accept without
reverting (0 when it is disabled, even temporarily). Integrators (routers,
aggregators) size their calls from these views. These were strict xfails that
documented the gap until the pool valued itself at last good prices for views and
the engine's free_collateral learned to say 0 instead of reverting.
"""

import boa
import pytest

from tests.unit.pool.helpers import BTC, ETH, share_value_units


@pytest.fixture
def stale_with_positions(protocol, trader, open_position):
    """The pool holds the other side of a 10 ETH long, and every feed is stale."""
    open_position(protocol, trader, ETH, 10, 10_000)
    boa.env.time_travel(seconds=3601)
    with boa.reverts("Oracle: stale price"):
        protocol.lens.equity(protocol.pool.address)
    return protocol


def test_totalAssets__stale_price_with_open_positions__last_good_valuation(stale_with_positions):
    pool = stale_with_positions.pool
    health = stale_with_positions.lens.account_health(pool.address)
    assert health.prices_valid is False
    assert pool.totalAssets() == share_value_units(stale_with_positions, health.equity) > 0
    assert pool.convertToAssets(10**pool.decimals()) > 0


def test_maxWithdraw__stale_price_with_open_positions__zero_without_revert(stale_with_positions, lp):
    assert stale_with_positions.pool.maxWithdraw(lp) == 0


def test_maxRedeem__stale_price_with_open_positions__zero_without_revert(stale_with_positions, lp):
    assert stale_with_positions.pool.maxRedeem(lp) == 0


def test_maxDeposit__stale_price_with_open_positions__zero_without_revert(stale_with_positions, other_trader):
    with boa.env.prank(other_trader), boa.reverts("Oracle: stale price"):
        stale_with_positions.pool.deposit(1)
    assert stale_with_positions.pool.maxDeposit(other_trader) == 0
    assert stale_with_positions.pool.maxMint(other_trader) == 0


def test_previewDeposit__stale_price_with_open_positions__reverts_like_deposit(stale_with_positions):
    with boa.reverts("Oracle: stale price"):
        stale_with_positions.pool.previewDeposit(1)


@pytest.fixture
def guarded_with_positions(protocol, trader, open_position):
    """The pool holds the other side of a 1 ETH long; ETH's feed jumps 30%
    (beyond its 25% deviation cap) and the oracle is refreshed: guarded."""
    open_position(protocol, trader, ETH, 1, 10_000)
    protocol.set_price(ETH, 2_600)
    protocol.oracle.refresh(ETH)
    assert protocol.oracle.try_prices(1 << ETH)[2] == 1 << ETH
    return protocol


def test_maxWithdraw__market_guarded__zero(guarded_with_positions, lp):
    p = guarded_with_positions
    with boa.env.prank(lp), boa.reverts("Pool: market guarded"):
        p.pool.withdraw(p.units(1))
    assert p.pool.maxWithdraw(lp) == 0
    assert p.pool.maxRedeem(lp) == 0


@pytest.mark.parametrize("action", ["deposit", "mint", "withdraw", "redeem"])
def test_lp_action__market_guarded__reverts_market_guarded(guarded_with_positions, lp, action):
    p = guarded_with_positions
    p.token.mint(lp, p.units(1_000))
    with boa.env.prank(lp):
        p.token.approve(p.pool.address, p.units(1_000))
        with boa.reverts("Pool: market guarded"):
            getattr(p.pool, action)(p.units(1) if action in ("deposit", "withdraw") else 10**p.pool.decimals())


def test_maxDeposit__market_guarded__zero_and_views_still_answer(guarded_with_positions, other_trader):
    p = guarded_with_positions
    assert p.pool.maxDeposit(other_trader) == 0
    assert p.pool.maxMint(other_trader) == 0
    assert p.pool.totalAssets() > 0
    assert p.pool.previewDeposit(p.units(1)) > 0  # dev: a quote; the limit is maxDeposit's


def test_maxDeposit__guarded_market_the_pool_does_not_hold__no_limit(protocol, lp, other_trader, trader, open_position):
    """Only the markets the pool holds a position in count: a guarded BTC with
    no BTC open interest leaves ETH deposits and redemptions alone."""
    open_position(protocol, trader, ETH, 1, 10_000)
    protocol.set_price(BTC, 65_000)
    protocol.oracle.refresh(BTC)
    assert protocol.oracle.try_prices(1 << BTC)[2] == 1 << BTC
    assert protocol.pool.maxDeposit(other_trader) == 2**256 - 1
    assert protocol.pool.maxRedeem(lp) > 0 and protocol.pool.maxWithdraw(lp) > 0
