"""Extreme prices: markets whose feed answers at the edges of what the oracle admits.

Attack: list (or find) a market priced at a single wei, or at 10**30 WAD
(10**12 USD per unit) and more, then trade, read margin views and liquidate
there, hoping a product overflows silently, a division truncates to nothing,
or a rounding at a price of a few wei hands out value.

Why it must fail: the oracle refuses a band that would admit prices above
MAX_PRICE (10**18 USD, "Oracle: band too wide") and any answer not strictly
inside the band, so a 1-wei price cannot be configured at all (the band's
lower bound is at least 1). Inside it, every product the engine forms is far
from 2**255, positions and cost bases must fit 128 bits ("position too
large"), notionals must reach the minimum ("position too small"), and fills
round against the taker: at a 2-wei mark the fill is a whole wei off, which
the taker pays. Everything else works, with I1 and I2 holding.

Observation (not a failure): a `size_delta` so large that the impact-priced
cash overflows int256 (about 2**200 at these prices) reverts on Vyper's
overflow check, with no reason string, before the "position too large"
check can name it. Nothing moves.
"""

import boa
import pytest

from backstop.protocol.harness import HEARTBEAT, actor
from backstop.units import WAD, wad
from tests.adversarial.helpers import ETH, ledger
from tests.invariants import assert_invariants

X = 2  # the extreme market's id: the next after ETH and BTC
TWO_WEI = 2
HIGH = 10**30  # WAD: 10**12 USD per unit
MAX_PRICE = 10**36  # PriceOracle.MAX_PRICE: 10**18 USD per unit, in WAD


@pytest.fixture
def list_extreme(protocol, owner, contracts, staker):
    """Factory: an 18-decimal feed answering `answer` (so the WAD price is the
    answer), band (1, 10**36), a 100% max deviation, listed as market 2 with
    ETH's margins and fee. `skew_scale` / `max_skew` in base-unit wei. The
    fund gets 1,000 USD of stakes so that bad debt can be covered."""

    def _list(answer, skew_scale, max_skew):
        feed = contracts["MockAggregator"].deploy(18, "X / USD", answer)
        with boa.env.prank(owner):
            protocol.oracle.set_feed(X, feed.address, HEARTBEAT, 1, MAX_PRICE, WAD)
            assert protocol.configurator.list_market((wad("0.1"), wad("0.05"), wad("0.001"), skew_scale, max_skew)) == X
        protocol.stake(staker, 1_000)
        return feed

    return _list


def only_trade(p):
    (t,) = [e for e in p.engine.get_logs() if type(e).__name__ == "Trade"]
    return t


@pytest.mark.parametrize(
    "min_answer, reason", [(1, "Oracle: price outside band"), (0, "Oracle: bad band")], ids=["min_1", "min_0"]
)
def test_set_feed__one_wei_price__refused(protocol, owner, contracts, min_answer, reason):
    """Answers must lie strictly inside (min_answer, max_answer) with
    min_answer > 0, so an answer of 1 (1 wei at 18 decimals) never passes."""
    feed = contracts["MockAggregator"].deploy(18, "X / USD", 1)
    with boa.env.prank(owner), boa.reverts(reason):
        protocol.oracle.set_feed(X, feed.address, HEARTBEAT, min_answer, MAX_PRICE, WAD)
    assert protocol.oracle.feeds(X).aggregator == "0x0000000000000000000000000000000000000000"
    with boa.env.prank(owner), boa.reverts("Oracle: unknown market"):
        protocol.configurator.list_market((wad("0.1"), wad("0.05"), wad("0.001"), wad(1), wad("0.4")))
    assert protocol.engine.market_count() == 2


@pytest.mark.parametrize("feed_decimals", [18, 8], ids=["feed18", "feed8"])
def test_set_feed__band_above_max_price__refused(protocol, owner, contracts, feed_decimals):
    """max_answer may be at most MAX_PRICE // 10**(18 - decimals) feed units."""
    feed = contracts["MockAggregator"].deploy(feed_decimals, "X / USD", 10**feed_decimals)
    too_wide = MAX_PRICE // 10 ** (18 - feed_decimals) + 1
    with boa.env.prank(owner), boa.reverts("Oracle: band too wide"):
        protocol.oracle.set_feed(X, feed.address, HEARTBEAT, 1, too_wide, WAD)
    assert protocol.oracle.feeds(X).aggregator == "0x0000000000000000000000000000000000000000"
    with boa.env.prank(owner):
        protocol.oracle.set_feed(X, feed.address, HEARTBEAT, 1, too_wide - 1, WAD)
    assert protocol.oracle.price(X) == 10**18


