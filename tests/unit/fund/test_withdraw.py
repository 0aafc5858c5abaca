"""InsuranceFund.withdraw: inside [unlocks_at, unlocks_at + window) pay
min(value at request, value now) to the receiver through the engine, burn the
locked shares and clear the request. Gains made during the cooldown stay with
the other stakers; losses are shared by the locked shares."""

import boa
import pytest

from backstop.protocol.harness import FUND_WINDOW
from tests.invariants import assert_invariants
from tests.unit.fund.helpers import DAY, ZERO_ADDRESS, own_events, request_of, to_assets, travel_to


def _snapshot(p, staker, receiver):
    return (
        p.token.balanceOf(receiver),
        p.vault.collateral(p.fund),
        p.insurance.totalSupply(),
        p.insurance.balanceOf(p.insurance.address),
        p.insurance.balanceOf(staker),
        request_of(p.insurance, staker),
    )


@pytest.fixture
def pending(protocol, staker, stakes, request_withdrawal):
    """staker requested the withdrawal of all their shares (worth 10,000 USD)."""
    return request_withdrawal(staker, stakes[staker])


def test_withdraw__at_unlock_time__pays_request_value_burns_shares_clears_request(protocol, staker, pending):
    p = protocol
    shares, assets, unlocks_at = pending
    travel_to(unlocks_at)
    supply, collateral = p.insurance.totalSupply(), p.vault.collateral(p.fund)
    vault_tokens = p.token.balanceOf(p.vault.address)

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == assets == p.units(10_000)
    assert p.token.balanceOf(staker) == paid
    assert p.token.balanceOf(p.vault.address) == vault_tokens - paid
    assert p.vault.collateral(p.fund) == collateral - paid * p.vault.SCALE()
    assert p.insurance.totalSupply() == supply - shares
    assert p.insurance.balanceOf(p.insurance.address) == 0
    assert request_of(p.insurance, staker) == (0, 0, 0)
    assert_invariants(p, [staker])


def test_withdraw__emits_withdraw(protocol, staker, other_staker, pending):
    p = protocol
    shares, assets, unlocks_at = pending
    travel_to(unlocks_at)

    with boa.env.prank(staker):
        p.insurance.withdraw(other_staker)

    (event,) = own_events(p.insurance, "Withdraw")
    assert (event.staker, event.receiver, event.assets, event.shares) == (staker, other_staker, assets, shares)


def test_withdraw__to_receiver__pays_receiver_only(protocol, staker, other_staker, pending):
    p = protocol
    _, assets, unlocks_at = pending
    travel_to(unlocks_at)

    with boa.env.prank(staker):
        p.insurance.withdraw(other_staker)

    assert p.token.balanceOf(other_staker) == assets
    assert p.token.balanceOf(staker) == 0


def test_withdraw__last_second_of_window__pays(protocol, staker, pending):
    p = protocol
    _, assets, unlocks_at = pending
    travel_to(unlocks_at + FUND_WINDOW - 1)

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == assets
    assert p.token.balanceOf(staker) == assets


