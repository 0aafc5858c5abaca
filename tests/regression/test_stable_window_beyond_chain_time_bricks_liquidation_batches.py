"""A stable window longer than the chain's clock bricks every liquidation.

Attack (a configuration an owner may set, then anyone's batch): a market's
heartbeat may be up to 2**32 - 1 seconds and its stable window up to the
heartbeat. The oracle's stable mark worked out the start of its window as
`block.timestamp - window`: with a window beyond the chain's timestamp that
underflows, so `liquidation_prices` reverted, and with it `liquidate`, every
`liquidate_batch` (it prices every market once) and `account_health`, for
every account of every market: one market's setting stopped every keeper.

Why it must fail (SPEC 5.5 and liveness): one account, and so one market's
setting, can never make a batch revert; a bad value fails in its setter or is
harmless, it does not brick a market (the Configurator's rule for its caps).

Found by reading the stable mark as an attacker while writing it (issue 19).
Fixed: the window starts at 0 when it reaches back before the chain began.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import ETH, deploy, require

TRADER, KEEPER = actor("regression trader"), actor("regression keeper")
LONGEST = 2**32 - 1


@pytest.mark.parametrize("decimals", [6, 18])
def test_stable_window_beyond_chain_time__liquidation_batch_still_runs(decimals):
    p = deploy(decimals)
    feed = p.oracle.feeds(ETH)
    with p.env.prank(p.owner):
        p.oracle.set_feed(ETH, feed.aggregator, LONGEST, feed.min_answer, feed.max_answer, feed.max_deviation)
        p.oracle.set_stable_mark(ETH, 1_000_000, LONGEST)
    require(p.env.timestamp < LONGEST, "the chain's clock is below the longest window")
    p.fund_trader(TRADER, 10_000)
    with p.env.prank(TRADER):
        p.engine.trade(ETH, wad(10))
    p.set_price(ETH, 1_040)
    p.env.time_travel(seconds=60)
    # dev: the mark starts at the baseline round's 2,000 and has moved 6% in 60 s: held.
    assert p.oracle.stable_price(ETH) == wad(1_880)
    assert not p.lens.account_health(TRADER).liquidatable
    with p.env.prank(KEEPER):
        assert p.engine.liquidate_batch([TRADER]) == 0
    # dev: and once the mark has followed (the rate, 1,000 s at most), liquidated.
    p.env.time_travel(seconds=1_000)
    with p.env.prank(KEEPER):
        assert p.engine.liquidate_batch([TRADER]) == 1
