"""A trader's skew sends a solvent account to ADL.

Attack: a trader's 100 ETH long is liquidatable with ~700 USD of equity left.
The colluder holds a short in profit. The attacker sells 6,000 ETH: the ADL
gate previews the victim's full close at the impact price of that skew (6%
below the mark), finds more bad debt than the fund holds, and refuses the
liquidation ("ADL required"). The attacker then deleverages the victim
against the colluder: it is closed at its bankruptcy price and its remaining
equity goes to the colluder.

Why it must fail (SPEC 5.2 and 6.4): no trader's skew can turn an account with
positive equity into an ADL case; only a real deficit (equity below zero at
the mark after the fund has given what it has) is deleveraged.

Fuzzer find: invariant "SPEC 6 solvent account sent to ADL"
(tests/stateful/attacker_machine.py), hunting past the finds above
(ATTACKER_SKIP=guard,i8,keeper-adl,adl-beyond-profit): the attacker's own
account, liquidatable with 1,734 USD of equity behind a skew the others' BTC
positions made, deleveraged by the attacker itself against the colluder
(`attacker_deleverage`, a reversed one-name list). The test replays the
same flaw with the skew pushed on purpose.

Fixed (issue 13): liquidations fill at the mark and the ADL gate reads the
account's equity at the mark, so no skew enters it.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.chain.revm_chain import Reverted
from tests.regression.helpers import ETH, deleverage, deploy, events, move_price, require, trade

ATTACKER, COLLUDER, TRADER = actor("regression attacker"), actor("regression colluder"), actor("regression trader")


@pytest.mark.parametrize("decimals", [6, 18])
def test_deleverage__solvent_account_behind_a_skew_push__is_never_deleveraged(decimals):
    p = deploy(decimals, pool_usd=5_000_000)
    p.fund_trader(TRADER, 21_000)
    trade(p, TRADER, ETH, 100)
    p.fund_trader(COLLUDER, 20_000)
    trade(p, COLLUDER, ETH, -50)
    move_price(p, ETH, 1_800)
    victim = p.lens.account_health(TRADER)
    require(victim.liquidatable and victim.equity > 0, f"the trader should be liquidatable and solvent ({victim})")
    require(p.lens.unrealized_pnl(COLLUDER, ETH) > 0, "the colluder's short should be in profit")

    p.fund_trader(ATTACKER, 2_000_000)
    trade(p, ATTACKER, ETH, -6_000)
    with p.env.prank(ATTACKER):
        p.engine.liquidate_batch([TRADER])
    assert not events(p, "AdlRequired"), "a skew push turned a solvent account's liquidation into ADL"
    assert events(p, "LiquidationSettled"), "the solvent account is liquidated"
    try:
        deleverage(p, ATTACKER, TRADER, ETH, [COLLUDER])
    except Reverted as e:
        if e.reason.endswith(("ADL not required", "account healthy", "no position")):
            return  # refused: what the spec asks
        raise
    raise AssertionError("a solvent account was deleveraged")
