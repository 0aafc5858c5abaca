"""LiquidityPool.deposit / mint: shares at the pool's price, rounded in the pool's favour."""

from fractions import Fraction

import boa

from tests.invariants import assert_invariants
from tests.unit.pool.helpers import ETH, MAX_UINT256, VIRTUAL_SHARES, ZERO_ADDRESS, own_events


def test_decimals__any_token__asset_decimals_plus_three(protocol, decimals):
    assert protocol.pool.decimals() == decimals + 3
    assert protocol.pool.asset() == protocol.token.address


def test_deposit__empty_pool__mints_virtual_offset_shares_per_unit(empty_protocol, lp, deposit):
    p = empty_protocol
    amount = p.units(1_000)

    shares = deposit(p, lp, amount)

    assert shares == amount * VIRTUAL_SHARES
    assert p.pool.balanceOf(lp) == shares
    assert p.pool.totalSupply() == shares
    assert p.pool.totalAssets() == amount
    assert p.vault.collateral(p.pool.address) == amount * p.vault.SCALE()
    assert p.token.balanceOf(p.vault.address) == amount
    assert p.token.balanceOf(p.pool.address) == 0
    assert p.token.balanceOf(lp) == 0
    assert_invariants(p, [lp])


def test_deposit__funded_pool__returns_preview_and_credits_pool_margin(protocol, other_trader, deposit):
    p = protocol
    amount = p.units(2_500)
    expected = p.pool.previewDeposit(amount)
    assets_before = p.pool.totalAssets()
    collateral_before = p.vault.collateral(p.pool.address)

    shares = deposit(p, other_trader, amount)

    assert shares == expected > 0
    assert p.pool.balanceOf(other_trader) == shares
    assert p.pool.totalAssets() == assets_before + amount
    assert p.vault.collateral(p.pool.address) == collateral_before + amount * p.vault.SCALE()
    assert_invariants(p, [other_trader])


def test_deposit__emits_deposit_event(protocol, other_trader, approve_assets):
    p = protocol
    amount = p.units(100)
    approve_assets(p, other_trader, amount)
    with boa.env.prank(other_trader):
        shares = p.pool.deposit(amount)

    (event,) = own_events(p.pool, "Deposit")
    assert event.sender == other_trader
    assert event.owner == other_trader
    assert event.assets == amount
    assert event.shares == shares


def test_deposit__for_receiver__mints_to_receiver_and_pulls_from_sender(protocol, other_trader, attacker, deposit):
    p = protocol
    amount = p.units(100)

    shares = deposit(p, other_trader, amount, receiver=attacker)

    (event,) = own_events(p.pool, "Deposit")
    assert (event.sender, event.owner) == (other_trader, attacker)
    assert p.pool.balanceOf(attacker) == shares > 0
    assert p.pool.balanceOf(other_trader) == 0
    assert p.token.balanceOf(other_trader) == 0


def test_deposit__uneven_share_price__rounds_shares_down(uneven_protocol, other_trader, deposit):
    p = uneven_protocol
    amount = p.units(1_000)
    total, supply = p.pool.totalAssets(), p.pool.totalSupply()
    exact = Fraction(amount * (supply + VIRTUAL_SHARES), total + 1)
    assert exact.denominator != 1  # dev: the case really has to round

    shares = deposit(p, other_trader, amount)

    assert shares == int(exact)  # floor
    assert exact - 1 < shares < exact


def test_deposit__uneven_share_price__shares_never_worth_more_than_paid(uneven_protocol, other_trader, deposit):
    p = uneven_protocol
    amount = p.units("777.777777")

    shares = deposit(p, other_trader, amount)

    assert p.pool.convertToAssets(shares) < amount
    with boa.env.prank(other_trader):
        assert p.pool.redeem(shares) < amount
    assert_invariants(p, [other_trader])


def test_deposit__without_approval__reverts_insufficient_allowance(protocol, other_trader):
    protocol.token.mint(other_trader, protocol.units(100))
    with boa.env.prank(other_trader), boa.reverts("erc20: insufficient allowance"):
        protocol.pool.deposit(protocol.units(100))


def test_deposit__zero_assets__reverts_zero_assets(protocol, other_trader):
    with boa.env.prank(other_trader), boa.reverts("Pool: zero assets"):
        protocol.pool.deposit(0)


