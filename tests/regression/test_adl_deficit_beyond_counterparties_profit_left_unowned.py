"""A deficit beyond its counterparties' profit is left unowned (found by the
attacker fuzzer's CI run "past the guard and the solvent ADL", and by an mmr
sweep: flash-crash at mmr 3%, seed 3, 322.09 USD).

Since ADL may take from a counterparty at most its profit on the size it gives
(finding 1's fix), a bankrupt position closed against counterparties whose
profit per unit is below its deficit per unit ends flat with the rest of its
deficit on it (`DeficitPending`): visible, but owned by no one, so I3 and I4
fail. Before that fix the same deficit was charged to the counterparties,
pushing them below zero instead.

The rule (SPEC 6): no bad debt is left unowned; what one market's
counterparties cannot cover stays pending for another market or call. The fix
this asks for: close only as much of the position as its counterparties'
profit covers, leaving the rest open (and pending) for the next ones.
"""

import boa
import pytest

from backstop.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, step_price, trade
from tests.invariants import assert_settled_invariants


@pytest.mark.xfail(
    strict=True, raises=AssertionError,
    reason="ADL closes the whole position even when its counterparties' profit covers only part of the deficit: "
           "the rest stays on a flat account (I3, I4); loss-waterfall issue (13), next step",
)
def test_deleverage__thin_counterparty__no_deficit_left_on_a_flat_account(protocol):
    p = protocol
    bankrupt = actor("bankrupt_long")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(40))  # 8x at 2,000
    step_price(p, ETH, 950)
    late_short = actor("late_short")
    p.fund_trader(late_short, 3_900)
    trade(p, late_short, ETH, -wad(40))  # ~2,000 USD of profit at 900, against a ~34,000 deficit
    p.set_price(ETH, 900)
    keeper = actor("keeper")
    with boa.env.prank(keeper):
        p.deleverager.deleverage(bankrupt, ETH, [late_short])
    assert_settled_invariants(p, [bankrupt, late_short, keeper])
