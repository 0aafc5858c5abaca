"""Thin, high-score accounts at the top of the ADL ranking shielded a deep
counterparty's profit from the queue (found by the independent review of
issue 17, rounds 0-2 all "fills 0").

The attack: a whale short in profit opens a few cheap shorts late, at high
leverage, so they rank above it (score = pnl% x leverage) with a profit per
unit below the deficit each unit of the bankrupt long carries. The keeper's
list is the ranking's prefix (I7), and the Deleverager passed thin accounts
over in the account's last market, so:
  - 4 thin accounts each the bankrupt's size beat the keeper's 4 calls a round;
  - 50 thin accounts of any size filled the whole 50-slot list.
The deficit stayed pending every round (I4) and the whale kept its profit.

Now a thin counterparty in the last market pays first, all it can of its
profit, without a fill (ranked above the rest, it is next in line), and the
keeper follows a call that left the position open with the whole ranking.
"""

import pytest

from backstop.checks.adl_audit import RankingRecorder, audit
from backstop.keeper import logic
from backstop.protocol import harness
from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, step_price, trade


def _shielded_book(thin_count: int, thin_size: int):
    p = harness.deploy(actor("owner"), 18)
    p.fund_pool(actor("seed_lp"), 1_000_000)
    bankrupt = actor("bankrupt_long")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(40))
    deep = actor("deep_short")
    p.fund_trader(deep, 400_000)
    trade(p, deep, ETH, -wad(40))
    step_price(p, ETH, 950)
    thins = []
    for i in range(thin_count):
        t = actor(f"thin_short_{i}")
        p.fund_trader(t, 3_900 * thin_size // 40 + 1)
        trade(p, t, ETH, -wad(thin_size))
        thins.append(t)
    p.set_price(ETH, 900)
    return p, bankrupt, deep, thins


@pytest.mark.parametrize("thin_count, thin_size", [(4, 40), (50, 1)], ids=["4-of-full-size", "50-fill-the-list"])
def test_adl_queue__thin_accounts_ranked_above_the_deep_one__the_deficit_is_settled_in_one_round(
    thin_count, thin_size
):
    p, bankrupt, deep, thins = _shielded_book(thin_count, thin_size)
    everyone = [bankrupt, deep, *thins]
    profit = {a: p.lens.adl_ranking([a], ETH)[0].upnl for a in everyone}
    equity = {a: p.lens.equity(a) for a in everyone}
    chain = RankingRecorder(logic.BoaChain(p, actor("keeper")), lambda: everyone)
    keeper = logic.Keeper(chain)
    for a in everyone:
        keeper.track(a)
    ranked = logic.rank_counterparties({a: e for a, e in keeper.adl_entries(ETH).items() if a != bankrupt}, wad(40))
    assert ranked[0] in thins, "the thin accounts no longer rank first: the test lost its case"

    keeper.run_round()

    assert p.engine.position(bankrupt, ETH).size == 0 and p.lens.equity(bankrupt) == 0
    assert p.engine.position(deep, ETH).size != wad(-40), "the deep short paid nothing"
    for a in [deep, *thins]:
        assert 0 <= equity[a] - p.lens.equity(a) < profit[a]
    assert audit(chain.calls, str(p.pool.address)) == []
