"""Clearinghouse.deleverage: the last stage of the loss waterfall (SPEC 6.4-6.5).

The book (conftest): a 10 ETH long with 10,000 USD margin and three shorts of
4, 3 and 5 ETH opened at ~2000 with falling leverage (`short_book`: high, mid,
low ADL scores). At 900 the long's equity is ~ -1,021 USD, far beyond the
~22 USD of fees the fund holds, so its liquidation is refused for ADL.
"""

import boa
import pytest

from backstop.checks.adl_audit import AdlCall
from backstop.protocol.harness import actor
from backstop.keeper.logic import AdlFill, BoaChain, Keeper
from backstop.units import WAD, wad
from tests.invariants import assert_adl_order, assert_invariants, assert_settled_invariants

ETH, BTC = 0, 1


def _fills(protocol):
    return [
        AdlFill(str(e.account), str(e.counterparty), e.market, e.size_closed, e.price, e.score)
        for e in protocol.deleverager.get_logs()
        if type(e).__name__ == "Deleverage"
    ]


def _ranking(protocol, accounts, market=ETH):
    known = [*map(str, accounts), str(protocol.pool.address)]
    return dict(zip(known, protocol.lens.adl_ranking(known, market)))


def _state(protocol, accounts):
    """Everything a reverted call must leave unchanged."""
    everyone = [*accounts, protocol.pool.address, protocol.fund]
    return [(protocol.engine.position(a, m), protocol.vault.collateral(a)) for a in everyone for m in (ETH, BTC)]


@pytest.fixture
def crashed(protocol, long_10_eth, short_book):
    protocol.set_price(ETH, 900)
    return long_10_eth


