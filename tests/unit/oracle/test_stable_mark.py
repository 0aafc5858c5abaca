"""The stable mark (issue 19, Mango v4's stable-price growth limit) at the oracle.

What decides liquidatability follows the feed at most `rate` billionths of
itself per second, and in full once a move has stood `window` seconds. Like the
guard, it is a function of the feed's rounds alone: every view gives the same
figure whether or not anyone wrote to the oracle. Each figure is checked
against backstop.checks.stable_mark, the walk in Python written from the docstring.
"""

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backstop.checks.stable_mark import RATE_UNIT, STABLE_ROUNDS, stable_mark
from backstop.protocol.harness import HEARTBEAT, feed_answer
from backstop.units import wad

ETH = 0
# 0.1% a second (6% a minute), whole after 10 minutes.
RATE, WINDOW = 1_000_000, 600


def tracker(rounds, now, rate, window):
    return stable_mark(rounds, now, rate, window)


def now() -> int:
    return boa.env.evm.patch.timestamp


@pytest.fixture
def stable(oracle, owner):
    with boa.env.prank(owner):
        oracle.set_stable_mark(ETH, RATE, WINDOW)
    return oracle


class Rounds:
    """The feed's rounds as the model sees them, published through the feed."""

    def __init__(self, feed, start_usd):
        self.feed = feed
        self.rounds = [(wad(start_usd), feed.latestRoundData()[3])]

    def publish(self, usd):
        self.feed.set_answer(feed_answer(usd))
        self.rounds.append((wad(usd), now()))

    def mark(self):
        return tracker(self.rounds, now(), RATE, WINDOW)


def test_stable_mark__off__is_the_price(oracle, feed):
    feed.set_answer(feed_answer(1_000))
    assert oracle.stable_price(ETH) == oracle.price(ETH) == wad(1_000)
    _, _, stable, lagging = oracle.liquidation_prices(1 << ETH)
    assert stable[ETH] == wad(1_000) and lagging == 0


def test_stable_mark__set__logged_and_read_back(oracle, owner):
    with boa.env.prank(owner):
        oracle.set_stable_mark(ETH, RATE, WINDOW)
    (event,) = [e for e in oracle.get_logs() if type(e).__name__ == "StableMarkSet"]
    assert (event.market, event.rate, event.window) == (ETH, RATE, WINDOW)
    f = oracle.feeds(ETH)
    assert (f.stable_rate, f.stable_window) == (RATE, WINDOW)
    # dev: the guard's fields beside it are untouched.
    assert f.max_deviation == wad("0.25") and f.confirm_rounds == 1


@pytest.mark.parametrize(
    "rate, window, reason",
    [
        (2**32, WINDOW, "Oracle: stable rate too high"),
        (RATE, 0, "Oracle: bad stable window"),
        (RATE, HEARTBEAT + 1, "Oracle: bad stable window"),
    ],
)
def test_set_stable_mark__out_of_bounds__reverts(oracle, owner, rate, window, reason):
    with boa.env.prank(owner), boa.reverts(reason):
        oracle.set_stable_mark(ETH, rate, window)


def test_set_stable_mark__window_without_a_rate__kept_and_off(oracle, owner, feed):
    with boa.env.prank(owner):
        oracle.set_stable_mark(ETH, 0, WINDOW)
    feed.set_answer(feed_answer(1_000))
    assert oracle.feeds(ETH).stable_window == WINDOW
    assert oracle.stable_price(ETH) == wad(1_000)


def test_set_stable_mark__unknown_market__reverts(oracle, owner):
    with boa.env.prank(owner), boa.reverts("Oracle: unknown market"):
        oracle.set_stable_mark(5, RATE, WINDOW)


