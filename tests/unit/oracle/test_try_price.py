"""try_price: the validated price and True, or the last good price and False; never
reverts on a failing feed."""

import boa
import pytest

from backstop.protocol.harness import feed_answer
from backstop.units import wad

ETH, BTC = 0, 1


def test_try_price__fresh_feed__returns_price_and_true(oracle, feed):
    feed.set_answer(feed_answer(2_100))
    assert oracle.try_price(ETH) == (wad(2_100), True)


def test_try_price__failing_feed__returns_last_valid_answer_and_false(oracle, failure):
    failure.break_feed()
    assert oracle.try_price(ETH) == (wad(failure.last_valid_usd(2_000)), False)


def test_try_price__failing_feed_after_refresh__returns_last_valid_answer(oracle, feed, failure):
    feed.set_answer(feed_answer(1_900))
    oracle.refresh(ETH)
    failure.break_feed()
    assert oracle.try_price(ETH) == (wad(failure.last_valid_usd(1_900)), False)


def test_try_price__failing_feed_unrefreshed_round__returns_that_round_not_the_recorded_one(oracle, feed, failure):
    # dev: the round at 1,900 is the feed's, recorded by no one: the fallback is
    #      the feed's last valid answer, unless the feed cannot be read at all.
    feed.set_answer(feed_answer(1_900))
    failure.break_feed()
    #      The incomplete and future breaks overwrite round 2 (the 1,900 one),
    #      so the round before theirs is round 1 (2,000).
    expected = 2_000 if failure.name in ("reverting", "incomplete", "future") else failure.last_valid_usd(1_900)
    assert oracle.try_price(ETH) == (wad(expected), False)


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_try_price__malformed_answer__returns_last_good_price_and_false(oracle, malformed_feed, mode):
    malformed_feed.set_mode(mode)
    assert oracle.try_price(BTC) == (wad(2_000), False)


def test_try_price__unknown_market__reverts_unknown_market(oracle):
    with boa.reverts("Oracle: unknown market"):
        oracle.try_price(BTC)
