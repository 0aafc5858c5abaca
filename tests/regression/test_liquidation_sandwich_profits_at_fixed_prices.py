"""A liquidation sandwich profits at fixed prices.

Attack: a trader's 1,000 ETH long is liquidatable near bankruptcy, so its
liquidation closes all of it against the pool in one call. The attacker sells
500 ETH first, liquidates the account itself (its forced sale fills further
down the skew, 2% of skew scale away), and buys its 500 back after: at a fixed
oracle price it ends ~7,000 USD richer beyond the keeper reward, paid by the
liquidated account's worse fill.

Why it must fail (SPEC 5.2 and I8): liquidation must not be sandwichable:
what liquidations move the skew in one atomic window stays below what a round
trip pays in fees, the rest is liquidated in later blocks; at fixed prices a
coalition's wealth rises by nothing but keeper rewards for accounts that were
already liquidatable.

Found by hand from a fuzzer find: the attacker fuzzer's first I8 find (a
push by the colluder, a liquidation by the attacker, the unwind, in
`skew_into_adl`) gained through LP shares as well as through the sandwich;
this test isolates the sandwich, with no LP shares. The fuzzer checks it as
"I8 free lunch" (`sandwich_liquidation`, `skew_into_adl`).

Fixed (issue 13): liquidations fill at the mark and move the skew by at most
fee_rate * skew_scale per market in one block (100 ETH here), half what a round
trip through that skew pays in fees; the rest of the 1,000 ETH waits for later
blocks.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, events, move_price, require, trade

ATTACKER, TRADER = actor("regression attacker"), actor("regression trader")


@pytest.mark.parametrize("decimals", [6, 18])
def test_liquidation__sandwiched_by_skew_push__attacker_gains_no_more_than_the_reward(decimals):
    p = deploy(decimals, pool_usd=5_000_000)
    p.fund_trader(TRADER, 225_000)
    trade(p, TRADER, ETH, 1_000)
    move_price(p, ETH, 1_795)  # the trader: ~8,000 USD of equity, maintenance ~90,000
    require(p.lens.account_health(TRADER).liquidatable, "the trader should be liquidatable before the sandwich")
    p.fund_trader(ATTACKER, 200_000)
    scale = p.vault.SCALE()

    def wealth():
        return p.token.balanceOf(ATTACKER) * scale + p.lens.equity(ATTACKER)

    before = wealth()
    trade(p, ATTACKER, ETH, -500)
    with p.env.prank(ATTACKER):
        p.engine.liquidate(TRADER)
    (settled,) = events(p, "LiquidationSettled")
    trade(p, ATTACKER, ETH, 500)
    require(p.engine.position(ATTACKER, ETH).size == 0, "the attacker should end flat")
    gain = wealth() - before
    assert gain <= settled.keeper_reward, (
        f"at a fixed price the sandwich gained {gain / 1e18:,.2f} USD, the keeper reward was {settled.keeper_reward / 1e18:,.2f}"
    )
