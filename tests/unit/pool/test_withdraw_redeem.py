"""LiquidityPool.withdraw / redeem: burn shares, pay out of the pool's margin account,
rounded in the pool's favour (withdraw burns shares rounded up, redeem pays assets rounded down)."""

from fractions import Fraction

import boa

from tests.invariants import assert_invariants
from tests.unit.pool.helpers import ETH, VIRTUAL_SHARES, ZERO_ADDRESS, own_events


def test_withdraw__flat_pool__burns_preview_shares_and_pays_assets(protocol, lp):
    p = protocol
    amount = p.units(10_000)
    expected_shares = p.pool.previewWithdraw(amount)
    shares_before = p.pool.balanceOf(lp)
    collateral_before = p.vault.collateral(p.pool.address)

    with boa.env.prank(lp):
        burned = p.pool.withdraw(amount)

    (event,) = own_events(p.pool, "Withdraw")
    assert (event.sender, event.receiver, event.owner) == (lp, lp, lp)
    assert (event.assets, event.shares) == (amount, burned)
    assert burned == expected_shares
    assert p.pool.balanceOf(lp) == shares_before - burned
    assert p.token.balanceOf(lp) == amount
    assert p.vault.collateral(p.pool.address) == collateral_before - amount * p.vault.SCALE()
    assert_invariants(p, [lp])


def test_withdraw__to_receiver__pays_receiver(protocol, lp, other_trader):
    amount = protocol.units(500)
    with boa.env.prank(lp):
        protocol.pool.withdraw(amount, other_trader)
    assert protocol.token.balanceOf(other_trader) == amount
    assert protocol.token.balanceOf(lp) == 0


def test_withdraw__uneven_share_price__rounds_shares_burned_up(uneven_protocol, lp):
    p = uneven_protocol
    amount = p.units(1_000)
    total, supply = p.pool.totalAssets(), p.pool.totalSupply()
    exact = Fraction(amount * (supply + VIRTUAL_SHARES), total + 1)
    assert exact.denominator != 1  # dev: the case really has to round

    with boa.env.prank(lp):
        burned = p.pool.withdraw(amount)

    assert exact < burned < exact + 1


def test_redeem__flat_pool__pays_preview_assets(protocol, lp):
    p = protocol
    shares = p.pool.balanceOf(lp) // 4
    expected_assets = p.pool.previewRedeem(shares)

    with boa.env.prank(lp):
        paid = p.pool.redeem(shares)

    (event,) = own_events(p.pool, "Withdraw")
    assert (event.assets, event.shares) == (paid, shares)
    assert paid == expected_assets == p.units(250_000)
    assert p.token.balanceOf(lp) == paid
    assert p.pool.balanceOf(lp) == shares * 3
    assert_invariants(p, [lp])


def test_redeem__uneven_share_price__rounds_assets_down(uneven_protocol, lp):
    p = uneven_protocol
    shares = 10 ** p.pool.decimals() * 1_000
    total, supply = p.pool.totalAssets(), p.pool.totalSupply()
    exact = Fraction(shares * (total + 1), supply + VIRTUAL_SHARES)
    assert exact.denominator != 1  # dev: the case really has to round

    with boa.env.prank(lp):
        paid = p.pool.redeem(shares)

    assert exact - 1 < paid < exact
    assert p.token.balanceOf(lp) == paid


def test_redeem__all_shares_of_only_holder__pays_out_every_unit(protocol, lp):
    p = protocol
    with boa.env.prank(lp):
        paid = p.pool.redeem(p.pool.balanceOf(lp))
    # shares = 1000 * N and supply + virtual = 1000 * (N + 1), so the payout is exactly N.
    assert paid == p.units(1_000_000)
    assert p.pool.totalSupply() == 0
    assert p.pool.totalAssets() == 0
    assert p.vault.collateral(p.pool.address) == 0
    assert_invariants(p, [lp])


def test_withdraw__by_spender_with_allowance__spends_allowance_and_burns_owner_shares(protocol, lp, attacker):
    p = protocol
    amount = p.units(1_000)
    shares = p.pool.previewWithdraw(amount)
    allowance = shares + 12_345
    with boa.env.prank(lp):
        p.pool.approve(attacker, allowance)
    owner_shares = p.pool.balanceOf(lp)

    with boa.env.prank(attacker):
        burned = p.pool.withdraw(amount, attacker, lp)

    (event,) = own_events(p.pool, "Withdraw")
    assert (event.sender, event.receiver, event.owner) == (attacker, attacker, lp)
    assert burned == shares
    assert p.pool.allowance(lp, attacker) == allowance - shares
    assert p.pool.balanceOf(lp) == owner_shares - shares
    assert p.token.balanceOf(attacker) == amount
    assert_invariants(p, [lp, attacker])


