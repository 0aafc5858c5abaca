"""A trade that leaves the pool flat in a market while a liquidation's price
lag is still open drops that lag's fill premium from the LP payout value, so
the LPs redeem it (found by the attacker fuzzer's randomised hunt, issue 15:
"I8 free lunch ... 1,113.06 USD", an `lp_around_own_skew` trade that closed
the last ETH position right after a liquidation).

Attack: a long skew (the attacker's and a trader's 1,000 ETH each) and the
trader's long liquidatable at a fixed price. The attacker, the pool's largest
LP, liquidates the trader itself: the pool takes the long at the mark and its
size sits in the price lag (price skew 2,000 ETH, net 1,000). In the same
block it closes its own long: no trader holds ETH, the pool is flat, but the
price skew is still 1,000 ETH, and the next seller of 1,000 ETH would get
their premium, P*s^2/(2K) (9,000 USD at 1,800 USD), from the pool. The pool
counted the premium only over the markets whose book is not empty, so its
payout value rose by that whole premium: the attacker's shares took their
part of it on top of what its close earned from the skew and the fee share
every LP gets.

Why it must fail (I8): at fixed prices the coalition's wealth rises only by
keeper rewards for accounts that were liquidatable before, and by the premium
its own trades took back from the skew (what others paid into it).

Fixed: the pool's payout premium is summed over every market with a price
skew, held or not; such a market's price is checked like a held one's.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import WAD
from tests.regression.helpers import ETH, deploy, move_price, require, trade, wealth_with_lp_shares

ATTACKER, TRADER = actor("regression attacker"), actor("regression trader")


def _premium(p, market: int, skew: int) -> int:
    """P*s^2/(2K), WAD, at the mark."""
    mark, scale = p.oracle.last(market).price, p.configurator.skew_scale(market)
    return mark * skew * skew // (2 * scale * WAD)


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_trade__leaving_the_pool_flat_under_a_price_lag__moves_lp_shares_by_their_fee_share_only(
        decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    scale = p.vault.SCALE()
    p.token.mint(ATTACKER, p.units(3_000_000))
    with p.env.prank(ATTACKER):
        p.token.approve(p.pool.address, p.units(3_000_000))
        p.pool.deposit(p.units(3_000_000))
    p.fund_trader(ATTACKER, 1_000_000)
    trade(p, ATTACKER, ETH, 1_000)
    p.fund_trader(TRADER, 250_000)
    trade(p, TRADER, ETH, 1_000)
    move_price(p, ETH, 1_800)
    require(p.lens.account_health(TRADER).liquidatable, "the trader's long should be liquidatable")
    before, collateral = wealth_with_lp_shares(p, ATTACKER), p.vault.collateral(ATTACKER)
    with p.env.prank(ATTACKER):
        p.engine.liquidate_batch([TRADER])
    reward = p.vault.collateral(ATTACKER) - collateral
    require(reward > 0, "the attacker should have earned a keeper reward")
    net, lagged = p.engine.market_state(ETH).skew, p.engine.price_skew(ETH)
    require(lagged > net > 0, "the liquidation's sale should sit in the price lag")
    require(net == p.engine.position(ATTACKER, ETH).size, "the attacker's long should be the whole book")
    trade(p, ATTACKER, ETH, -1_000)
    require(tuple(p.engine.market_state(ETH)) == (0, 0), "the close should leave no ETH book")
    require(p.engine.price_skew(ETH) == lagged - net, "the lag should still be open")
    # The premium the close took back from the skew it began with: no free lunch.
    released = _premium(p, ETH, lagged) - _premium(p, ETH, lagged - net) + 1
    gain = wealth_with_lp_shares(p, ATTACKER) - before - reward - released
    assert gain <= 4 * scale, (
        f"at a fixed price, a close leaving the pool flat under a {(lagged - net) / WAD:,.0f} ETH price lag gained "
        f"{gain / WAD:,.2f} USD beyond the keeper reward and the premium the close released (the lag's premium "
        f"{_premium(p, ETH, lagged - net) / WAD:,.2f} USD dropped from the LP payout value)")
    # The premium a buyer of the lag would still take is the LPs' liability.
    equity = p.lens.account_health(p.pool.address).equity
    assert p.pool.totalAssets() * scale <= equity - _premium(p, ETH, lagged - net), \
        "the pool's payout value should net the open price skew's premium"
