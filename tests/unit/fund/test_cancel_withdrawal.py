"""InsuranceFund.cancel_withdrawal: give back the locked shares worth the request's
value at request time and burn the rest (the gain made meanwhile goes to the other
stakers); after a loss every locked share comes back."""

from fractions import Fraction

import boa

from backstop.protocol.harness import FUND_WINDOW
from tests.unit.fund.helpers import DAY, VIRTUAL_SHARES, own_events, request_of, travel_to


def _snapshot(p, staker):
    return (
        p.insurance.balanceOf(staker),
        p.insurance.balanceOf(p.insurance.address),
        p.insurance.totalSupply(),
        p.vault.collateral(p.fund),
        request_of(p.insurance, staker),
    )


def test_cancel_withdrawal__no_request__reverts(protocol, staker, stakes):
    p = protocol
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: no request"):
        p.insurance.cancel_withdrawal()

    assert _snapshot(p, staker) == before


def test_cancel_withdrawal__twice__second_reverts_no_request(protocol, staker, stakes, request_withdrawal):
    p = protocol
    request_withdrawal(staker, stakes[staker])
    with boa.env.prank(staker):
        p.insurance.cancel_withdrawal()
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: no request"):
        p.insurance.cancel_withdrawal()

    assert _snapshot(p, staker) == before


def test_cancel_withdrawal__no_change__returns_all_shares(protocol, staker, stakes, request_withdrawal):
    # Stakes only, so one share is worth exactly 10**-3 unit and the request's value is exact.
    p = protocol
    shares, assets, _ = request_withdrawal(staker, stakes[staker] // 2)
    supply = p.insurance.totalSupply()
    boa.env.time_travel(seconds=DAY)

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    assert returned == shares
    assert p.insurance.balanceOf(staker) == stakes[staker]
    assert p.insurance.balanceOf(p.insurance.address) == 0
    assert p.insurance.totalSupply() == supply
    assert request_of(p.insurance, staker) == (0, 0, 0)
    assert p.insurance.convertToAssets(returned) == assets


def test_cancel_withdrawal__emits_withdrawal_cancelled(protocol, staker, stakes, request_withdrawal, seed_fund):
    p = protocol
    shares, _, _ = request_withdrawal(staker, stakes[staker])
    seed_fund(500)

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    (event,) = own_events(p.insurance, "WithdrawalCancelled")
    assert (event.staker, event.shares_returned, event.shares_burned) == (staker, returned, shares - returned)
    assert event.shares_burned > 0


def test_cancel_withdrawal__gain_during_request__returns_request_value_burns_rest(
    protocol, staker, other_staker, stakes, request_withdrawal, seed_fund
):
    p = protocol
    shares, assets, _ = request_withdrawal(staker, stakes[staker])
    other_before = p.insurance.convertToAssets(stakes[other_staker])
    boa.env.time_travel(seconds=DAY)
    gain = seed_fund(1_000)
    supply, total = p.insurance.totalSupply(), p.insurance.totalAssets()

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    burned = shares - returned
    assert 0 < returned < shares
    assert p.insurance.balanceOf(staker) == returned
    assert p.insurance.balanceOf(p.insurance.address) == 0
    assert p.insurance.totalSupply() == supply - burned
    assert p.insurance.totalAssets() == total  # dev: nothing paid out
    # The returned shares are worth the request's value, to within a unit (never more).
    value = p.insurance.convertToAssets(returned)
    assert assets - 1 <= value <= assets
    # The most shares that qualify: one more (burning one fewer) would be worth more than the
    # request before rounding: (r + 1) * (total + 1) / (supply - burned + 1 + 1000) > assets.
    assert Fraction((returned + 1) * (total + 1), supply - burned + 1 + VIRTUAL_SHARES) > assets
    # other_staker captured the gain, less the virtual shares' sliver and rounding.
    other_after = p.insurance.convertToAssets(stakes[other_staker])
    assert abs(other_after - (other_before + gain)) <= 2


def test_cancel_withdrawal__loss_during_request__returns_all_shares(
    protocol, staker, other_staker, stakes, request_withdrawal, bad_debt
):
    p = protocol
    shares, assets, _ = request_withdrawal(staker, stakes[staker])
    boa.env.time_travel(seconds=DAY)
    bad_debt()
    supply = p.insurance.totalSupply()
    value_now = p.insurance.convertToAssets(shares)
    assert value_now < assets  # dev: the loss really hit the locked shares

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    assert returned == shares
    (event,) = own_events(p.insurance, "WithdrawalCancelled")
    assert event.shares_burned == 0
    assert p.insurance.balanceOf(staker) == shares
    assert p.insurance.totalSupply() == supply
    assert p.insurance.convertToAssets(shares) == value_now


def test_cancel_withdrawal__no_change_uneven_price__returns_all_shares(
    protocol, staker, stakes, request_withdrawal, open_long
):
    # After fee income one share is worth an uneven amount and the request's value
    # is rounded down; with no change since, nothing was gained and nothing is burned.
    p = protocol
    open_long()
    shares, assets, _ = request_withdrawal(staker, stakes[staker] // 2)

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    assert returned == shares
    assert p.insurance.convertToAssets(returned) == assets


def test_cancel_withdrawal__sole_staker_no_change__burns_nothing(protocol, staker, open_long):
    # Regression: as the only staker, the exact formula's denominator is about one
    # token unit, so its rounding used to burn half the shares with no gain at all.
    p = protocol
    shares = p.stake(staker, 10_000)
    open_long()
    value = p.insurance.convertToAssets(shares)
    with boa.env.prank(staker):
        p.insurance.request_withdrawal(shares)
        returned = p.insurance.cancel_withdrawal()
    assert returned == shares
    assert p.insurance.convertToAssets(returned) == value


def test_cancel_withdrawal__after_window_expired__returns_shares(protocol, staker, stakes, request_withdrawal):
    p = protocol
    shares, _, unlocks_at = request_withdrawal(staker, stakes[staker])
    travel_to(unlocks_at + FUND_WINDOW + DAY)

    with boa.env.prank(staker):
        returned = p.insurance.cancel_withdrawal()

    assert returned == shares
    assert p.insurance.balanceOf(staker) == shares
    assert request_of(p.insurance, staker) == (0, 0, 0)


def test_cancel_withdrawal__returned_shares__transferable_again(
    protocol, staker, other_staker, stakes, request_withdrawal
):
    p = protocol
    shares, _, _ = request_withdrawal(staker, stakes[staker])
    with boa.env.prank(staker):
        p.insurance.cancel_withdrawal()

    with boa.env.prank(staker):
        p.insurance.transfer(other_staker, shares)

    assert p.insurance.balanceOf(other_staker) == stakes[other_staker] + shares
    assert p.insurance.balanceOf(staker) == 0
