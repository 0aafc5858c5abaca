"""The price guard's whole life through every path (SPEC 4, issue 14): a jump
beyond the deviation cap that nobody refreshed is seen the same way by every
path and view; while it holds, nothing that adds risk or takes value out uses
the price (opening, withdrawing, LP deposit and redemption, margin of other
markets) and exits, collateral deposits and liquidations still work; it lifts
by its confirmation (one round at the new level, or 900 s) with no one
writing to the oracle. At token decimals 6 and 18, feed decimals 8 and 18.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import BTC, ETH, deploy, publish, reverts_with, trade

TRADER, LP, VICTIM = actor("guard trader"), actor("guard lp"), actor("guard victim")

pytestmark = [pytest.mark.parametrize("decimals", [6, 18]), pytest.mark.parametrize("feed_decimals", [8, 18])]


def _protocol(decimals, feed_decimals):
    """The trader long 1 ETH with spare margin, an LP's shares, and a 3x long
    (the victim) that a -30% round makes liquidatable, not bankrupt."""
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 20_000)
    trade(p, TRADER, ETH, 1)
    p.fund_pool(LP, 100_000)
    p.fund_trader(VICTIM, 3_200)
    trade(p, VICTIM, ETH, 5)
    for account, usd in ((LP, 10_000), (TRADER, 1_000)):
        p.token.mint(account, p.units(usd))
        with p.env.prank(account):
            p.token.approve(p.pool.address, 2**256 - 1)
            p.token.approve(p.vault.address, 2**256 - 1)
    return p


def _refusals(p) -> dict:
    """Each risk-adding or value-taking path: refused 'market guarded'?"""
    shares = p.pool.balanceOf(LP) // 100
    return {
        "open ETH": reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, wad("0.1"), 0),
        "open BTC on ETH margin": reverts_with(p, TRADER, "market guarded", p.engine.trade, BTC, wad("0.01"), 0),
        "withdraw": reverts_with(p, TRADER, "market guarded", p.engine.withdraw, p.units(10)),
        "LP deposit": reverts_with(p, LP, "market guarded", p.pool.deposit, p.units(1_000)),
        "LP redeem": reverts_with(p, LP, "market guarded", p.pool.redeem, shares),
    }


def _views(p) -> dict:
    _, _, guarded_mask = p.oracle.try_prices(0b11)
    return {
        "oracle.guarded": p.oracle.guarded(ETH),
        "try_prices bit": bool(guarded_mask & 1),
        "no free collateral": p.lens.free_collateral(TRADER) == 0,
        "pool.maxDeposit 0": p.pool.maxDeposit(LP) == 0,
        "pool.maxRedeem 0": p.pool.maxRedeem(LP) == 0,
    }


def _all(d: dict, value: bool) -> bool:
    return all(v is value for v in d.values())


def test_guard__raised_by_an_unrefreshed_jump__every_path_and_view_sees_it(decimals, feed_decimals):
    p = _protocol(decimals, feed_decimals)
    assert not any(_views(p).values()) and not any(_refusals(p).values())
    publish(p, ETH, 1_400)  # -30%, nobody refreshes
    assert p.oracle.last(ETH).price == wad(2_000)
    views, refusals = _views(p), _refusals(p)
    assert _all(views, True), views
    assert _all(refusals, True), refusals


def test_guard__while_raised__exits_deposits_and_liquidations_work(decimals, feed_decimals):
    p = _protocol(decimals, feed_decimals)
    publish(p, ETH, 1_400)
    with p.env.prank(TRADER):
        p.vault.deposit(p.units(100))  # collateral in
    trade(p, TRADER, ETH, "-0.5")  # an exit
    assert p.lens.account_health(VICTIM).liquidatable
    size = p.engine.position(VICTIM, ETH).size
    with p.env.prank(LP):
        p.engine.liquidate(VICTIM)  # at the guarded (and valid) price: liquidations never wait
    assert 0 <= p.engine.position(VICTIM, ETH).size < size
    assert not p.lens.account_health(VICTIM).liquidatable


def test_guard__held_until_its_confirm_seconds__then_every_path_opens(decimals, feed_decimals):
    p = _protocol(decimals, feed_decimals)
    publish(p, ETH, 2_600)  # +30%
    seconds = p.oracle.feeds(ETH).confirm_seconds
    p.env.time_travel(seconds - 1)
    assert _all(_refusals(p), True)
    p.env.time_travel(1)
    views, refusals = _views(p), _refusals(p)
    assert not views["oracle.guarded"] and not views["try_prices bit"], views
    assert not any(refusals.values()), refusals


def test_guard__lifted_by_one_round_at_the_new_level__every_path_opens(decimals, feed_decimals):
    p = _protocol(decimals, feed_decimals)
    publish(p, ETH, 2_600)
    assert _all(_refusals(p), True)
    publish(p, ETH, 2_610)
    assert not p.oracle.guarded(ETH)
    refusals = _refusals(p)
    assert not any(refusals.values()), refusals
