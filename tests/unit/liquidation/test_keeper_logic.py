"""backstop.keeper.logic.Keeper on the in-process chain: discovery, batching, races, dry run."""

import dataclasses
from types import SimpleNamespace

import boa
import pytest

from backstop.checks.adl_audit import RankingRecorder, audit
from backstop.protocol.harness import actor
from backstop.keeper.logic import BoaChain, Keeper, adl_quantiles, rank_counterparties, short
from backstop.units import wad
from tests.invariants import assert_invariants, assert_settled_invariants

ETH = 0


def _open_longs(protocol, n, margin=2_000, size=5):
    accounts = [actor(f"long-{i}") for i in range(n)]
    for a in accounts:
        protocol.fund_trader(a, margin)
        with boa.env.prank(a):
            protocol.engine.trade(ETH, wad(size))
    return accounts


def test_run_round__price_drop__liquidates_every_liquidatable_account(protocol, keeper):
    risky = _open_longs(protocol, 7)
    safe = actor("safe")
    protocol.fund_trader(safe, 50_000)
    with boa.env.prank(safe):
        protocol.engine.trade(ETH, wad(1))
    bot = Keeper(BoaChain(protocol, keeper))
    for a in [*risky, safe]:
        bot.track(a)
    assert bot.run_round().liquidatable == []
    protocol.set_price(ETH, 1650)
    report = bot.run_round()
    assert sorted(report.liquidated) == sorted(map(str, risky))
    assert report.skipped == 0 and report.failed_batches == 0
    assert bot.liquidatable() == []
    assert_invariants(protocol, [*risky, safe, keeper])


def test_run_round__small_block_gas_limit__splits_into_batches(protocol, keeper):
    risky = _open_longs(protocol, 5)
    bot = Keeper(BoaChain(protocol, keeper), block_gas_limit=340_000)
    assert bot.batch_size == 2
    for a in risky:
        bot.track(a)
    protocol.set_price(ETH, 1650)
    report = bot.run_round()
    assert len(report.liquidated) == 5


def test_run_round__lost_race__counts_skipped_and_carries_on(protocol, keeper, attacker):
    risky = _open_longs(protocol, 3)
    protocol.set_price(ETH, 1650)

    class RacedChain(BoaChain):
        """Another keeper lands the first account just before our batch."""

        def liquidate_batch(self, accounts):
            with boa.env.prank(attacker):
                protocol.engine.liquidate(accounts[0])
            return super().liquidate_batch(accounts)

    bot = Keeper(RacedChain(protocol, keeper))
    for a in risky:
        bot.track(a)
    report = bot.run_round()
    assert report.skipped == 1 and len(report.liquidated) == 2


def test_run_round__failed_transaction__logged_and_next_round_recovers(protocol, keeper):
    risky = _open_longs(protocol, 2)
    protocol.set_price(ETH, 1650)

    class FlakyChain(BoaChain):
        failures = 1

        def liquidate_batch(self, accounts):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("transaction dropped")
            return super().liquidate_batch(accounts)

    bot = Keeper(FlakyChain(protocol, keeper))
    for a in risky:
        bot.track(a)
    first = bot.run_round()
    assert first.failed_batches == 1 and first.liquidated == []
    second = bot.run_round()
    assert len(second.liquidated) == 2


def test_run_round__no_signer__dry_run_sends_nothing(protocol):
    risky = _open_longs(protocol, 2)
    protocol.set_price(ETH, 1650)
    bot = Keeper(BoaChain(protocol, sender=None))
    for a in risky:
        bot.track(a)
    report = bot.run_round()
    assert report.dry_run and len(report.liquidatable) == 2 and report.liquidated == []
    assert all(protocol.lens.is_liquidatable(a) for a in risky)


# ---------------------------------------------------------------- the ADL path


def test_run_round__fund_exhausted__deleverages_best_ranked_first_and_audit_passes(
    protocol, long_10_eth, short_book, keeper, caplog
):
    bot = Keeper(BoaChain(protocol, keeper))
    recorder = RankingRecorder(bot.chain, lambda: bot.accounts)
    bot.chain = recorder
    for a in [long_10_eth, *short_book.values()]:
        bot.track(a)
    protocol.set_price(ETH, 900)
    with caplog.at_level("INFO", logger="backstop.keeper.logic"):
        report = bot.run_round()
    assert report.liquidated == [] and report.adl_required == [str(long_10_eth)]
    assert [f.counterparty for f in report.adl_fills] == [str(short_book[k]) for k in ("high", "mid", "low")]
    assert sum(f.size_closed for f in report.adl_fills) == -wad(10)
    assert protocol.lens.equity(long_10_eth) == 0
    assert audit(recorder.calls, str(protocol.pool.address)) == []
    # Each position in profit gets its quantile in the log.
    assert f"ADL quantile market 0 {short(short_book['low'])}:" in caplog.text
    assert_settled_invariants(protocol, [long_10_eth, keeper, *short_book.values()])


