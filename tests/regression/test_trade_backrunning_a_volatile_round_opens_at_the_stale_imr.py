"""Backrunning a volatile round opens at the engine's stale initial margin.

Attack: the volatility-scaled imr reaches the engine only when someone calls
`update_margins`; the keeper cranks "first in every round", but a trader's
transaction placed right behind the feed's transmit (same block, or any block
before the keeper's) is always earlier. After a -20% round (inside the 25%
deviation guard, so the market is not guarded) the rounds imply a target
scale of 3, imr 0.30; the engine still holds 0.10, and the trader opens
100 ETH (160k notional) on 17k of collateral: 9.4x leverage where the rounds
allow 3.3x. The crank that follows cannot undo it (it moves maintenance by
the hourly cap only), so the whole point of "imr at once" is missed on
exactly the rounds it is for, by anyone who watches the feed.

Why it must fail (issue 19: new risk pays the volatility-scaled initial
margin at once; SPEC I5 at the margins the market has by its rounds; DESIGN 3:
"the result is a function of the rounds and the time, not of who calls when"):
what the trade is allowed depends on whether the crank ran first.

Found by review (vol-review), the "stale engine copy" window.

Suggested fix: make the risk-adding paths fold first: `Clearinghouse.trade`
(non-reduce-only) and `withdraw` call `Configurator.update_margins` for the
markets they price (one extcall each; the engine has ~840 bytes left), or
have the Configurator expose a cheap `fresh(market)` (latest_round ==
state.round_id) that `trade` requires for a market with scaling on.
Open (xfail, strict: it fails the day it is fixed): the engine cannot call
the Configurator's crank from `trade` (both are nonreentrant, and the crank
writes the engine back), and a freshness check needs engine room and a read of
the Configurator on every trade. The keeper cranks before every round, which
narrows the window to the transactions between a round and the next block.
"""

import pytest

from backstop.chain.revm_chain import Reverted
from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, require, trade

KEEPER, TRADER = actor("regression keeper"), actor("regression trader")


@pytest.mark.xfail(strict=True, reason="the engine's imr is the last crank's: a trade before the crank opens at it")
def test_volatile_round__trade_before_the_crank__opens_at_the_base_imr():
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    publish(p, ETH, 1600)  # -20%: the rounds now imply imr 0.30
    require(not p.oracle.guarded(ETH), "inside the deviation guard")
    p.fund_trader(TRADER, 17_000)
    try:
        trade(p, TRADER, ETH, 100)  # 160k notional: 16k at 0.10, 48k at 0.30
        opened = True
    except Reverted:
        opened = False
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    require(p.configurator.effective_margins(ETH)[0] == wad("0.3"), "the crank scales imr to 0.30")
    assert not opened, p.lens.account_health(TRADER)
