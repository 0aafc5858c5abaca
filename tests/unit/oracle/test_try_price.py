"""try_price: the validated price and True, or the last good price and False; never
reverts on a failing feed."""

import boa
import pytest

from backstop.harness import feed_answer
from backstop.units import wad

ETH, BTC = 0, 1


def test_try_price__fresh_feed__returns_price_and_true(oracle, feed):
    feed.set_answer(feed_answer(2_100))
    assert oracle.try_price(ETH) == (wad(2_100), True)


def test_try_price__failing_feed__returns_last_good_price_and_false(oracle, failure):
    failure.break_feed()
    assert oracle.try_price(ETH) == (wad(2_000), False)


def test_try_price__failing_feed_after_refresh__returns_refreshed_price(oracle, feed, failure):
    feed.set_answer(feed_answer(1_900))
    oracle.refresh(ETH)
    failure.break_feed()
    assert oracle.try_price(ETH) == (wad(1_900), False)


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_try_price__malformed_answer__returns_last_good_price_and_false(oracle, malformed_feed, mode):
    malformed_feed.set_mode(mode)
    assert oracle.try_price(BTC) == (wad(2_000), False)


def test_try_price__unknown_market__reverts_unknown_market(oracle):
    with boa.reverts("Oracle: unknown market"):
        oracle.try_price(BTC)