def test_redeem__by_spender_with_allowance__spends_allowance(protocol, lp, attacker):
    p = protocol
    shares = p.units(100) * VIRTUAL_SHARES
    with boa.env.prank(lp):
        p.pool.approve(attacker, shares)

    with boa.env.prank(attacker):
        paid = p.pool.redeem(shares, attacker, lp)

    assert paid == p.units(100)
    assert p.pool.allowance(lp, attacker) == 0
    assert p.token.balanceOf(attacker) == paid


def test_withdraw__by_spender_without_allowance__reverts_insufficient_allowance(protocol, lp, attacker):
    with boa.env.prank(attacker), boa.reverts("erc20: insufficient allowance"):
        protocol.pool.withdraw(protocol.units(1), attacker, lp)
    assert protocol.token.balanceOf(attacker) == 0


def test_redeem__by_spender_beyond_allowance__reverts_insufficient_allowance(protocol, lp, attacker):
    shares = protocol.units(100) * VIRTUAL_SHARES
    with boa.env.prank(lp):
        protocol.pool.approve(attacker, shares - 1)
    with boa.env.prank(attacker), boa.reverts("erc20: insufficient allowance"):
        protocol.pool.redeem(shares, attacker, lp)


def test_redeem__more_than_balance__reverts_burn_exceeds_balance(protocol, lp):
    balance = protocol.pool.balanceOf(lp)
    with boa.env.prank(lp), boa.reverts("erc20: burn amount exceeds balance"):
        protocol.pool.redeem(balance + 1)


def test_withdraw__more_than_owned__reverts_burn_exceeds_balance(protocol, lp, other_trader, deposit):
    owned = protocol.units(100)
    deposit(protocol, other_trader, owned)
    with boa.env.prank(other_trader), boa.reverts("erc20: burn amount exceeds balance"):
        protocol.pool.withdraw(owned + 1)


def test_withdraw__zero_assets__reverts_zero_assets(protocol, lp):
    with boa.env.prank(lp), boa.reverts("Pool: zero assets"):
        protocol.pool.withdraw(0)


def test_redeem__zero_shares__reverts_zero_assets(protocol, lp):
    # dev: zero shares are worth zero assets, and the asset check comes first.
    with boa.env.prank(lp), boa.reverts("Pool: zero assets"):
        protocol.pool.redeem(0)


def test_redeem__dust_worth_less_than_a_unit__reverts_zero_assets(protocol, lp):
    # About 1000 shares make one token unit: 999 round down to nothing.
    assert protocol.pool.previewRedeem(999) == 0
    with boa.env.prank(lp), boa.reverts("Pool: zero assets"):
        protocol.pool.redeem(999)


def test_withdraw__zero_receiver__reverts_zero_address(protocol, lp):
    with boa.env.prank(lp), boa.reverts("Pool: zero address"):
        protocol.pool.withdraw(protocol.units(1), ZERO_ADDRESS)


def test_redeem__zero_receiver__reverts_zero_address(protocol, lp):
    with boa.env.prank(lp), boa.reverts("Pool: zero address"):
        protocol.pool.redeem(10**6, ZERO_ADDRESS)


def test_redeem__stale_price_with_open_positions__reverts_stale_price(protocol, lp, trader, open_position):
    open_position(protocol, trader, ETH, 10, 10_000)
    boa.env.time_travel(seconds=3601)
    with boa.env.prank(lp):
        with boa.reverts("Oracle: stale price"):
            protocol.pool.redeem(10**6)
        with boa.reverts("Oracle: stale price"):
            protocol.pool.withdraw(protocol.units(1))


def test_withdraw__all_assets_just_deposited__needs_more_shares_than_minted_and_reverts(
    uneven_protocol, other_trader, deposit
):
    p = uneven_protocol
    amount = p.units("4321.123457")
    minted = deposit(p, other_trader, amount)

    with boa.env.prank(other_trader), boa.reverts("erc20: burn amount exceeds balance"):
        # dev: minted rounds down and burning rounds up, so the round trip cannot close.
        p.pool.withdraw(amount)
    assert p.pool.previewWithdraw(amount) > minted