def test_deposit__zero_receiver__reverts_zero_address(protocol, other_trader, approve_assets):
    amount = protocol.units(100)
    approve_assets(protocol, other_trader, amount)
    with boa.env.prank(other_trader), boa.reverts("Pool: zero address"):
        protocol.pool.deposit(amount, ZERO_ADDRESS)


def test_mint__funded_pool__pulls_preview_assets_and_mints_exact_shares(protocol, other_trader, approve_assets):
    p = protocol
    shares = 123_456 * 10 ** p.pool.decimals() // 1000
    cost = p.pool.previewMint(shares)
    approve_assets(p, other_trader, cost + p.units(1))

    with boa.env.prank(other_trader):
        pulled = p.pool.mint(shares)

    (event,) = own_events(p.pool, "Deposit")
    assert (event.assets, event.shares) == (cost, shares)
    assert pulled == cost
    assert p.pool.balanceOf(other_trader) == shares
    assert p.token.balanceOf(other_trader) == p.units(1)
    assert_invariants(p, [other_trader])


def test_mint__uneven_share_price__rounds_assets_up(uneven_protocol, other_trader, approve_assets):
    p = uneven_protocol
    shares = 10 ** p.pool.decimals() * 1_000
    total, supply = p.pool.totalAssets(), p.pool.totalSupply()
    exact = Fraction(shares * (total + 1), supply + VIRTUAL_SHARES)
    assert exact.denominator != 1  # dev: the case really has to round
    approve_assets(p, other_trader, int(exact) + 1)

    with boa.env.prank(other_trader):
        pulled = p.pool.mint(shares)

    assert exact < pulled < exact + 1
    assert p.token.balanceOf(other_trader) == 0


def test_mint__then_redeem__never_returns_more_than_paid(uneven_protocol, other_trader, approve_assets):
    p = uneven_protocol
    shares = 10 ** p.pool.decimals() * 333
    cost = p.pool.previewMint(shares)
    approve_assets(p, other_trader, cost)

    with boa.env.prank(other_trader):
        p.pool.mint(shares)
        back = p.pool.redeem(shares)

    assert back < cost
    assert_invariants(p, [other_trader])


def test_mint__empty_pool__costs_one_unit_per_virtual_offset_shares(empty_protocol, lp, approve_assets):
    p = empty_protocol
    shares = p.units(50) * VIRTUAL_SHARES
    approve_assets(p, lp, p.units(50))

    with boa.env.prank(lp):
        assert p.pool.mint(shares) == p.units(50)

    assert p.pool.totalAssets() == p.units(50)


def test_mint__zero_shares__reverts_zero_assets(protocol, other_trader):
    # dev: zero shares cost zero assets, and the asset check comes first.
    with boa.env.prank(other_trader), boa.reverts("Pool: zero assets"):
        protocol.pool.mint(0)


def test_mint__zero_receiver__reverts_zero_address(protocol, other_trader, approve_assets):
    approve_assets(protocol, other_trader, protocol.units(1))
    with boa.env.prank(other_trader), boa.reverts("Pool: zero address"):
        protocol.pool.mint(1_000, ZERO_ADDRESS)


def test_maxDeposit__any_receiver__unlimited(protocol, other_trader):
    assert protocol.pool.maxDeposit(other_trader) == MAX_UINT256
    assert protocol.pool.maxMint(other_trader) == MAX_UINT256


def test_deposit__stale_price_with_open_positions__reverts_stale_price(
    protocol, trader, other_trader, open_position, approve_assets
):
    p = protocol
    open_position(p, trader, ETH, 10, 10_000)
    approve_assets(p, other_trader, p.units(100))
    boa.env.time_travel(seconds=3601)

    with boa.env.prank(other_trader):
        with boa.reverts("Oracle: stale price"):
            p.pool.deposit(p.units(100))
        with boa.reverts("Oracle: stale price"):
            p.pool.mint(1_000)


def test_deposit__stale_price_without_open_positions__succeeds(protocol, other_trader, deposit):
    # dev: a flat pool's equity is its collateral, which needs no price.
    boa.env.time_travel(seconds=3601)

    shares = deposit(protocol, other_trader, protocol.units(100))

    assert shares == protocol.units(100) * VIRTUAL_SHARES
    assert_invariants(protocol, [other_trader])
