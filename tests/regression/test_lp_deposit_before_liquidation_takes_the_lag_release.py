"""An LP deposit made just before a liquidation, redeemed once the
liquidation's price lag has released, takes a share of that release from the
LPs who were there (found by hand while explaining the attacker fuzzer's last
I8 finds, issue 14).

Attack: a long skew (a whale's 1,000 ETH and a trader's 100 ETH) and the
trader's long liquidatable at a fixed price. The attacker deposits 1,000,000
USD into the pool, liquidates the trader itself (its keeper reward is its
due), waits one slot and redeems. The liquidation sells the long to the pool
at the mark and its size joins the price lag; as the lag releases, the price
skew falls to the traders' net size and the fill premium the pool counts out
of its payout value, P*s^2/(2K), with it. The deposit was priced with the
premium at the old skew (the price skew and the net size were equal then),
the redemption with the smaller one: the attacker took 760.18 USD beyond its
320.09 USD keeper reward.

Why it must fail (I8): at fixed prices the coalition's wealth rises only by
keeper rewards for accounts that were liquidatable before.

Fixed (issue 14): a deposit buys in at the pool's whole equity (the premium
counted as the LPs' already), the most any later payout reaches at the same
prices but by others' fees; a payout still counts the premium at the price
skew.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, move_price, require, trade, wealth_with_lp_shares

ATTACKER, TRADER, WHALE = actor("regression attacker"), actor("regression trader"), actor("regression whale")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_lp_deposit__before_a_liquidation_and_redeemed_after_its_lag_releases__gains_only_the_reward(
        decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(WHALE, 1_000_000)
    trade(p, WHALE, ETH, 1_000)
    p.fund_trader(TRADER, 25_000)
    trade(p, TRADER, ETH, 100)
    move_price(p, ETH, 1_800)
    require(p.lens.account_health(TRADER).liquidatable, "the trader's long should be liquidatable")
    scale = p.vault.SCALE()
    p.token.mint(ATTACKER, p.units(1_000_000))
    before = wealth_with_lp_shares(p, ATTACKER)
    with p.env.prank(ATTACKER):
        p.token.approve(p.pool.address, p.units(1_000_000))
        p.pool.deposit(p.units(1_000_000))
        p.engine.liquidate_batch([TRADER])
    reward = p.vault.collateral(ATTACKER)
    require(reward > 0, "the attacker should have earned a keeper reward")
    require(p.engine.price_skew(ETH) > p.engine.market_state(ETH).skew, "the liquidation's sale should sit in the lag")
    p.env.time_travel(12)
    require(p.engine.price_skew(ETH) == p.engine.market_state(ETH).skew, "the lag should have released")
    with p.env.prank(ATTACKER):
        p.pool.redeem(p.pool.maxRedeem(ATTACKER))
    gain = wealth_with_lp_shares(p, ATTACKER) - before - reward
    assert gain <= 4 * scale, f"at a fixed price the LP deposit before the liquidation gained {gain / 1e18:,.2f} USD " \
                              f"beyond the keeper reward"