def test_deleverage__fund_covers__reverts_not_required_and_liquidation_covers(
    protocol, crashed, short_book, keeper, seed_fund, events
):
    seed_fund(2_000)
    with boa.env.prank(keeper), boa.reverts("Deleverager: ADL not required"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"]])
    with boa.env.prank(keeper):
        protocol.engine.liquidate(crashed)
    (covered,) = events(protocol.engine, "BadDebtCovered")
    assert covered.amount > wad(1_000)
    assert events(protocol.engine, "Deleverage") == []
    assert_settled_invariants(protocol, [crashed, keeper, *short_book.values()])


def test_deleverage__fund_exhausted__fund_first_then_bankruptcy_price_to_equity_zero(
    protocol, crashed, short_book, keeper, events
):
    accounts = [crashed, keeper, *short_book.values()]
    ranking = _ranking(protocol, accounts)
    fund = protocol.vault.collateral(protocol.fund)
    equity = protocol.lens.equity(crashed)
    assert 0 < fund < -equity
    cps_equity = sum(protocol.lens.equity(a) for a in short_book.values())
    # After the fund's draw the account's equity is equity + fund; every ETH
    # closed at mark - (equity + fund) / 10 moves it 1/10 of the way to zero.
    bankruptcy = 900 * WAD - (equity + fund) * WAD // wad(10)

    order = [short_book["high"], short_book["mid"], short_book["low"]]
    with boa.env.prank(keeper):
        closed = protocol.deleverager.deleverage(crashed, ETH, order)

    (covered,) = events(protocol.deleverager, "BadDebtCovered")
    assert (covered.amount, covered.fund_balance) == (fund, 0)
    assert protocol.vault.collateral(protocol.fund) == 0
    fills = _fills(protocol)
    assert [f.counterparty for f in fills] == list(map(str, order))
    assert [f.size_closed for f in fills] == [wad(-4), wad(-3), wad(-3)]
    assert closed == wad(10)
    for f in fills:
        assert abs(f.price - bankruptcy) <= 1
        assert f.score == ranking[f.counterparty].score
    assert fills[0].score > fills[1].score > fills[2].score > 0
    # The low-ranked short was filled partly: 3 of its 5 ETH.
    assert protocol.engine.position(short_book["low"], ETH).size == wad(-2)
    # The bankrupt ends at exactly zero, flat; the counterparties lost what it
    # was short (zero-sum: no one else paid).
    assert protocol.engine.position(crashed, ETH).size == 0
    assert protocol.lens.equity(crashed) == 0 and protocol.vault.collateral(crashed) == 0
    lost = cps_equity - sum(protocol.lens.equity(a) for a in short_book.values())
    assert abs(lost - (-(equity + fund))) <= 3
    assert_settled_invariants(protocol, accounts)
    assert_adl_order([AdlCall(str(crashed), ETH, fills, ranking)], str(protocol.pool.address))


def test_deleverage__across_two_calls__equity_shrinks_pro_rata_then_zero(protocol, crashed, short_book, keeper):
    accounts = [crashed, keeper, *short_book.values()]
    with boa.env.prank(keeper):
        assert protocol.deleverager.deleverage(crashed, ETH, [short_book["high"]]) == wad(4)
    first = _fills(protocol)
    assert protocol.engine.position(crashed, ETH).size == wad(6)
    # The fund was drawn to zero; 6/10 of the remaining deficit is left,
    # rounded in the account's favour.
    after_fund = protocol.vault.collateral(crashed)  # noqa: F841  (collateral is signed; equity below is what matters)
    equity = protocol.lens.equity(crashed)
    assert equity < 0
    ranking = _ranking(protocol, accounts)
    with boa.env.prank(keeper):
        assert protocol.deleverager.deleverage(crashed, ETH, [short_book["mid"], short_book["low"]]) == wad(6)
    second = _fills(protocol)
    assert [f.size_closed for f in second] == [wad(-3), wad(-3)]
    assert protocol.lens.equity(crashed) == 0
    assert first[0].price == pytest.approx(second[0].price, abs=2)
    assert_settled_invariants(protocol, accounts)
    assert_adl_order([AdlCall(str(crashed), ETH, second, ranking)], str(protocol.pool.address))


def test_deleverage__partial_call__bankrupt_equity_moves_pro_rata(protocol, crashed, short_book, keeper):
    fund = protocol.vault.collateral(protocol.fund)
    start = protocol.lens.equity(crashed) + fund
    with boa.env.prank(keeper):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"]])
    # 4 of 10 closed: 6/10 of the deficit left, rounded up (toward zero).
    expected = -((-start * 6) // 10)
    assert protocol.lens.equity(crashed) == expected


def test_deleverage__pool_as_counterparty__pool_takes_the_rest(protocol, long_10_eth, open_position, keeper):
    short = open_position("short_high", 5_000, -4)
    protocol.set_price(ETH, 900)
    pool = str(protocol.pool.address)
    assert protocol.engine.position(pool, ETH).size == wad(-6)
    ranking = _ranking(protocol, [long_10_eth, short])
    assert ranking[pool].upnl > 0 and ranking[pool].score < ranking[str(short)].score
    with boa.env.prank(keeper):
        assert protocol.deleverager.deleverage(long_10_eth, ETH, [short, pool]) == wad(10)
    fills = _fills(protocol)
    assert [(f.counterparty, f.size_closed) for f in fills] == [(str(short), wad(-4)), (pool, wad(-6))]
    assert protocol.engine.position(pool, ETH).size == 0
    assert protocol.engine.market_state(ETH).skew == 0
    assert protocol.lens.equity(long_10_eth) == 0
    assert_settled_invariants(protocol, [long_10_eth, short, keeper])
    assert_adl_order([AdlCall(str(long_10_eth), ETH, fills, ranking)], pool)


def test_deleverage__same_side_counterparty__reverts(protocol, crashed, short_book, open_position, keeper):
    # A deep-margin long opened before the crash: healthy, on the bankrupt's side.
    protocol.set_price(ETH, 2000)
    protocol.set_price(ETH, 2000)  # dev: a round at the new level lifts the guard of the jump back
    other_long = open_position("other_long", 100_000, 1)
    protocol.set_price(ETH, 900)
    before = _state(protocol, [crashed, other_long])
    with boa.env.prank(keeper), boa.reverts("Deleverager: counterparty same side"):
        protocol.deleverager.deleverage(crashed, ETH, [other_long])
    assert _state(protocol, [crashed, other_long]) == before


def test_deleverage__losing_counterparty__reverts(protocol, crashed, short_book, open_position, owner, keeper):
    # A short opened at 900, after the crash, loses when the price comes back to 950.
    protocol.set_price(ETH, 900)  # dev: a round at the new level lifts the crash's guard
    late_short = open_position("late_short", 5_000, -1)
    protocol.set_price(ETH, 950)
    assert protocol.lens.unrealized_pnl(late_short, ETH) < 0
    before = _state(protocol, [crashed, late_short])
    with boa.env.prank(keeper), boa.reverts("Deleverager: counterparty not in profit"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"], late_short])
    assert _state(protocol, [crashed, late_short]) == before


def test_deleverage__unordered_scores__reverts(protocol, crashed, short_book, keeper):
    before = _state(protocol, [crashed, *short_book.values()])
    with boa.env.prank(keeper), boa.reverts("Deleverager: scores not ordered"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["mid"], short_book["high"]])
    assert _state(protocol, [crashed, *short_book.values()]) == before


def test_deleverage__flat_counterparty__reverts(protocol, crashed, short_book, other_trader, keeper):
    protocol.fund_trader(other_trader, 1_000)
    before = _state(protocol, [crashed, other_trader])
    with boa.env.prank(keeper), boa.reverts("Deleverager: counterparty flat"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"], other_trader])
    assert _state(protocol, [crashed, other_trader]) == before


def test_deleverage__healthy_account__reverts(protocol, long_10_eth, short_book, keeper):
    with boa.env.prank(keeper), boa.reverts("Deleverager: account healthy"):
        protocol.deleverager.deleverage(long_10_eth, ETH, [short_book["high"]])


def test_deleverage__no_position_in_market__reverts(protocol, crashed, short_book, keeper):
    with boa.env.prank(keeper), boa.reverts("Deleverager: no position"):
        protocol.deleverager.deleverage(crashed, BTC, [short_book["high"]])


def test_deleverage__empty_list__reverts(protocol, crashed, keeper):
    with boa.env.prank(keeper), boa.reverts("Deleverager: no counterparties"):
        protocol.deleverager.deleverage(crashed, ETH, [])


def test_deleverage__healthy_pool__reverts(protocol, crashed, short_book, keeper):
    # The pool is deleveraged only below its own maintenance margin.
    with boa.env.prank(keeper), boa.reverts("Deleverager: account healthy"):
        protocol.deleverager.deleverage(protocol.pool.address, ETH, [short_book["high"]])


def test_deleverage__stale_price__reverts_with_oracle_reason(protocol, crashed, short_book, keeper):
    boa.env.time_travel(seconds=2 * 3600)
    with boa.env.prank(keeper), boa.reverts("Oracle: stale price"):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"]])


def test_liquidate_batch__adl_needed__skipped_with_adl_required_event(protocol, crashed, short_book, keeper, events):
    fund = protocol.vault.collateral(protocol.fund)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([crashed]) == 0
    (required,) = events(protocol.engine, "AdlRequired")
    assert required.account == crashed
    assert required.fund_balance == fund and required.shortfall > fund
    assert protocol.engine.position(crashed, ETH).size == wad(10)


def test_adl_score__matches_the_score_deleverage_checks(protocol, crashed, short_book, keeper):
    scores = {k: protocol.lens.adl_score(a, ETH) for k, a in short_book.items()}
    assert scores["high"] > scores["mid"] > scores["low"] > 0
    assert protocol.lens.adl_score(crashed, ETH) == 0  # in loss: never deleveraged
    with boa.env.prank(keeper):
        protocol.deleverager.deleverage(crashed, ETH, [short_book["high"]])
    assert _fills(protocol)[0].score == scores["high"]


def test_adl_score__formula__pnl_pct_times_leverage(protocol, crashed, short_book):
    short = short_book["high"]
    upnl = protocol.lens.unrealized_pnl(short, ETH)
    cost = protocol.engine.position(short, ETH).cost
    notional, equity = protocol.lens.notional(short), protocol.lens.equity(short)
    expected = (upnl * WAD // abs(cost)) * notional // equity
    assert protocol.lens.adl_score(short, ETH) == expected
    assert protocol.lens.adl_score(short, ETH) == pytest.approx(0.55 * 3600 / 9400 * 1e18, rel=0.01)


def test_liquidate__pool_cannot_absorb_all__solvent_account_liquidated_in_portions(deploy, keeper, events, seed_lp_usd=30_600):
    """A thin pool that is long: taking over all of a liquidated long would
    push it below its maintenance margin. The long has positive equity, so it
    is never deleveraged (SPEC 6.4): the pool takes the part its margin
    allows, the rest waits for the pool's margin to grow."""
    p = deploy(18)
    shorts = _thin_pool_book(p, seed_lp_usd)
    p.stake(actor("staker"), 100_000)
    solvent = actor("thin_long")
    p.fund_trader(solvent, 10_000)
    with boa.env.prank(solvent):
        p.engine.trade(ETH, wad(10))
    p.set_price(ETH, 1040)
    pool = str(p.pool.address)
    health = p.lens.health([solvent, pool])
    assert health[0].liquidatable and health[0].equity > 0  # no bad debt at all
    assert not health[1].liquidatable  # the pool is fine as it stands...
    # ...but long 40 instead of 30 its maintenance would exceed its equity.
    assert health[1].equity < 40 * 1040 * WAD * 5 // 100
    with boa.env.prank(keeper):
        p.engine.liquidate(solvent)
    (settled,) = events(p.engine, "LiquidationSettled")
    assert not settled.fully_closed and settled.bad_debt == 0
    assert 0 < p.engine.position(pool, ETH).size - wad(30) < wad(10)  # the pool took part of the 10
    pool_after = p.lens.account_health(pool)
    assert pool_after.equity >= pool_after.maintenance_req
    # At the mark: the account lost its penalty and nothing else.
    assert abs(p.lens.equity(solvent) - (health[0].equity - settled.penalty)) <= 2
    # Here the part the pool could take was enough to restore the account.
    assert not p.lens.is_liquidatable(solvent)
    with boa.env.prank(keeper), boa.reverts("Deleverager: account healthy"):
        p.deleverager.deleverage(solvent, ETH, shorts[:1])
    assert_invariants(p, [solvent, keeper, *shorts])


def test_deleverage__pool_listed_twice__reverts_listed_twice(protocol, long_10_eth, open_position, keeper):
    # The pool is short 8 against the bankrupt's 10: after its fill, 2 ETH are
    # left, and the pool listed again must not fill a second time (every check
    # reads the state before the call).
    short = open_position("short_small", 5_000, -2)
    protocol.set_price(ETH, 900)
    pool = protocol.pool.address
    assert protocol.engine.position(pool, ETH).size == wad(-8)
    with boa.env.prank(keeper), boa.reverts("Deleverager: counterparty listed twice"):
        protocol.deleverager.deleverage(long_10_eth, ETH, [pool, pool, short])


# ---------------------------------------------------------------- the pool below its margin


def _thin_pool_book(p, lp_usd=30_000) -> list:
    """A thin pool (30,000 USD) long 40 ETH against four 10 ETH shorts (10,000 USD margin each)."""
    p.fund_pool(actor("seed_lp"), lp_usd)
    shorts = []
    for i in range(4):
        a = actor(f"pool_cp_{i}")
        p.fund_trader(a, 10_000)
        with boa.env.prank(a):
            p.engine.trade(ETH, wad(-10))
        shorts.append(a)
    return shorts


@pytest.fixture
def thin_pool_long(deploy):
    """The thin pool's book and a 500 USD fund. ETH at 1200 (-40%) leaves the
    pool ~2,000 USD under water: no liquidation can help, nobody can take its book."""
    p = deploy(18)
    shorts = _thin_pool_book(p)
    p.stake(actor("staker"), 500)
    p.set_price(ETH, 1200)
    return p, shorts


def test_deleverage__pool_under_water__fund_first_then_shorts_absorb_the_rest(thin_pool_long, keeper):
    p, shorts = thin_pool_long
    pool = p.pool.address
    equity, fund = p.lens.equity(pool), p.vault.collateral(p.fund)
    assert equity + fund < 0 and p.lens.account_health(pool).liquidatable
    shorts_before = sum(p.lens.equity(a) for a in shorts)
    ranked = sorted(shorts, key=lambda a: -p.lens.adl_score(a, ETH))
    with boa.env.prank(keeper):
        assert p.deleverager.deleverage(pool, ETH, ranked) == wad(40)
    assert p.engine.position(pool, ETH).size == 0
    assert p.lens.equity(pool) == 0 and p.vault.collateral(p.fund) == 0
    # The shorts paid exactly what the pool and the fund could not.
    assert abs((shorts_before - sum(p.lens.equity(a) for a in shorts)) - (-(equity + fund))) <= 4
    assert_settled_invariants(p, [keeper, *shorts])


def test_deleverage__pool_below_maintenance_in_profit__closed_at_mark(deploy, keeper):
    # Above zero but below maintenance: the pool's book shrinks at mark, no one pays.
    p = deploy(18)
    shorts = _thin_pool_book(p)
    p.set_price(ETH, 1300)
    pool = p.pool.address
    h = p.lens.account_health(pool)
    assert 0 < h.equity < h.maintenance_req
    with boa.env.prank(keeper):
        p.deleverager.deleverage(pool, ETH, shorts[:1])
    (fill,) = _fills(p)
    assert fill.price == 1300 * WAD and fill.size_closed == wad(-10)
    assert p.lens.equity(pool) == h.equity


def test_run_round__pool_under_water__keeper_deleverages_the_pool(thin_pool_long, keeper):
    p, shorts = thin_pool_long
    bot = Keeper(BoaChain(p, keeper))
    for a in shorts:
        bot.track(a)
    report = bot.run_round()
    assert report.adl_required == [str(p.pool.address)]
    assert sum(f.size_closed for f in report.adl_fills) == -wad(40)  # the pool was long 40
    assert p.lens.equity(p.pool.address) == 0
    assert_settled_invariants(p, [keeper, *shorts])


def test_regression__fuzzer_lp_drains_pool_then_crash__pool_deleveraged(deploy, keeper):
    """Found by the solvency fuzzer (deep profile): an LP redeems 97% of what
    the pool's margin lets out, ETH falls 15%, and the pool, long against the
    traders' net short, ends below zero; with no way to resolve it, I3 and I4
    failed after the keeper's round. The pool now goes to ADL."""
    p = deploy(6)
    lp = actor("seed_lp")
    p.fund_pool(lp, 56_090)
    p.stake(actor("staker"), 719)
    traders = []
    for i, (margin, pct, market) in enumerate([(403, -71, ETH), (190, -74, BTC), (9_779, -92, ETH), (4_224, 79, BTC)]):
        t = actor(f"regression trader {i}")
        p.fund_trader(t, margin)
        imr = p.configurator.markets(market).imr
        size = p.lens.free_collateral(t) * abs(pct) // 100 * WAD // imr * WAD // p.oracle.last(market).price
        with boa.env.prank(t):
            p.engine.trade(market, size if pct > 0 else -size)
        traders.append(t)
    p.set_price(BTC, 47_500)
    with boa.env.prank(lp):
        p.pool.redeem(p.pool.maxRedeem(lp) * 97 // 100)
    p.set_price(ETH, 2_000 * (10_000 - 1_511) // 10_000)
    bot = Keeper(BoaChain(p, keeper))
    for t in traders:
        bot.track(t)
    report = bot.run_round()
    assert str(p.pool.address) in report.adl_required and report.adl_fills
    # The pool ends at zero, not below (it keeps a BTC position in profit, which
    # no one on the other side could take), and nothing else is left to liquidate.
    assert bot.liquidatable() == [] and p.lens.equity(p.pool.address) >= 0
    assert_settled_invariants(p, [keeper, lp, *traders])


def test_liquidate__pool_below_its_margin__solvent_account_deferred_with_an_event(deploy, keeper):
    """The thin pool long 35 ETH (four 10 ETH shorts, a 5 ETH long) at 1,190:
    below its own maintenance margin. The long is liquidatable with positive
    equity; taking any of it would make the pool longer, so it is deferred
    (`LiquidationDeferred`, never ADL: it is solvent) while the keeper
    deleverages the pool."""
    p = deploy(18)
    shorts = _thin_pool_book(p)
    solvent = actor("deferred_long")
    p.fund_trader(solvent, 4_200)
    with boa.env.prank(solvent):
        p.engine.trade(ETH, wad(5))
    p.set_price(ETH, 1_190)
    pool = str(p.pool.address)
    health, pool_health = p.lens.health([solvent, pool])
    assert health.liquidatable and health.equity > 0
    assert pool_health.equity < pool_health.maintenance_req  # the pool has no room at all
    with boa.env.prank(keeper), boa.reverts("Clearinghouse: pool margin"):
        p.engine.liquidate(solvent)
    with boa.env.prank(keeper):
        assert p.engine.liquidate_batch([solvent]) == 0
    (deferred,) = [e for e in p.engine.get_logs() if type(e).__name__ == "LiquidationDeferred"]
    assert deferred.account == solvent
    with boa.env.prank(keeper), boa.reverts("Deleverager: ADL not required"):
        p.deleverager.deleverage(solvent, ETH, shorts[:1])

    bot = Keeper(BoaChain(p, keeper))
    for a in [solvent, *shorts]:
        bot.track(a)
    report = bot.run_round()
    assert report.deferred == [str(solvent)] and report.skipped == 0
    assert pool in report.adl_required and report.adl_fills  # the pool's own ADL makes room
    assert_invariants(p, [solvent, keeper, *shorts])
