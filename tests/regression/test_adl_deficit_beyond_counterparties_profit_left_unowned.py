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
counterparties cannot cover stays pending for another market or call. The fix:
every unit closed in ADL carries the same part of the market's share (its
bankruptcy price), so a market's share is paid in full when its last unit
closes; in the account's last market a counterparty too thin to pay that
closes nothing, and the position is never closed with a deficit left on it.
(In a market the account keeps others in, a thin counterparty pays what it can
and the rest passes to those markets.) Since the review of issue 17 the thin
counterparty in the last market gives its profit as a haircut, keeping its
position (a thin account ranked first, passed over, shielded every deeper
one: test_adl_queue_shielded_by_thin_high_score_accounts.py).
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, step_price, trade
from tests.invariants import assert_invariants


def _account_deficits_are_owned(p, accounts):
    """Every account below zero still holds a position (so ADL can settle it later)."""
    for a in accounts:
        if p.lens.equity(a) < 0:
            assert p.engine.open_markets(a) != 0, f"{a}: flat with equity {p.lens.equity(a) / 1e18:,.2f} USD"


@pytest.mark.parametrize("decimals", [6, 18])
def test_deleverage__thin_counterparty__no_deficit_left_on_a_flat_account(deploy, decimals):
    p = deploy(decimals)
    p.fund_pool(actor("seed_lp"), 1_000_000)
    bankrupt = actor("bankrupt_long")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(40))  # 8x at 2,000
    step_price(p, ETH, 950)
    late_short = actor("late_short")
    p.fund_trader(late_short, 3_900)
    trade(p, late_short, ETH, -wad(40))  # ~2,000 USD of profit at 900, against a ~34,000 deficit
    p.set_price(ETH, 900)
    short_before = p.lens.equity(late_short)
    keeper = actor("keeper")
    with boa.env.prank(keeper):
        p.deleverager.deleverage(bankrupt, ETH, [late_short])
    logs = {type(e).__name__: e for e in p.deleverager.get_logs()}
    # The thin short closes nothing and gives its profit (less the wei kept back).
    fill = logs["Deleverage"]
    assert fill.size_closed == 0 and p.engine.position(late_short, ETH).size == -wad(40)
    assert 0 < short_before - p.lens.equity(late_short) == fill.haircut <= p.lens.unrealized_pnl(late_short, ETH) + fill.haircut
    assert p.lens.equity(late_short) > 0
    assert p.engine.position(bankrupt, ETH).size == wad(40)
    assert logs["DeficitPending"].amount == -p.lens.equity(bankrupt)
    _account_deficits_are_owned(p, [bankrupt, late_short, keeper])
    assert_invariants(p, [bankrupt, late_short, keeper])

    # A deep counterparty later (an early short, ~1,000 USD of profit per ETH)
    # takes the share at the bankruptcy price, and the account ends at zero.
    deep_short = actor("deep_short")
    p.fund_trader(deep_short, 400_000)
    step_price(p, ETH, 2_000)
    trade(p, deep_short, ETH, -wad(40))
    step_price(p, ETH, 900)
    with boa.env.prank(keeper):
        p.deleverager.deleverage(bankrupt, ETH, [deep_short])
    assert p.engine.position(bankrupt, ETH).size == 0
    assert 0 <= p.lens.equity(bankrupt) <= 2
    assert p.lens.equity(deep_short) > 0
    _account_deficits_are_owned(p, [bankrupt, late_short, deep_short, keeper])
    assert_invariants(p, [bankrupt, late_short, deep_short, keeper])
