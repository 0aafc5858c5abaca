"""try_prices: many markets in one call; a failing feed gives its last good price and
a clear valid bit, a guarded market a set guarded bit; never reverts on a failing feed."""

import boa
import pytest

from backstop.protocol.harness import feed_answer
from backstop.units import wad

ETH, BTC, SOL = 0, 1, 2
LAST = 15


@pytest.fixture
def markets(oracle, feed, new_feed, add_market):
    """ETH (2,000), BTC (50,000) and market 15 (100): their feeds by id."""
    btc = add_market(BTC, new_feed(answer=feed_answer(50_000), name="BTC / USD"))
    last = add_market(LAST, new_feed(answer=feed_answer(100), name="SOL / USD"))
    return {ETH: feed, BTC: btc, LAST: last}


def _bits(*markets) -> int:
    return sum(1 << m for m in markets)


def test_try_prices__all_valid__returns_prices_and_valid_bits(oracle, markets):
    prices, valid, guarded = oracle.try_prices(_bits(ETH, BTC, LAST))
    assert list(prices) == [wad(2_000), wad(50_000)] + [0] * 13 + [wad(100)]
    assert (valid, guarded) == (_bits(ETH, BTC, LAST), 0)


def test_try_prices__unset_bits__skips_those_markets(oracle, markets):
    prices, valid, _ = oracle.try_prices(_bits(BTC))
    assert (prices[ETH], prices[BTC], valid) == (0, wad(50_000), _bits(BTC))


def test_try_prices__empty_mask__returns_nothing(oracle, markets):
    prices, valid, guarded = oracle.try_prices(0)
    assert (list(prices), valid, guarded) == ([0] * 16, 0, 0)


def test_try_prices__failing_feed__last_good_price_and_clear_bit(oracle, markets, failure):
    failure.break_feed()
    prices, valid, _ = oracle.try_prices(_bits(ETH, BTC))
    assert (prices[ETH], prices[BTC]) == (wad(failure.last_valid_usd(2_000)), wad(50_000))
    # a stale-price break moves time for every feed; BTC is then stale too
    expected = 0 if failure.name == "stale_price" else _bits(BTC)
    assert valid == expected


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_try_prices__malformed_answer__last_good_price_and_clear_bit(oracle, malformed_feed, mode):
    malformed_feed.set_mode(mode)
    prices, valid, _ = oracle.try_prices(_bits(ETH, BTC))
    assert (prices[ETH], prices[BTC], valid) == (wad(2_000), wad(2_000), _bits(ETH))


def test_try_prices__guarded_market__sets_guarded_bit(oracle, markets, owner):
    with boa.env.prank(owner):
        oracle.set_guard(BTC, True)
    _, valid, guarded = oracle.try_prices(_bits(ETH, BTC))
    assert (valid, guarded) == (_bits(ETH, BTC), _bits(BTC))


def test_try_prices__guarded_and_failing__guarded_bit_without_valid_bit(oracle, markets, owner):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    markets[ETH].set_reverting(True)
    _, valid, guarded = oracle.try_prices(_bits(ETH, BTC))
    assert (valid, guarded) == (_bits(BTC), _bits(ETH))


def test_try_prices__unknown_market_in_mask__reverts_unknown_market(oracle, markets):
    with boa.reverts("Oracle: unknown market"):
        oracle.try_prices(_bits(ETH, SOL))


def test_try_prices__bits_above_last_market__ignored(oracle, markets):
    prices, valid, _ = oracle.try_prices(_bits(ETH, 16, 255))
    assert (prices[ETH], valid) == (wad(2_000), _bits(ETH))


def test_set_feed__band_beyond_max_price__reverts_band_too_wide(oracle, new_feed, add_market):
    """A band whose top overflows WAD arithmetic is refused when the feed is set, so no
    in-band answer can make try_prices revert for the other markets of the mask."""
    with boa.reverts("Oracle: band too wide"):
        add_market(SOL, new_feed(decimals=0, answer=2_000), max_answer=10**18 + 1)
    add_market(SOL, new_feed(decimals=0, answer=2_000), max_answer=10**18)


def test_valid_prices__same_prices_and_valid_mask_as_try_prices_without_the_guard(oracle, markets, owner, failure):
    with boa.env.prank(owner):
        oracle.set_guard(BTC, True)
    failure.break_feed()
    prices, valid, guarded = oracle.try_prices(_bits(ETH, BTC))
    assert guarded == _bits(BTC)
    assert oracle.valid_prices(_bits(ETH, BTC)) == (prices, valid)
