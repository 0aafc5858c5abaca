"""MockERC20: snekmate's erc20 with configurable decimals and an open mint."""

import boa
import pytest

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(params=[0, 6, 18], ids=lambda d: f"dec{d}")
def token(contracts, request):
    return contracts["MockERC20"].deploy("Test USD", "tUSD", request.param)


def test_init__name_symbol_and_decimals(contracts):
    token = contracts["MockERC20"].deploy("Test USD", "tUSD", 6)
    assert (token.name(), token.symbol(), token.decimals(), token.totalSupply()) == ("Test USD", "tUSD", 6, 0)


def test_mint__by_anyone__credits_and_grows_supply(token, attacker, trader, emitted):
    with boa.env.prank(attacker):
        token.mint(trader, 123)
    (event,) = emitted(token, "Transfer")
    assert (event.sender, event.receiver, event.value) == (ZERO, trader, 123)
    assert token.balanceOf(trader) == 123
    assert token.totalSupply() == 123


def test_mint__to_zero_address__reverts(token):
    with boa.reverts("erc20: mint to the zero address"):
        token.mint(ZERO, 1)


def test_transfer__within_balance__moves_tokens(token, trader, lp):
    token.mint(trader, 100)
    with boa.env.prank(trader):
        token.transfer(lp, 40)
    assert (token.balanceOf(trader), token.balanceOf(lp)) == (60, 40)


def test_transfer__beyond_balance__reverts(token, trader, lp):
    token.mint(trader, 100)
    with boa.env.prank(trader), boa.reverts("erc20: transfer amount exceeds balance"):
        token.transfer(lp, 101)


def test_transfer_from__with_allowance__moves_tokens_and_spends_allowance(token, trader, lp, other_trader):
    token.mint(trader, 100)
    with boa.env.prank(trader):
        token.approve(lp, 70)
    with boa.env.prank(lp):
        token.transferFrom(trader, other_trader, 50)
    assert token.balanceOf(other_trader) == 50
    assert token.allowance(trader, lp) == 20


def test_transfer_from__beyond_allowance__reverts(token, trader, attacker):
    token.mint(trader, 100)
    with boa.env.prank(attacker), boa.reverts("erc20: insufficient allowance"):
        token.transferFrom(trader, attacker, 1)


def test_burn__own_tokens__shrinks_balance_and_supply(token, trader):
    token.mint(trader, 100)
    with boa.env.prank(trader):
        token.burn(30)
    assert (token.balanceOf(trader), token.totalSupply()) == (70, 70)


def test_burn__beyond_balance__reverts(token, trader):
    with boa.env.prank(trader), boa.reverts("erc20: burn amount exceeds balance"):
        token.burn(1)
