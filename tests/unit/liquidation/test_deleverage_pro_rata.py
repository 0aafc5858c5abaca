"""Pro-rata auto-deleveraging (issue 19): a per-market mode beside the queue.

The book (conftest): a 10 ETH long with 10,000 USD margin and three shorts of
4, 3 and 5 ETH opened at ~2000 by falling leverage. At 900 the long's equity is
~ -1,021 USD and the fund holds ~22 USD: ADL. The queue closes the long against
the best-ranked shorts at its bankruptcy price; pro rata spreads the deficit
(and the size) over every listed short by profit x leverage, each capped at its
profit. Both modes run here on the same state (a snapshot each).
"""

import boa
import pytest

from backstop.checks.adl_audit import AdlCall
from backstop.keeper.logic import AdlFill, BoaChain, Keeper
from backstop.units import WAD, wad
from tests.invariants import assert_adl_order, assert_settled_invariants

ETH = 0


def _fills(protocol):
    return [
        AdlFill(str(e.account), str(e.counterparty), e.market, e.size_closed, e.price, e.score, e.haircut)
        for e in protocol.deleverager.get_logs()
        if type(e).__name__ in ("Deleverage", "CounterpartySkipped")
    ]


def _ranking(protocol, accounts, market=ETH):
    known = [*map(str, accounts), str(protocol.pool.address)]
    return dict(zip(known, protocol.lens.adl_ranking(known, market)))


def _pro_rata(protocol, on=True, market=ETH):
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_adl_pro_rata(market, on)


