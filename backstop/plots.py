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

# Order and colours of the margin-ratio buckets, worst at the bottom of the stack
# but "flat" (no position) first, as the simulator reports them.
BUCKETS = ["flat", "underwater", "0-5%", "5-10%", "10-20%", "20-50%", ">=50%"]
BUCKET_COLOURS = ["#bdbdbd", "#7f0000", "#d7301f", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]

REPORT_FILES = [
    "price.png",
    "liquidations.png",
    "fund.png",
    "bad_debt.png",
    "adl.png",
    "open_interest.png",
    "margin_buckets.png",
]
SWEEP_OUTCOMES = [
    ("bad_debt_usd", "Bad debt (USD)"),
    ("fund_drawdown_usd", "Fund drawdown (USD)"),
    ("adl_volume_usd", "ADL volume (USD)"),
    ("peak_liquidations", "Peak liquidations per step"),
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
    fig, ax = _new_figure(report, f"{report['scenario'].get('market', '')} oracle price".strip())
    steps = report["steps"]
    x = _column(steps, "step")
    ax.plot(x, _column(steps, "price_no_feedback"), "--", color="grey", label="Without liquidation feedback")
    ax.plot(x, _column(steps, "price"), color="tab:blue", linewidth=2, label="With liquidation feedback")
    ax.set_ylabel("Price (USD)")
    ax.yaxis.set_major_formatter(USD)
    ax.legend(loc="best")
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


def _margin_buckets(report):
    steps = report["steps"]
    fig, ax = _new_figure(report, "Accounts by margin ratio")
    x = _column(steps, "step")
    counts = [[s["margin_buckets"].get(b, 0) for s in steps] for b in BUCKETS]
    ax.stackplot(x, counts, labels=BUCKETS, colors=BUCKET_COLOURS)
    ax.set_ylabel("Accounts (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _from_zero(ax, [sum(c) for c in counts])
    # dev: legend outside the plot: the stack fills the axes and would hide it.
    ax.legend(title="Margin ratio", loc="upper left", bbox_to_anchor=(1.01, 1), reverse=True)
    return fig


FIGURES = dict(
    zip(REPORT_FILES, [_price, _liquidations, _fund, _bad_debt, _adl, _open_interest, _margin_buckets], strict=True)
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


def plot_sweep(rows: list[dict], param: str, out_dir: Path) -> Path:
    """Write `sweep.png`: each outcome against the swept parameter, one 2x2 panel each."""
    if not rows:
        raise ValueError("plot_sweep: no rows to plot")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda r: r[param])
    x = [r[param] for r in rows]
    with plt.style.context("default"):
        fig, axes = plt.subplots(2, 2, figsize=FIGSIZE, dpi=DPI, layout="constrained")
        fig.suptitle(f"Sweep over {param} ({len(rows)} runs)")
        for ax, (key, label) in zip(axes.flat, SWEEP_OUTCOMES, strict=True):
            values = [r[key] for r in rows]
            # dev: clip_on=False: points at zero sit on the axis and would be cut in half.
            ax.plot(x, values, "o-", color="tab:blue", clip_on=False)
            ax.set_title(label)
            ax.set_xlabel(param)
            ax.set_ylabel(label)
            ax.grid(True, alpha=0.3)
            _from_zero(ax, values)
            if key.endswith("_usd"):
                ax.yaxis.set_major_formatter(USD)
            else:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            # dev: integer parameters (seeds, counts) get integer ticks only.
            if all(isinstance(v, int) for v in x):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        return _save(fig, out_dir / "sweep.png")
