"""price: the validated WAD price, or a revert naming the failed check."""

from decimal import Decimal

import boa
import pytest

from backstop.protocol.harness import HEARTBEAT, feed_answer
from backstop.units import wad

ETH, BTC = 0, 1


def test_price__fresh_feed__returns_wad_price(oracle):
    assert oracle.price(ETH) == wad(2_000)


def test_price__new_round__returns_new_answer(oracle, feed):
    feed.set_answer(feed_answer("2100.12345678"))
    assert oracle.price(ETH) == wad("2100.12345678")


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_price__feed_decimals__same_wad_price(oracle, new_feed, add_market, decimals):
    add_market(BTC, new_feed(decimals=decimals, answer=int(Decimal("1234.567891") * 10**decimals)))
    assert oracle.price(BTC) == wad("1234.567891")


def test_price__unknown_market__reverts_unknown_market(oracle):
    with boa.reverts("Oracle: unknown market"):
        oracle.price(BTC)


def test_price__failing_feed__reverts_with_check_reason(oracle, failure):
    failure.break_feed()
    with boa.reverts(failure.reason):
        oracle.price(ETH)


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_price__malformed_answer__reverts_call_failed(oracle, malformed_feed, mode):
    malformed_feed.set_mode(mode)
    with boa.reverts("Oracle: feed call failed"):
        oracle.price(BTC)


def test_price__int256_min_answer__reverts_non_positive(oracle, feed):
    feed.set_answer(-(2**255))
    with boa.reverts("Oracle: non-positive price"):
        oracle.price(ETH)


def test_price__answer_just_inside_band__returns_it(oracle, feed):
    band = oracle.feeds(ETH)
    feed.set_answer(band.min_answer + 1)
    assert oracle.price(ETH) == (band.min_answer + 1) * 10**10
    feed.set_answer(band.max_answer - 1)
    assert oracle.price(ETH) == (band.max_answer - 1) * 10**10


def test_price__answered_in_later_round__returns_it(oracle, feed):
    now = boa.env.evm.patch.timestamp
    feed.set_round_data(5, feed_answer(2_100), now, now, 6)
    assert oracle.price(ETH) == wad(2_100)


def test_price__updated_at_block_time__returns_it(oracle, feed):
    now = boa.env.evm.patch.timestamp
    feed.set_round_data(2, feed_answer(2_100), now, now, 2)
    assert oracle.price(ETH) == wad(2_100)


def test_price__age_exactly_heartbeat__returns_it(oracle):
    boa.env.time_travel(seconds=HEARTBEAT)
    assert oracle.price(ETH) == wad(2_000)


def test_price__age_heartbeat_plus_one__reverts_stale_price(oracle):
    boa.env.time_travel(seconds=HEARTBEAT + 1)
    with boa.reverts("Oracle: stale price"):
        oracle.price(ETH)


def test_price__several_checks_fail__reverts_with_first_in_order(oracle, feed):
    # answer 0, updatedAt 0 and a stale round: non-positive is checked first
    feed.set_round_data(3, 0, 0, 0, 2)
    with boa.reverts("Oracle: non-positive price"):
        oracle.price(ETH)


def test_price__smallest_answer_of_18_decimal_feed__returns_two_wei(oracle, new_feed, add_market):
    # band (1, ...): 1 is the bound itself, so 2 is the least accepted answer
    feed = add_market(BTC, new_feed(decimals=18, answer=2), min_answer=1)
    assert oracle.price(BTC) == 2
    feed.set_answer(1)
    with boa.reverts("Oracle: price outside band"):
        oracle.price(BTC)


@pytest.mark.parametrize("decimals", [8, 18])
def test_price__answer_of_1e30_wad__returns_it(oracle, new_feed, add_market, decimals):
    answer = 10**30 // 10 ** (18 - decimals)
    add_market(BTC, new_feed(decimals=decimals, answer=answer), max_answer=answer * 10)
    assert oracle.price(BTC) == 10**30