def test_withdraw__partial_request__leaves_unrequested_shares(protocol, staker, stakes, request_withdrawal):
    p = protocol
    shares, assets, unlocks_at = request_withdrawal(staker, stakes[staker] // 4)
    travel_to(unlocks_at)

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == assets == p.units(2_500)
    assert p.insurance.balanceOf(staker) == stakes[staker] - shares
    assert p.insurance.convertToAssets(p.insurance.balanceOf(staker)) == p.units(7_500)


def test_withdraw__attacker_no_request__reverts(protocol, attacker, stakes):
    p = protocol
    before = _snapshot(p, attacker, attacker)

    with boa.env.prank(attacker), boa.reverts("Fund: no request"):
        p.insurance.withdraw()

    assert _snapshot(p, attacker, attacker) == before


def test_withdraw__staker_without_request__reverts(protocol, staker, stakes):
    p = protocol
    before = _snapshot(p, staker, staker)

    with boa.env.prank(staker), boa.reverts("Fund: no request"):
        p.insurance.withdraw()

    assert _snapshot(p, staker, staker) == before


@pytest.mark.parametrize("early", [None, 1], ids=["right_after_request", "one_second_early"])
def test_withdraw__before_unlock_time__reverts_cooldown(protocol, staker, pending, early):
    p = protocol
    _, _, unlocks_at = pending
    if early is not None:
        travel_to(unlocks_at - early)
    before = _snapshot(p, staker, staker)

    with boa.env.prank(staker), boa.reverts("Fund: cooldown"):
        p.insurance.withdraw()

    assert _snapshot(p, staker, staker) == before


@pytest.mark.parametrize("late", [0, 30 * DAY], ids=["window_end", "month_after"])
def test_withdraw__at_or_after_window_end__reverts_expired(protocol, staker, pending, late):
    p = protocol
    _, _, unlocks_at = pending
    travel_to(unlocks_at + FUND_WINDOW + late)
    before = _snapshot(p, staker, staker)

    with boa.env.prank(staker), boa.reverts("Fund: request expired"):
        p.insurance.withdraw()

    assert _snapshot(p, staker, staker) == before


def test_withdraw__zero_receiver__reverts(protocol, staker, pending):
    p = protocol
    _, _, unlocks_at = pending
    travel_to(unlocks_at)
    before = _snapshot(p, staker, staker)

    with boa.env.prank(staker), boa.reverts("Fund: zero address"):
        p.insurance.withdraw(ZERO_ADDRESS)

    assert _snapshot(p, staker, staker) == before


def test_withdraw__fund_as_receiver__reverts(protocol, staker, pending):
    # Tokens sent to the fund contract could never leave it.
    p = protocol
    _, _, unlocks_at = pending
    travel_to(unlocks_at)
    before = _snapshot(p, staker, staker)

    with boa.env.prank(staker), boa.reverts("Fund: bad receiver"):
        p.insurance.withdraw(p.insurance.address)

    assert _snapshot(p, staker, staker) == before


def test_withdraw__gain_during_cooldown__pays_request_value_and_gain_stays(
    protocol, staker, other_staker, stakes, pending, seed_fund
):
    p = protocol
    shares, assets, unlocks_at = pending
    other_before = p.insurance.convertToAssets(stakes[other_staker])
    boa.env.time_travel(seconds=DAY)
    gain = seed_fund(1_000)
    assert p.insurance.convertToAssets(shares) > assets  # dev: the locked shares really are worth more now
    travel_to(unlocks_at)
    total = p.insurance.totalAssets()

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == assets
    assert p.insurance.totalAssets() == total - assets
    other_after = p.insurance.convertToAssets(stakes[other_staker])
    assert other_after == to_assets(stakes[other_staker], p.insurance.totalSupply(), p.insurance.totalAssets())
    # other_staker now holds every real share: the whole gain but the virtual shares'
    # sliver (gain * 1000 / supply, well under a unit) and a unit of rounding.
    assert gain - 2 <= other_after - other_before <= gain


def test_withdraw__loss_during_cooldown__pays_lower_value_now(
    protocol, staker, other_staker, stakes, pending, bad_debt
):
    p = protocol
    shares, assets, unlocks_at = pending
    other_before = p.insurance.convertToAssets(stakes[other_staker])
    total_at_request = p.insurance.totalAssets()
    boa.env.time_travel(seconds=DAY)
    bad_debt()
    travel_to(unlocks_at)
    supply, total = p.insurance.totalSupply(), p.insurance.totalAssets()
    value_now = to_assets(shares, supply, total)
    assert value_now < assets

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == value_now
    assert p.token.balanceOf(staker) == paid
    # Both stakers took the loss in proportion: each keeps total / total_at_request.
    assert abs(paid - assets * total // total_at_request) <= 1
    other_after = p.insurance.convertToAssets(stakes[other_staker])
    assert abs(other_after - other_before * total // total_at_request) <= 2
    assert p.vault.collateral(p.fund) >= 0


def test_withdraw__request_worth_under_a_unit__pays_zero_and_burns_shares(protocol, staker, stakes, request_withdrawal):
    # 999 shares at 10**-3 unit each are worth 0.999 unit, rounded down to 0.
    p = protocol
    shares, assets, unlocks_at = request_withdrawal(staker, 999)
    assert assets == 0
    travel_to(unlocks_at)
    supply, collateral = p.insurance.totalSupply(), p.vault.collateral(p.fund)

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == 0
    (event,) = own_events(p.insurance, "Withdraw")
    assert (event.assets, event.shares) == (0, shares)
    assert p.token.balanceOf(staker) == 0
    assert p.vault.collateral(p.fund) == collateral
    assert p.insurance.totalSupply() == supply - shares
    assert request_of(p.insurance, staker) == (0, 0, 0)
