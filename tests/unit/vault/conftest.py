"""Fixtures for Vault unit tests.

Engine-only functions (`move`, `withdraw_for`) are tested on a vault bound to a
plain `engine` address the test pranks as, instead of the real Clearinghouse.
"""

from dataclasses import replace
from pathlib import Path

import boa
import pytest
from backstop.protocol.harness import actor

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def engine():
    """A plain address standing in for the clearinghouse."""
    return actor("engine")


@pytest.fixture(scope="session")
def token_deployers():
    """Compiled test-only tokens: `HostileToken` (fee / returns False) and `NoReturnToken`."""
    return {name: boa.load_partial(str(HERE / f"{name}.vy")) for name in ("HostileToken", "NoReturnToken")}


@pytest.fixture(scope="session")
def vault_for(contracts, owner, engine):
    """Factory: a fresh Vault for `token`, deployed by `owner` and bound to `engine` unless `wire=False`."""

    def _vault_for(token, wire=True):
        with boa.env.prank(owner):
            vault = contracts["Vault"].deploy(token.address)
            if wire:
                vault.set_engine(engine)
        return vault

    return _vault_for


@pytest.fixture(scope="session")
def standalone_for(deploy, vault_for):
    """Factory: a protocol for `decimals` with its vault swapped for a fresh one bound to `engine`.
    Token, pool and fund stay, so `assert_custody` works on it; `.engine` is None because
    the clearinghouse is not wired to this vault."""

    def _standalone_for(decimals, token=None):
        p = deploy(decimals)
        token = token or p.token
        return replace(p, token=token, vault=vault_for(token), engine=None)

    return _standalone_for


@pytest.fixture(scope="module")
def standalone(protocol, vault_for):
    """`protocol` (6 and 18 decimals) with a fresh vault bound to `engine`; see `standalone_for`."""
    return replace(protocol, vault=vault_for(protocol.token), engine=None)


@pytest.fixture(scope="session")
def deposit():
    """Factory: mint `amount` token units to `payer` and deposit them for `account` (default: payer)."""

    def _deposit(p, payer, amount, account=None):
        p.token.mint(payer, amount)
        with boa.env.prank(payer):
            p.token.approve(p.vault.address, amount)
            if account is None:
                p.vault.deposit(amount)
            else:
                p.vault.deposit(amount, account)
        return amount

    return _deposit


@pytest.fixture(scope="session")
def emitted():
    """Events called `name` that `contract` emitted in the last call."""

    def _emitted(contract, name):
        return [e for e in contract.get_logs() if type(e).__name__ == name and e.address == contract.address]

    return _emitted


@pytest.fixture(scope="session")
def snapshot():
    """Factory: everything a failed call must leave unchanged, for the given accounts."""

    def _snapshot(p, accounts):
        return (
            p.vault.total_collateral(),
            p.token.balanceOf(p.vault.address),
            [p.vault.collateral(a) for a in accounts],
            [p.token.balanceOf(a) for a in accounts],
        )

    return _snapshot
