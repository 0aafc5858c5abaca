"""The liquidation map (what traders call a liquidation heatmap): per market,
the USD of positions that become liquidatable at each price level below and
above the mark, from the lens's liquidation prices.

`liquidation_map(p, accounts, market)` reads the accounts' positions and
liquidation prices (the lens's `positions` and `liquidation_prices`, other
marks fixed) and puts each open position's notional at its liquidation price,
|size| x liquidation price, into the bin holding that price. The bins split
[mark x (1 - span), mark x (1 + span)] into `bins` equal steps. Longs (their
liquidation price below the mark: liquidated as the price falls) and shorts
(above it) are separate columns. Each bin is half-open away from the mark,
(low, high] for longs and [low, high) for shorts, so a bin's *level*, its low
edge for longs and its high edge for shorts, is a price at which every
position in it is liquidatable: a price falling to a long bin's level (or
rising to a short bin's) has crossed the liquidation price of each of them.
The cumulative columns add the bins from the mark out to each level.

Off the map, counted apart: positions already liquidatable at the mark (a
long whose liquidation price is at or above it, a short's at or below),
positions whose liquidation price lies outside the span, and longs that no
positive price liquidates (liquidation price 0). Their USD is the notional at
the liquidation price for those outside the span, and at the mark for the
other two (no liquidation price ahead of them applies).

Amounts are exact WAD integers; `to_dict()` alone gives floats in USD. The
pool is not a trader (the waterfall deleverages it, nobody liquidates it):
leave it out of `accounts`.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from backstop.checks.invariants import LENS_BATCH
from backstop.units import WAD

# dev: accounts per `liquidation_prices` call: ~20,000 gas each for an account in
#      one market (measured on revm), more per further market; a quarter of the
#      lens's MAX_BATCH keeps a call well inside a node's eth_call gas cap (30M on anvil).
PRICE_BATCH = LENS_BATCH // 4

LONG, SHORT = "long", "short"


@dataclass
class Tally:
    """A count of positions and their USD (WAD)."""

    positions: int = 0
    usd_wad: int = 0

    def add(self, usd_wad: int):
        self.positions += 1
        self.usd_wad += usd_wad

    def to_dict(self) -> dict:
        return {"positions": self.positions, "usd": self.usd_wad / WAD}


@dataclass(frozen=True)
class Entry:
    """One open position as the map placed it. `place`: "bin" (then `bin` is
    its index), "already", "below", "above" or "never"."""

    account: str
    size: int
    liquidation_price: int
    usd_wad: int
    place: str
    bin: int | None = None

    @property
    def side(self) -> str:
        return LONG if self.size > 0 else SHORT


@dataclass
class LiquidationMap:
    market: int
    name: str
    mark: int  # WAD
    span: Decimal
    edges: list[int]  # bins + 1 prices (WAD), ascending
    accounts: int  # accounts read
    long_usd_wad: list[int] = field(default_factory=list)  # per bin
    short_usd_wad: list[int] = field(default_factory=list)
    long_positions: list[int] = field(default_factory=list)
    short_positions: list[int] = field(default_factory=list)
    already_long: Tally = field(default_factory=Tally)
    already_short: Tally = field(default_factory=Tally)
    below_span: Tally = field(default_factory=Tally)  # longs
    above_span: Tally = field(default_factory=Tally)  # shorts
    never: Tally = field(default_factory=Tally)  # longs with liquidation price 0
    entries: list[Entry] = field(default_factory=list)
    # A caller's name for the map ("at the start", "at the low"): the plot's panel title.
    label: str = ""

    @property
    def bins(self) -> int:
        return len(self.edges) - 1

    def long_level(self, i: int) -> int:
        """The price (WAD) at which every long in bin `i` is liquidatable: its low edge."""
        return self.edges[i]

    def short_level(self, i: int) -> int:
        """The price (WAD) at which every short in bin `i` is liquidatable: its high edge."""
        return self.edges[i + 1]

    @property
    def long_cumulative_wad(self) -> list[int]:
        """Per bin: USD of the longs liquidated if the price falls to its level (bins from the mark down to it)."""
        out, total = [0] * self.bins, 0
        for i in reversed(range(self.bins)):
            total += self.long_usd_wad[i]
            out[i] = total
        return out

    @property
    def short_cumulative_wad(self) -> list[int]:
        """Per bin: USD of the shorts liquidated if the price rises to its level (bins from the mark up to it)."""
        out, total = [0] * self.bins, 0
        for i in range(self.bins):
            total += self.short_usd_wad[i]
            out[i] = total
        return out

    @property
    def open_positions(self) -> int:
        return len(self.entries)

    @property
    def long_total_wad(self) -> int:
        """USD of every long on the map (liquidated by a fall to the span's low)."""
        return sum(self.long_usd_wad)

    @property
    def short_total_wad(self) -> int:
        """USD of every short on the map (liquidated by a rise to the span's high)."""
        return sum(self.short_usd_wad)

    def to_dict(self) -> dict:
        """JSON-clean: USD and prices as floats, counts as ints; levels ascending by price."""
        longs_cum, shorts_cum = self.long_cumulative_wad, self.short_cumulative_wad
        return {
            "market": self.market,
            "name": self.name,
            "label": self.label,
            "mark_usd": self.mark / WAD,
            "span": float(self.span),
            "bins": self.bins,
            "accounts": self.accounts,
            "open_positions": self.open_positions,
            "levels": [
                {
                    "low_usd": self.edges[i] / WAD,
                    "high_usd": self.edges[i + 1] / WAD,
                    "long_usd": self.long_usd_wad[i] / WAD,
                    "long_positions": self.long_positions[i],
                    "long_cumulative_usd": longs_cum[i] / WAD,
                    "short_usd": self.short_usd_wad[i] / WAD,
                    "short_positions": self.short_positions[i],
                    "short_cumulative_usd": shorts_cum[i] / WAD,
                }
                for i in range(self.bins)
            ],
            "long_total_usd": self.long_total_wad / WAD,
            "short_total_usd": self.short_total_wad / WAD,
            "already_liquidatable": {LONG: self.already_long.to_dict(), SHORT: self.already_short.to_dict()},
            "outside_span": {"below": self.below_span.to_dict(), "above": self.above_span.to_dict()},
            "never_liquidated": self.never.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LiquidationMap":
        """A map back from `to_dict()` (a report's), for plotting: the USD are
        floats there, so the WAD figures are rounded; no entries."""
        def w(usd):
            return round(usd * WAD)

        def tally(t):
            return Tally(t["positions"], w(t["usd"]))

        levels = d["levels"]
        return cls(
            market=d["market"], name=d["name"], mark=w(d["mark_usd"]), span=Decimal(str(d["span"])),
            edges=[w(lv["low_usd"]) for lv in levels] + [w(levels[-1]["high_usd"])], accounts=d["accounts"],
            long_usd_wad=[w(lv["long_usd"]) for lv in levels], short_usd_wad=[w(lv["short_usd"]) for lv in levels],
            long_positions=[lv["long_positions"] for lv in levels],
            short_positions=[lv["short_positions"] for lv in levels],
            already_long=tally(d["already_liquidatable"][LONG]), already_short=tally(d["already_liquidatable"][SHORT]),
            below_span=tally(d["outside_span"]["below"]), above_span=tally(d["outside_span"]["above"]),
            never=tally(d["never_liquidated"]), label=d["label"])

    def format_text(self) -> str:
        """A terminal table, highest price first: the short levels above the
        mark, the mark, the long levels below it; only levels with positions."""
        step = (self.edges[-1] - self.edges[0]) / self.bins / WAD
        head = (f"{self.name}{f' ({self.label})' if self.label else ''}: mark {_money(self.mark)}, "
                f"±{self.span:.0%} in {self.bins} bins of {step:,.2f} USD; {self.open_positions} open positions "
                f"of {self.accounts} accounts")
        columns = f"{'price':>14} {'long USD':>16} {'cumulative':>16} {'short USD':>16} {'cumulative':>16}"
        lines = [head, columns, "-" * len(columns)]
        shorts_cum, longs_cum = self.short_cumulative_wad, self.long_cumulative_wad
        for i in reversed(range(self.bins)):
            if self.short_usd_wad[i]:
                lines.append(f"{_money(self.short_level(i)):>14} {'':>16} {'':>16} "
                             f"{_money(self.short_usd_wad[i]):>16} {_money(shorts_cum[i]):>16}")
        lines.append(f"{_money(self.mark):>14}  <- mark")
        for i in reversed(range(self.bins)):
            if self.long_usd_wad[i]:
                lines.append(f"{_money(self.long_level(i)):>14} {_money(self.long_usd_wad[i]):>16} "
                             f"{_money(longs_cum[i]):>16}")
        lines += [
            f"on the map: longs {_money(self.long_total_wad)} USD down to {_money(self.edges[0])}, "
            f"shorts {_money(self.short_total_wad)} USD up to {_money(self.edges[-1])}",
            f"already liquidatable at the mark: {_tally(self.already_long, 'long')}, "
            f"{_tally(self.already_short, 'short')}",
            f"outside the span: {_tally(self.below_span, 'long')} below {_money(self.edges[0])}, "
            f"{_tally(self.above_span, 'short')} above {_money(self.edges[-1])}",
            f"no positive price liquidates: {_tally(self.never, 'long')}",
        ]
        return "\n".join(lines)


def _money(value_wad: int) -> str:
    # dev: exact to the cent (rounded half even), never through a binary float.
    return f"{Decimal(value_wad) / WAD:,.2f}"


def _tally(t: Tally, side: str) -> str:
    return f"{t.positions} {side}{'' if t.positions == 1 else 's'} ({_money(t.usd_wad)} USD)"


def _notional(size: int, price: int) -> int:
    # dev: rounded up, as the engine rounds a notional (|s| x P).
    return -(-abs(size) * price // WAD)


def _span(span) -> Decimal:
    value = Decimal(str(span))
    if not value.is_finite() or not 0 < value < 1:
        raise ValueError(f"span must be above 0 and below 1, got {span}")
    return value


def liquidation_map(p, accounts, market: int, span=0.5, bins: int = 40) -> LiquidationMap:
    """`market`'s liquidation map over `accounts` on the protocol handle `p`
    (any chain: `p.lens`, `p.oracle`, `p.params`). Reads the oracle's price
    (strict: a failing feed raises its revert), the accounts' positions and
    their liquidation prices."""
    span = _span(span)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a whole number of at least 1, got {bins!r}")
    accounts = list(dict.fromkeys(str(a) for a in accounts))
    mark = p.oracle.price(market)
    # dev: the span as an exact fraction of the mark (a float span is read by its decimal text).
    numerator, denominator = span.as_integer_ratio()
    offset = mark * numerator // denominator
    low, high = mark - offset, mark + offset
    edges = [low + (high - low) * i // bins for i in range(bins + 1)]
    m = LiquidationMap(market=market, name=p.params.markets[market].name, mark=mark, span=span, edges=edges,
                       accounts=len(accounts), long_usd_wad=[0] * bins, short_usd_wad=[0] * bins,
                       long_positions=[0] * bins, short_positions=[0] * bins)
    positions = []
    for start in range(0, len(accounts), LENS_BATCH):
        positions += p.lens.positions(accounts[start : start + LENS_BATCH], market)
    held = [(a, pos.size) for a, pos in zip(accounts, positions, strict=True) if pos.size != 0]
    prices = []
    for start in range(0, len(held), PRICE_BATCH):
        prices += p.lens.liquidation_prices([a for a, _ in held[start : start + PRICE_BATCH]], market)
    for (account, size), price in zip(held, prices, strict=True):
        m.entries.append(_place(m, account, size, price))
    return m


def _place(m: LiquidationMap, account: str, size: int, price: int) -> Entry:
    low, high = m.edges[0], m.edges[-1]
    if size > 0:
        if price == 0:
            m.never.add(usd := _notional(size, m.mark))
            return Entry(account, size, price, usd, "never")
        if price >= m.mark:
            m.already_long.add(usd := _notional(size, m.mark))
            return Entry(account, size, price, usd, "already")
        usd = _notional(size, price)
        if price < low:
            m.below_span.add(usd)
            return Entry(account, size, price, usd, "below")
        # dev: (low, high] per bin; a price exactly at the span's low joins the lowest bin.
        i = max(0, bisect_left(m.edges, price) - 1)
        m.long_usd_wad[i] += usd
        m.long_positions[i] += 1
        return Entry(account, size, price, usd, "bin", i)
    if price <= m.mark:
        m.already_short.add(usd := _notional(size, m.mark))
        return Entry(account, size, price, usd, "already")
    usd = _notional(size, price)
    if price > high:
        m.above_span.add(usd)
        return Entry(account, size, price, usd, "above")
    # dev: [low, high) per bin; a price exactly at the span's high joins the highest bin.
    i = min(m.bins - 1, bisect_right(m.edges, price) - 1)
    m.short_usd_wad[i] += usd
    m.short_positions[i] += 1
    return Entry(account, size, price, usd, "bin", i)


LONG_COLOUR, SHORT_COLOUR = "tab:green", "tab:red"


def liquidation_maps_figure(maps: list[LiquidationMap], title: str):
    """The figure `plot_liquidation_maps` writes (the simulator's report plots draw it too)."""
    import matplotlib.pyplot as plt

    from backstop.sim.plots import DPI, FIGSIZE, USD

    fig, axes = plt.subplots(1, len(maps), figsize=(max(FIGSIZE[0], 5 * len(maps)), FIGSIZE[1]), dpi=DPI,
                             layout="constrained", squeeze=False)
    fig.suptitle(title)
    for ax, m in zip(axes[0], maps, strict=True):
        _panel(ax, m, USD)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2)
    return fig


def plot_liquidation_maps(maps: list[LiquidationMap], path, title: str) -> Path:
    """Write a PNG at `path`: one panel per map side by side (markets, or one
    market "at the start" and "at the low"), each with its USD per price
    level as horizontal bars (longs below the mark, shorts above, in two
    colours), the cumulative USD from the mark out to each level as a line,
    the mark as a line, and the positions off the map under the axis."""
    if not maps:
        raise ValueError("plot_liquidation_maps: no maps to plot")
    # dev: plots.py selects the Agg backend on import; only a plot needs matplotlib.
    import matplotlib.pyplot as plt

    from backstop.sim.plots import _save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.style.context("default"):
        return _save(liquidation_maps_figure(maps, title), path)


def _panel(ax, m: LiquidationMap, usd_formatter):
    edges = [e / WAD for e in m.edges]
    height = edges[1] - edges[0]
    lows = edges[:-1]
    ax.barh(lows, [v / WAD for v in m.long_usd_wad], height=height, align="edge", color=LONG_COLOUR, alpha=0.6,
            label="longs, liquidated as the price falls to the bar")
    ax.barh(lows, [v / WAD for v in m.short_usd_wad], height=height, align="edge", color=SHORT_COLOUR, alpha=0.6,
            label="shorts, liquidated as the price rises to the bar")
    # dev: the cumulative USD from the mark out to each level, on the bars' own
    #      axis (a second scale for it was misread): longs only below the mark, shorts above.
    mark = m.mark / WAD
    long_cum = [v / WAD if edges[i] < mark else 0 for i, v in enumerate(m.long_cumulative_wad)]
    short_cum = [v / WAD if edges[i + 1] > mark else 0 for i, v in enumerate(m.short_cumulative_wad)]
    ax.stairs(long_cum, edges, orientation="horizontal", baseline=None, color=LONG_COLOUR, linewidth=1.5,
              label="cumulative from the mark (longs, shorts)")
    ax.stairs(short_cum, edges, orientation="horizontal", baseline=None, color=SHORT_COLOUR, linewidth=1.5)
    ax.axhline(mark, color="black", linewidth=1.5, label="mark")
    ax.xaxis.set_major_formatter(usd_formatter)
    ax.set_xlim(left=0)
    if not (m.long_total_wad or m.short_total_wad):
        ax.set_xlim(right=1)
        ax.text(0.5, 0.75, "no position's liquidation price in the span" if m.entries else "no open positions",
                transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_ylim(edges[0], edges[-1])
    ax.yaxis.set_major_formatter(usd_formatter)
    ax.set_ylabel("price (USD)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(f"{m.label + ': ' if m.label else ''}{m.name} at {mark:,.2f}", fontsize="medium")
    # dev: what the bars cannot show, under the axis where no bar reaches it.
    ax.set_xlabel("\n".join([
        "USD notional at the liquidation price",
        f"already liquidatable: {_tally(m.already_long, 'long')}, {_tally(m.already_short, 'short')}",
        f"outside the span: {_tally(m.below_span, 'long')} below, {_tally(m.above_span, 'short')} above",
        f"never liquidated: {_tally(m.never, 'long')}",
    ]), fontsize="x-small")
