"""Protocol invariants from SPEC section 8, computed from the chain.

One implementation for every caller: tests assert that each list is empty,
the demo and the simulator print them. `p` is anything with the protocol's
contracts as attributes (`harness.Protocol`, `deployment.Deployment`) and
`accounts` the traders the caller knows; the pool and the fund are added here.
I2 only holds when `accounts` contains every trader with a position.
"""

from backstop.keeper.logic import held_by_stable_mark
from backstop.units import WAD

LENS_BATCH = 1000  # the lens's MAX_BATCH


def everyone(p, accounts) -> list:
    return list(dict.fromkeys([*accounts, p.pool.address, p.fund]))


def batched(view, accounts, *args) -> list:
    """A lens batch view over any number of accounts, a thousand to a call
    (on a node, one call per account would dominate a simulation step)."""
    out = []
    for start in range(0, len(accounts), LENS_BATCH):
        out += view(accounts[start : start + LENS_BATCH], *args)
    return out


def _collaterals(p, accounts) -> list:
    # dev: the lens reads its engine's vault; a vault it does not read (the
    #      vault tests' standalone ones) is asked account by account.
    lens = getattr(p, "lens", None)
    if lens is not None and str(lens.VAULT()) == str(p.vault.address):
        return batched(lens.collaterals, accounts)
    return [p.vault.collateral(a) for a in accounts]


def custody_violations(p, accounts) -> list[str]:
    """I1: the vault's tokens (in WAD) cover the sum of every collateral balance:
    exactly, or with a surplus in the protocol's favour (tokens sent to the vault
    without a deposit). The ledger total must be the sum of the balances."""
    held = p.token.balanceOf(p.vault.address) * p.vault.SCALE()
    total = p.vault.total_collateral()
    out = []
    if held < total:
        out.append(f"vault holds {held}, less than the ledger total {total}")
    ledger = sum(_collaterals(p, everyone(p, accounts)))
    if ledger != total:
        out.append(f"known accounts sum to {ledger}, ledger total is {total}")
    return out


