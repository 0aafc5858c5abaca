"""refresh and the deviation guard: a jump beyond max_deviation (25% on ETH) from
the round before guards the market; the next round (confirm_rounds = 1) lifts
the guard. refresh logs each raise and lift once; the guard itself is the same
without it (tests/unit/oracle/test_guard_life.py)."""

import boa
import pytest

from backstop.protocol.harness import feed_answer
from backstop.units import wad

ETH = 0


def _events(oracle) -> list:
    return [type(e).__name__ for e in oracle.get_logs()]


@pytest.fixture
def guarded(oracle, feed):
    """ETH guarded by a jump from 2,000 to 2,600 (30%)."""
    feed.set_answer(feed_answer(2_600))
    oracle.refresh(ETH)
    assert oracle.guarded(ETH)
    return oracle


@pytest.mark.parametrize("price, deviation", [(2_600, "0.3"), (1_400, "0.3")], ids=["up", "down"])
def test_refresh__jump_beyond_deviation__raises_guard_and_logs(oracle, feed, price, deviation):
    feed.set_answer(feed_answer(price))
    assert oracle.refresh(ETH) == (wad(price), True, True)
    (log,) = oracle.get_logs()
    assert type(log).__name__ == "PriceGuardRaised"
    assert (log.market, log.previous_price, log.price, log.deviation) == (ETH, wad(2_000), wad(price), wad(deviation))
    assert oracle.guarded(ETH) is True
    assert oracle.last(ETH).price == wad(price)


@pytest.mark.parametrize("price", [2_500, 1_500], ids=["up", "down"])
def test_refresh__jump_exactly_at_deviation__not_guarded(oracle, feed, price):
    feed.set_answer(feed_answer(price))
    assert oracle.refresh(ETH) == (wad(price), True, False)
    assert oracle.get_logs() == []


def test_refresh__jump_beyond_deviation__reported_by_try_prices(guarded):
    _, valid, guarded_mask = guarded.try_prices(1 << ETH)
    assert (valid, guarded_mask) == (1 << ETH, 1 << ETH)


def test_refresh__guarded_next_round_within_deviation__lifts_guard_and_logs(guarded, feed):
    feed.set_answer(feed_answer(2_700))
    assert guarded.refresh(ETH) == (wad(2_700), True, False)
    (log,) = guarded.get_logs()
    assert type(log).__name__ == "PriceGuardLifted"
    assert (log.market, log.price) == (ETH, wad(2_700))
    assert guarded.guarded(ETH) is False


def test_refresh__guarded_same_round__stays_guarded(guarded):
    assert guarded.refresh(ETH) == (wad(2_600), True, True)
    assert guarded.get_logs() == []
    assert guarded.guarded(ETH) is True


def test_refresh__guarded_another_jump__stays_guarded_without_new_event(guarded, feed):
    feed.set_answer(feed_answer(3_500))
    assert guarded.refresh(ETH) == (wad(3_500), True, True)
    assert guarded.get_logs() == []
    assert guarded.last(ETH).price == wad(3_500)


def test_refresh__guarded_then_feed_fails__reports_invalid_not_guarded(guarded, feed):
    # dev: a failing feed's price is refused for risk anyway; the guard reports
    #      only a hold by hand then, and exits fill at the last valid answer.
    feed.set_reverting(True)
    assert guarded.refresh(ETH) == (wad(2_600), False, False)
    assert guarded.guarded(ETH) is False


def test_refresh__deviation_measured_from_the_round_before__not_the_recorded_one(oracle, feed):
    # 2,000 -> 2,400 -> 2,800, each step under 25%: whether anyone recorded the
    # 2,400 round or not, 2,800 is compared with it (16.7%), and nothing guards
    feed.set_answer(feed_answer(2_400))
    feed.set_answer(feed_answer(2_800))
    assert oracle.refresh(ETH) == (wad(2_800), True, False)
    assert oracle.guarded(ETH) is False


def test_refresh__guard_held_by_owner_then_calm_round__stays_guarded(oracle, feed, owner):
    # dev: a hold by hand is an owner's pause of new risk: no round lifts it
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    feed.set_answer(feed_answer(2_010))
    assert oracle.refresh(ETH) == (wad(2_010), True, True)
    with boa.env.prank(owner):
        oracle.set_guard(ETH, False)
    assert oracle.refresh(ETH) == (wad(2_010), True, False)
