"""Clearinghouse.withdraw as seen from the fund: it only ever pays out the
caller's own collateral, so an attacker cannot reach the fund's balance through it."""

import boa

from tests.invariants import assert_invariants


def _balances(p, attacker):
    return (p.vault.collateral(p.fund), p.vault.collateral(attacker), p.token.balanceOf(attacker))


def test_engine_withdraw__attacker_without_collateral__reverts_insufficient(protocol, attacker, stakes):
    p = protocol
    before = _balances(p, attacker)

    with boa.env.prank(attacker), boa.reverts("Clearinghouse: insufficient collateral"):
        p.engine.withdraw(p.units(1_000))

    assert _balances(p, attacker) == before


def test_engine_withdraw__attacker_with_own_collateral__pays_only_own(protocol, attacker, stakes):
    p = protocol
    own = p.fund_trader(attacker, 100)
    fund_before = p.vault.collateral(p.fund)

    with boa.env.prank(attacker):
        p.engine.withdraw(own, attacker)

    assert p.token.balanceOf(attacker) == own
    assert p.vault.collateral(attacker) == 0
    assert p.vault.collateral(p.fund) == fund_before
    assert_invariants(p, [attacker])


def test_engine_withdraw__attacker_beyond_own_collateral__reverts_insufficient(protocol, attacker, stakes):
    p = protocol
    own = p.fund_trader(attacker, 100)
    before = _balances(p, attacker)

    with boa.env.prank(attacker), boa.reverts("Clearinghouse: insufficient collateral"):
        p.engine.withdraw(own + 1, attacker)

    assert _balances(p, attacker) == before
    assert before[1] == own * p.vault.SCALE()
