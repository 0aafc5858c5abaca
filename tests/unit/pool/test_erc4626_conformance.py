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

from tests.unit.pool.helpers import ETH


@pytest.fixture
def stale_with_positions(protocol, trader, open_position):
    """The pool holds the other side of a 10 ETH long, and every feed is stale."""
    open_position(protocol, trader, ETH, 10, 10_000)
    boa.env.time_travel(seconds=3601)
    with boa.reverts("Oracle: stale price"):
        protocol.engine.equity(protocol.pool.address)
    return protocol


def test_totalAssets__stale_price_with_open_positions__last_good_valuation(stale_with_positions):
    pool = stale_with_positions.pool
    health = stale_with_positions.engine.account_health(pool.address)
    assert health.prices_valid is False
    assert pool.totalAssets() == health.equity // stale_with_positions.vault.SCALE() > 0
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


def test_maxWithdraw__market_guarded__zero(protocol, owner, lp, trader, open_position):
    open_position(protocol, trader, ETH, 1, 10_000)
    with boa.env.prank(owner):
        protocol.oracle.set_guard(ETH, True)
    with boa.env.prank(lp), boa.reverts("Clearinghouse: market guarded"):
        protocol.pool.withdraw(protocol.units(1))
    assert protocol.pool.maxWithdraw(lp) == 0
