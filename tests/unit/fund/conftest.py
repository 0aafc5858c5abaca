"""Fixtures for the InsuranceFund (first-loss capital staked for shares over the
fund's vault account; withdrawals by request, cooldown and window).

`protocol` is the top-level fixture: both token decimals, pool seeded with 1M USD,
the fund empty (no shares, no vault balance).
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.unit.fund.helpers import ETH


@pytest.fixture(scope="session")
def other_staker():
    return actor("other_staker")


@pytest.fixture(scope="session")
def donor():
    """Stands for income credited to the fund from outside the engine."""
    return actor("donor")


@pytest.fixture
def stakes(protocol, staker, other_staker):
    """staker stakes 10,000 USD, then other_staker 5,000 USD, into the empty fund.
    The first stake sets one share = 10**-3 token unit exactly (shares = assets * 1000 // 1);
    the second is priced at (supply + 1000) / (total + 1) = 1000 shares per unit, also exact."""
    return {staker: protocol.stake(staker, 10_000), other_staker: protocol.stake(other_staker, 5_000)}


@pytest.fixture
def seed_fund(protocol, donor):
    """Factory: deposit `usd` straight into the fund's vault account (a gain for its shares)."""

    def _seed(usd):
        amount = protocol.units(usd)
        protocol.token.mint(donor, amount)
        with boa.env.prank(donor):
            protocol.token.approve(protocol.vault.address, amount)
            protocol.vault.deposit(amount, protocol.fund)
        return amount

    return _seed


@pytest.fixture
def request_withdrawal(protocol):
    """Factory: `account` requests the withdrawal of `shares`; returns the request tuple."""

    def _request(account, shares):
        with boa.env.prank(account):
            protocol.insurance.request_withdrawal(shares)
        r = protocol.insurance.requests(account)
        return (r.shares, r.assets, r.unlocks_at)

    return _request


@pytest.fixture
def open_long(protocol, trader):
    """Factory: the trader deposits 10,000 USD and buys 10 ETH at mark 2000 (fill 2000.1,
    fee 0.1% of 20,001 = 20.001 USD, half of it (fee_pool_share 0.5) to the fund: 10.0005 USD)."""

    def _open():
        protocol.set_price(ETH, 2000)  # dev: a fresh round, whatever time it is
        protocol.fund_trader(trader, 10_000)
        with boa.env.prank(trader):
            protocol.engine.trade(ETH, wad(10))
        return trader

    return _open


@pytest.fixture
def bad_debt(protocol, open_long, keeper):
    """Factory: open the trader's long, drop ETH to 900 and liquidate it. The close leaves
    1,020.551 USD of bad debt and the fund pays the keeper's 0.10 USD minimum reward, so
    the fund loses 1,020.651 USD net of the 10.0005 USD fee it earned on the open.
    Returns the fund's vault balance change (WAD)."""

    def _bad_debt():
        before = protocol.vault.collateral(protocol.fund)
        trader = open_long()
        protocol.set_price(ETH, 900)
        with boa.env.prank(keeper):
            protocol.engine.liquidate(trader)
        covered = [e for e in protocol.engine.get_logs() if type(e).__name__ == "BadDebtCovered"]
        assert len(covered) == 1  # dev: the fund really covered bad debt
        return protocol.vault.collateral(protocol.fund) - before

    return _bad_debt
