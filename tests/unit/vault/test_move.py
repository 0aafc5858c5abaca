"""Vault.move: engine only, zero-sum, signed."""

import boa
import pytest

from tests.invariants import assert_custody

WAD = 10**18


@pytest.fixture
def funded(standalone, trader, other_trader, deposit):
    """The standalone vault with 1,000 USD for the trader and 500 USD for the other trader."""
    deposit(standalone, trader, standalone.units(1_000))
    deposit(standalone, other_trader, standalone.units(500))
    return standalone


def test_move__positive__debits_sender_and_credits_receiver(funded, engine, trader, other_trader):
    with boa.env.prank(engine):
        funded.vault.move(trader, other_trader, 300 * WAD + 1)
    assert funded.vault.collateral(trader) == 700 * WAD - 1
    assert funded.vault.collateral(other_trader) == 800 * WAD + 1
    assert funded.vault.total_collateral() == 1_500 * WAD
    assert_custody(funded, [trader, other_trader])


def test_move__negative__moves_the_other_way(funded, engine, trader, other_trader):
    with boa.env.prank(engine):
        funded.vault.move(trader, other_trader, -200 * WAD)
    assert funded.vault.collateral(trader) == 1_200 * WAD
    assert funded.vault.collateral(other_trader) == 300 * WAD
    assert_custody(funded, [trader, other_trader])


@pytest.mark.parametrize("wad", [0, 1, -1, 1_500 * WAD, -(10**30), 2**200])
def test_move__any_amount__is_zero_sum(funded, engine, trader, other_trader, wad):
    before = funded.vault.collateral(trader) + funded.vault.collateral(other_trader)
    with boa.env.prank(engine):
        funded.vault.move(trader, other_trader, wad)
    assert funded.vault.collateral(trader) + funded.vault.collateral(other_trader) == before
    assert funded.vault.total_collateral() == 1_500 * WAD
    assert_custody(funded, [trader, other_trader])


def test_move__beyond_balance__leaves_sender_negative(funded, engine, trader, other_trader, lp):
    with boa.env.prank(engine):
        funded.vault.move(trader, lp, 1_250 * WAD)
    assert funded.vault.collateral(trader) == -250 * WAD
    assert funded.vault.collateral(lp) == 1_250 * WAD
    assert_custody(funded, [trader, other_trader, lp])


def test_move__to_self__changes_nothing(funded, engine, trader):
    with boa.env.prank(engine):
        funded.vault.move(trader, trader, 400 * WAD)
    assert funded.vault.collateral(trader) == 1_000 * WAD


def test_move__emits_no_event(funded, engine, trader, other_trader):
    with boa.env.prank(engine):
        funded.vault.move(trader, other_trader, WAD)
    assert funded.vault.get_logs() == []


@pytest.mark.parametrize("caller", ["owner", "trader", "attacker"])
def test_move__not_engine__reverts_and_moves_nothing(funded, trader, attacker, request, caller, snapshot):
    before = snapshot(funded, [trader, attacker])
    with boa.env.prank(request.getfixturevalue(caller)), boa.reverts("Vault: caller is not the engine"):
        funded.vault.move(trader, attacker, 100 * WAD)
    assert snapshot(funded, [trader, attacker]) == before


def test_move__on_wired_protocol_by_attacker__reverts(protocol, trader, attacker, deposit):
    deposit(protocol, trader, protocol.units(100))
    with boa.env.prank(attacker), boa.reverts("Vault: caller is not the engine"):
        protocol.vault.move(trader, attacker, 100 * WAD)
    assert protocol.vault.collateral(trader) == 100 * WAD
    assert protocol.vault.collateral(attacker) == 0
