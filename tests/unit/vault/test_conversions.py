"""Vault.to_wad (exact) and Vault.to_token (rounds down), for token decimals 0..18."""

import boa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="module", params=[0, 6, 8, 18], ids=lambda d: f"dec{d}")
def token_decimals(request):
    return request.param


class Conversions:
    """A vault's conversion views behind a plain repr. Hypothesis prints the test's
    arguments, and boa's repr of a contract dumps its storage, which raises when an
    earlier test left storage traces at the same address (seen in full-suite runs)."""

    def __init__(self, vault):
        self.address = vault.address
        self.SCALE, self.to_wad, self.to_token = vault.SCALE, vault.to_wad, vault.to_token

    def __repr__(self):
        return f"Vault({self.address})"


@pytest.fixture(scope="module")
def vault(token_decimals, contracts, vault_for):
    """The conversion views of an unwired vault on a MockERC20 with `token_decimals`."""
    return Conversions(vault_for(contracts["MockERC20"].deploy("Test USD", "tUSD", token_decimals), wire=False))


def test_scale__is_one_token_unit_in_wad(vault, token_decimals):
    assert vault.SCALE() == 10 ** (18 - token_decimals)


@given(amount=st.integers(0, 10**40))
@example(amount=1)
def test_to_wad__any_amount__is_exact(vault, token_decimals, amount):
    assert vault.to_wad(amount) == amount * 10 ** (18 - token_decimals)


@given(wad=st.integers(0, MAX_UINT256))
@example(wad=10**18 - 1)
@example(wad=10**12 - 1)
@example(wad=MAX_UINT256)
def test_to_token__any_wad__rounds_down(vault, token_decimals, wad):
    scale = 10 ** (18 - token_decimals)
    amount = vault.to_token(wad)
    assert amount == wad // scale
    assert amount * scale <= wad < (amount + 1) * scale  # never pays out more than `wad`


def test_to_token__one_wei_below_a_unit__is_zero(vault, token_decimals):
    unit = 10 ** (18 - token_decimals)
    assert vault.to_token(unit - 1) == 0
    assert vault.to_token(unit) == 1


@given(amount=st.integers(0, 10**40))
def test_to_token__of_to_wad__round_trips(vault, amount):
    assert vault.to_token(vault.to_wad(amount)) == amount


@pytest.mark.parametrize("decimals", [0, 6, 17])
def test_to_wad__overflowing_amount__reverts(contracts, vault_for, decimals):
    vault = vault_for(contracts["MockERC20"].deploy("Test USD", "tUSD", decimals), wire=False)
    largest = MAX_UINT256 // 10 ** (18 - decimals)
    assert vault.to_wad(largest) == largest * 10 ** (18 - decimals)
    with boa.reverts(compiler="safemul"):
        vault.to_wad(largest + 1)
