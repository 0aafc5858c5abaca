"""Liquidation behind the stable mark (issue 19): an account is liquidatable only
when it is so at the oracle's price and at the stable mark of every lagging
market it holds, so one bad round cannot liquidate it, while a sustained fall
does within the bound (the rate's time to the liquidation price, at most the
window). Closes fill at the oracle's price. `liquidate`, `liquidate_batch`, the
Deleverager's gate and every view (`account_health`, the lens) decide alike.

The book (conftest): a 10 ETH long with 10,000 USD margin filled at 2000.1,
liquidation price ~1054.84, bankruptcy price ~1002.10. The stable mark follows
at 0.1% of itself a second (whole after 10 minutes): from 2,000 it is below
1054.84 after 473 seconds.
"""

import boa
import pytest

from backstop.checks.invariants import held
from backstop.units import wad
from tests.invariants import assert_invariants, assert_settled_invariants

ETH, BTC = 0, 1
RATE, WINDOW = 1_000_000, 600
CROSSES_AFTER = 473  # 2000 * (1 - 0.001 * 473) = 1054 < 1054.84 < 1056 at 472


@pytest.fixture
def stable_mark(protocol):
    """Factory: turn the stable mark on for `market`."""

    def _on(market=ETH, rate=RATE, window=WINDOW):
        with boa.env.prank(protocol.owner):
            protocol.oracle.set_stable_mark(market, rate, window)

    return _on


def _views(protocol, account):
    """Whether each view says the account is liquidatable."""
    (row,) = protocol.lens.health([account])
    return (protocol.lens.account_health(account).liquidatable, row.liquidatable,
            protocol.lens.is_liquidatable(account))


def test_liquidate__single_50pct_round__held_by_the_stable_mark(protocol, long_10_eth, keeper, stable_mark):
    stable_mark()
    # dev: 1,000 is half the price, below the long's bankruptcy price (~1002.10): at the oracle's
    #      price alone it is underwater, and the fund (fees only) could not cover a deep one.
    protocol.set_price(ETH, 1_000)
    health = protocol.lens.account_health(long_10_eth)
    assert health.notional != 0 and health.equity < 0
    assert _views(protocol, long_10_eth) == (False, False, False)
    assert held(health)
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: account healthy"):
        protocol.engine.liquidate(long_10_eth)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([long_10_eth]) == 0
    assert protocol.engine.position(long_10_eth, ETH).size == wad(10)
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__stable_mark_off__the_same_round_liquidates(protocol, long_10_eth, keeper):
    protocol.set_price(ETH, 1_040)
    assert _views(protocol, long_10_eth) == (True, True, True)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([long_10_eth]) == 1


def test_liquidate__sustained_fall__liquidated_once_the_mark_crosses_at_the_oracle_price(
    protocol, long_10_eth, keeper, stable_mark, events
):
    stable_mark()
    protocol.set_price(ETH, 1_040)
    boa.env.time_travel(seconds=CROSSES_AFTER - 1)
    assert protocol.oracle.stable_price(ETH) == wad(1_056)
    assert _views(protocol, long_10_eth) == (False, False, False)
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: account healthy"):
        protocol.engine.liquidate(long_10_eth)
    boa.env.time_travel(seconds=1)
    assert protocol.oracle.stable_price(ETH) == wad(1_054)
    assert _views(protocol, long_10_eth) == (True, True, True)
    with boa.env.prank(keeper):
        protocol.engine.liquidate(long_10_eth)
    # dev: the close fills at the oracle's 1,040, not the stable 1,054 (a long
    #      closed above the oracle would be paid by the pool: I8).
    fills = events(protocol.engine, "Liquidation")
    assert fills and all(f.exec_price == f.mark_price == wad(1_040) for f in fills)
    assert not protocol.lens.is_liquidatable(long_10_eth)
    assert_invariants(protocol, [long_10_eth, keeper])


def test_liquidate__bad_round_and_back__never_liquidated(protocol, long_10_eth, keeper, stable_mark):
    stable_mark()
    protocol.set_price(ETH, 1_000)
    boa.env.time_travel(seconds=120)
    protocol.set_price(ETH, 2_000)
    for _ in range(6):
        with boa.env.prank(keeper):
            assert protocol.engine.liquidate_batch([long_10_eth]) == 0
        boa.env.time_travel(seconds=120)
    assert protocol.engine.position(long_10_eth, ETH).size == wad(10)


def test_liquidate__the_window_bounds_the_hold_whatever_the_rate(protocol, long_10_eth, keeper, stable_mark):
    # dev: a rate that would take hours: the window follows the fall in full after 600 s.
    stable_mark(rate=1_000)
    protocol.set_price(ETH, 1_040)
    boa.env.time_travel(seconds=WINDOW - 1)
    assert not protocol.lens.is_liquidatable(long_10_eth)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([long_10_eth]) == 1


