"""Vault.withdraw_for: engine only; pays the receiver, debits the account exactly."""

import boa
import pytest

from tests.invariants import assert_custody

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def funded(standalone, trader, deposit):
    """The standalone vault with 1,000 USD of the trader's collateral."""
    deposit(standalone, trader, standalone.units(1_000))
    return standalone


def test_withdraw_for__by_engine__pays_receiver_and_debits_account(funded, engine, trader, lp):
    amount = funded.units("250.5")
    with boa.env.prank(engine):
        funded.vault.withdraw_for(trader, amount, lp)
    assert funded.token.balanceOf(lp) == amount
    assert funded.token.balanceOf(trader) == 0
    assert funded.vault.collateral(trader) == (1_000 * 10**18) - amount * 10 ** (18 - funded.decimals)
    assert funded.vault.collateral(lp) == 0
    assert_custody(funded, [trader, lp])


def test_withdraw_for__whole_balance__leaves_zero(funded, engine, trader):
    with boa.env.prank(engine):
        funded.vault.withdraw_for(trader, funded.units(1_000), trader)
    assert funded.vault.collateral(trader) == 0
    assert funded.vault.total_collateral() == 0
    assert funded.token.balanceOf(trader) == funded.units(1_000)
    assert_custody(funded, [trader])


def test_withdraw_for__one_token_unit__debits_one_scale(funded, engine, trader):
    with boa.env.prank(engine):
        funded.vault.withdraw_for(trader, 1, trader)
    assert funded.vault.collateral(trader) == 1_000 * 10**18 - 10 ** (18 - funded.decimals)
    assert_custody(funded, [trader])


def test_withdraw_for__emits_withdraw_with_account_receiver_amount_and_wad(funded, engine, trader, lp, emitted):
    with boa.env.prank(engine):
        funded.vault.withdraw_for(trader, funded.units(7), lp)
    (event,) = emitted(funded.vault, "Withdraw")
    assert (event.account, event.receiver, event.amount, event.wad) == (trader, lp, funded.units(7), 7 * 10**18)


def test_withdraw_for__one_unit_more_than_balance__reverts_and_moves_nothing(funded, engine, trader, snapshot):
    before = snapshot(funded, [trader])
    with boa.env.prank(engine), boa.reverts("Vault: insufficient collateral"):
        funded.vault.withdraw_for(trader, funded.units(1_000) + 1, trader)
    assert snapshot(funded, [trader]) == before


def test_withdraw_for__negative_balance__reverts(funded, engine, trader, other_trader):
    with boa.env.prank(engine):
        funded.vault.move(other_trader, trader, 10**18)  # other_trader now owes 1 USD
        with boa.reverts("Vault: insufficient collateral"):
            funded.vault.withdraw_for(other_trader, 1, other_trader)
    assert funded.vault.collateral(other_trader) == -(10**18)


@pytest.mark.parametrize("caller", ["owner", "trader", "attacker"])
def test_withdraw_for__not_engine__reverts_and_moves_nothing(funded, trader, attacker, request, caller, snapshot):
    before = snapshot(funded, [trader, attacker])
    with boa.env.prank(request.getfixturevalue(caller)), boa.reverts("Vault: caller is not the engine"):
        funded.vault.withdraw_for(trader, funded.units(1), attacker)
    assert snapshot(funded, [trader, attacker]) == before


def test_withdraw_for__on_wired_protocol_by_trader__reverts(protocol, trader, deposit):
    deposit(protocol, trader, protocol.units(100))
    with boa.env.prank(trader), boa.reverts("Vault: caller is not the engine"):
        protocol.vault.withdraw_for(trader, protocol.units(100), trader)
    assert protocol.vault.collateral(trader) == 100 * 10**18


def test_withdraw_for__zero_amount__reverts(funded, engine, trader):
    with boa.env.prank(engine), boa.reverts("Vault: zero amount"):
        funded.vault.withdraw_for(trader, 0, trader)


def test_withdraw_for__zero_receiver__reverts_and_moves_nothing(funded, engine, trader, snapshot):
    before = snapshot(funded, [trader])
    with boa.env.prank(engine), boa.reverts("Vault: zero address"):
        funded.vault.withdraw_for(trader, funded.units(1), ZERO)
    assert snapshot(funded, [trader]) == before


def test_withdraw_for__token_returns_false__reverts_and_keeps_ledger(
    standalone_for, token_deployers, engine, trader, deposit, snapshot
):
    p = standalone_for(6, token=token_deployers["HostileToken"].deploy(6))
    deposit(p, trader, 10**9)
    p.token.set_return_false(True)
    before = snapshot(p, [trader])
    with boa.env.prank(engine), boa.reverts("Vault: transfer failed"):
        p.vault.withdraw_for(trader, 10**9, trader)
    assert snapshot(p, [trader]) == before


def test_withdraw_for__token_without_return_value__pays(standalone_for, token_deployers, engine, trader, deposit):
    p = standalone_for(6, token=token_deployers["NoReturnToken"].deploy(6))
    deposit(p, trader, 10**9)
    with boa.env.prank(engine):
        p.vault.withdraw_for(trader, 10**9, trader)
    assert p.token.balanceOf(trader) == 10**9
    assert p.vault.collateral(trader) == 0
