"""Vault.deposit: token units in, WAD credited exactly; bad tokens and inputs move nothing."""

import boa
import pytest

from tests.invariants import assert_custody

ZERO = "0x0000000000000000000000000000000000000000"


def test_deposit__own_account__credits_exact_wad_and_pulls_tokens(protocol, trader, deposit):
    amount = protocol.units("1234.567891")
    total, held = protocol.vault.total_collateral(), protocol.token.balanceOf(protocol.vault.address)
    deposit(protocol, trader, amount)
    expected = amount * 10 ** (18 - protocol.decimals)
    assert protocol.vault.collateral(trader) == expected
    assert protocol.vault.total_collateral() == total + expected
    assert protocol.token.balanceOf(trader) == 0
    assert protocol.token.balanceOf(protocol.vault.address) == held + amount
    assert_custody(protocol, [trader])


def test_deposit__one_token_unit__credits_one_scale(protocol, trader, deposit):
    deposit(protocol, trader, 1)
    assert protocol.vault.collateral(trader) == 10 ** (18 - protocol.decimals)
    assert_custody(protocol, [trader])


@pytest.mark.parametrize("decimals", [0, 8])
def test_deposit__other_decimals__credits_exact_wad(standalone_for, trader, deposit, decimals):
    p = standalone_for(decimals)
    amount = 987 * 10**decimals + (3 if decimals else 0)
    deposit(p, trader, amount)
    assert p.vault.collateral(trader) == amount * 10 ** (18 - decimals)
    assert_custody(p, [trader])


def test_deposit__on_behalf_of_account__credits_account_not_payer(protocol, lp, trader, deposit):
    amount = protocol.units(500)
    deposit(protocol, lp, amount, account=trader)
    assert protocol.vault.collateral(trader) == amount * protocol.vault.SCALE()
    assert protocol.vault.collateral(lp) == 0
    assert protocol.token.balanceOf(lp) == 0
    assert_custody(protocol, [trader, lp])


def test_deposit__twice__accumulates(protocol, trader, deposit):
    deposit(protocol, trader, protocol.units(100))
    deposit(protocol, trader, protocol.units(250))
    assert protocol.vault.collateral(trader) == 350 * 10**18
    assert_custody(protocol, [trader])


def test_deposit__emits_deposit_with_payer_account_amount_and_wad(protocol, lp, trader, deposit, emitted):
    amount = protocol.units(42)
    deposit(protocol, lp, amount, account=trader)
    (event,) = emitted(protocol.vault, "Deposit")
    assert (event.payer, event.account, event.amount, event.wad) == (lp, trader, amount, 42 * 10**18)


def test_deposit__after_donation__credits_only_the_deposit(protocol, trader, attacker, deposit):
    total = protocol.vault.total_collateral()
    protocol.token.mint(attacker, protocol.units(1_000))
    with boa.env.prank(attacker):
        protocol.token.transfer(protocol.vault.address, protocol.units(1_000))
    deposit(protocol, trader, protocol.units(10))
    assert protocol.vault.collateral(trader) == 10 * 10**18
    assert protocol.vault.collateral(attacker) == 0
    assert protocol.vault.total_collateral() == total + 10 * 10**18
    # the donation is a surplus in the protocol's favour, never a credit
    held = protocol.token.balanceOf(protocol.vault.address) * protocol.vault.SCALE()
    assert held == protocol.vault.total_collateral() + 1_000 * 10**18


def test_deposit__zero_amount__reverts(protocol, trader, snapshot):
    before = snapshot(protocol, [trader])
    with boa.env.prank(trader), boa.reverts("Vault: zero amount"):
        protocol.vault.deposit(0)
    assert snapshot(protocol, [trader]) == before


def test_deposit__for_zero_address__reverts_and_moves_nothing(protocol, trader, snapshot):
    amount = protocol.units(100)
    protocol.token.mint(trader, amount)
    before = snapshot(protocol, [trader, ZERO])
    with boa.env.prank(trader):
        protocol.token.approve(protocol.vault.address, amount)
        with boa.reverts("Vault: zero address"):
            protocol.vault.deposit(amount, ZERO)
    assert snapshot(protocol, [trader, ZERO]) == before


def test_deposit__without_allowance__reverts_and_moves_nothing(protocol, trader, snapshot):
    protocol.token.mint(trader, protocol.units(100))
    before = snapshot(protocol, [trader])
    with boa.env.prank(trader), boa.reverts("erc20: insufficient allowance"):
        protocol.vault.deposit(protocol.units(100))
    assert snapshot(protocol, [trader]) == before


def test_deposit__more_than_balance__reverts_and_moves_nothing(protocol, trader, snapshot):
    amount = protocol.units(100)
    protocol.token.mint(trader, amount)
    with boa.env.prank(trader):
        protocol.token.approve(protocol.vault.address, amount + 1)
    before = snapshot(protocol, [trader])
    with boa.env.prank(trader), boa.reverts("erc20: transfer amount exceeds balance"):
        protocol.vault.deposit(amount + 1)
    assert snapshot(protocol, [trader]) == before


@pytest.fixture
def hostile(standalone_for, token_deployers):
    """A 6-decimal protocol whose vault holds a HostileToken."""
    return standalone_for(6, token=token_deployers["HostileToken"].deploy(6))


def test_deposit__fee_on_transfer_token__reverts_and_moves_nothing(hostile, trader, snapshot):
    hostile.token.set_fee_bps(10)  # 0.1 %
    hostile.token.mint(trader, 10**9)
    before = snapshot(hostile, [trader])
    with boa.env.prank(trader):
        hostile.token.approve(hostile.vault.address, 10**9)
        with boa.reverts("Vault: token took a transfer fee"):
            hostile.vault.deposit(10**9)
    assert snapshot(hostile, [trader]) == before


def test_deposit__token_returns_false__reverts_and_moves_nothing(hostile, trader, snapshot):
    hostile.token.set_return_false(True)
    hostile.token.mint(trader, 10**9)
    before = snapshot(hostile, [trader])
    with boa.env.prank(trader):
        hostile.token.approve(hostile.vault.address, 10**9)
        with boa.reverts("Vault: transfer failed"):
            hostile.vault.deposit(10**9)
    assert snapshot(hostile, [trader]) == before


def test_deposit__token_without_return_value__credits(standalone_for, token_deployers, trader, deposit):
    p = standalone_for(6, token=token_deployers["NoReturnToken"].deploy(6))
    deposit(p, trader, 10**9)
    assert p.vault.collateral(trader) == 10**9 * 10**12
    assert p.token.balanceOf(p.vault.address) == 10**9


@pytest.mark.parametrize(
    "decimals, amount, reason",
    [
        (18, 2**255, "uint255 bounds check"),  # the WAD does not fit the signed ledger
        (0, (2**256 - 1) // 10**18 + 1, "safemul"),  # amount * SCALE overflows
    ],
)
def test_deposit__amount_beyond_the_ledger__reverts_and_moves_nothing(
    standalone_for, trader, snapshot, decimals, amount, reason
):
    p = standalone_for(decimals)
    p.token.mint(trader, amount)
    before = snapshot(p, [trader])
    with boa.env.prank(trader):
        p.token.approve(p.vault.address, amount)
        with boa.reverts(compiler=reason):
            p.vault.deposit(amount)
    assert snapshot(p, [trader]) == before
