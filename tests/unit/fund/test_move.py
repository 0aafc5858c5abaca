"""Vault.move on the fund's account: only the engine draws on (or credits) the
fund's vault balance; anyone else, the protocol owner included, is refused."""

import boa
import pytest


def _balances(p, account):
    return (p.vault.collateral(p.fund), p.vault.collateral(account), p.vault.total_collateral())


@pytest.mark.parametrize("caller", ["attacker", "owner", "staker"])
def test_move__non_engine_draws_from_fund__reverts(protocol, stakes, caller, request):
    p = protocol
    account = request.getfixturevalue(caller)
    before = _balances(p, account)

    with boa.env.prank(account), boa.reverts("Vault: caller is not the engine"):
        p.vault.move(p.fund, account, 1)

    assert _balances(p, account) == before


def test_move__negative_amount_toward_attacker__reverts(protocol, attacker, stakes):
    # move(attacker, fund, -x) would move x from the fund to the attacker.
    p = protocol
    before = _balances(p, attacker)

    with boa.env.prank(attacker), boa.reverts("Vault: caller is not the engine"):
        p.vault.move(attacker, p.fund, -p.units(1_000) * p.vault.SCALE())

    assert _balances(p, attacker) == before


def test_move__fund_contract_itself__is_not_the_engine(protocol, stakes, attacker):
    # Even a call made from the fund's own address is refused: the fund pays out
    # only through Clearinghouse.withdraw.
    p = protocol
    before = _balances(p, attacker)

    with boa.env.prank(p.insurance.address), boa.reverts("Vault: caller is not the engine"):
        p.vault.move(p.fund, attacker, 1)

    assert _balances(p, attacker) == before
