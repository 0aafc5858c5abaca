"""An exit on a stale feed fills at the oracle's last recorded price, not at
the feed's last valid answer (found by running the protocol against
Chainlink's MockV3Aggregator, as a new user would).

Attack: a trader opens at 2,100 (the trade records 2,100 in the oracle). The
feed moves to 2,037 and nobody trades, then goes stale. The trader's close,
an exit allowed on a failing feed, filled at the recorded 2,100 while the
feed's last answer, which views and keepers read, was 2,037: the trader
chooses the better of two prices at the pool's cost.

Why it must fail (SPEC 4): an exit on a failing feed fills at the feed's last
valid answer.
"""

import pytest

from backstop.protocol.harness import HEARTBEAT, actor
from backstop.units import wad
from tests.regression.helpers import ETH, deploy, publish, trade

TRADER = actor("regression trader")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_exit__on_a_stale_feed__fills_at_the_feeds_last_answer(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 10_000)
    publish(p, ETH, 2_100)
    trade(p, TRADER, ETH, 10)
    assert p.oracle.last(ETH).price == wad(2_100)
    publish(p, ETH, "2037.12")  # nobody trades: the oracle still records 2,100
    p.env.time_travel(HEARTBEAT + 1)
    assert p.oracle.status(ETH) == 7  # stale
    view_price = p.oracle.try_price(ETH)[0]
    trade(p, TRADER, ETH, -10)
    (fill,) = p.engine.events("Trade")
    assert fill.mark_price == wad("2037.12") == view_price, \
        f"the exit filled at mark {fill.mark_price / 1e18:,.2f}; the feed's last answer is 2,037.12"
