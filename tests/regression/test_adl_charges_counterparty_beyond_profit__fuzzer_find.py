"""ADL charges a counterparty beyond its profit (found by the attacker fuzzer).

Attack: one account holds a large BTC long and a small ETH short on one
margin (cross-margin). BTC crashes: the account's equity is far below zero
and the insurance fund cannot cover it, so it goes to ADL. Deleveraged in
ETH first (the market a keeper or the attacker may pick, with a list it
chose), the whole cross-margin deficit is loaded onto the ETH counterparty:
`deleverage` moves `ceil(-equity * amount / remaining)` with the account's
whole equity, so a trader with 100 USD of ETH profit pays for ~10,000 USD of
a BTC loss.

Why it must fail (SPEC 6.4): a counterparty loses at most its unrealised
profit in the deleveraged market and never ends below zero equity; a
cross-margin deficit is split across the bankrupt account's markets, and what
one market's counterparties cannot cover stays pending.

Fuzzer find: invariant "SPEC 6 ADL beyond profit" (tests/stateful/attacker_machine.py),
hit by the honest keeper's own ADL round after a crash in one market while
another moved the other way.

Fixed: the Deleverager splits the deficit across the bankrupt's markets by notional and takes from each counterparty at most its profit on the size it gives.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import BTC, ETH, deleverage, deploy, events, move_price, require, trade

ATTACKER, TRADER, KEEPER = actor("regression attacker"), actor("regression trader"), actor("regression keeper")


@pytest.mark.parametrize("decimals", [6, 18])
def test_deleverage__cross_margin_deficit__counterparty_loses_at_most_its_profit(decimals):
    p = deploy(decimals)
    p.fund_trader(ATTACKER, 10_000)
    p.fund_trader(TRADER, 10_000)
    trade(p, ATTACKER, BTC, "0.8")  # 40,000 USD of BTC at 20% initial margin
    trade(p, ATTACKER, ETH, -1)
    trade(p, TRADER, ETH, 1)  # the attacker's ETH counterparty (the pool is flat in ETH)
    move_price(p, ETH, 2_100)  # the trader's ETH long gains ~100 USD
    move_price(p, BTC, 25_000)  # the attacker loses ~20,000 USD on 10,000 of margin

    with p.env.prank(KEEPER):
        p.engine.liquidate_batch([ATTACKER])
    require(events(p, "AdlRequired"), "the crash should leave more bad debt than the fund holds")
    profit = p.lens.unrealized_pnl(TRADER, ETH)
    require(profit > 0, f"the trader should be an eligible counterparty (ETH profit {profit})")
    equity_before = p.lens.equity(TRADER)

    deleverage(p, KEEPER, ATTACKER, ETH, [TRADER])
    require(events(p, "Deleverage"), "deleverage should fill against the trader")
    loss = equity_before - p.lens.equity(TRADER)
    assert loss <= profit + 2, f"the trader lost {loss / 1e18:,.2f} USD in ETH's ADL, its ETH profit was {profit / 1e18:,.2f}"
    assert p.lens.equity(TRADER) >= 0
