"""PNG plots of a crash-simulation report (the dict the simulator writes) and
of a parameter sweep over such runs.

`plot_report` writes one file per figure into `out_dir` (names fixed, see
REPORT_FILES); `plot_sweep` writes `sweep.png`. Figures are 1000x600 px. The
same input gives byte-identical files: matplotlib's default style is used
whatever the machine's matplotlibrc says, and the PNGs carry no metadata (no
"Software" version string; Agg writes no timestamp).
"""

from itertools import accumulate
from pathlib import Path

import matplotlib

# dev: select the file-only backend before pyplot is imported, so plotting works
#      on a headless CI runner and never opens a window.
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

FIGSIZE = (10, 6)  # inches, at DPI: 1000x600 px
DPI = 100

# Order and colours of the margin buckets (backstop.sim.simulator.BUCKETS), worst at
# the bottom of the stack, so the accounts liquidatable sit under the maintenance line.
BUCKETS = ["underwater", "below maintenance", "maintenance to initial", "initial to 2x initial",
           "2x to 5x initial", "5x initial and up", "flat by liquidation or ADL", "flat"]
BUCKET_COLOURS = ["#7f0000", "#d7301f", "#fc8d59", "#fee08b", "#91cf60", "#1a9850", "#6a51a3", "#bdbdbd"]
AT_RISK = 2  # the first two buckets: below the maintenance line

REPORT_FILES = [
    "price.png",
    "liquidations.png",
    "fund.png",
    "bad_debt.png",
    "adl.png",
    "open_interest.png",
    "margin_buckets.png",
    "liquidation_map.png",
]
# The sweep's statistics, one panel each (backstop.sim.sweep.METRICS).
SWEEP_OUTCOMES = [
    ("bad_debt_usd", "Bad debt (USD)"),
    ("fund_drawdown_usd", "Fund drawdown (USD)"),
    ("adl_volume_usd", "ADL volume (USD)"),
    ("accounts_liquidated", "Accounts liquidated (count)"),
    ("adl_accounts_touched", "ADL counterparties touched (count)"),
    ("adl_largest_counterparty_loss_usd", "Largest loss of one ADL counterparty (USD)"),
]


def _usd(value, _pos=None) -> str:
    # dev: compact tick labels; raw USD figures (e.g. 125000000.0) crowd the axis.
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"${value / scale:,.3g}{suffix}"
    return f"${value:,.4g}"


USD = FuncFormatter(_usd)


def _column(steps: list[dict], key: str) -> list:
    return [s[key] for s in steps]


def _from_zero(axis, values) -> None:
    # dev: amounts and counts start at zero; an all-zero series (an idle run) would
    #      otherwise get a 0..0.05 axis with fractional counts and cent ticks.
    axis.set_ylim(bottom=0)
    if not any(values):
        axis.set_ylim(top=1)


def _twin_legend(fig, handles) -> None:
    # dev: below the axes: a legend inside one of two twin axes cannot see the
    #      other axis's artists and lands on top of them.
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _new_figure(report: dict, what: str):
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax.set_title(f"{report['scenario']['name']} (seed {report['seed']}): {what}")
    ax.set_xlabel("Step")
    ax.grid(True, alpha=0.3)
    # dev: steps are whole numbers; fractional ticks would suggest sub-steps.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def _bars_and_line(report, what, bars, bar_label, bar_unit, line, line_label, line_unit):
    """Per-step bars on the left axis, a line on a twin right axis: the two
    series have different units or scales (a count vs USD, a step vs a total)."""
    fig, ax = _new_figure(report, what)
    x = _column(report["steps"], "step")
    h1 = ax.bar(x, bars, color="tab:blue", alpha=0.6, label=bar_label)
    ax.set_ylabel(f"{bar_label} ({bar_unit})")
    right = ax.twinx()
    (h2,) = right.plot(x, line, color="tab:red", linewidth=2, label=line_label)
    right.set_ylabel(f"{line_label} ({line_unit})")
    for axis, unit, values in ((ax, bar_unit, bars), (right, line_unit, line)):
        if unit == "USD":
            axis.yaxis.set_major_formatter(USD)
        else:
            axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        _from_zero(axis, values)
    _twin_legend(fig, [h1, h2])
    return fig


