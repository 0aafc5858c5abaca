"""Protocol invariants from SPEC section 8, asserted by unit, integration and
stateful tests alike. Each takes the protocol and the accounts the test knows
(traders; the pool and fund are added here)."""

from backstop.units import WAD


def _floor_div(a: int, b: int) -> int:
    return a // b  # Python's // already floors


def all_accounts(p, accounts) -> list:
    return list(dict.fromkeys([*accounts, p.pool.address, p.fund]))


def assert_custody(p, accounts):
    """I1: the vault's tokens (in WAD) equal the sum of every collateral balance."""
    held = p.token.balanceOf(p.vault.address) * p.vault.SCALE()
    total = p.vault.total_collateral()
    assert held == total, f"I1: vault holds {held}, ledger says {total}"
    ledger = sum(p.vault.collateral(a) for a in all_accounts(p, accounts))
    assert ledger == total, f"I1: known accounts sum to {ledger}, total_collateral is {total}"


def assert_zero_sum(p, accounts):
    """I2: per market, sizes sum to zero (the pool holds -skew) and unrealised PnL
    sums to zero up to one wei of flooring per position."""
    everyone = all_accounts(p, accounts)
    for m in range(p.engine.market_count()):
        positions = [p.engine.position(a, m) for a in everyone]
        assert sum(pos.size for pos in positions) == 0, f"I2: market {m} sizes do not sum to zero"
        assert sum(pos.cost for pos in positions) == 0, f"I2: market {m} cost bases do not sum to zero"
        skew = p.engine.market_state(m).skew
        assert skew == -p.engine.position(p.pool.address, m).size
        price = p.oracle.last(m).price
        upnl = sum(_floor_div(pos.size * price, WAD) - pos.cost for pos in positions)
        open_positions = sum(1 for pos in positions if pos.size != 0)
        assert -open_positions <= upnl <= 0, f"I2: market {m} unrealised PnL sums to {upnl}"


def assert_invariants(p, accounts):
    assert_custody(p, accounts)
    assert_zero_sum(p, accounts)
