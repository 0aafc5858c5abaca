"""backstop.checks.invariants: what counts as a violation of I1 and I2."""

import boa

from backstop.checks import invariants
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


def _detailed(p, accounts, settled=True):
    # dev: the per-account functions `check` falls back to: what it must agree with.
    out = [("I1 custody", invariants.custody_violations(p, accounts)),
           ("I2 zero-sum", invariants.zero_sum_violations(p, accounts))]
    if settled:
        out += [("I3 solvency", invariants.solvency_violations(p, accounts)),
                ("I4 no hidden bad debt", invariants.bad_debt_violations(p, accounts))]
    return out


def test_check__one_book_read__agrees_with_the_per_account_checks(protocol, trader, other_trader):
    # `check` decides every invariant from the lens's `book` totals and asks
    # account by account only where one is broken: the same verdicts and
    # messages as the per-account functions, held, broken by an account left
    # out (I1, I2) and by an account below zero that nobody liquidated (I4).
    protocol.fund_trader(trader, 2_100)  # 10 ETH at 2,000 needs 2,000 initial margin and 20 fees
    protocol.fund_trader(other_trader, 5_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
    with boa.env.prank(other_trader):
        protocol.engine.trade(ETH, -wad(3))
    both = [trader, other_trader]
    assert invariants.check(protocol, both) == _detailed(protocol, both)
    assert not any(v for _, v in invariants.check(protocol, both))
    assert invariants.check(protocol, [trader]) == _detailed(protocol, [trader])
    assert invariants.check(protocol, [trader])[0][1] and invariants.check(protocol, [trader])[1][1]
    protocol.set_price(ETH, 1_700)  # the trader's long is now below zero
    require_below_zero = protocol.lens.account_health(trader).equity < 0
    assert require_below_zero
    checks = invariants.check(protocol, both)
    assert checks == _detailed(protocol, both)
    assert dict(checks)["I4 no hidden bad debt"] == [f"{trader}: equity {protocol.lens.account_health(trader).equity}"]
    assert invariants.check(protocol, both, settled=False) == _detailed(protocol, both, settled=False)