def _price(report):
    symbols = [a["market"] for a in report["scenario"].get("assets", [])] or [report["scenario"].get("market", "")]
    fig, ax = _new_figure(report, f"{' and '.join(symbols)} oracle price{'s' if len(symbols) > 1 else ''}".strip())
    steps = report["steps"]
    x = _column(steps, "step")
    ax.plot(x, _column(steps, "price_no_feedback"), "--", color="grey", label="Without liquidation feedback")
    ax.plot(x, _column(steps, "price"), color="tab:blue", linewidth=2, label="With liquidation feedback")
    ax.set_ylabel(f"{report['scenario'].get('market', '')} price (USD)".strip())
    ax.yaxis.set_major_formatter(USD)
    others = [a["market"] for a in report["scenario"].get("assets", [])[1:]]
    if not others:
        ax.legend(loc="best")
        return fig
    # dev: the other markets on a second axis, in their own USD (BTC's level is not ETH's)
    right = ax.twinx()
    handles = ax.get_legend_handles_labels()[0]
    for symbol, colour in zip(others, ("tab:orange", "tab:green", "tab:purple")):
        (line,) = right.plot(x, [st["prices"][symbol] for st in steps], color=colour, linewidth=1.5,
                             label=f"{symbol}, with feedback (right axis)")
        handles.append(line)
    right.set_ylabel(f"{', '.join(others)} price (USD)")
    right.yaxis.set_major_formatter(USD)
    ax.legend(handles=handles, loc="best")
    return fig


def _liquidations(report):
    steps = report["steps"]
    return _bars_and_line(
        report, "Liquidations",
        _column(steps, "liquidations"), "Liquidations per step", "count",
        _column(steps, "liquidated_notional_usd"), "Liquidated notional", "USD",
    )  # fmt: skip


def _fund(report):
    steps = report["steps"]
    fig, ax = _new_figure(report, "Insurance fund")
    x = _column(steps, "step")
    balance, draws = _column(steps, "fund_balance_usd"), _column(steps, "fund_draw_usd")
    # dev: the balance axis starts at zero: how close the fund came to empty is the point.
    (h1,) = ax.plot(x, balance, color="tab:green", linewidth=2, label="Fund balance")
    ax.set_ylabel("Fund balance (USD)")
    # dev: draws are small next to the balance; on the same axis they would vanish.
    right = ax.twinx()
    h2 = right.bar(x, draws, color="tab:red", alpha=0.5, label="Fund draw")
    right.set_ylabel("Fund draw per step (USD)")
    for axis, values in ((ax, balance), (right, draws)):
        axis.yaxis.set_major_formatter(USD)
        _from_zero(axis, values)
    _twin_legend(fig, [h1, h2])
    return fig


def _bad_debt(report):
    per_step = _column(report["steps"], "bad_debt_usd")
    return _bars_and_line(
        report, "Bad debt",
        per_step, "Bad debt per step", "USD",
        list(accumulate(per_step)), "Cumulative bad debt", "USD",
    )  # fmt: skip


def _adl(report):
    steps = report["steps"]
    return _bars_and_line(
        report, "Auto-deleveraging",
        _column(steps, "adl_fills"), "ADL fills per step", "count",
        _column(steps, "adl_volume_usd"), "ADL volume per step", "USD",
    )  # fmt: skip


def _open_interest(report):
    steps = report["steps"]
    fig, ax = _new_figure(report, "Open interest")
    x = _column(steps, "step")
    longs, shorts = _column(steps, "open_interest_long_usd"), _column(steps, "open_interest_short_usd")
    ax.plot(x, longs, color="tab:green", linewidth=2, label="Long")
    ax.plot(x, shorts, color="tab:red", linewidth=2, label="Short")
    ax.set_ylabel("Open interest (USD notional)")
    ax.yaxis.set_major_formatter(USD)
    _from_zero(ax, longs + shorts)
    ax.legend(loc="best")
    return fig


def _bucket_labels(report) -> list[str]:
    bounds = report.get("margin_bucket_bounds")
    if not bounds:
        return BUCKETS
    # dev: the thresholds as the scenario market's margin ratios (equity / notional).
    mm, im = bounds["maintenance"], bounds["initial"]
    ranges = ["equity < 0", f"< {mm:.0%}", f"{mm:.0%} to {im:.0%}", f"{im:.0%} to {2 * im:.0%}",
              f"{2 * im:.0%} to {5 * im:.0%}", f">= {5 * im:.0%}", "no position", "no position"]
    return [f"{b} ({r})" for b, r in zip(BUCKETS, ranges, strict=True)]


