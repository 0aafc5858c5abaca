"""Traders who react (backstop/sim/traders.py): each rule alone, apart from
the chain, on hand-made health rows (WAD) and prices."""

from types import SimpleNamespace

import pytest

from backstop.sim.scenario import Behaviours
from backstop.sim.traders import TraderPlan, draw_kind, react

WAD = 10**18
B = Behaviours(stop_loss=0.5, top_up_warn_at=1.5, top_up_probability=0.5, top_up_delay_steps=2, top_up_amount=0.5,
               panic_drawdown=0.15, dip=0.1, dip_leverage=8.0)


def health(equity_usd, maintenance_usd=100.0):
    return SimpleNamespace(equity=int(equity_usd * WAD), maintenance_req=int(maintenance_usd * WAD))


def never(*_):
    raise AssertionError("no probability should decide here")


def test_draw_kind__cumulative_shares__each_kind_its_slice_and_the_rest_none():
    b = Behaviours(never_react=0.2, stop_loss_share=0.1, top_up_share=0.3, panic_share=0.1, dip_buy_share=0.1)
    assert [draw_kind(b, u) for u in (0.0, 0.19, 0.21, 0.29, 0.31, 0.59, 0.61, 0.69, 0.71, 0.79, 0.81, 0.99)] == [
        "never_react", "never_react", "stop_loss", "stop_loss", "top_up", "top_up", "panic", "panic",
        "dip_buy", "dip_buy", None, None]


def test_stop_loss__equity_at_half_the_deposit__closes_every_position_not_before():
    plan = TraderPlan(assets=(0, 1), kind="stop_loss", deposited=1000.0)
    sizes = {0: 2 * WAD, 1: -WAD}
    assert react(plan, B, 5, health(501), sizes, [100, 100], [100, 100], never) == []
    assert react(plan, B, 5, health(500), sizes, [100, 100], [100, 100], never) == [("close", 0), ("close", 1)]


def test_stop_loss__flat__nothing_to_close():
    plan = TraderPlan(assets=(0,), kind="stop_loss", deposited=1000.0)
    assert react(plan, B, 5, health(0), {0: 0}, [100], [100], never) == []


def test_top_up__warned_below_the_level__adds_after_the_delay_once_per_warning():
    plan = TraderPlan(assets=(0,), kind="top_up", opening_margin=1000.0)
    sizes, low = {0: WAD}, health(149)
    assert react(plan, B, 3, low, sizes, [100], [100], lambda: 0.4) == []  # warned; 0.4 < 0.5: it will add
    assert plan.top_up_due == 5
    assert react(plan, B, 4, low, sizes, [100], [100], never) == []  # still warned: no second draw
    assert react(plan, B, 5, low, sizes, [100], [100], never) == [("top_up", 500.0)]
    assert react(plan, B, 6, low, sizes, [100], [100], never) == []  # the same warning: done


def test_top_up__draw_above_the_probability__never_adds_until_warned_again():
    plan = TraderPlan(assets=(0,), kind="top_up", opening_margin=1000.0)
    sizes = {0: WAD}
    assert react(plan, B, 3, health(149), sizes, [100], [100], lambda: 0.6) == []
    assert plan.top_up_due is None and plan.warned
    assert react(plan, B, 4, health(151), sizes, [100], [100], never) == []  # above again: the warning ends
    assert not plan.warned
    assert react(plan, B, 5, health(149), sizes, [100], [100], lambda: 0.1) == []
    assert plan.top_up_due == 7


def test_top_up__no_delay__adds_at_once():
    b = Behaviours(top_up_delay_steps=0, top_up_probability=1.0, top_up_amount=0.25)
    plan = TraderPlan(assets=(0,), kind="top_up", opening_margin=800.0)
    assert react(plan, b, 1, health(10), {0: WAD}, [100], [100], lambda: 0.99) == [("top_up", 200.0)]


@pytest.mark.parametrize("size, path, closes_at", [
    (WAD, [100, 120, 110, 102.1, 102], 4),      # long: 15% below its best (120) at 102
    (-WAD, [100, 80, 90, 91.9, 92], 4),         # short: 15% above its best (80) at 92
])
def test_panic__moved_the_drawdown_against_from_its_best__closes_that_market(size, path, closes_at):
    plan = TraderPlan(assets=(0,), kind="panic")
    for step, price in enumerate(path):
        out = react(plan, B, step, health(1000), {0: size}, [price], [max(path)], never)
        assert out == ([("close", 0)] if step == closes_at else []), (step, price)


def test_panic__reopened_position__its_best_starts_again():
    plan = TraderPlan(assets=(0,), kind="panic")
    react(plan, B, 0, health(1000), {0: WAD}, [200], [200], never)
    react(plan, B, 1, health(1000), {0: 0}, [150], [200], never)  # flat: the best is forgotten
    assert react(plan, B, 2, health(1000), {0: WAD}, [150], [200], never) == []
    assert plan.best == {0: 150}


def test_dip_buy__a_dip_below_the_high__opens_then_only_a_further_dip_reopens():
    plan = TraderPlan(assets=(0,), kind="dip_buy")
    assert react(plan, B, 1, health(1000), {0: 0}, [91], [100], never) == []  # 9% below: not yet
    assert react(plan, B, 2, health(1000), {0: 0}, [90], [100], never) == [("open_long", 0, 8.0)]
    assert react(plan, B, 3, health(1000), {0: WAD}, [85], [100], never) == []  # holding
    assert react(plan, B, 4, health(1000), {0: 0}, [85], [100], never) == []  # flat, but not 10% below 90
    assert react(plan, B, 5, health(1000), {0: 0}, [81], [100], never) == [("open_long", 0, 8.0)]


def test_never_react_and_random_only__no_reaction():
    for kind in ("never_react", None):
        plan = TraderPlan(assets=(0,), kind=kind, deposited=1000.0)
        assert react(plan, B, 1, health(-100), {0: WAD}, [50], [100], never) == []