def _weight(protocol, account):
    """profit x leverage, as the Deleverager computes it (WAD)."""
    h = protocol.lens.health([account])[0]
    upnl = protocol.lens.adl_ranking([account], ETH)[0].upnl
    return max(upnl * h.notional // h.equity, 1)


def _deleverage(protocol, keeper, account, order):
    """Run one deleverage call; each counterparty's equity lost, the account's equity after, the fills."""
    before = {a: protocol.lens.equity(a) for a in order}
    with boa.env.prank(keeper):
        protocol.deleverager.deleverage(account, ETH, order)
    fills = _fills(protocol)
    lost = {a: before[a] - protocol.lens.equity(a) for a in order}
    return lost, protocol.lens.equity(account), fills


@pytest.fixture
def crashed(protocol, long_10_eth, short_book):
    protocol.set_price(ETH, 900)
    return long_10_eth


def test_pro_rata__both_modes_on_the_same_state__each_loss_within_its_profit_and_spread_by_weight(
    protocol, crashed, short_book, keeper
):
    order = [short_book["high"], short_book["mid"], short_book["low"]]
    accounts = [crashed, keeper, *order]
    ranking = _ranking(protocol, accounts)
    profit = {a: ranking[str(a)].upnl for a in order}
    weights = {a: _weight(protocol, a) for a in order}
    deficit = -protocol.lens.equity(crashed) - protocol.vault.collateral(protocol.fund)
    assert deficit > wad(900)

    with boa.env.anchor():
        queue_lost, queue_equity, queue_fills = _deleverage(protocol, keeper, crashed, order)
        assert protocol.engine.position(crashed, ETH).size == 0
        assert_settled_invariants(protocol, accounts)
    with boa.env.anchor():
        _pro_rata(protocol)
        lost, equity, fills = _deleverage(protocol, keeper, crashed, order)
        assert protocol.engine.position(crashed, ETH).size == 0
        assert_settled_invariants(protocol, accounts)
        assert_adl_order([AdlCall(str(crashed), ETH, fills, ranking)], str(protocol.pool.address))
        weight_events = [e.weight for e in protocol.deleverager.get_logs() if type(e).__name__ == "Deleverage"]

    # Both end the bankrupt at zero, and take the deficit (to a few wei) from the shorts, none beyond its profit.
    assert queue_equity == equity == 0
    for taken in (queue_lost, lost):
        assert all(0 <= taken[a] < profit[a] for a in order)
        assert abs(sum(taken.values()) - deficit) <= 3
    # The queue takes it from the first two; pro rata from all three, by weight.
    assert [f.size_closed for f in queue_fills] == [wad(-4), wad(-3), wad(-3)]
    assert all(lost[a] > 0 for a in order)
    assert weight_events == [weights[a] for a in order]
    total_weight = sum(weights.values())
    for a in order:
        assert lost[a] == pytest.approx(deficit * weights[a] / total_weight, abs=3)
    # Spreading lowers the largest single haircut.
    assert max(lost.values()) < max(queue_lost.values())
    # Each short also gives part of its size, in the same proportion, never more than it holds.
    sizes = {f.counterparty: -f.size_closed for f in fills}
    assert sum(sizes.values()) == wad(10)
    for a in order:
        assert 0 < sizes[str(a)] <= -ranking[str(a)].size
        assert sizes[str(a)] == pytest.approx(wad(10) * weights[a] / total_weight, abs=2)


def test_pro_rata__thin_list_in_the_last_market__closes_only_the_part_it_covers(
    protocol, long_10_eth, short_book, open_position, keeper, events
):
    _pro_rata(protocol)
    thin = open_position("short_thin", 100, -0.01)
    protocol.set_price(ETH, 900)
    crashed = long_10_eth
    profit = protocol.lens.adl_ranking([thin], ETH)[0].upnl
    equity_before = protocol.lens.equity(crashed)
    fund = protocol.vault.collateral(protocol.fund)
    deficit = -(equity_before + fund)
    assert 0 < profit < deficit // 50

    lost, equity, fills = _deleverage(protocol, keeper, crashed, [thin])

    # The thin short gives all its profit but a wei, and at most its size...
    assert 0 < lost[thin] < profit and lost[thin] >= profit - 3
    assert -fills[0].size_closed <= wad(0.01)
    # ...the account keeps the rest of its deficit on what stays open, no more per unit than before.
    left = protocol.engine.position(crashed, ETH).size
    assert left > 0 and equity < 0
    assert -equity * wad(10) <= deficit * left
    (pending,) = events(protocol.deleverager, "DeficitPending")
    assert pending.amount == deficit - fills[0].haircut
    assert protocol.lens.equity(thin) > 0


def test_pro_rata__counterparty_listed_twice__reverts_listed_twice(protocol, crashed, short_book, keeper):
    _pro_rata(protocol)
    with boa.env.prank(keeper), boa.reverts("Deleverager: counterparty listed twice"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"], short_book["mid"], short_book["high"]])


def test_pro_rata__scores_out_of_order__not_checked_shares_by_weight(protocol, crashed, short_book, keeper):
    # dev: shares go by weight, so the order carries nothing (a listed account cannot revert the call by
    #      reordering itself: test_adl_pro_rata_listed_counterparty_reverts_the_call.py).
    _pro_rata(protocol)
    order = [short_book["low"], short_book["high"], short_book["mid"]]
    lost, equity, fills = _deleverage(protocol, keeper, crashed, order)
    assert equity == 0 and all(lost[a] > 0 for a in order)


def test_pro_rata__same_side_counterparty__passed_over(protocol, long_10_eth, short_book, open_position, keeper, events):
    _pro_rata(protocol)
    other_long = open_position("long_other", 5_000, 1)
    protocol.set_price(ETH, 900)
    with boa.env.prank(keeper):
        protocol.deleverager.deleverage(long_10_eth, ETH, [other_long, short_book["high"]])
    (skipped,) = events(protocol.deleverager, "CounterpartySkipped")
    assert skipped.counterparty == other_long
    assert protocol.engine.position(other_long, ETH).size == wad(1)


def test_pro_rata__keeper_lists_every_eligible_short__all_pay_and_the_audit_holds(
    protocol, crashed, short_book, keeper
):
    _pro_rata(protocol)
    accounts = [crashed, *short_book.values()]
    bot = Keeper(BoaChain(protocol, sender=keeper))
    for a in accounts:
        bot.track(str(a))
    ranking = _ranking(protocol, [*accounts, keeper])
    report = bot.run_round()
    assert {f.counterparty for f in report.adl_fills} == set(map(str, short_book.values()))
    assert all(f.haircut > 0 for f in report.adl_fills)
    assert protocol.engine.position(crashed, ETH).size == 0
    assert protocol.lens.equity(crashed) == 0
    assert_settled_invariants(protocol, [*accounts, keeper])
    assert_adl_order([AdlCall(str(crashed), ETH, report.adl_fills, ranking)], str(protocol.pool.address))


def test_adl_mode__set_by_the_owner__event_and_view(protocol, events):
    assert protocol.configurator.adl_pro_rata(ETH) is False
    _pro_rata(protocol)
    (log,) = events(protocol.configurator, "AdlModeSet")
    assert (log.market, log.pro_rata) == (ETH, True)
    assert protocol.configurator.adl_pro_rata(ETH) is True


def test_adl_mode__not_the_owner__reverts_caller_not_owner(protocol, keeper):
    with boa.env.prank(keeper), boa.reverts("ownable: caller is not the owner"):
        protocol.configurator.set_adl_pro_rata(ETH, True)


def test_adl_mode__unknown_market__reverts_unknown_market(protocol):
    with boa.env.prank(protocol.owner), boa.reverts("Configurator: unknown market"):
        protocol.configurator.set_adl_pro_rata(7, True)