def zero_sum_violations(p, accounts) -> list[str]:
    """I2: per market, sizes and cost bases sum to zero (the pool holds the mirror),
    and unrealised PnL sums to zero up to one wei of flooring per open position."""
    out = []
    accounts = everyone(p, accounts)
    for m in range(p.engine.market_count()):
        positions = batched(p.lens.positions, accounts, m)
        sizes = sum(pos.size for pos in positions)
        costs = sum(pos.cost for pos in positions)
        if sizes:
            out.append(f"market {m}: sizes sum to {sizes}")
        if costs:
            out.append(f"market {m}: cost bases sum to {costs}")
        price = p.oracle.last(m).price
        upnl = sum(pos.size * price // WAD - pos.cost for pos in positions)
        open_positions = sum(1 for pos in positions if pos.size != 0)
        if not -open_positions <= upnl <= 0:
            out.append(f"market {m}: unrealised PnL sums to {upnl} wei")
    return out


def _equities(p, accounts) -> dict:
    # dev: the lens's batch view: last good prices where a feed fails, never reverts.
    accounts = everyone(p, accounts)
    return {a: h.equity for a, h in zip(accounts, batched(p.lens.health, accounts))}


def solvency_violations(p, accounts, equities: dict | None = None, pending: frozenset = frozenset()) -> list[str]:
    """I3: the vault's tokens (in WAD) cover the sum of every positive equity.

    Sum of equity = ledger total + sum of unrealised PnL, and the PnL sums to at
    most 0 (I2), so I3 holds exactly while no account is below zero; an
    underwater account not yet liquidated is a deficit of exactly its negative
    equity. So I3, like I4, is asserted once the keeper has processed every
    liquidatable account, and the deficits of the `pending` accounts (those a
    stable mark holds) are counted as the shortfall they are, not hidden."""
    equities = equities or _equities(p, accounts)
    vault = p.token.balanceOf(p.vault.address) * p.vault.SCALE()
    owed = sum(max(0, e) for e in equities.values())
    excused = sum(max(0, -equities[a]) for a in pending if a in equities)
    if vault + excused >= owed:
        return []
    return [f"vault holds {vault}, positive equity sums to {owed} ({owed - vault} short"
            + (f", {excused} of it held accounts' deficits)" if excused else ")")]


def held(health) -> bool:
    """Liquidatable at the oracle's prices but held by the stable mark
    (backstop.keeper.logic.held_by_stable_mark). Such an account may be below
    zero until its stable mark follows the price (within the market's stable
    window): I3 counts its deficit and I4 waits for it, as for an account left
    to liquidate, while every other account is checked as usual."""
    return held_by_stable_mark(health)


def bad_debt_violations(p, accounts, equities: dict | None = None, pending: frozenset = frozenset()) -> list[str]:
    """I4: once every liquidatable account has been processed, no account has
    equity below zero but those a stable mark holds (`pending`); and the
    insurance fund's balance is never negative (SPEC 7)."""
    out = [f"{a}: equity {e}" for a, e in (equities or _equities(p, accounts)).items() if e < 0 and a not in pending]
    if (fund := p.vault.collateral(p.fund)) < 0:
        out.append(f"insurance fund balance {fund}")
    return out


MAX_MARKETS = 16  # the contracts' MAX_MARKETS


def book(p, accounts) -> dict:
    """The lens's `book` totals over `accounts` (a thousand to a call, summed):
    collateral, positive equity, accounts below zero and per market sizes,
    costs, unrealised PnL at the oracle's last prices, open positions and the
    long and short sizes."""
    n = p.engine.market_count()
    marks = [p.oracle.last(m).price for m in range(n)] + [0] * (MAX_MARKETS - n)
    total = {"collateral": 0, "positive_equity": 0, "below_zero": 0, "lowest_equity": 0,
             "sizes": [0] * n, "costs": [0] * n, "upnl": [0] * n, "open_positions": [0] * n, "longs": [0] * n,
             "shorts": [0] * n}
    for start in range(0, len(accounts), LENS_BATCH):
        b = p.lens.book(accounts[start : start + LENS_BATCH], marks)
        for key in ("collateral", "positive_equity", "below_zero"):
            total[key] += getattr(b, key)
        total["lowest_equity"] = min(total["lowest_equity"], b.lowest_equity)
        for key in ("sizes", "costs", "upnl", "open_positions", "longs", "shorts"):
            total[key] = [x + y for x, y in zip(total[key], getattr(b, key)[:n])]
    return total


def check(p, accounts, settled: bool = True, totals: dict | None = None,
          pending: frozenset = frozenset()) -> list[tuple[str, list[str]]]:
    """Every invariant that holds now: (name, violations) pairs. `settled`: the
    keeper has processed every liquidatable account, so I3 and I4 apply too,
    with the `pending` accounts (those a stable mark holds) excused from I4
    and their deficits counted in I3.

    One `book` read decides them all (a few words to decode, not every
    account's rows); an invariant it shows broken is asked again account by
    account, for the same messages as the functions above. `totals`: a
    `book` of `everyone(p, accounts)` the caller read at this state."""
    b = totals or book(p, everyone(p, accounts))
    held = p.token.balanceOf(p.vault.address) * p.vault.SCALE()
    total = p.vault.total_collateral()
    custody_ok = held >= total and b["collateral"] == total
    zero_sum_ok = not any(b["sizes"]) and not any(b["costs"]) and all(
        -opened <= upnl <= 0 for upnl, opened in zip(b["upnl"], b["open_positions"]))
    out = [("I1 custody", [] if custody_ok else custody_violations(p, accounts)),
           ("I2 zero-sum", [] if zero_sum_ok else zero_sum_violations(p, accounts))]
    if settled:
        solvent = held >= b["positive_equity"]
        no_bad_debt = b["below_zero"] == 0 and p.vault.collateral(p.fund) >= 0
        equities = None if solvent and no_bad_debt else _equities(p, accounts)
        out += [("I3 solvency", [] if solvent else solvency_violations(p, accounts, equities, pending)),
                ("I4 no hidden bad debt", [] if no_bad_debt else bad_debt_violations(p, accounts, equities, pending))]
    return out