# At a 2-wei mark, the minimum notional of 10 USD (10**19 wei) takes 5 * 10**36
# base wei, and 128-bit positions stop at ~1.7 * 10**38 (340 USD of notional).
# The scale lets a block's liquidations (fee_rate * skew_scale = 10**37) take
# a minimum position whole.
TWO_WEI_SCALE, TWO_WEI_MAX_SKEW = 10**40, 10**38
MIN_SIZE_AT_TWO_WEI = 5 * 10**36


def test_trade__two_wei_mark__fill_rounds_a_whole_wei_against_the_taker(protocol, list_extreme, trader):
    p = protocol
    list_extreme(TWO_WEI, TWO_WEI_SCALE, TWO_WEI_MAX_SKEW)
    p.fund_trader(trader, 100)
    with boa.env.prank(trader):
        p.engine.trade(X, MIN_SIZE_AT_TWO_WEI)
    t = only_trade(p)
    # exec = 2 + ceil(2 * 5e36 / 2e40) = 2 + ceil(0.0005) = 3: the buyer pays 15 USD
    # for 10 USD of notional, and a fee of 0.1% of the 15 USD.
    assert t.exec_price == 3
    assert t.fee == wad("0.015")
    assert p.vault.collateral(trader) == wad(100) - wad("0.015")
    assert p.engine.position(trader, X) == (MIN_SIZE_AT_TWO_WEI, wad(15))
    # equity = 100 - 0.015 + 5e36 * 2 / 1e18 - 15 = 94.985; notional 10, margin ratio 9.4985
    assert p.lens.equity(trader) == wad("94.985")
    assert p.lens.notional(trader) == wad(10)
    assert p.lens.margin_ratio(trader) == wad("9.4985")
    # no positive mark takes a 10 USD long with 94.985 USD of equity to maintenance or 0
    assert p.lens.liquidation_price(trader, X) == 0
    assert p.lens.bankruptcy_price(trader, X) == 0
    assert p.lens.entry_price(trader, X) == 3
    assert p.lens.unrealized_pnl(trader, X) == -wad(5)
    assert not p.lens.is_liquidatable(trader)
    assert_invariants(p, [trader])


@pytest.mark.parametrize(
    "size, reason",
    [
        (4 * 10**36, "Clearinghouse: position too small"),  # 8 USD of notional
        (2**127, "Clearinghouse: position too large"),  # the size no longer fits 128 bits
        (-(2**127) - 1, "Clearinghouse: position too large"),
    ],
    ids=["below_min_notional", "size_2e127", "short_2e127"],
)
def test_trade__two_wei_mark__size_out_of_range__reverts_named_and_nothing_moved(
    protocol, list_extreme, trader, size, reason
):
    p = protocol
    list_extreme(TWO_WEI, TWO_WEI_SCALE, TWO_WEI_MAX_SKEW)
    p.fund_trader(trader, 100)
    before = ledger(p, [trader])
    with boa.env.prank(trader), boa.reverts(reason):
        p.engine.trade(X, size)
    assert ledger(p, [trader]) == before


def test_liquidate__two_wei_short_after_mark_rises_to_three__liquidated_and_invariants_hold(
    protocol, list_extreme, trader, keeper, events
):
    p = protocol
    feed = list_extreme(TWO_WEI, TWO_WEI_SCALE, TWO_WEI_MAX_SKEW)
    p.fund_trader(trader, "10.5")
    with boa.env.prank(trader):
        p.engine.trade(X, -MIN_SIZE_AT_TWO_WEI)
    # exec = 2 + floor(-2 * 5e36 / 2e40) = 1: the seller gets 5 USD for 10 USD of notional.
    assert only_trade(p).exec_price == 1
    feed.set_answer(3)  # +50%, within the 100% max deviation
    # equity = 10.5 - 0.005 + 5 - 5e36 * 3 / 1e18 = 0.495 < maintenance 0.05 * 15 = 0.75
    assert p.lens.equity(trader) == wad("0.495")
    assert p.lens.is_liquidatable(trader)
    with boa.env.prank(keeper):
        p.engine.liquidate(trader)
    (s,) = events(p.engine, "LiquidationSettled")
    # Closing half would leave 7.5 USD of notional, below the minimum: closed fully.
    assert s.fully_closed
    assert p.engine.position(trader, X).size == 0
    assert p.vault.collateral(trader) >= 0
    assert_invariants(p, [trader, keeper])


