"""Liquidations fill at the mark, and what they add to the skew reaches fill
prices through the market's price lag (Clearinghouse._price_skew): none of it
in the liquidation's own block, then fee_rate * skew_scale base units every
12 seconds (100 ETH on ETH). The pool's margin and the skew cap count the
whole skew at once.

ETH: fee 0.1%, skew_scale 100,000, mmr 5% (backstop.protocol.harness.ETH).
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.invariants import assert_invariants

ETH = 0
RELEASE = wad(100)  # fee_rate * skew_scale a slot
SLOT = 12


@pytest.fixture
def big_long(protocol):
    """1,000 ETH long at ~2,000 with 220,000 USD: liquidatable at 1,870 (partial, ~295 ETH)."""
    trader = actor("big_long")
    protocol.fund_trader(trader, 220_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1_000))
    return trader


def _liquidate(p, account):
    keeper = actor("keeper")
    with boa.env.prank(keeper):
        p.engine.liquidate(account)
    return [e for e in p.engine.get_logs() if type(e).__name__ == "Liquidation"]


def test_liquidate__any_skew__fills_at_the_mark(protocol, big_long):
    p = protocol
    shorter = actor("skew_pusher")
    p.fund_trader(shorter, 1_000_000)
    with boa.env.prank(shorter):
        p.engine.trade(ETH, -wad(3_000))  # the victim now sells into a short skew
    p.set_price(ETH, 1_870)
    (fill,) = _liquidate(p, big_long)
    assert fill.exec_price == fill.mark_price == wad(1_870)


def test_liquidate__same_block__price_skew_does_not_move(protocol, big_long):
    p = protocol
    p.set_price(ETH, 1_870)
    before = p.engine.price_skew(ETH)
    assert before == p.engine.market_state(ETH).skew == wad(1_000)
    quote_before, _ = p.lens.quote(ETH, wad(1))
    (fill,) = _liquidate(p, big_long)
    assert p.engine.market_state(ETH).skew == wad(1_000) + fill.size_closed  # the pool holds it now...
    assert p.engine.price_skew(ETH) == before  # ...but fills do not price it yet
    # A trade in the same block fills at the skew before the liquidation.
    exec_price, _ = p.lens.quote(ETH, wad(1))
    trader = actor("after_liquidation")
    p.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(1))
    (traded,) = [e for e in p.engine.get_logs() if type(e).__name__ == "Trade"]
    assert traded.exec_price == exec_price == quote_before


def test_price_lag__released_a_slot_at_a_time__then_the_whole_skew(protocol, big_long):
    p = protocol
    p.set_price(ETH, 1_870)
    (fill,) = _liquidate(p, big_long)
    lag = -fill.size_closed
    assert lag > 2 * RELEASE  # ~295 ETH: three slots
    skew = p.engine.market_state(ETH).skew
    boa.env.time_travel(seconds=SLOT)
    assert p.engine.price_skew(ETH) == skew + lag - RELEASE
    boa.env.time_travel(seconds=SLOT // 2)
    assert p.engine.price_skew(ETH) == skew + lag - RELEASE * 3 // 2
    boa.env.time_travel(seconds=3 * SLOT)
    assert p.engine.price_skew(ETH) == skew


def test_price_lag__second_liquidation__adds_to_what_is_left(protocol, big_long):
    p = protocol
    other = actor("second_long")
    p.fund_trader(other, 24_000)
    with boa.env.prank(other):
        p.engine.trade(ETH, wad(100))
    p.set_price(ETH, 1_870)
    (first,) = _liquidate(p, big_long)
    boa.env.time_travel(seconds=SLOT)
    p.set_price(ETH, 1_870)  # a fresh round (the heartbeat is an hour; this keeps the test honest)
    (second,) = _liquidate(p, other)
    skew = p.engine.market_state(ETH).skew
    assert p.engine.price_skew(ETH) == skew - first.size_closed - RELEASE - second.size_closed
    assert_invariants(p, [big_long, other, actor("keeper")])


def test_trade__skew_cap__counts_the_whole_skew_not_the_price_skew(protocol, big_long, owner):
    """The price lag softens prices only: the pool's exposure is the whole skew."""
    p = protocol
    p.set_price(ETH, 1_870)
    (fill,) = _liquidate(p, big_long)
    skew = p.engine.market_state(ETH).skew
    with boa.env.prank(owner):
        p.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), skew + wad(5)))
    buyer = actor("cap_buyer")
    p.fund_trader(buyer, 10_000)
    with boa.env.prank(buyer), boa.reverts("Clearinghouse: max skew"):
        p.engine.trade(ETH, wad(6))  # the price skew is ~295 ETH more long; the cap reads the skew
    assert p.engine.price_skew(ETH) == skew - fill.size_closed
