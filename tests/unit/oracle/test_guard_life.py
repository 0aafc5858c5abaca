"""The deviation guard's whole life at the oracle: a function of the feed's rounds
alone (SPEC 4). Raised by a round beyond max_deviation from the round before,
seen by every view whether or not anyone refreshed, held until `confirm_rounds`
rounds follow or `confirm_seconds` pass, then lifted without anyone writing.

ETH (market 0) confirms after 1 round or 900 s (the defaults); market 1 is
configured here with 3 rounds or 600 s.
"""

import boa
import pytest

from backstop.protocol.harness import HEARTBEAT, feed_answer
from backstop.units import wad

ETH, SLOW = 0, 1

# A feed with rounds but no history: `getRoundData` does not exist, as on some
# Chainlink-shaped adapters. Every round's predecessor is unreadable.
NO_HISTORY_FEED = """
# pragma version 0.4.3
# pragma evm-version cancun

round_id: uint256
answer: int256
updated_at: uint256

@deploy
def __init__(answer_: int256):
    self.round_id = 1
    self.answer = answer_
    self.updated_at = block.timestamp

@external
@view
def decimals() -> uint8:
    return 8

@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    r: uint80 = convert(self.round_id, uint80)
    return (r, self.answer, self.updated_at, self.updated_at, r)

@external
def set_answer(answer_: int256):
    self.round_id += 1
    self.answer = answer_
    self.updated_at = block.timestamp
"""


def _seen(oracle, market):
    """The guard as each view reports it: (guarded, try_prices bit)."""
    _, _, mask = oracle.try_prices(1 << market)
    return oracle.guarded(market), bool(mask >> market & 1)


def _events(oracle):
    return [type(e).__name__ for e in oracle.get_logs()]


@pytest.fixture
def slow(oracle, owner, new_feed):
    """Market 1: guard confirmed by 3 rounds or 600 s."""
    feed = new_feed()
    with boa.env.prank(owner):
        oracle.set_feed(SLOW, feed.address, HEARTBEAT, 1, feed_answer(10**6), wad("0.25"), 3, 600)
    return feed


def test_guard__unrefreshed_jump__seen_by_every_view_without_a_write(oracle, feed):
    feed.set_answer(feed_answer(2_600))  # +30%, nobody refreshes
    assert oracle.last(ETH).price == wad(2_000)
    assert _seen(oracle, ETH) == (True, True)


def test_guard__first_refresh_after_the_jump__logs_raise_once(oracle, feed):
    feed.set_answer(feed_answer(2_600))
    assert oracle.refresh(ETH) == (wad(2_600), True, True)
    assert _events(oracle) == ["PriceGuardRaised"]
    (log,) = oracle.get_logs()
    assert (log.previous_price, log.price, log.deviation) == (wad(2_000), wad(2_600), wad("0.3"))
    oracle.refresh(ETH)
    assert _events(oracle) == []


def test_guard__held_until_confirm_seconds__then_lifted_without_a_round(oracle, feed):
    feed.set_answer(feed_answer(1_400))
    boa.env.time_travel(seconds=899)
    assert _seen(oracle, ETH) == (True, True)
    boa.env.time_travel(seconds=1)
    assert _seen(oracle, ETH) == (False, False)


def test_guard__one_round_at_the_new_level__lifts_it(oracle, feed):
    feed.set_answer(feed_answer(1_400))
    feed.set_answer(feed_answer(1_420))
    assert _seen(oracle, ETH) == (False, False)


def test_guard__refresh_after_the_lift__logs_it_once(oracle, feed):
    feed.set_answer(feed_answer(1_400))
    oracle.refresh(ETH)
    feed.set_answer(feed_answer(1_420))
    assert oracle.refresh(ETH) == (wad(1_420), True, False)
    assert _events(oracle) == ["PriceGuardLifted"]


def test_guard__jump_and_back__guarded_by_the_round_back(oracle, feed):
    # dev: 1,920 is 4% from 2,000 but 37% from the 1,400 round before it
    feed.set_answer(feed_answer(1_400))
    feed.set_answer(feed_answer(1_920))
    assert _seen(oracle, ETH) == (True, True)


