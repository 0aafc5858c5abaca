"""Pro rata concentrated the deficit on one account when a listed account had
a large weight and little to give (found by the independent review of issue
19). A cross-margined short whose BTC loss left it ~17 USD of equity has a
huge weight, upnl x notional / equity; the one split by weight gave it nearly
the whole deficit, its cap took 17 USD of it, and the rest went, in list
order, to the next account: B gave 458 USD (its weight ~ C's) and C 0.40.
What the caps leave is now split again by weight over those with room."""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, step_price, trade


def test_pro_rata__thin_high_weight_account_listed_first__the_others_pay_by_their_weights(protocol):
    p = protocol
    with boa.env.prank(p.owner):
        p.configurator.set_adl_pro_rata(ETH, True)
    bankrupt, a, b, c = (actor(n) for n in ("bankrupt_long", "thin_cross_short", "short_b", "short_c"))
    for account, margin, size in ((bankrupt, 10_000, 10), (a, 5_520, -1), (b, 5_000, -4), (c, 10_000, -5)):
        p.fund_trader(account, margin)
        trade(p, account, ETH, wad(size))
    trade(p, a, BTC, wad(-0.5))
    step_price(p, BTC, 63_000)
    step_price(p, ETH, 950)
    assert p.lens.equity(a) < wad(100), "the cross short is no longer thin: the test lost its case"
    before = {x: p.lens.equity(x) for x in (a, b, c)}

    with boa.env.prank(actor("keeper")):
        p.deleverager.deleverage(bankrupt, ETH, [a, b, c])

    fills = {str(e.counterparty): e for e in p.deleverager.get_logs() if type(e).__name__ == "Deleverage"}
    lost = {x: before[x] - p.lens.equity(x) for x in (a, b, c)}
    weight_b, weight_c = fills[str(b)].weight, fills[str(c)].weight
    # B and C give in proportion to their weights (to rounding), not B nearly everything.
    assert lost[b] / lost[c] == pytest.approx(weight_b / weight_c, rel=1e-6)
    assert lost[a] <= before[a]
