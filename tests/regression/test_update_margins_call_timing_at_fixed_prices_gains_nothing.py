"""Choosing when to call the volatility crank, at fixed prices.

Attack (I8): with prices fixed no new feed round arrives, so the volatility
EWMA stands still; only the maintenance scale still walks, by the hourly cap,
towards the target the last rounds set. An actor calls `update_margins`
every few minutes (to keep maintenance low by rounding, or to be first to
liquidate an account the rise makes liquidatable), or never (to keep the
engine's margins where they were).

Why it gains nothing: the walk is a function of the rounds and the time, not
of the calls: cranked every 5 minutes for 3 hours or once at the end, the
margins come out the same (a frequent crank only rounds each step down: at
most 1 wei of scale a call, in no one's favour but the accounts'), and so do
the accounts it makes liquidatable. What a held-back crank leaves is only the
engine's copy stale until anyone calls it; every keeper round calls it first
(backstop.keeper.logic.Keeper._update_margins).
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, trade

KEEPER, TRADER = actor("regression keeper"), actor("regression trader")


def _run(every_seconds: int | None):
    p = deploy(18)
    p.fund_trader(TRADER, 2_600)
    trade(p, TRADER, ETH, 10)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    publish(p, ETH, 2200)
    publish(p, ETH, 2000)  # a volatile round trip: the trader's equity is as before, the target scale 3
    calls = 0
    for _ in range(3 * 3600 // 300):
        p.env.time_travel(300)
        if every_seconds:
            with p.env.prank(KEEPER):
                p.configurator.update_margins(ETH)
            calls += 1
    publish(p, ETH, 2000)  # a calm round, so the prices are valid for the health read
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    return p, tuple(p.configurator.volatility_states(ETH)), calls


def test_update_margins__every_five_minutes_or_once__same_margins_same_liquidatable():
    often, often_state, calls = _run(300)
    once, once_state, _ = _run(None)
    ewma, mmr_often, mmr_once = often_state[0], often_state[4], once_state[4]
    assert ewma == once_state[0]
    assert 0 <= mmr_once - mmr_often <= calls  # rounding only, against the accounts' margin rising
    assert often.lens.is_liquidatable(TRADER) == once.lens.is_liquidatable(TRADER)
    assert tuple(often.configurator.effective_margins(ETH))[0] == tuple(once.configurator.effective_margins(ETH))[0]


def test_update_margins__calm_history_fixed_prices__no_crank_moves_any_margin():
    """With no volatile round behind it, no sequence of cranks (nor the time
    between them) moves a margin: an actor at fixed prices cannot make an
    account liquidatable through the scaling. (After volatile rounds the
    maintenance keeps walking up by its cap at fixed prices: that walk is the
    rounds', the same whoever calls, and the keeper reward for what it makes
    liquidatable is SPEC 5's; I8's fixed-price stretch sees it as time.)"""
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    base = tuple(p.configurator.effective_margins(ETH))
    for seconds in (1, 12, 600, 3600, 86_400):
        p.env.time_travel(seconds)
        with p.env.prank(KEEPER):
            p.configurator.update_margins(ETH)
        assert tuple(p.configurator.effective_margins(ETH)) == base
