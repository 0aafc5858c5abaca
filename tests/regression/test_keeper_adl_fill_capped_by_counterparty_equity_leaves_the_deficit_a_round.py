"""A counterparty whose equity capped its ADL fill left the rest of the
bankrupt position a round (found by the independent review of issue 17).

A cross-margined short (in profit on ETH, losing on BTC) has little equity,
so it ranks first; in the account's last market the Deleverager fills it only
as far as its equity pays the deficit per unit. That is a partial fill, not a
skip, so the keeper counted its whole size as cover, was done, and the deep
short next in line was reached only the round after. Now the keeper follows
any call that left the position open, ranked afresh, within the round.
"""

from backstop.keeper import logic
from backstop.protocol import harness
from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, step_price, trade


def test_keeper_adl__first_counterparty_capped_by_its_equity__the_next_one_in_the_same_round():
    p = harness.deploy(actor("owner"), 18)
    p.fund_pool(actor("seed_lp"), 2_000_000)
    bankrupt, deep, cross = actor("bankrupt_long"), actor("deep_short"), actor("cross_short")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(40))
    p.fund_trader(deep, 400_000)
    trade(p, deep, ETH, -wad(40))
    p.fund_trader(cross, 20_000)
    trade(p, cross, ETH, -wad(40))
    trade(p, cross, BTC, wad(1))
    step_price(p, ETH, 950)
    p.set_price(ETH, 900)
    step_price(p, BTC, 5_000)
    keeper = logic.Keeper(logic.BoaChain(p, actor("keeper")))
    for a in (bankrupt, deep, cross):
        keeper.track(a)

    report = keeper.run_round()

    assert {f.counterparty for f in report.adl_fills if f.size_closed} == {str(cross), str(deep)}
    assert p.engine.position(bankrupt, ETH).size == 0 and p.lens.equity(bankrupt) == 0
    assert p.lens.equity(cross) > 0
