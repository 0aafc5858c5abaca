"""ADL closes a bankrupt counterparty and leaves its deficit on a flat account
(found by a randomised attacker-fuzzer hunt after 1,749,935 calls: "I3 after the
keeper", the vault 286.18 USD short of the positive equity; its printed steps
replay in tests/stateful/test_replayed_finds.py).

An account below zero can still hold a position in profit: its other markets'
losses, or a partial ADL of them, put its collateral below zero. The ADL score
ranked such an account first (infinite leverage), and in a market the
bankrupt account keeps others in, a counterparty too thin to pay closes at
the mark and pays nothing. So the keeper (or anyone) deleveraged another
bankrupt position against it: its profitable position, the last thing that
could carry its own deficit to its counterparties, was closed, and it ended
flat below zero, a deficit owned by no one. In the find, account 0x1dC9 was
deleveraged in ETH, kept its BTC short in profit at -3,650 USD, was then the
first counterparty of 0x71bC's BTC ADL, and ended flat at -286.18 USD.

The rule (SPEC 6): no bad debt is left unowned. The fix: a counterparty below
zero equity is bankrupt itself and is skipped (`CounterpartySkipped`), and its
`adl_score` is 0, not the highest: its profit is owed to its own deficit.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, step_price, trade
from tests.invariants import assert_invariants


@pytest.mark.parametrize("decimals", [6, 18])
def test_deleverage__bankrupt_counterparty__skipped_and_keeps_its_position(deploy, decimals):
    p = deploy(decimals)
    p.fund_pool(actor("seed_lp"), 1_000_000)
    btc_short = actor("btc_short")
    p.fund_trader(btc_short, 30_000)
    trade(p, btc_short, BTC, -wad("1.6"))
    # Cross-margined: long BTC, short ETH; a BTC fall sinks it while its ETH short gains.
    sunk = actor("sunk_cross")
    p.fund_trader(sunk, 20_000)
    trade(p, sunk, BTC, wad("1.6"))
    trade(p, sunk, ETH, -wad(5))
    # Long ETH at 8x, and a little BTC: ETH is not its last market.
    bankrupt = actor("bankrupt_long")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(36))
    trade(p, bankrupt, BTC, wad("0.1"))
    step_price(p, BTC, 35_000)
    step_price(p, ETH, 1_700)
    keeper = actor("keeper")
    everyone = [btc_short, sunk, bankrupt, keeper]

    # The sunk account's BTC leg is deleveraged: its BTC share of the deficit
    # goes to the BTC short; the ETH share stays on it, with its ETH short.
    with boa.env.prank(keeper):
        p.deleverager.deleverage(sunk, BTC, [btc_short])
    assert p.lens.equity(sunk) < 0
    assert p.engine.open_markets(sunk) == 1 << ETH
    assert p.lens.adl_score(sunk, ETH) == 0
    sunk_equity = p.lens.equity(sunk)

    # The bankrupt long's ETH ADL against the sunk account's ETH short.
    with boa.env.prank(keeper):
        p.deleverager.deleverage(bankrupt, ETH, [sunk])
    logs = [type(e).__name__ for e in p.deleverager.get_logs()]
    assert "Deleverage" not in logs and "CounterpartySkipped" in logs
    assert p.engine.position(sunk, ETH).size == -wad(5)
    assert p.lens.equity(sunk) == sunk_equity
    for a in everyone:
        if p.lens.equity(a) < 0:
            assert p.engine.open_markets(a) != 0, f"{a}: flat with equity {p.lens.equity(a) / 1e18:,.2f} USD"
    assert_invariants(p, everyone)
