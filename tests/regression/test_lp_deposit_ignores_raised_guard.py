"""An LP deposit ignores a raised guard (found by the attacker fuzzer).

Attack: the pool is short ETH. ETH rounds 30% up and someone refreshes: the
market is guarded, the flag is up. The pool's equity, valued at the guarded
price, has lost ~60,000 USD, so its shares are cheap; `LiquidityPool.deposit`
prices them with `lens.equity(pool)`, which checks that prices are valid but
not whether a market is guarded, and mints them.

Why it must fail (SPEC 4): while a market is guarded, LP deposits and
redemptions do not use its price.

Fuzzer find: invariant "SPEC 4 guard bypass (LP deposit)" with the oracle's
guard flag reading True (tests/stateful/attacker_machine.py): the first find of
a plain deep run, after 3,692 protocol calls.

Fixed (issue 14): deposits, mints, withdrawals and redemptions refuse while a
market the pool holds is guarded in the oracle's `try_prices` mask
("Pool: market guarded"), and the max* views say 0.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, publish, require, reverts_with, trade

ATTACKER, TRADER = actor("regression attacker"), actor("regression trader")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_lp_deposit__on_a_guarded_market__reverts_guarded(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 50_000)
    trade(p, TRADER, ETH, 100)  # the pool is short 100 ETH
    publish(p, ETH, 2_600)  # +30%
    p.oracle.refresh(ETH)
    require(p.oracle.guarded(ETH), "the round beyond the deviation cap should guard ETH once refreshed")
    amount = p.units(100_000)
    p.token.mint(ATTACKER, amount)
    with p.env.prank(ATTACKER):
        p.token.approve(p.pool.address, amount)
    assert reverts_with(p, ATTACKER, "market guarded", p.pool.deposit, amount), \
        "bought LP shares priced at a guarded market's price"