def test_set_stable_mark__not_owner__reverts(oracle, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        oracle.set_stable_mark(ETH, RATE, WINDOW)


def test_stable_mark__single_50pct_tick__follows_at_the_rate(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    rounds.publish(1_000)
    # dev: at the tick the mark has not moved; each second it moves 0.1% of itself.
    assert stable.stable_price(ETH) == wad(2_000)
    boa.env.time_travel(seconds=100)
    assert stable.stable_price(ETH) == rounds.mark() == wad(2_000) * (RATE_UNIT - 100 * RATE) // RATE_UNIT
    _, _, marks, lagging = stable.liquidation_prices(1 << ETH)
    assert marks[ETH] == wad(1_800) and lagging == 1 << ETH
    # dev: the rate lets it follow a 50% fall in 500 s; the window would in 600.
    boa.env.time_travel(seconds=400)
    assert stable.stable_price(ETH) == wad(1_000)
    assert stable.liquidation_prices(1 << ETH)[3] == 0


def test_stable_mark__tick_and_back__never_reaches_the_tick(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    rounds.publish(1_000)
    boa.env.time_travel(seconds=60)
    rounds.publish(2_000)
    boa.env.time_travel(seconds=1)
    low = stable.stable_price(ETH)
    assert low == rounds.mark() and wad(1_800) < low < wad(2_000)
    boa.env.time_travel(seconds=WINDOW)
    assert stable.stable_price(ETH) == wad(2_000)


def test_stable_mark__window__follows_any_move_in_full(oracle, owner, feed):
    # dev: a slow rate (0.001% a second): only the window brings the mark to the price.
    with boa.env.prank(owner):
        oracle.set_stable_mark(ETH, 10_000, WINDOW)
    boa.env.time_travel(seconds=3_600)
    feed.set_answer(feed_answer(1_000))
    boa.env.time_travel(seconds=WINDOW - 1)
    assert oracle.stable_price(ETH) > wad(1_900)
    boa.env.time_travel(seconds=1)
    assert oracle.stable_price(ETH) == wad(1_000)


def test_stable_mark__burst_of_rounds__starts_at_the_median_of_the_newest_eight(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    for usd in range(1_990, 1_990 - 10 * STABLE_ROUNDS, -10):
        rounds.publish(usd)
        boa.env.time_travel(seconds=2)
    # dev: no round within the eight read stood a window: the start is their
    #      median (1,940 or 1,950: the one farther from the latest, 1,920).
    assert stable.stable_price(ETH) == rounds.mark()
    assert wad(1_920) < stable.stable_price(ETH) <= wad(1_950)


def test_stable_mark__round_that_stood_a_window__is_the_start_exactly(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    rounds.publish(1_500)
    # dev: 1,500 stands a whole window: the mark was 1,500 when the next round came.
    boa.env.time_travel(seconds=WINDOW)
    rounds.publish(1_400)
    boa.env.time_travel(seconds=10)
    assert stable.stable_price(ETH) == wad(1_500) - wad(1_500) * RATE * 10 // RATE_UNIT == rounds.mark()


def test_stable_mark__one_bad_round_among_many__never_the_start(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    # dev: a bad round, then six good ones a minute apart, then a second bad round:
    #      none stood a window, so the start is the median of the eight, a good one.
    rounds.publish(1_000)
    boa.env.time_travel(seconds=60)
    for _ in range(6):
        rounds.publish(2_000)
        boa.env.time_travel(seconds=60)
    rounds.publish(1_000)
    boa.env.time_travel(seconds=1)
    assert stable.stable_price(ETH) == rounds.mark() == wad(2_000) - wad(2_000) * RATE // RATE_UNIT


def test_stable_mark__baseline__never_walked_past(oracle, owner, new_feed):
    fresh = new_feed(answer=feed_answer(1_000))
    with boa.env.prank(owner):
        oracle.set_feed(ETH, fresh.address, HEARTBEAT, feed_answer(1), feed_answer(1_000_000), wad("0.25"))
        oracle.set_stable_mark(ETH, RATE, WINDOW)
    # dev: the new feed's first round is the baseline: the old feed's 2,000 is never read.
    boa.env.time_travel(seconds=10)
    assert oracle.stable_price(ETH) == wad(1_000)
    fresh.set_answer(feed_answer(500))
    boa.env.time_travel(seconds=10)
    assert oracle.stable_price(ETH) == wad(1_000) - wad(1_000) * RATE * 10 // RATE_UNIT


def test_set_feed__keeps_the_stable_mark(stable, owner, new_feed):
    fresh = new_feed(answer=feed_answer(1_500))
    with boa.env.prank(owner):
        stable.set_feed(ETH, fresh.address, HEARTBEAT, feed_answer(1), feed_answer(1_000_000), wad("0.25"))
    f = stable.feeds(ETH)
    assert (f.stable_rate, f.stable_window) == (RATE, WINDOW)


def test_stable_mark__unreadable_predecessor__the_price(oracle, owner, feed):
    with boa.env.prank(owner):
        oracle.set_stable_mark(ETH, RATE, WINDOW)
    boa.env.time_travel(seconds=3_600)
    # dev: a round id the feed never wrote before it (a new phase): no history to walk.
    feed.set_round_data(50, feed_answer(1_000), now(), now(), 50)
    boa.env.time_travel(seconds=1)
    assert oracle.stable_price(ETH) == wad(1_000)


def test_stable_mark__failing_feed__fallback_and_no_lag(stable, feed):
    boa.env.time_travel(seconds=3_600)
    feed.set_answer(feed_answer(1_000))
    feed.set_answer(0)
    prices, valid, marks, lagging = stable.liquidation_prices(1 << ETH)
    assert valid == 0 and lagging == 0 and marks[ETH] == prices[ETH] == wad(1_000)
    with boa.reverts("Oracle: non-positive price"):
        stable.stable_price(ETH)


def test_stable_mark__views_agree_whether_or_not_anyone_refreshed(stable, feed):
    rounds = Rounds(feed, 2_000)
    boa.env.time_travel(seconds=3_600)
    rounds.publish(1_200)
    boa.env.time_travel(seconds=30)
    before = stable.stable_price(ETH)
    stable.refresh(ETH)
    assert stable.stable_price(ETH) == before == rounds.mark()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 400), st.integers(500, 4_000)), min_size=1, max_size=14),
       after=st.integers(0, 700))
def test_stable_mark__any_rounds__matches_the_model(stable, feed, steps, after):
    with boa.env.anchor():
        rounds = Rounds(feed, 2_000)
        boa.env.time_travel(seconds=3_600)
        for seconds, usd in steps:
            boa.env.time_travel(seconds=seconds)
            rounds.publish(usd)
        boa.env.time_travel(seconds=after)
        mark = rounds.mark()
        assert stable.stable_price(ETH) == mark
        assert stable.liquidation_prices(1 << ETH)[2][ETH] == mark
