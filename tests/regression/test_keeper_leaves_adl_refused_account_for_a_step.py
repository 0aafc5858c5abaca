"""A keeper round left an account under water for a step (found by a sweep:
`ape run simulate --params docs/analyst/proposal.yaml --set markets[0].mmr=0.05
--seed 2 --chain revm`, 3 of 24 runs with halved ETH fees).

What happened: in one `liquidate_batch`, an account early in the list needs
more than the fund holds, so it is skipped with `AdlRequired`; the penalties of
the accounts after it then fill the fund past its shortfall. The keeper's
`deleverage` is refused ("ADL not required", rightly: the fund can cover it
now) and the keeper did nothing more that round, so the account stayed
liquidatable, its deficit unsettled (I3, I4) until the next step.

The rule (SPEC 8, liveness): after a keeper round, every account that was
liquidatable has been liquidated or is pending ADL with an event.
"""

import boa

from backstop.protocol.harness import actor
from backstop.keeper.logic import BoaChain, Keeper
from backstop.units import wad
from tests.adversarial.helpers import ETH, trade
from tests.invariants import assert_settled_invariants


def test_keeper_round__adl_refused_after_later_penalties__liquidates_it_the_same_round(protocol):
    p = protocol
    first, second = sorted([str(actor("refused-adl-one")), str(actor("refused-adl-two"))])
    p.fund_trader(first, 10_000)
    trade(p, first, ETH, wad(10))  # bankrupt below ~1,002
    # dev: solvent but under maintenance at 960; its partial close and the
    #      first's full one fit one block's liquidation capacity (100 ETH).
    p.fund_trader(second, 96_750)
    trade(p, second, ETH, wad(90))
    p.set_price(ETH, 960)
    fund = p.vault.collateral(p.fund)
    assert -p.lens.equity(first) > fund, "the first account's deficit exceeds the fund before the batch"
    keeper = actor("keeper")
    bot = Keeper(BoaChain(p, keeper))
    bot.track(first)
    bot.track(second)
    assert bot.liquidatable() == [first, second]  # the batch's order: the first is settled first

    report = bot.run_round()

    assert first in report.adl_required and report.adl_fills == []  # the fund could cover it by then
    assert sorted(report.liquidated) == sorted([first, second])
    assert bot.liquidatable() == []
    assert p.engine.position(first, ETH).size == 0 and p.lens.equity(first) == 0
    assert_settled_invariants(p, [first, second, keeper])
