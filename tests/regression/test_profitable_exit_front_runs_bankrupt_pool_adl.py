"""A trader in profit exits against a bankrupt pool before its ADL and is paid
with other depositors' collateral.

Attack (or a plain bank run in a crash): the pool is the counterparty of the
traders' net skew, within its own initial margin. A move beyond that margin
(here ETH -40% in refreshed 20% rounds, never guarded) leaves the pool below
zero at the mark: the pool needs ADL, which would close its book against the
profitable opposite positions at its bankruptcy price, charging them at most
their profit (SPEC 6). Before any keeper acts, the short in profit exits: the
exit is reduce-only and shrinks the skew, so it answered to nothing but its
own equity, and it realised its whole profit out of the pool's collateral,
taking it below zero. It then withdraws. The vault is left holding less than
the collateral it owes: an honest depositor with no position at all cannot
withdraw ('erc20: transfer amount exceeds balance'), and the pool's deficit
has no counterparty left to be deleveraged against.

Why it must fail (SPEC 6 and I3): losses beyond the fund are taken from the
profitable counterparties' unrealised profit by ADL, never from other
accounts' collateral; the vault always holds what it owes to accounts in
profit.

Fuzzer find: `TestAttacker` (tests/stateful/attacker_machine.py), randomised,
after 1,241,148 protocol calls: a 36.7% SOL round against the pool's long
(jump_then_exit), the colluder's short unwound in profit by
`lp_around_own_skew`, then `attacker_withdraw` reverting inside the token
transfer: 802,108 USD in the vault against 1,242,450 USD of the colluder's
collateral, the pool at -456,376 USD.

Fixed: an exit that realises a profit is paid by the pool, so it needs the
pool's equity to stay at or above zero after it ("Clearinghouse: pool
margin"); the keeper's ADL of the pool comes first, and the exit works after it.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.chain.revm_chain import Reverted
from backstop.units import wad
from tests.regression.helpers import ETH, deleverage, deploy, events, move_price, require, reverts_with, trade

SHORT, BYSTANDER, KEEPER = actor("regression bank-run short"), actor("regression bystander"), actor("regression keeper")


def _bankrupt_pool(decimals):
    p = deploy(decimals, pool_usd=100_000)
    p.fund_trader(SHORT, 100_000)
    trade(p, SHORT, ETH, -400)  # the pool long 400 ETH (800,000 USD), within its 10% initial margin
    p.fund_trader(BYSTANDER, 50_000)  # collateral only, no position
    move_price(p, ETH, 1_200)
    pool = p.pool.address
    require(p.lens.equity(pool) < -wad(100_000), f"pool equity {p.lens.equity(pool) / 1e18:,.0f} USD")
    return p


def _vault_wad(p) -> int:
    return p.token.balanceOf(p.vault.address) * p.vault.SCALE()


@pytest.mark.parametrize("decimals", [6, 18])
def test_exit_in_profit__against_a_bankrupt_pool__waits_for_its_adl(decimals):
    p = _bankrupt_pool(decimals)
    profit = p.lens.unrealized_pnl(SHORT, ETH)
    require(profit > wad(300_000), f"short's profit {profit / 1e18:,.0f} USD")

    assert reverts_with(p, SHORT, "pool margin", p.engine.trade, ETH, wad(400), 0), \
        "a short in profit exited against a pool below zero before its ADL"

    # The keeper deleverages the pool against the short: the short loses at most its profit.
    equity_before = p.lens.equity(SHORT)
    deleverage(p, KEEPER, p.pool.address, ETH, [SHORT])
    require(events(p, "Deleverage"), "no ADL fill")
    loss = equity_before - p.lens.equity(SHORT)
    assert 0 < loss <= profit, f"ADL charged {loss / 1e18:,.2f} USD on {profit / 1e18:,.2f} of profit"
    assert p.lens.equity(p.pool.address) >= 0

    # Then everyone is paid: the short exits what is left and withdraws, the bystander withdraws all.
    size = p.engine.position(SHORT, ETH).size
    if size:
        trade(p, SHORT, ETH, -size / 10**18)
    for account in (SHORT, BYSTANDER):
        amount = p.vault.collateral(account) // p.vault.SCALE()
        with p.env.prank(account):
            p.engine.withdraw(amount)
    assert p.token.balanceOf(BYSTANDER) * p.vault.SCALE() == wad(50_000)


@pytest.mark.parametrize("decimals", [6, 18])
def test_bank_run_on_a_bankrupt_pool__leaves_the_vault_short_of_no_depositor(decimals):
    # The attack as the fuzzer played it: exit in profit, withdraw, then a bystander withdraws.
    p = _bankrupt_pool(decimals)
    try:
        trade(p, SHORT, ETH, 400)
        with p.env.prank(SHORT):
            p.engine.withdraw(p.vault.collateral(SHORT) // p.vault.SCALE())
    except Reverted:
        pass  # the fix: the exit waits for the pool's ADL
    owed = p.vault.collateral(BYSTANDER)
    assert _vault_wad(p) >= owed + p.vault.collateral(SHORT), (
        f"vault holds {_vault_wad(p) / 1e18:,.2f} USD, owes the bystander {owed / 1e18:,.2f} USD and the short "
        f"{p.vault.collateral(SHORT) / 1e18:,.2f} USD"
    )
    with p.env.prank(BYSTANDER):
        p.engine.withdraw(owed // p.vault.SCALE())
