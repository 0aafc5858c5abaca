"""InsuranceFund.stake: pull tokens, deposit them into the vault under the fund's
account, mint shares = assets * (supply + 1000) // (total_assets + 1) to the receiver."""

import boa

from tests.invariants import assert_invariants
from tests.unit.fund.helpers import ZERO_ADDRESS, own_events, to_shares


def _approve(p, account, amount):
    p.token.mint(account, amount)
    with boa.env.prank(account):
        p.token.approve(p.insurance.address, amount)


def _snapshot(p, account):
    return (
        p.token.balanceOf(account),
        p.token.balanceOf(p.vault.address),
        p.vault.collateral(p.fund),
        p.insurance.totalSupply(),
        p.insurance.balanceOf(account),
    )


def test_stake__empty_fund__mints_thousand_shares_per_unit(protocol, staker):
    p = protocol
    amount = p.units(10_000)
    _approve(p, staker, amount)

    with boa.env.prank(staker):
        shares = p.insurance.stake(amount)

    # Empty fund: amount * (0 + 1000) // (0 + 1).
    assert shares == amount * 1000
    assert p.insurance.balanceOf(staker) == shares == p.insurance.totalSupply()
    assert p.insurance.totalAssets() == amount


def test_stake__uneven_share_price__mints_formula_shares_rounded_down(
    protocol, staker, other_staker, stakes, seed_fund
):
    p = protocol
    seed_fund("1234.567891")
    supply, total = p.insurance.totalSupply(), p.insurance.totalAssets()
    amount = p.units("777.777777")
    assert (amount * (supply + 1000)) % (total + 1) != 0  # dev: the case really has to round
    _approve(p, other_staker, amount)
    before = p.insurance.balanceOf(other_staker)

    with boa.env.prank(other_staker):
        shares = p.insurance.stake(amount)

    assert shares == to_shares(amount, supply, total)
    assert p.insurance.balanceOf(other_staker) == before + shares
    assert p.insurance.totalSupply() == supply + shares


def test_stake__moves_tokens_into_vault_under_fund_account(protocol, staker, stakes):
    p = protocol
    amount = p.units("2500.5")
    _approve(p, staker, amount)
    token_before, vault_tokens_before, fund_before, _, _ = _snapshot(p, staker)
    total_collateral_before = p.vault.total_collateral()

    with boa.env.prank(staker):
        p.insurance.stake(amount)

    assert p.token.balanceOf(staker) == token_before - amount
    assert p.token.balanceOf(p.vault.address) == vault_tokens_before + amount
    assert p.token.balanceOf(p.insurance.address) == 0  # dev: nothing stays in the fund contract
    assert p.vault.collateral(p.fund) == fund_before + amount * p.vault.SCALE()
    assert p.vault.total_collateral() == total_collateral_before + amount * p.vault.SCALE()
    assert_invariants(p, [staker])


def test_stake__to_receiver__mints_to_receiver_and_emits_stake(protocol, staker, other_staker, stakes):
    p = protocol
    amount = p.units(1_000)
    _approve(p, staker, amount)
    expected = p.insurance.convertToShares(amount)
    staker_shares = p.insurance.balanceOf(staker)
    receiver_shares = p.insurance.balanceOf(other_staker)

    with boa.env.prank(staker):
        shares = p.insurance.stake(amount, other_staker)

    (event,) = own_events(p.insurance, "Stake")
    assert (event.sender, event.owner, event.assets, event.shares) == (staker, other_staker, amount, shares)
    assert shares == expected
    assert p.insurance.balanceOf(staker) == staker_shares
    assert p.insurance.balanceOf(other_staker) == receiver_shares + shares


def test_stake__zero_assets__reverts(protocol, staker, stakes):
    p = protocol
    _approve(p, staker, p.units(1))
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: zero assets"):
        p.insurance.stake(0)

    assert _snapshot(p, staker) == before


def test_stake__zero_receiver__reverts(protocol, staker, stakes):
    p = protocol
    amount = p.units(1)
    _approve(p, staker, amount)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: zero address"):
        p.insurance.stake(amount, ZERO_ADDRESS)

    assert _snapshot(p, staker) == before


def test_stake__fund_as_receiver__reverts(protocol, staker, stakes):
    # The fund's own balance holds locked request shares only.
    p = protocol
    amount = p.units(1)
    _approve(p, staker, amount)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: bad receiver"):
        p.insurance.stake(amount, p.insurance.address)

    assert _snapshot(p, staker) == before


def test_stake__one_unit_into_fund_holding_fees_without_shares__reverts_zero_shares(protocol, staker, seed_fund):
    # No shares yet but 10 USD of income: 1 * (0 + 1000) // (units(10) + 1) == 0 at 6 and 18 decimals.
    p = protocol
    seed_fund(10)
    assert p.insurance.totalSupply() == 0
    assert p.insurance.convertToShares(1) == 0
    _approve(p, staker, 1)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("Fund: zero shares"):
        p.insurance.stake(1)

    assert _snapshot(p, staker) == before


def test_stake__without_approval__reverts_insufficient_allowance(protocol, staker, stakes):
    p = protocol
    amount = p.units(1_000)
    p.token.mint(staker, amount)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("erc20: insufficient allowance"):
        p.insurance.stake(amount)

    assert _snapshot(p, staker) == before


def test_stake__approved_beyond_balance__reverts_transfer_exceeds_balance(protocol, staker, stakes):
    p = protocol
    amount = p.units(1_000)
    _approve(p, staker, amount)
    with boa.env.prank(staker):
        p.token.approve(p.insurance.address, amount + 1)
    before = _snapshot(p, staker)

    with boa.env.prank(staker), boa.reverts("erc20: transfer amount exceeds balance"):
        p.insurance.stake(amount + 1)

    assert _snapshot(p, staker) == before
