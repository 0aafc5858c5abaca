"""A trade's margin uses another market's guarded price (found by the attacker fuzzer).

Attack: a trader short ETH sees an ETH round 30% down: the market is guarded
(the flag is up, someone refreshed). ETH positions cannot grow and the gain
cannot be withdrawn, but `trade` checks only its own market's guard: the
trader opens a BTC long whose initial margin is carried by the ETH gain at
the guarded price.

Why it must fail (SPEC 4): while a market is guarded, nothing that adds risk
uses its price, including the margin of the account's other markets.

Fuzzer find: invariant "SPEC 4 guard bypass (margin of a risk-adding trade in
market 1)" (tests/stateful/attacker_machine.py), hunting with the withdraw and
LP paths of the guard already recorded (ATTACKER_SKIP=guard-exits).
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import BTC, ETH, deploy, publish, require, reverts_with, trade

ATTACKER = actor("regression attacker")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_trade__margin_on_a_guarded_market__reverts_guarded(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(ATTACKER, 5_000)
    trade(p, ATTACKER, ETH, -10)  # short 20,000 USD of ETH
    btc = wad("0.5")  # 25,000 USD of BTC: 5,000 of initial margin at 20%
    before = p.lens.account_health(ATTACKER)
    require(before.equity - before.initial_req < 5_000 * 10**18,
            "at the last good ETH price the BTC position should not fit the account's margin")
    publish(p, ETH, 1_400)  # -30%: the short gains 6,000 USD
    p.oracle.refresh(ETH)
    require(p.oracle.guarded(ETH), "the ETH round beyond the deviation cap should guard the market")
    assert reverts_with(p, ATTACKER, "market guarded", p.engine.trade, BTC, btc, 0), \
        "opened BTC on margin valued at ETH's guarded price"
