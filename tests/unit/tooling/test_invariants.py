"""backstop.invariants: what counts as a violation of I1 and I2."""

import boa

from backstop import invariants
from backstop.units import wad

ETH = 0


def test_custody__donated_tokens__surplus_is_not_a_violation(protocol, trader):
    protocol.fund_trader(trader, 100)
    protocol.token.mint(trader, protocol.units(5))
    with boa.env.prank(trader):
        protocol.token.transfer(protocol.vault.address, protocol.units(5))
    assert invariants.custody_violations(protocol, [trader]) == []


def test_custody__unknown_account_holding_collateral__reported(protocol, trader, other_trader):
    protocol.fund_trader(trader, 100)
    protocol.fund_trader(other_trader, 100)
    (violation,) = invariants.custody_violations(protocol, [trader])
    assert "known accounts sum to" in violation


def test_zero_sum__trader_left_out__reported(protocol, trader):
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    assert invariants.zero_sum_violations(protocol, [trader]) == []
    violations = invariants.zero_sum_violations(protocol, [])
    assert any("sizes sum to" in v for v in violations)


def test_custody__vault_short_of_its_ledger__reported():
    """A vault holding less than it owes (as a broken build would) is a violation."""
    from types import SimpleNamespace as NS

    p = NS(
        token=NS(balanceOf=lambda a: 99),
        vault=NS(address="vault", SCALE=lambda: 1, total_collateral=lambda: 100, collateral=lambda a: 100 if a == "t" else 0),
        pool=NS(address="pool"),
        fund="fund",
        lens=NS(VAULT=lambda: "vault", collaterals=lambda accounts: [100 if a == "t" else 0 for a in accounts]),
    )
    (violation,) = invariants.custody_violations(p, ["t"])
    assert "less than the ledger total" in violation