def test_audit__keeper_skips_the_best_ranked__flagged(protocol, long_10_eth, short_book, keeper):
    protocol.set_price(ETH, 900)
    recorder = RankingRecorder(BoaChain(protocol, keeper), lambda: [long_10_eth, *short_book.values()])
    # The engine accepts the list (it is in order); only the audit sees whom it left out.
    recorder.deleverage(long_10_eth, ETH, [short_book["mid"], short_book["low"]])
    (violation,) = audit(recorder.calls, str(protocol.pool.address))
    assert f"skipped {str(short_book['high']).lower()}" in violation


def test_audit__forged_score__flagged(protocol, long_10_eth, short_book, keeper):
    protocol.set_price(ETH, 900)
    recorder = RankingRecorder(BoaChain(protocol, keeper), lambda: [long_10_eth, *short_book.values()])
    recorder.deleverage(long_10_eth, ETH, [short_book["high"]])
    call = recorder.calls[0]
    call.fills = [dataclasses.replace(call.fills[0], score=call.fills[0].score + 1)]
    assert any("filled with score" in v for v in audit([call], str(protocol.pool.address)))


def _entry(size, upnl, score, valid=True):
    return SimpleNamespace(size=size, upnl=upnl, score=score, prices_valid=valid)


def test_rank_counterparties__opposite_side_in_profit_best_first_until_covered():
    entries = {
        "0xa": _entry(-3, 10, 5),
        "0xb": _entry(-4, 10, 9),
        "0xc": _entry(2, 10, 99),  # same side as the bankrupt long
        "0xd": _entry(-5, -1, 0),  # losing
        "0xe": _entry(-1, 10, 7, valid=False),  # a failing price: the engine would refuse it
        "0xf": _entry(-9, 10, 1),
    }
    assert rank_counterparties(entries, 6) == ["0xb", "0xa"]
    assert rank_counterparties(entries, 8) == ["0xb", "0xa", "0xf"]
    assert rank_counterparties(entries, -1) == ["0xc"]


def test_adl_quantiles__top_fifth_is_five_per_side():
    entries = {f"0x{i}": _entry(-1, 1, i + 1) for i in range(10)}
    entries["0xlong"] = _entry(1, 1, 3)
    entries["0xflat"] = _entry(0, 0, 0)
    q = adl_quantiles(entries)
    assert [q[f"0x{i}"] for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert q["0xlong"] == 5 and "0xflat" not in q  # alone on its side: first in line


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 7])
def test_adl_quantiles__any_count__first_in_line_is_five(n):
    # dev: `1 + rank * 5 // n` gave the top position 5/5 only when n was a multiple of 5
    q = adl_quantiles({f"0x{i}": _entry(-1, 1, i + 1) for i in range(n)})
    assert q[f"0x{n - 1}"] == 5 and min(q.values()) >= 1
    assert [q[f"0x{i}"] for i in range(n)] == sorted(q.values())


def test_adl_quantiles__equal_scores__same_quantile():
    q = adl_quantiles({"0xa": _entry(-1, 1, 7), "0xb": _entry(-1, 1, 7), "0xc": _entry(-1, 1, 1)})
    assert q["0xa"] == q["0xb"] == 5 and q["0xc"] < 5


def test_regression__underwater_behind_a_stale_feed__waits_then_settles(protocol, keeper):
    """Found by the solvency fuzzer (deep profile): an account short ETH and
    BTC goes under water on an ETH spike while the BTC feed is stale. It cannot
    be liquidated yet (its BTC price fails), so its deficit is pending, not
    hidden: it stays liquidatable, and once BTC publishes again the keeper
    settles it and I3/I4 hold."""
    trader = actor("short both")
    protocol.fund_trader(trader, 3_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, -wad(5))
        protocol.engine.trade(1, -wad("0.05"))
    boa.env.time_travel(seconds=3_601)  # both feeds stale...
    protocol.set_price(ETH, 2_600)  # ...then ETH publishes a spike, BTC does not
    bot = Keeper(BoaChain(protocol, keeper))
    bot.track(trader)
    (health,) = protocol.lens.health([trader])
    assert health.equity < 0 and health.liquidatable and not health.prices_valid
    report = bot.run_round()
    assert report.liquidatable == [] and report.liquidated == []  # waits: nothing it can do
    protocol.set_price(1, 50_000)
    report = bot.run_round()
    # Its deficit exceeds the fund's fees: ADL against the pool, the only profitable other side.
    assert report.adl_required == [str(trader)] and report.adl_fills
    for _ in range(3):  # what remains (a BTC position at equity 0) is liquidated next
        if not bot.liquidatable():
            break
        bot.run_round()
    assert bot.liquidatable() == []
    assert_settled_invariants(protocol, [trader, keeper])