def test_liquidate__cross_margin__decided_at_every_market_s_stable_mark_together(
    protocol, keeper, stable_mark, open_position
):
    # dev: 8,000 USD on long 10 ETH and long 0.2 BTC; only ETH has a stable mark.
    stable_mark(ETH)
    account = open_position("cross", 8_000, 10)
    with boa.env.prank(account):
        protocol.engine.trade(BTC, wad("0.2"))
    protocol.set_price(BTC, 35_000)
    # dev: at the oracle: equity ~1,459 < maintenance 825 + 700; at ETH's stable 2,000: ~4,959, healthy.
    protocol.set_price(ETH, 1_650)
    assert held(protocol.lens.account_health(account))
    assert _views(protocol, account) == (False, False, False)
    # dev: 150 s on, ETH's mark is 1,700: ~1,959 against 850 + 700 there, still held.
    boa.env.time_travel(seconds=150)
    assert protocol.oracle.stable_price(ETH) == wad(1_700)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([account]) == 0
    # dev: BTC (no stable mark) falls on: ~1,359 against 850 + 640 at the marks
    #      together, ~859 against 825 + 640 at the oracle: liquidated, at the oracle.
    protocol.set_price(BTC, 32_000)
    assert _views(protocol, account) == (True, True, True)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([account]) == 1
    fills = {f.market: f.exec_price for f in protocol.engine.get_logs() if type(f).__name__ == "Liquidation"}
    assert fills[ETH] == wad(1_650)
    assert_invariants(protocol, [account, keeper])


def _stable_prices(protocol):
    n = protocol.engine.market_count()
    return protocol.oracle.liquidation_prices((1 << n) - 1)[2]


def test_deleverage__bankrupt_on_a_bad_round__held_until_the_mark_follows(
    protocol, long_10_eth, short_book, keeper, stable_mark
):
    stable_mark()
    protocol.set_price(ETH, 900)
    assert protocol.lens.account_health(long_10_eth).equity < 0
    # dev: healthy at the stable mark: the Deleverager refuses it as `liquidate` does.
    with boa.env.prank(keeper), boa.reverts("Deleverager: account healthy"):
        protocol.deleverager.deleverage(long_10_eth, ETH, [short_book["high"]])
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([long_10_eth]) == 0
    # dev: sustained: after the window the gate sends it to ADL (the fund holds fees only).
    boa.env.time_travel(seconds=WINDOW)
    assert protocol.engine.adl_gate(long_10_eth, _stable_prices(protocol)).needs_adl
    with boa.env.prank(keeper):
        protocol.deleverager.deleverage(long_10_eth, ETH, [short_book["high"], short_book["mid"], short_book["low"]])
    assert protocol.engine.position(long_10_eth, ETH).size == 0
    assert_settled_invariants(protocol, [long_10_eth, keeper, *short_book.values()])


def test_account_health__failing_feed__never_reverts_with_a_stable_mark(protocol, long_10_eth, stable_mark):
    stable_mark()
    protocol.set_price(ETH, 1_040)
    protocol.feeds[ETH].set_answer(0)
    health = protocol.lens.account_health(long_10_eth)
    assert not health.prices_valid
    (row,) = protocol.lens.health([long_10_eth])
    assert row.liquidatable == health.liquidatable


def test_keeper_round__held_account__reported_not_sent_then_liquidated(protocol, long_10_eth, keeper, stable_mark):
    from backstop.keeper.logic import BoaChain, Keeper

    stable_mark()
    bot = Keeper(BoaChain(protocol, keeper))
    bot.track(long_10_eth)
    protocol.set_price(ETH, 1_040)
    report = bot.run_round()
    assert report.held == [str(long_10_eth)] and report.liquidatable == [] and report.failed_batches == 0
    boa.env.time_travel(seconds=CROSSES_AFTER)
    report = bot.run_round()
    assert report.held == [] and report.liquidated == [str(long_10_eth)]


def test_invariants__held_account_below_zero__pending_not_hidden(protocol, long_10_eth, keeper, stable_mark):
    from backstop.checks import invariants

    stable_mark()
    protocol.set_price(ETH, 1_000)
    accounts = [long_10_eth, keeper]
    pending = frozenset(a for a, h in zip(accounts, protocol.lens.health(accounts)) if held(h))
    assert pending == {long_10_eth}
    found = dict(invariants.check(protocol, accounts))
    # dev: without the hold the deficit is I3's shortfall and I4's account below zero ...
    assert found["I3 solvency"] and found["I4 no hidden bad debt"]
    # ... with it, pending: I3 counts the deficit, I4 waits; nothing else is excused.
    found = dict(invariants.check(protocol, accounts, pending=pending))
    assert found["I3 solvency"] == [] and found["I4 no hidden bad debt"] == []


def test_keeper_batches__stable_marks__leave_room_for_the_walk(protocol, keeper, stable_mark, open_position):
    from backstop.keeper.logic import GAS_PER_STABLE_MARK, BoaChain, Keeper

    accounts = [str(open_position(f"batched-{i}", 2_000, 1)) for i in range(12)]
    # dev: 0.9 x 1,000,000 - 160,000 = 740,000 of budget: twelve one-market accounts at 60,000.
    bot = Keeper(BoaChain(protocol, keeper), block_gas_limit=1_000_000)
    assert [len(b) for b in bot.batches(accounts)] == [12]
    stable_mark()
    # dev: one market's walk (GAS_PER_STABLE_MARK) leaves room for ten.
    assert GAS_PER_STABLE_MARK == 120_000
    assert [len(b) for b in bot.batches(accounts)] == [10, 2]
