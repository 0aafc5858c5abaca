"""set_feed: owner-only feed configuration, its validation, and the first good price."""

import boa
import pytest

from backstop.protocol.harness import HEARTBEAT, feed_answer
from backstop.units import WAD, wad

ETH, BTC = 0, 1
ZERO = "0x0000000000000000000000000000000000000000"
BAND = (feed_answer(1), feed_answer(1_000_000))


def _set_feed(oracle, owner, market, aggregator, heartbeat=HEARTBEAT, band=BAND, max_deviation=wad("0.25"), **confirm):
    with boa.env.prank(owner):
        oracle.set_feed(market, aggregator, heartbeat, band[0], band[1], max_deviation, *confirm.values())


def test_set_feed__by_owner__stores_config_and_logs(oracle, owner, new_feed):
    btc = new_feed(answer=feed_answer(50_000), name="BTC / USD")
    _set_feed(oracle, owner, BTC, btc.address, max_deviation=wad("0.1"))
    (log,) = oracle.get_logs()
    assert type(log).__name__ == "FeedSet"
    assert (log.market, log.aggregator, log.heartbeat) == (BTC, btc.address, HEARTBEAT)
    assert (log.min_answer, log.max_answer, log.max_deviation) == (*BAND, wad("0.1"))
    assert (log.confirm_rounds, log.confirm_seconds) == (1, 900)
    assert tuple(oracle.feeds(BTC)) == (btc.address, HEARTBEAT, *BAND, 10**10, wad("0.1"), 1, 900, btc.round_id(), 0, 0)


def test_set_feed__valid_answer__records_it_as_last_good_price(oracle, owner, new_feed):
    btc = new_feed(answer=feed_answer(50_000))
    _set_feed(oracle, owner, BTC, btc.address)
    assert tuple(oracle.last(BTC)) == (wad(50_000), btc.round_id(), btc.updated_at())
    assert oracle.guarded(BTC) is False


@pytest.mark.parametrize("decimals", [0, 6, 8, 18])
def test_set_feed__feed_decimals__scale_is_ten_to_missing_decimals(oracle, owner, new_feed, decimals):
    btc = new_feed(decimals=decimals, answer=50_000 * 10**decimals)
    _set_feed(oracle, owner, BTC, btc.address, band=(1, 10**6 * 10**decimals))
    assert oracle.feeds(BTC).scale == 10 ** (18 - decimals)
    assert oracle.last(BTC).price == wad(50_000)


def test_set_feed__existing_market__replaces_feed_and_last_price(oracle, owner, new_feed):
    replacement = new_feed(decimals=18, answer=wad(2_100))
    _set_feed(oracle, owner, ETH, replacement.address, band=(1, wad(1_000_000)))
    assert oracle.feeds(ETH).aggregator == replacement.address
    assert oracle.last(ETH).price == wad(2_100)


def test_set_feed__guarded_market__clears_guard(oracle, owner, new_feed):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    _set_feed(oracle, owner, ETH, new_feed().address)
    assert oracle.guarded(ETH) is False


def test_set_feed__highest_market_id__accepted(oracle, owner, new_feed):
    _set_feed(oracle, owner, 15, new_feed().address)
    assert oracle.price(15) == wad(2_000)


def test_set_feed__market_id_sixteen__reverts_too_large(oracle, owner, new_feed):
    with boa.reverts("Oracle: market id too large"):
        _set_feed(oracle, owner, 16, new_feed().address)


def test_set_feed__zero_aggregator__reverts_zero_address(oracle, owner):
    with boa.reverts("Oracle: zero address"):
        _set_feed(oracle, owner, BTC, ZERO)


def test_set_feed__zero_heartbeat__reverts_zero_heartbeat(oracle, owner, new_feed):
    with boa.reverts("Oracle: zero heartbeat"):
        _set_feed(oracle, owner, BTC, new_feed().address, heartbeat=0)


