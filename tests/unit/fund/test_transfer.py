"""Share transfers while a withdrawal is requested: the locked shares sit in the
fund contract's own balance, so the staker can move only the unlocked rest and
nobody can pull the locked ones out (the fund approves no one for its shares)."""

import boa


def _shares(p, *accounts):
    return tuple(p.insurance.balanceOf(a) for a in (p.insurance.address, *accounts))


def test_transfer__all_shares_locked__reverts_exceeds_balance(protocol, staker, attacker, stakes, request_withdrawal):
    p = protocol
    request_withdrawal(staker, stakes[staker])
    before = _shares(p, staker, attacker)

    with boa.env.prank(staker), boa.reverts("erc20: transfer amount exceeds balance"):
        p.insurance.transfer(attacker, 1)

    assert _shares(p, staker, attacker) == before


def test_transfer__part_locked__only_unlocked_rest_moves(protocol, staker, other_staker, stakes, request_withdrawal):
    p = protocol
    locked, _, _ = request_withdrawal(staker, stakes[staker] // 4)
    free = stakes[staker] - locked
    before = _shares(p, staker, other_staker)

    with boa.env.prank(staker), boa.reverts("erc20: transfer amount exceeds balance"):
        p.insurance.transfer(other_staker, free + 1)
    assert _shares(p, staker, other_staker) == before

    with boa.env.prank(staker):
        p.insurance.transfer(other_staker, free)
    assert _shares(p, staker, other_staker) == (locked, 0, stakes[other_staker] + free)


def test_transferFrom__locked_shares_out_of_fund__reverts_allowance(
    protocol, staker, attacker, stakes, request_withdrawal
):
    p = protocol
    locked, _, _ = request_withdrawal(staker, stakes[staker])
    assert p.insurance.allowance(p.insurance.address, staker) == 0
    before = _shares(p, staker, attacker)

    for caller in (staker, attacker):
        with boa.env.prank(caller), boa.reverts("erc20: insufficient allowance"):
            p.insurance.transferFrom(p.insurance.address, caller, locked)

    assert _shares(p, staker, attacker) == before
