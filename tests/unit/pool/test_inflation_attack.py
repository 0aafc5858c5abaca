"""First-depositor inflation attack: the attacker mints the first shares for 1 unit, then
donates straight to the pool's vault account to inflate the share price so that the next
deposit rounds down to (almost) nothing. The 10**3 virtual shares make the victim's loss at
most about donation / 2000 and leave most of the donation to the virtual shares, so the
attacker always loses far more than the victim."""

from fractions import Fraction

import boa
import pytest

from tests.invariants import assert_invariants
from tests.unit.pool.helpers import VIRTUAL_SHARES


@pytest.fixture
def inflated(empty_protocol, attacker, deposit, donate):
    """Factory: the attacker's 1-unit first deposit, then a donation of `donation_usd`."""

    def _inflate(donation_usd):
        p = empty_protocol
        assert deposit(p, attacker, 1) == VIRTUAL_SHARES
        donate(p, attacker, p.units(donation_usd))
        return p

    return _inflate


@pytest.mark.parametrize("donation_usd", [10_000, 1_000_000])
def test_deposit__after_donation_attack__victim_loss_bounded_by_virtual_shares(
    inflated, attacker, lp, deposit, donation_usd
):
    p = inflated(donation_usd)
    paid = p.units(10_000)
    donated = p.units(donation_usd)

    shares = deposit(p, lp, paid)
    with boa.env.prank(lp):
        back = p.pool.redeem(shares)

    assert shares > 0
    victim_loss = paid - back
    # One share is worth (donation + 2) / 2000 units, and the victim loses less than one share.
    assert 0 <= victim_loss < Fraction(donated + 2, 2 * VIRTUAL_SHARES)
    with boa.env.prank(attacker):
        attacker_back = p.pool.redeem(p.pool.balanceOf(attacker))
    attacker_loss = donated + 1 - attacker_back
    assert attacker_loss > 100 * victim_loss
    assert_invariants(p, [attacker, lp])


def test_deposit__donation_equal_to_deposit__victim_keeps_over_99_9_percent(inflated, lp, deposit):
    p = inflated(10_000)
    paid = p.units(10_000)

    shares = deposit(p, lp, paid)

    assert p.pool.convertToAssets(shares) * 1000 > paid * 999
    assert p.pool.maxWithdraw(lp) == p.pool.convertToAssets(shares)


def test_redeem__after_donation_attack__attacker_loses_over_virtual_offset_times_victim_loss(
    inflated, attacker, lp, deposit
):
    p = inflated(10_000)
    paid = p.units(10_000)
    shares = deposit(p, lp, paid)
    victim_loss = paid - p.pool.convertToAssets(shares)

    with boa.env.prank(attacker):
        back = p.pool.redeem(p.pool.balanceOf(attacker))

    # The attacker's 1000 shares of ~3000 real + 1000 virtual return about a quarter of the pool.
    attacker_loss = p.units(10_000) + 1 - back
    assert 0 < victim_loss < attacker_loss // VIRTUAL_SHARES
    assert_invariants(p, [attacker, lp])


def test_deposit__too_small_after_donation__reverts_zero_shares(inflated, lp, approve_assets):
    p = inflated(10_000)
    # One share now costs (10,000 USD + 2 units) / 2000: 5 USD buys nothing.
    too_small = p.units(10_000) // (2 * VIRTUAL_SHARES)
    assert p.pool.previewDeposit(too_small) == 0
    approve_assets(p, lp, too_small)

    with boa.env.prank(lp), boa.reverts("Pool: zero shares"):
        p.pool.deposit(too_small)
