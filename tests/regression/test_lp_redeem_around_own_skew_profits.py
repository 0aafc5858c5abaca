"""LP shares redeemed around one's own skew profit at fixed prices (found by
the attacker fuzzer).

Attack: the attacker deposits 1,000,000 USD into the pool, sells 3,000 ETH
(the pool books the fill premium P*S^2/(2K), ~90,000 USD, and the LP share
price counts it at once), redeems 90% of its shares at that price, and buys
the 3,000 ETH back (the impact formula hands the premium back to the
position). At a fixed oracle price it ends tens of thousands of USD richer;
the LPs who stayed pay.

Why it must fail (I8 and SPEC 8's note on LP shares): at fixed prices a
coalition's wealth does not rise; the fill premium held for an open skew is
not the LPs' until the skew closes, so LP shares are not moved by skew.

Fuzzer find: invariant "I8 free lunch" (tests/stateful/attacker_machine.py,
rule `lp_around_own_skew`: deposit, push, redeem, unwind), in the CI run
"past the guard and the ADL bounds" (60 derandomised examples, 94,815 calls). It gained 26,744.32 USD here.

Fixed (issue 14): the pool's shares are valued at its equity less the fill
premium every open skew holds (sum of P*s^2/(2K) over its markets), so the
push moves no share price and the round trip pays its fees.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, require, trade, wealth_with_lp_shares

ATTACKER = actor("regression attacker")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_lp_redeem__around_own_skew_push__gains_nothing(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)  # a seed LP's 1,000,000 USD in the pool
    scale = p.vault.SCALE()
    p.token.mint(ATTACKER, p.units(2_000_000))

    def wealth():
        return wealth_with_lp_shares(p, ATTACKER)

    before = wealth()
    with p.env.prank(ATTACKER):
        p.token.approve(p.pool.address, p.units(1_000_000))
        p.pool.deposit(p.units(1_000_000))
        p.token.approve(p.vault.address, p.units(1_000_000))
        p.vault.deposit(p.units(1_000_000))
    trade(p, ATTACKER, ETH, -3_000)
    with p.env.prank(ATTACKER):
        p.pool.redeem(p.pool.balanceOf(ATTACKER) * 9 // 10)
    trade(p, ATTACKER, ETH, 3_000)
    require(p.engine.position(ATTACKER, ETH).size == 0, "the attacker should end flat")
    gain = wealth() - before
    assert gain <= 4 * scale, f"at a fixed price the round trip around its own skew gained {gain / 1e18:,.2f} USD"
