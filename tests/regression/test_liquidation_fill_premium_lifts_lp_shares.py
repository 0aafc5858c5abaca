"""A liquidation's fill premium lifts the LP shares of whoever sends it (found
by the attacker fuzzer).

Attack: the attacker holds LP shares. A trader's 100 ETH short, on the
minority side of a 1,000 ETH long skew, is liquidatable. The attacker
liquidates it: the short is bought back against the pool at the impact price
of the long skew, the pool books that fill premium, and the LP share price
(the pool's equity at the mark) counts it at once. At a fixed oracle price the
attacker ends richer by more than its keeper reward.

Why it must fail (I8 and SPEC 8's note on LP shares): at fixed prices a
coalition's wealth, LP shares at what they redeem for included, rises by
nothing but keeper rewards for accounts that were already liquidatable; the
fill premium held for an open skew (P*S^2/(2K)) is not the LPs' until the
skew closes, so no trade or liquidation moves the LP share price through it.

Fuzzer find: invariant "I8 free lunch" (tests/stateful/attacker_machine.py),
hunting with the guard and the ADL-bound checks already recorded
(ATTACKER_SKIP=guard,adl-beyond-profit): a `liquidate_batch` sent by the
attacker moved the coalition's LP shares by +2.07 USD at fixed prices.

Fixed (issue 13): a liquidation fills at the mark, so the pool takes the position
without a fill premium and LP shares do not move with it.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, events, move_price, require, trade, wealth_with_lp_shares

ATTACKER, TRADER, WHALE = actor("regression attacker"), actor("regression trader"), actor("regression whale")


@pytest.mark.parametrize("decimals", [6, 18])
def test_liquidate__grows_the_skew__lp_shares_of_the_liquidator_do_not_rise(decimals):
    p = deploy(decimals)
    p.fund_pool(ATTACKER, 1_000_000)
    p.fund_trader(WHALE, 300_000)
    trade(p, WHALE, ETH, 1_000)  # the skew: 1,000 ETH long
    p.fund_trader(TRADER, 21_000)
    trade(p, TRADER, ETH, -100)
    move_price(p, ETH, 2_150)
    require(p.lens.account_health(TRADER).liquidatable, "the trader's short should be liquidatable")
    require(not p.lens.account_health(WHALE).liquidatable, "the whale should be healthy")
    scale = p.vault.SCALE()

    def wealth():
        return wealth_with_lp_shares(p, ATTACKER)

    before = wealth()
    with p.env.prank(ATTACKER):
        p.engine.liquidate_batch([TRADER])
    (settled,) = events(p, "LiquidationSettled")
    gain = wealth() - before
    assert gain <= settled.keeper_reward + scale, (
        f"at a fixed price the liquidator gained {gain / 1e18:,.2f} USD, its keeper reward was "
        f"{settled.keeper_reward / 1e18:,.2f}"
    )
