"""Vault.__init__: token, scale and owner; tokens with more than 18 decimals are refused."""

import boa
import pytest

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.mark.parametrize("decimals", [0, 6, 8, 18])
def test_init__token_decimals__sets_token_scale_and_owner(contracts, vault_for, owner, decimals):
    token = contracts["MockERC20"].deploy("Test USD", "tUSD", decimals)
    vault = vault_for(token, wire=False)
    assert vault.TOKEN() == token.address
    assert vault.SCALE() == 10 ** (18 - decimals)
    assert vault.owner() == owner
    assert vault.pending_owner() == ZERO
    assert vault.engine() == ZERO
    assert vault.total_collateral() == 0


@pytest.mark.parametrize("decimals", [19, 255])
def test_init__token_decimals_above_18__reverts(contracts, owner, decimals):
    token = contracts["MockERC20"].deploy("Test USD", "tUSD", decimals)
    with boa.env.prank(owner), boa.reverts("Vault: token decimals > 18"):
        contracts["Vault"].deploy(token.address)
