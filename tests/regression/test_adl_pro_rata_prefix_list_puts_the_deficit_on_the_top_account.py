"""A caller's short list put a pro-rata market's whole deficit on the top
account (found by the independent review of issue 19). `deleverage` is
permissionless and the contract cannot see whom a list leaves out: the holder
of the second-ranked short, calling first with only the top one listed, pays
nothing while the top one pays everything, as in the queue. The contract
still allows it (closing it on-chain needs per-side profit totals in the
engine); the ADL audit (I7) now flags a pro-rata list shorter than the bound
that leaves an eligible account out, so the keeper's calls are proven and a
caller's are caught."""

import boa

from backstop.checks.adl_audit import RankingRecorder, audit
from backstop.keeper.logic import BoaChain
from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, step_price, trade


def test_pro_rata__second_ranked_calls_with_only_the_top_listed__the_audit_flags_the_ones_left_out(protocol):
    p = protocol
    with boa.env.prank(p.owner):
        p.configurator.set_adl_pro_rata(ETH, True)
    accounts = {}
    for name, margin, size in (("bankrupt_long", 10_000, 10), ("high", 5_000, -4), ("mid", 5_000, -3),
                               ("low", 10_000, -5)):
        accounts[name] = actor(name)
        p.fund_trader(accounts[name], margin)
        trade(p, accounts[name], ETH, wad(size))
    step_price(p, ETH, 900)
    mid_before = p.lens.equity(accounts["mid"])
    chain = RankingRecorder(BoaChain(p, sender=accounts["mid"]), lambda: list(accounts.values()))

    chain.deleverage(accounts["bankrupt_long"], ETH, [accounts["high"]])

    assert p.lens.equity(accounts["mid"]) == mid_before  # the caller escaped its share
    found = audit(chain.calls, str(p.pool.address))
    assert len(found) == 2 and all("pro rata left out eligible" in f for f in found), found
    assert any(str(accounts["mid"]).lower() in f for f in found) and any(str(accounts["low"]).lower() in f for f in found)