def test_guard__three_confirm_rounds__held_for_two__lifted_by_the_third(oracle, slow):
    slow.set_answer(feed_answer(2_700))
    for price in (2_710, 2_720):
        slow.set_answer(feed_answer(price))
        assert _seen(oracle, SLOW) == (True, True)
    slow.set_answer(feed_answer(2_730))
    assert _seen(oracle, SLOW) == (False, False)


def test_guard__three_confirm_rounds__lifted_by_time_first(oracle, slow):
    slow.set_answer(feed_answer(2_700))
    slow.set_answer(feed_answer(2_710))
    boa.env.time_travel(seconds=599)
    assert _seen(oracle, SLOW) == (True, True)
    boa.env.time_travel(seconds=1)
    assert _seen(oracle, SLOW) == (False, False)


def test_guard__time_counts_from_the_jump_round__not_from_later_ones(oracle, slow):
    slow.set_answer(feed_answer(2_700))
    boa.env.time_travel(seconds=500)
    slow.set_answer(feed_answer(2_710))  # a calm round, 500 s after the jump
    boa.env.time_travel(seconds=100)
    assert _seen(oracle, SLOW) == (False, False)


def test_guard__round_after_an_invalid_one__guarded(oracle, feed):
    # dev: a round whose predecessor fails the checks has no price to be
    #      compared with: it is confirmed like a jump
    feed.set_answer(0)
    feed.set_answer(feed_answer(2_000))
    assert _seen(oracle, ETH) == (True, True)
    feed.set_answer(feed_answer(2_010))
    assert _seen(oracle, ETH) == (False, False)


def test_guard__new_phase_round__guarded_until_confirmed(oracle, feed):
    # dev: a Chainlink proxy's new phase starts at (phase << 64) | 1, whose
    #      predecessor is no round at all
    now = boa.env.evm.patch.timestamp
    phase_start = (2 << 64) | 1
    feed.set_round_data(phase_start, feed_answer(2_000), now, now, phase_start)
    assert _seen(oracle, ETH) == (True, True)
    boa.env.time_travel(seconds=900)
    assert _seen(oracle, ETH) == (False, False)


def test_guard__feed_without_history__each_round_guarded_until_its_confirm_seconds(oracle, owner):
    feed = boa.loads(NO_HISTORY_FEED, feed_answer(2_000), name="NoHistoryFeed")
    with boa.env.prank(owner):
        oracle.set_feed(SLOW, feed.address, HEARTBEAT, 1, feed_answer(10**6), wad("0.25"), 1, 600)
    assert _seen(oracle, SLOW) == (False, False)  # the baseline round
    feed.set_answer(feed_answer(2_001))
    assert _seen(oracle, SLOW) == (True, True)
    boa.env.time_travel(seconds=600)
    assert _seen(oracle, SLOW) == (False, False)


def test_guard__baseline_round__never_a_jump(oracle, owner, new_feed):
    # dev: the round set_feed reads is the owner's vetted start, whatever came before
    feed = new_feed()
    feed.set_answer(feed_answer(5_000))
    with boa.env.prank(owner):
        oracle.set_feed(SLOW, feed.address, HEARTBEAT, 1, feed_answer(10**6), wad("0.25"))
    assert _seen(oracle, SLOW) == (False, False)


def test_guard__failing_feed__reports_only_the_hold(oracle, feed, owner):
    feed.set_answer(feed_answer(2_600))
    feed.set_reverting(True)
    assert _seen(oracle, ETH) == (False, False)
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    assert _seen(oracle, ETH) == (True, True)


def test_guard__held_by_hand__outlives_every_confirmation(oracle, feed, owner):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    feed.set_answer(feed_answer(2_010))
    boa.env.time_travel(seconds=HEARTBEAT)
    feed.set_answer(feed_answer(2_020))
    assert _seen(oracle, ETH) == (True, True)
    with boa.env.prank(owner):
        oracle.set_guard(ETH, False)
    assert _seen(oracle, ETH) == (False, False)


def test_guard__released_hold__does_not_lift_a_jump(oracle, feed, owner):
    feed.set_answer(feed_answer(2_600))
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
        oracle.set_guard(ETH, False)
    assert _seen(oracle, ETH) == (True, True)
