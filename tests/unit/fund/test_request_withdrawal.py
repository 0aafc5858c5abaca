"""InsuranceFund.request_withdrawal: lock shares in the fund contract and record
(shares, their value now, now + cooldown); one pending request per staker."""

import boa

from backstop.protocol.harness import FUND_COOLDOWN
from tests.unit.fund.helpers import own_events, request_of, to_assets


def _snapshot(p, staker):
    return (
        p.insurance.balanceOf(staker),
        p.insurance.balanceOf(p.insurance.address),
        p.insurance.totalSupply(),
        p.vault.collateral(p.fund),
        request_of(p.insurance, staker),
    )


def test_request_withdrawal__part_of_shares__locks_them_in_fund_contract(protocol, staker, other_staker, stakes):
    p = protocol
    shares = stakes[staker] // 4
    supply, collateral = p.insurance.totalSupply(), p.vault.collateral(p.fund)

    with boa.env.prank(staker):
        p.insurance.request_withdrawal(shares)

    assert p.insurance.balanceOf(staker) == stakes[staker] - shares
    assert p.insurance.balanceOf(p.insurance.address) == shares
    assert p.insurance.balanceOf(other_staker) == stakes[other_staker]
    # Nothing is paid or burned yet.
    assert p.insurance.totalSupply() == supply
    assert p.vault.collateral(p.fund) == collateral


def test_request_withdrawal__records_value_now_and_unlock_time(protocol, staker, stakes, seed_fund):
    p = protocol
    seed_fund("321.123457")  # dev: an uneven share price, so the value has to round
    shares = stakes[staker] // 3
    expected_assets = to_assets(shares, p.insurance.totalSupply(), p.insurance.totalAssets())
    now = boa.env.timestamp

    with boa.env.prank(staker):
        p.insurance.request_withdrawal(shares)

    assert request_of(p.insurance, staker) == (shares, expected_assets, now + FUND_COOLDOWN)
    assert p.insurance.cooldown() == FUND_COOLDOWN


def test_request_withdrawal__emits_withdrawal_requested(protocol, staker, stakes):
    p = protocol
    shares = stakes[staker]

    with boa.env.prank(staker):
        p.insurance.request_withdrawal(shares)

    (event,) = own_events(p.insurance, "WithdrawalRequested")
    assert (event.staker, event.shares, event.assets, event.unlocks_at) == (staker, *request_of(p.insurance, staker))
    assert event.assets == p.units(10_000)


def test_request_withdrawal__zero_shares__reverts(protocol, staker, stakes):
    p = protocol
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: zero shares"):
        p.insurance.request_withdrawal(0)

    assert _snapshot(p, staker) == before


def test_request_withdrawal__second_request__reverts_pending(protocol, staker, stakes, request_withdrawal):
    p = protocol
    request_withdrawal(staker, stakes[staker] // 2)
    boa.env.time_travel(seconds=3600)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: request pending"):
        p.insurance.request_withdrawal(stakes[staker] // 4)

    assert _snapshot(p, staker) == before


def test_request_withdrawal__more_than_balance__reverts_exceeds_balance(protocol, staker, stakes):
    p = protocol
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("erc20: transfer amount exceeds balance"):
        p.insurance.request_withdrawal(stakes[staker] + 1)

    assert _snapshot(p, staker) == before


def test_request_withdrawal__no_shares__attacker_reverts_exceeds_balance(protocol, attacker, stakes):
    p = protocol
    before = _snapshot(p, attacker)

    with boa.env.prank(attacker), boa.reverts("erc20: transfer amount exceeds balance"):
        p.insurance.request_withdrawal(1)

    assert _snapshot(p, attacker) == before


def test_request_withdrawal__after_cancel__new_request_allowed(protocol, staker, stakes, request_withdrawal):
    p = protocol
    request_withdrawal(staker, stakes[staker] // 2)
    with boa.env.prank(staker):
        p.insurance.cancel_withdrawal()
    boa.env.time_travel(seconds=60)
    now = boa.env.timestamp

    shares, _, unlocks_at = request_withdrawal(staker, stakes[staker] // 4)

    assert shares == stakes[staker] // 4
    assert unlocks_at == now + FUND_COOLDOWN
