"""A solvent account forced into ADL and robbed (loss-waterfall review, finding 2).

Attack: the ADL gate previews a full close at the impact price of the current
skew, which any trader moves. The attacker shorts 6,000 ETH, so a large,
liquidatable but solvent long would now sell into a deep negative skew: the
preview leaves a shortfall beyond the fund, `liquidate` refuses it ("ADL
required"), and `deleverage` accepts it with a one-name counterparty list, the
attacker's own short. The long was closed at its bankruptcy price, below the
mark by all its equity, and the attacker unwound with that equity as profit.

The rule (SPEC 6.4): only a real deficit is deleveraged (equity below zero at
the mark, after the fund); an account with positive equity is liquidated, in
portions if need be, never closed at its bankruptcy price, and no trader's
skew can move an account from liquidation into ADL. The fix: liquidations
fill at the mark and the gate reads the account's equity at the mark, so the
skew enters neither; with every price held fixed, the attacker's wealth does
not rise (I8).
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, require, step_price, trade, wealth
from tests.invariants import assert_invariants


@pytest.fixture
def book(deploy, decimals):
    """A deep pool, the victim long 1,000 ETH at ~2,000 (8x), the attacker short
    6,000 ETH beside it; then ETH at 1,840, held there: the victim is
    liquidatable with ~78,000 USD of equity, and selling its 1,000 ETH into the
    skew the attacker left would have cost ~101,000 of impact."""
    p = deploy(decimals)
    p.fund_pool(actor("deep_lp"), 5_000_000)
    victim, attacker = actor("victim"), actor("attacker")
    p.fund_trader(victim, 250_000)
    trade(p, victim, ETH, wad(1_000))
    p.fund_trader(attacker, 2_000_000)
    trade(p, attacker, ETH, -wad(6_000))
    step_price(p, ETH, 1_840)
    return p, victim, attacker


def test_liquidate__skew_left_by_attacker__solvent_long_is_liquidated_at_the_mark(book):
    p, victim, attacker = book
    health = p.lens.account_health(victim)
    require(health.liquidatable and health.equity > wad(50_000), "the victim is liquidatable and solvent")
    with boa.env.prank(actor("keeper")):
        p.engine.liquidate(victim)  # not "ADL required": the skew does not enter the gate
    fills = [e for e in p.engine.get_logs() if type(e).__name__ == "Liquidation"]
    (settled,) = [e for e in p.engine.get_logs() if type(e).__name__ == "LiquidationSettled"]
    assert fills and all(f.exec_price == f.mark_price for f in fills), "a liquidation fills at the mark"
    # The victim lost its penalty and nothing else (a wei of rounding a fill).
    assert health.equity - settled.penalty - p.lens.equity(victim) <= len(fills)
    assert_invariants(p, [victim, attacker, actor("keeper")])


def test_deleverage__skew_left_by_attacker__refused_and_pays_no_more_than_an_honest_unwind(book):
    """The attack against the attacker's honest alternative at the same prices:
    unwinding his short into the pool. Routing the victim through ADL first
    must not leave him richer: it is refused."""
    p, victim, attacker = book
    require(p.lens.account_health(victim).liquidatable, "the victim is liquidatable")
    with boa.env.anchor():
        trade(p, attacker, ETH, -p.engine.position(attacker, ETH).size)
        honest = wealth(p, [attacker])
    victim_equity = p.lens.equity(victim)
    with boa.env.prank(attacker), boa.reverts("Deleverager: ADL not required"):
        p.deleverager.deleverage(victim, ETH, [attacker])  # a one-name list: himself
    assert p.lens.equity(victim) == victim_equity
    trade(p, attacker, ETH, -p.engine.position(attacker, ETH).size)
    gained = wealth(p, [attacker]) - honest
    assert gained <= 0, f"the ADL route paid {gained / 1e18:,.2f} USD more than an honest unwind"
