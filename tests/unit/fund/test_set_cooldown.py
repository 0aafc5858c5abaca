"""InsuranceFund.set_cooldown: the owner sets the withdrawal cooldown (1 hour to 90
days) and window (1 hour to 90 days); pending requests keep their unlock time
but the new window applies to them."""

import boa
import pytest

from backstop.protocol.harness import FUND_COOLDOWN, FUND_WINDOW
from tests.unit.fund.helpers import DAY, own_events, request_of, travel_to

MIN_COOLDOWN = 3600
MAX_COOLDOWN = 90 * DAY
MIN_WINDOW = 3600
MAX_WINDOW = 90 * DAY


def _settings(p):
    return (p.insurance.cooldown(), p.insurance.withdraw_window())


def test_set_cooldown__owner__sets_both_and_emits(protocol, owner):
    p = protocol
    with boa.env.prank(owner):
        p.insurance.set_cooldown(3 * DAY, 12 * 3600)

    (event,) = own_events(p.insurance, "CooldownSet")
    assert (event.cooldown, event.withdraw_window) == (3 * DAY, 12 * 3600)
    assert _settings(p) == (3 * DAY, 12 * 3600)


@pytest.mark.parametrize("caller", ["attacker", "staker"])
def test_set_cooldown__not_owner__reverts(protocol, caller, request):
    p = protocol
    account = request.getfixturevalue(caller)
    assert _settings(p) == (FUND_COOLDOWN, FUND_WINDOW)

    with boa.env.prank(account), boa.reverts("ownable: caller is not the owner"):
        p.insurance.set_cooldown(MIN_COOLDOWN, MIN_WINDOW)

    assert _settings(p) == (FUND_COOLDOWN, FUND_WINDOW)


@pytest.mark.parametrize(
    "cooldown, window",
    [(MAX_COOLDOWN, MIN_WINDOW), (MIN_COOLDOWN, MAX_WINDOW), (MAX_COOLDOWN, MAX_WINDOW)],
    ids=["max_cooldown_min_window", "min_cooldown_max_window", "both_max"],
)
def test_set_cooldown__at_bounds__accepted(protocol, owner, cooldown, window):
    with boa.env.prank(owner):
        protocol.insurance.set_cooldown(cooldown, window)
    assert _settings(protocol) == (cooldown, window)


def test_set_cooldown__cooldown_above_90_days__reverts(protocol, owner):
    p = protocol
    with boa.env.prank(owner), boa.reverts("Fund: cooldown too long"):
        p.insurance.set_cooldown(MAX_COOLDOWN + 1, FUND_WINDOW)
    assert _settings(p) == (FUND_COOLDOWN, FUND_WINDOW)


@pytest.mark.parametrize("window", [0, MIN_WINDOW - 1, MAX_WINDOW + 1], ids=["zero", "under_an_hour", "over_90_days"])
def test_set_cooldown__window_out_of_bounds__reverts_bad_window(protocol, owner, window):
    p = protocol
    with boa.env.prank(owner), boa.reverts("Fund: bad window"):
        p.insurance.set_cooldown(FUND_COOLDOWN, window)
    assert _settings(p) == (FUND_COOLDOWN, FUND_WINDOW)


def test_set_cooldown__pending_request__keeps_unlock_time_and_new_window_applies(
    protocol, owner, staker, stakes, request_withdrawal
):
    p = protocol
    shares, _, unlocks_at = request_withdrawal(staker, stakes[staker])

    with boa.env.prank(owner):
        p.insurance.set_cooldown(DAY, MIN_WINDOW)

    assert request_of(p.insurance, staker)[2] == unlocks_at
    # Inside the old two-day window but past the new one-hour window.
    travel_to(unlocks_at + MIN_WINDOW)
    assert p.insurance.withdrawable(staker) == 0
    with boa.env.prank(staker), boa.reverts("Fund: request expired"):
        p.insurance.withdraw()
    assert request_of(p.insurance, staker)[0] == shares
    assert p.insurance.balanceOf(p.insurance.address) == shares


def test_set_cooldown__new_cooldown__applies_to_later_requests(protocol, owner, staker, stakes, request_withdrawal):
    p = protocol
    with boa.env.prank(owner):
        p.insurance.set_cooldown(DAY, MIN_WINDOW)
    now = boa.env.timestamp

    _, _, unlocks_at = request_withdrawal(staker, stakes[staker])

    assert unlocks_at == now + DAY


def test_set_cooldown__below_an_hour__reverts_too_short(protocol, owner):
    # No cooldown would let a staker request and leave in the block before a known loss.
    p = protocol
    for cooldown in (0, MIN_COOLDOWN - 1):
        with boa.env.prank(owner), boa.reverts("Fund: cooldown too short"):
            p.insurance.set_cooldown(cooldown, FUND_WINDOW)
    assert _settings(p) == (FUND_COOLDOWN, FUND_WINDOW)