def test_set_feed__heartbeat_beyond_32_bits__reverts_too_long(oracle, owner, new_feed):
    # The heartbeat is packed in 32 bits of the feed's storage word.
    with boa.reverts("Oracle: heartbeat too long"):
        _set_feed(oracle, owner, BTC, new_feed().address, heartbeat=2**32)
    _set_feed(oracle, owner, BTC, new_feed().address, heartbeat=2**32 - 1)
    assert oracle.feeds(BTC).heartbeat == 2**32 - 1


@pytest.mark.parametrize(
    "band",
    [(0, BAND[1]), (-1, BAND[1]), (BAND[1], BAND[1]), (BAND[1], BAND[0])],
    ids=["zero_min", "negative_min", "min_equals_max", "min_above_max"],
)
def test_set_feed__bad_band__reverts_bad_band(oracle, owner, new_feed, band):
    with boa.reverts("Oracle: bad band"):
        _set_feed(oracle, owner, BTC, new_feed().address, band=band)


@pytest.mark.parametrize("max_deviation", [0, WAD + 1], ids=["zero", "above_100pct"])
def test_set_feed__bad_deviation__reverts_bad_deviation(oracle, owner, new_feed, max_deviation):
    with boa.reverts("Oracle: bad deviation"):
        _set_feed(oracle, owner, BTC, new_feed().address, max_deviation=max_deviation)


def test_set_feed__deviation_of_100pct__accepted(oracle, owner, new_feed):
    _set_feed(oracle, owner, BTC, new_feed().address, max_deviation=WAD)
    assert oracle.feeds(BTC).max_deviation == WAD


def test_set_feed__nineteen_decimals__reverts_decimals_too_high(oracle, owner, new_feed):
    feed = new_feed(decimals=19, answer=2_000 * 10**19)
    with boa.reverts("Oracle: feed decimals > 18"):
        _set_feed(oracle, owner, BTC, feed.address, band=(1, 10**6 * 10**19))


def test_set_feed__failing_feed__reverts_with_its_check(oracle, owner, new_feed, failure):
    failure.break_feed()
    with boa.reverts(failure.reason):
        # the broken ETH feed, set again: it must answer a valid price now
        _set_feed(oracle, owner, ETH, oracle.feeds(ETH).aggregator)


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_set_feed__malformed_answer__reverts_call_failed(oracle, owner, malformed_feed_deployer, mode):
    feed = malformed_feed_deployer.deploy()
    feed.set_mode(mode)
    with boa.reverts("Oracle: feed call failed"):
        _set_feed(oracle, owner, BTC, feed.address)


def test_set_feed__by_attacker__reverts_not_owner(oracle, attacker, new_feed):
    with boa.reverts("ownable: caller is not the owner"):
        _set_feed(oracle, attacker, BTC, new_feed().address)


@pytest.mark.parametrize("rounds", [0, 9], ids=["zero", "above_8"])
def test_set_feed__bad_confirm_rounds__reverts_bad_confirm_rounds(oracle, owner, new_feed, rounds):
    with boa.reverts("Oracle: bad confirm rounds"):
        _set_feed(oracle, owner, BTC, new_feed().address, confirm_rounds=rounds, confirm_seconds=60)


@pytest.mark.parametrize("seconds", [0, HEARTBEAT + 1], ids=["zero", "above_heartbeat"])
def test_set_feed__bad_confirm_seconds__reverts_bad_confirm_seconds(oracle, owner, new_feed, seconds):
    with boa.reverts("Oracle: bad confirm seconds"):
        _set_feed(oracle, owner, BTC, new_feed().address, confirm_rounds=1, confirm_seconds=seconds)


def test_set_feed__confirmation_at_its_bounds__stored(oracle, owner, new_feed):
    btc = new_feed()
    _set_feed(oracle, owner, BTC, btc.address, confirm_rounds=8, confirm_seconds=HEARTBEAT)
    feed = oracle.feeds(BTC)
    assert (feed.confirm_rounds, feed.confirm_seconds, feed.baseline_round) == (8, HEARTBEAT, btc.round_id())
