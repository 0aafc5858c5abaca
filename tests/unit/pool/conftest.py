"""Fixtures for the LiquidityPool (ERC-4626 shares over the pool's margin account).

Reference arithmetic (the pool's, with OpenZeppelin's virtual offset):
  shares = assets * (supply + 10**3) / (total_assets + 1)
  assets = shares * (total_assets + 1) / (supply + 10**3)
deposit and redeem round down, mint and withdraw round up (the pool's favour).
"""

from fractions import Fraction

import boa
import pytest

from backstop.units import wad
from tests.unit.pool.helpers import VIRTUAL_SHARES


@pytest.fixture(scope="module")
def protocol(deploy, decimals, lp):
    """As the top-level `protocol` (both decimals, pool funded 1M USD), but the
    seed deposit is the `lp` actor's, so tests can act as the pool's main holder."""
    p = deploy(decimals)
    p.fund_pool(lp, 1_000_000)
    return p


@pytest.fixture(scope="module")
def empty_protocol(deploy, decimals):
    """A protocol whose pool has no shares and no assets yet (first-depositor tests)."""
    return deploy(decimals)


@pytest.fixture
def uneven_protocol(protocol, owner):
    """The funded protocol after an odd donation to the pool, so that one share is
    worth a non-round number of token units and every conversion has to round."""
    donation = protocol.units("1234.567891")
    protocol.token.mint(owner, donation)
    with boa.env.prank(owner):
        protocol.token.approve(protocol.vault.address, donation)
        protocol.vault.deposit(donation, protocol.pool.address)
    return protocol


@pytest.fixture
def approve_assets():
    """Factory: mint `amount` token units to `account` and approve the pool for them."""

    def _approve(p, account, amount):
        p.token.mint(account, amount)
        with boa.env.prank(account):
            p.token.approve(p.pool.address, amount)

    return _approve


@pytest.fixture
def deposit(approve_assets):
    """Factory: `account` deposits `amount` fresh token units into `p`'s pool; returns shares minted."""

    def _deposit(p, account, amount, receiver=None):
        approve_assets(p, account, amount)
        with boa.env.prank(account):
            return p.pool.deposit(amount, receiver or account)

    return _deposit


@pytest.fixture
def donate():
    """Factory: `account` sends `amount` token units straight to the pool's vault
    account (no shares minted): the inflation attacker's move."""

    def _donate(p, account, amount):
        p.token.mint(account, amount)
        with boa.env.prank(account):
            p.token.approve(p.vault.address, amount)
            p.vault.deposit(amount, p.pool.address)

    return _donate


@pytest.fixture
def open_position():
    """Factory: fund `account` with `collateral_usd` and trade `size` base units of `market`."""

    def _open(p, account, market, size, collateral_usd):
        p.fund_trader(account, collateral_usd)
        with boa.env.prank(account):
            p.engine.trade(market, wad(size))

    return _open


@pytest.fixture
def share_value():
    """The value of one whole share (10**share_decimals) in token units, as an exact Fraction."""

    def _value(p):
        supply = p.pool.totalSupply() + VIRTUAL_SHARES
        one_share = 10 ** p.pool.decimals()
        return Fraction(one_share * (p.pool.totalAssets() + 1), supply)

    return _value
