"""Vault.withdraw_for on the fund's account: paying out the fund's collateral is
the engine's alone (InsuranceFund.withdraw goes through Clearinghouse.withdraw)."""

import boa


def test_withdraw_for__attacker_pays_out_fund__reverts(protocol, attacker, stakes):
    p = protocol
    before = (p.vault.collateral(p.fund), p.token.balanceOf(attacker), p.token.balanceOf(p.vault.address))

    with boa.env.prank(attacker), boa.reverts("Vault: caller is not the engine"):
        p.vault.withdraw_for(p.fund, p.units(1_000), attacker)

    assert (p.vault.collateral(p.fund), p.token.balanceOf(attacker), p.token.balanceOf(p.vault.address)) == before
