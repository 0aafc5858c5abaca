"""Margin report: each trader's margin state, every open position, the pool and
the insurance fund, and the invariant checks (I1-I4), as fixed-width text.

Shared by `ape run demo` and the crash simulator. It reads the chain through the
contract views only, so it works on anything shaped like
`backstop.protocol.deployment.Deployment` (ape instances) or `backstop.protocol.harness.Protocol`
(titanoboa): attributes token, vault, oracle, engine, pool, fund and a list of
market names. All figures are WAD on chain and shown as USD with 2 decimals.
"""

from dataclasses import dataclass
from decimal import Decimal

from backstop.checks import invariants
from backstop.units import WAD

# Clearinghouse.MAX_HEALTH_BATCH: most accounts one `health` call takes.
HEALTH_BATCH = 1000


@dataclass
class AccountRow:
    """One account's margin state (WAD figures, as the views return them)."""

    label: str
    collateral: int
    equity: int
    notional: int
    initial_req: int
    maintenance_req: int
    free_collateral: int
    liquidatable: bool

    @property
    def margin_ratio(self) -> int | None:
        """equity / notional (WAD), as Clearinghouse.margin_ratio; None without a position."""
        if self.notional == 0:
            return None
        # dev: Vyper's `//` truncates toward zero; so does int() of a true division here.
        return int(Decimal(self.equity) * WAD / self.notional)


@dataclass
class PositionRow:
    label: str
    market: str
    size: int
    entry: int
    mark: int
    upnl: int
    liquidation_price: int | None  # None: the view reverted (a failing feed)


def usd(x: int | None, width: int = 0) -> str:
    """A WAD amount as USD with thousands separators and 2 decimals (Decimal: exact for any size)."""
    text = "n/a" if x is None else f"{Decimal(x) / WAD:,.2f}"
    return text.rjust(width)


def pct(x: int | None, width: int = 0) -> str:
    """A WAD fraction as a percentage; '-' when undefined (no position)."""
    text = "-" if x is None else f"{Decimal(x) / WAD:.2%}"
    return text.rjust(width)


def _liq(x: int | None, width: int) -> str:
    """A liquidation price: 0 means no positive price gets there (shown '-'), None a failing view."""
    return "-".rjust(width) if x == 0 else usd(x, width)


def market_names(p) -> list:
    """Market names by id, from a Deployment (params) or a harness Protocol (markets)."""
    if hasattr(p, "params"):
        return [m.name for m in p.params.markets]
    return [m.name for m in p.markets]


def _try(view, *args):
    """A view's answer, or None when it reverts (e.g. a feed failing its checks)."""
    try:
        return view(*args)
    except Exception:  # ape raises ContractLogicError, titanoboa BoaError: both mean "reverted"
        return None


def account_rows(p, accounts: dict) -> list:
    """Margin state of each `label -> address`: batch `health` calls plus two views each."""
    addresses = list(accounts.values())
    health = [h for i in range(0, len(addresses), HEALTH_BATCH) for h in p.lens.health(addresses[i:i + HEALTH_BATCH])]
    rows = []
    for (label, address), h in zip(accounts.items(), health):
        rows.append(AccountRow(
            label=label,
            collateral=p.vault.collateral(address),
            equity=h.equity,
            notional=h.notional,
            initial_req=h.initial_req,
            maintenance_req=h.maintenance_req,
            free_collateral=_try(p.lens.free_collateral, address),
            liquidatable=h.liquidatable,
        ))
    return rows


def position_rows(p, accounts: dict) -> list:
    """Every open position of the given accounts, with its mark, PnL and liquidation price."""
    names = market_names(p)
    marks = [p.oracle.try_price(m)[0] for m in range(len(names))]
    rows = []
    for label, address in accounts.items():
        for m, name in enumerate(names):
            size, cost = p.engine.position(address, m)
            if size == 0:
                continue
            rows.append(PositionRow(
                label=label,
                market=name,
                size=size,
                entry=abs(cost) * WAD // abs(size),
                mark=marks[m],
                upnl=size * marks[m] // WAD - cost,  # floors, like the contract
                liquidation_price=_try(p.lens.liquidation_price, address, m),
            ))
    return rows


def format_accounts(rows: list) -> str:
    header = (f"{'account':<12}{'collateral':>14}{'equity':>14}{'notional':>14}{'margin':>9}"
              f"{'initial req':>13}{'maint. req':>13}{'free coll.':>14}{'liq?':>6}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.label:<12}{usd(r.collateral, 14)}{usd(r.equity, 14)}{usd(r.notional, 14)}{pct(r.margin_ratio, 9)}"
            f"{usd(r.initial_req, 13)}{usd(r.maintenance_req, 13)}{usd(r.free_collateral, 14)}"
            f"{'YES' if r.liquidatable else 'no':>6}"
        )
    return "\n".join(lines)


def format_positions(rows: list) -> str:
    header = (f"{'account':<12}{'market':<12}{'size':>14}{'entry':>14}{'mark':>14}"
              f"{'unrealised':>14}{'liq. price':>14}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.label:<12}{r.market:<12}{Decimal(r.size) / WAD:>14,.4f}{usd(r.entry, 14)}{usd(r.mark, 14)}"
            f"{usd(r.upnl, 14)}{_liq(r.liquidation_price, 14)}"
        )
    return "\n".join(lines)


def format_system(p) -> str:
    """The pool's equity and share price, and the insurance fund's balance."""
    share_unit = 10 ** p.pool.decimals()
    # dev: assets per whole share, in token units -> USD.
    share_price = Decimal(p.pool.convertToAssets(share_unit)) / 10 ** p.token.decimals()
    return "\n".join([
        f"{'pool equity':<24}{usd(p.lens.equity(p.pool.address), 16)} USD",
        f"{'pool share price':<24}{share_price:>16,.6f} USD",
        f"{'insurance fund':<24}{usd(p.vault.collateral(p.fund), 16)} USD",
    ])


def format_checks(checks: list) -> str:
    return "\n".join(f"{name}: ok" if not bad else f"{name}: FAILED ({'; '.join(bad)})" for name, bad in checks)


def report(p, accounts: dict, title: str, settled: bool = True) -> tuple:
    """The whole report as text, and whether every invariant held. `settled`:
    no liquidatable account is waiting for the keeper, so I3 and I4 apply."""
    names = market_names(p)
    prices = "  ".join(f"{n} {usd(p.oracle.try_price(m)[0])}" for m, n in enumerate(names))
    everyone = {**accounts, "pool": p.pool.address}
    checks = invariants.check(p, list(accounts.values()), settled)
    text = "\n\n".join([
        f"=== {title} ===\n{prices}",
        format_accounts(account_rows(p, accounts)),
        format_positions(position_rows(p, everyone)),
        format_system(p),
        format_checks(checks),
    ])
    return text, not any(bad for _, bad in checks)
