"""LP shares bought before a liquidation's price lag releases and redeemed after
profit at fixed prices (found by the attacker fuzzer once the pool left the
open skew's fill premium out of its share value).

Attack: a long skew (a whale's 1,000 ETH and a trader's 100 ETH). The trader's
long is liquidated: it is sold to the pool at the mark, and what it takes off
the skew joins the market's price lag, so fills still price at the old skew
(`price_skew`) while the traders' net size is smaller. The pool values its
shares at its equity less P*s^2/(2K) with s the price skew; as the lag
releases (fee_rate * skew_scale base units per 12 s) s shrinks to the net
size and that premium with it, so the share value rises with no trade at a
fixed price. The attacker deposits after the liquidation, waits a block and
redeems: it takes a share of the rise from the LPs who stayed, and an LP
round trip pays no fee.

Why it must fail (I8, SPEC 8's note on LP shares): at fixed prices LP shares
are not moved by skew, and time passing moves no wealth to a coalition.
Gained 760.18 USD here with the premium taken at the price skew alone.

Fixed (issue 14): a payout values the pool with the premium at the price
skew, a deposit at the pool's whole equity (no premium out), which no later
payout at the same prices reaches but by others' fees (first, in this
session's earlier fix, a deposit took the premium at the point of the two
skews nearest zero; that still let a deposit made before the liquidation take
the release: test_lp_deposit_before_liquidation_takes_the_lag_release.py).
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, move_price, require, trade, wealth_with_lp_shares

ATTACKER, TRADER, WHALE, KEEPER = (actor("regression attacker"), actor("regression trader"),
                                   actor("regression whale"), actor("regression keeper"))


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_lp_deposit_and_redeem__across_a_price_lag_release__gain_nothing(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(WHALE, 1_000_000)
    trade(p, WHALE, ETH, 1_000)
    p.fund_trader(TRADER, 25_000)
    trade(p, TRADER, ETH, 100)
    move_price(p, ETH, 1_800)
    require(p.lens.account_health(TRADER).liquidatable, "the trader's long should be liquidatable")
    with p.env.prank(KEEPER):
        p.engine.liquidate_batch([TRADER])
    lag = p.engine.price_skew(ETH) - p.engine.market_state(ETH).skew
    require(lag > 0, "the liquidation's sale should sit in the price lag")
    scale = p.vault.SCALE()
    p.token.mint(ATTACKER, p.units(1_000_000))
    before = wealth_with_lp_shares(p, ATTACKER)
    with p.env.prank(ATTACKER):
        p.token.approve(p.pool.address, p.units(1_000_000))
        p.pool.deposit(p.units(1_000_000))
    p.env.time_travel(12)
    require(p.engine.price_skew(ETH) == p.engine.market_state(ETH).skew, "the lag should have released")
    with p.env.prank(ATTACKER):
        p.pool.redeem(p.pool.maxRedeem(ATTACKER))
    gain = wealth_with_lp_shares(p, ATTACKER) - before
    assert gain <= 4 * scale, f"at a fixed price the LP round trip across the lag's release gained {gain / 1e18:,.2f} USD"