def _margin_buckets(report):
    steps = report["steps"]
    fig, ax = _new_figure(report, "Accounts by margin, before the keeper acts")
    x = _column(steps, "step")
    counts = [[s["margin_buckets"].get(b, 0) for s in steps] for b in BUCKETS]
    ax.stackplot(x, counts, labels=_bucket_labels(report), colors=BUCKET_COLOURS)
    # dev: the maintenance line: the accounts under it are the keeper's work this step.
    at_risk = [sum(c[i] for c in counts[:AT_RISK]) for i in range(len(x))]
    ax.plot(x, at_risk, color="black", linewidth=2, label="maintenance line (below it: liquidatable)")
    ax.set_ylabel("Accounts (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _from_zero(ax, [sum(c) for c in counts])
    # dev: legend outside the plot: the stack fills the axes and would hide it.
    ax.legend(title="Margin (ratio: equity / notional)", loc="upper left", bbox_to_anchor=(1.01, 1), reverse=True)
    return fig


def _liquidation_map(report):
    """Each market's liquidation map at the start and at the path's low, side by side."""
    from backstop.sim.liquidation_map import LiquidationMap, liquidation_maps_figure

    maps = report.get("liquidation_maps") or {}
    pairs = [LiquidationMap.from_dict(d) for start, low in zip(maps.get("start", []), maps.get("low", []))
             for d in (start, low)]
    title = f"{report['scenario']['name']} (seed {report.get('seed')}): liquidation map"
    if not pairs:
        fig, ax = _new_figure(report, "liquidation map")
        ax.text(0.5, 0.5, "no liquidation map in this report", transform=ax.transAxes, ha="center", color="grey")
        return fig
    return liquidation_maps_figure(pairs, title)


FIGURES = dict(
    zip(REPORT_FILES, [_price, _liquidations, _fund, _bad_debt, _adl, _open_interest, _margin_buckets,
                       _liquidation_map], strict=True)
)


def _save(fig, path: Path) -> Path:
    # dev: no "Software" entry (it names the matplotlib version); Agg adds no
    #      timestamp, so the bytes depend on the data alone. Close the figure so
    #      a long sweep does not accumulate them in pyplot's registry.
    try:
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def plot_report(report: dict, out_dir: Path) -> list[Path]:
    """Write the report's figures into `out_dir` (created if missing); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # dev: the library defaults, not the machine's matplotlibrc, for identical output everywhere.
    with plt.style.context("default"):
        return [_save(draw(report), out_dir / name) for name, draw in FIGURES.items()]


def plot_sweep(stats: list[dict], axis_label: str, out_dir: Path, title: str) -> Path:
    """Write `sweep.png`: per outcome, its spread over the seeds at each swept
    setting: every seed a dot, the p50 to p95 range a bar, the mean a
    diamond, the worst seed marked; settings evenly spaced in the order swept
    (a value like `infinite` has its place too). `stats` is backstop.sim.sweep's
    statistics table, one entry per setting."""
    if not stats:
        raise ValueError("plot_sweep: no settings to plot")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with plt.style.context("default"):
        return _save(sweep_figure(stats, axis_label, title), out_dir / "sweep.png")


def sweep_figure(stats: list[dict], axis_label: str, title: str):
    """The figure `plot_sweep` saves (the caller closes it)."""
    labels = [s.get("tick", s["setting_label"]) for s in stats]
    x = list(range(len(stats)))
    # dev: long or many tick labels are turned, so neighbours never overlap.
    turned = max(map(len, labels)) * len(labels) > 40
    with plt.style.context("default"):
        fig, axes = plt.subplots(3, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.5), dpi=DPI, layout="constrained")
        runs = sum(len(s["seeds"]) for s in stats)
        fig.suptitle(f"{title}: {len(stats)} settings x seeds ({runs} runs)")
        for ax, (key, label) in zip(axes.flat, SWEEP_OUTCOMES, strict=True):
            metric = [s["metrics"][key] for s in stats]
            for i, m in enumerate(metric):
                values = m["values"]
                # dev: seeds spread sideways a little so equal values stay countable.
                offsets = [(j - (len(values) - 1) / 2) * 0.04 for j in range(len(values))]
                ax.scatter([i + o for o in offsets], values, s=12, color="grey", alpha=0.7, zorder=2,
                           label="a seed" if i == 0 else None, clip_on=False)
            ax.vlines(x, [m["p50"] for m in metric], [m["p95"] for m in metric], color="tab:blue", linewidth=6,
                      alpha=0.5, zorder=1, label="p50 to p95")
            ax.scatter(x, [m["mean"] for m in metric], marker="D", color="tab:blue", zorder=3, label="mean",
                       clip_on=False)
            ax.scatter(x, [m["max"] for m in metric], marker="v", color="tab:red", zorder=3,
                       label="worst seed", clip_on=False)
            ax.set_title(label)
            ax.set_xticks(x, labels, rotation=30 if turned else 0, ha="right" if turned else "center",
                          rotation_mode="anchor", fontsize="small")
            ax.set_xlim(-0.5, len(x) - 0.5)
            ax.set_xlabel(axis_label)
            ax.grid(True, axis="y", alpha=0.3)
            _from_zero(ax, [v for m in metric for v in m["values"]])
            if key.endswith("_usd"):
                ax.yaxis.set_major_formatter(USD)
            else:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        handles, names = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=len(names))
    return fig