# At 10**30 WAD (10**12 USD per unit) the minimum notional is 10**7 base wei, and
# a cost basis of 2**127 wei is reached at ~1.7 * 10**26 base wei.
HIGH_SCALE, HIGH_MAX_SKEW = wad(10**6), wad(10**5)


def test_trade__1e30_mark__open_view_and_liquidate__invariants_hold(protocol, list_extreme, trader, keeper, events):
    p = protocol
    feed = list_extreme(HIGH, HIGH_SCALE, HIGH_MAX_SKEW)
    p.fund_trader(trader, 150)
    size = 10**9  # 1,000 USD of notional
    with boa.env.prank(trader):
        p.engine.trade(X, size)
    t = only_trade(p)
    # exec = 1e30 * (1 + 1e9 / 2e24), rounded up: the impact is 5e14 USD-wei per unit
    assert t.exec_price == HIGH + HIGH * size // (2 * HIGH_SCALE)
    # cash = size * exec / 1e18 = 1,000 USD + 5e5 wei; fee = 0.1% of it, rounded up
    cash = -(-size * t.exec_price // WAD)
    assert cash == wad(1_000) + 5 * 10**5
    assert t.fee == -(-cash * wad("0.001") // WAD) == wad(1) + 500
    assert p.lens.notional(trader) == wad(1_000)
    assert p.lens.initial_req(trader) == wad(100)
    assert 0 < p.lens.liquidation_price(trader, X) < HIGH
    feed.set_answer(HIGH * 88 // 100)  # -12%
    # equity ~ 150 - 1 - 120 = 29 < maintenance 44
    assert p.lens.is_liquidatable(trader)
    with boa.env.prank(keeper):
        p.engine.liquidate(trader)
    (s,) = events(p.engine, "LiquidationSettled")
    assert s.penalty > 0 and s.keeper_reward <= s.penalty
    assert not p.lens.is_liquidatable(trader)
    assert_invariants(p, [trader, keeper])


@pytest.mark.parametrize(
    "answer, size",
    [(HIGH, 2 * 10**26), (MAX_PRICE - 1, 2 * 10**20)],
    ids=["1e30", "top_of_band"],
)
def test_trade__high_mark__cost_beyond_128_bits__position_too_large(protocol, list_extreme, trader, answer, size):
    """size * price beyond 2**127 wei of cost: refused by name, whatever the margin."""
    p = protocol
    list_extreme(answer, HIGH_SCALE, HIGH_MAX_SKEW)
    p.fund_trader(trader, 1_000)
    before = ledger(p, [trader])
    with boa.env.prank(trader), boa.reverts("Clearinghouse: position too large"):
        p.engine.trade(X, size)
    assert ledger(p, [trader]) == before


def test_trade__top_of_band_mark__small_position_works(protocol, list_extreme, trader, keeper):
    """At 10**36 - 1 WAD (just under 10**18 USD per unit) ten base wei are
    worth ~10 USD: positions are counted in wei and still add up."""
    p = protocol
    list_extreme(MAX_PRICE - 1, HIGH_SCALE, HIGH_MAX_SKEW)
    p.fund_trader(trader, 1_000)
    with boa.env.prank(trader):
        p.engine.trade(X, 100)
        p.engine.trade(ETH, wad(1))
    # 100 wei * (10**36 - 1) / 10**18, rounded up: 100 USD (less 100 * 10**-18)
    assert p.lens.notional(trader) == wad(100) + wad(2_000)
    assert not p.lens.is_liquidatable(trader)
    with boa.env.prank(trader):
        p.engine.trade(X, -100)
    assert p.engine.position(trader, X).size == 0
    assert_invariants(p, [trader, keeper])


@pytest.mark.parametrize("answer", [TWO_WEI, HIGH], ids=["two_wei", "1e30"])
def test_trade__size_beyond_int256_products__reverts_and_nothing_moved(protocol, list_extreme, trader, answer):
    """2**200 base units: the impact-priced cash overflows int256 before the
    128-bit check can name it; Vyper's overflow check reverts the call."""
    p = protocol
    scale, max_skew = (TWO_WEI_SCALE, TWO_WEI_MAX_SKEW) if answer == TWO_WEI else (HIGH_SCALE, HIGH_MAX_SKEW)
    list_extreme(answer, scale, max_skew)
    p.fund_trader(trader, 100)
    before = ledger(p, [trader])
    with boa.env.prank(trader), boa.reverts(compiler="safemul"):
        p.engine.trade(X, 2**200)
    assert ledger(p, [trader]) == before
