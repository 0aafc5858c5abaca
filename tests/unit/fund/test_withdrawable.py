"""InsuranceFund.withdrawable: what `withdraw` would pay now: zero without a
request or outside [unlocks_at, unlocks_at + window), else min(value at request, value now)."""

import boa

from backstop.protocol.harness import FUND_WINDOW
from tests.unit.fund.helpers import DAY, to_assets, travel_to


def test_withdrawable__no_request__zero(protocol, staker, stakes):
    assert protocol.insurance.withdrawable(staker) == 0


def test_withdrawable__during_cooldown__zero(protocol, staker, stakes, request_withdrawal):
    _, _, unlocks_at = request_withdrawal(staker, stakes[staker])
    assert protocol.insurance.withdrawable(staker) == 0
    travel_to(unlocks_at - 1)
    assert protocol.insurance.withdrawable(staker) == 0


def test_withdrawable__inside_window__request_value(protocol, staker, stakes, request_withdrawal):
    _, assets, unlocks_at = request_withdrawal(staker, stakes[staker])
    travel_to(unlocks_at)
    assert protocol.insurance.withdrawable(staker) == assets == protocol.units(10_000)
    travel_to(unlocks_at + FUND_WINDOW - 1)
    assert protocol.insurance.withdrawable(staker) == assets


def test_withdrawable__window_over__zero(protocol, staker, stakes, request_withdrawal):
    _, _, unlocks_at = request_withdrawal(staker, stakes[staker])
    travel_to(unlocks_at + FUND_WINDOW)
    assert protocol.insurance.withdrawable(staker) == 0


def test_withdrawable__gain_inside_window__capped_at_request_value(
    protocol, staker, stakes, request_withdrawal, seed_fund
):
    p = protocol
    shares, assets, unlocks_at = request_withdrawal(staker, stakes[staker])
    travel_to(unlocks_at)
    seed_fund(1_000)
    assert p.insurance.convertToAssets(shares) > assets
    assert p.insurance.withdrawable(staker) == assets


def test_withdrawable__loss_during_cooldown__value_now(protocol, staker, stakes, request_withdrawal, bad_debt):
    p = protocol
    shares, assets, unlocks_at = request_withdrawal(staker, stakes[staker])
    boa.env.time_travel(seconds=DAY)
    bad_debt()
    travel_to(unlocks_at)
    value_now = to_assets(shares, p.insurance.totalSupply(), p.insurance.totalAssets())
    assert value_now < assets
    assert p.insurance.withdrawable(staker) == value_now


def test_withdrawable__matches_withdraw_payout(protocol, staker, stakes, request_withdrawal, seed_fund):
    p = protocol
    _, _, unlocks_at = request_withdrawal(staker, stakes[staker] // 3)
    seed_fund("77.777777")
    travel_to(unlocks_at + DAY)
    quoted = p.insurance.withdrawable(staker)

    with boa.env.prank(staker):
        paid = p.insurance.withdraw()

    assert paid == quoted > 0
