"""refresh: records each new valid round as the last good price; an invalid read
changes nothing and hands back the last good price."""

import boa
import pytest

from backstop.protocol.harness import feed_answer
from backstop.units import wad

ETH, BTC = 0, 1


def test_refresh__new_valid_round__records_it_as_last(oracle, feed):
    boa.env.time_travel(seconds=60)
    feed.set_answer(feed_answer(2_100))
    assert oracle.refresh(ETH) == (wad(2_100), True, False)
    assert tuple(oracle.last(ETH)) == (wad(2_100), 2, boa.env.evm.patch.timestamp)


def test_refresh__same_round__keeps_last(oracle, feed):
    before = tuple(oracle.last(ETH))
    assert oracle.refresh(ETH) == (wad(2_000), True, False)
    assert oracle.get_logs() == []
    assert tuple(oracle.last(ETH)) == before


def test_refresh__same_round_id_new_timestamp__records_it(oracle, feed):
    boa.env.time_travel(seconds=60)
    now = boa.env.evm.patch.timestamp
    feed.set_round_data(1, feed_answer(2_100), now, now, 1)
    oracle.refresh(ETH)
    assert tuple(oracle.last(ETH)) == (wad(2_100), 1, now)


def test_refresh__invalid_read__returns_last_valid_answer_and_keeps_last(oracle, failure):
    before = tuple(oracle.last(ETH))
    failure.break_feed()
    assert oracle.refresh(ETH) == (wad(failure.last_valid_usd(2_000)), False, False)
    assert tuple(oracle.last(ETH)) == before


def test_refresh__malformed_answer__returns_last_good_price(oracle, malformed_feed):
    malformed_feed.set_mode(1)
    assert oracle.refresh(BTC) == (wad(2_000), False, False)


def test_refresh__by_attacker__permitted(oracle, feed, attacker):
    feed.set_answer(feed_answer(2_100))
    with boa.env.prank(attacker):
        assert oracle.refresh(ETH) == (wad(2_100), True, False)


def test_refresh__unknown_market__reverts_unknown_market(oracle):
    with boa.reverts("Oracle: unknown market"):
        oracle.refresh(BTC)


def test_refresh__price_at_the_widest_band__does_not_overflow(oracle, new_feed, add_market):
    """The band may reach 10**36 WAD; refresh (deviation math included) still works there."""
    feed = add_market(BTC, new_feed(decimals=18, answer=wad(2_000)), max_answer=10**36)
    feed.set_answer(10**36 - 1)
    assert oracle.price(BTC) == 10**36 - 1
    assert oracle.refresh(BTC) == (10**36 - 1, True, True)


def test_refresh__older_round__used_but_not_recorded(oracle, feed):
    boa.env.time_travel(seconds=60)
    feed.set_answer(feed_answer(2_100))
    oracle.refresh(ETH)
    recorded = tuple(oracle.last(ETH))
    now = boa.env.evm.patch.timestamp
    feed.set_round_data(1, feed_answer(2_050), now - 30, now - 30, 1)  # a feed going backwards
    assert oracle.refresh(ETH) == (wad(2_050), True, False)
    assert tuple(oracle.last(ETH)) == recorded
