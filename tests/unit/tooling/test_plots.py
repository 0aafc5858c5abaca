"""Simulation plots (backstop/sim/plots.py): every figure is written as a real PNG,
an idle run still plots, a sweep plots, and the same input gives the same bytes."""

import math

import pytest

from backstop.sim.plots import BUCKETS, REPORT_FILES, plot_report, plot_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_BYTES = 5_000  # a blank 1000x600 canvas with axes is already well above this


def _step(i: int, active: bool) -> dict:
    k = i if active else 0
    drop = 0.03 * k
    return {
        "step": i,
        "price": 3000.0 * (1 - drop) if active else 3000.0,
        "price_no_feedback": 3000.0 * (1 - drop / 2) if active else 3000.0,
        "forced_flow_usd": 1e6 * k,
        "liquidations": k % 4,
        "liquidated_notional_usd": 250_000.0 * (k % 4),
        "bad_debt_usd": 10_000.0 * max(0, k - 6),
        "fund_draw_usd": 10_000.0 * max(0, k - 6),
        "fund_balance_usd": 1e6 - 10_000.0 * sum(max(0, j - 6) for j in range(k + 1)),
        "adl_fills": max(0, k - 7),
        "adl_volume_usd": 50_000.0 * max(0, k - 7),
        "open_interest_long_usd": 5e7 - 2e6 * k,
        "open_interest_short_usd": 5e7 - 2e6 * k + 1e5 * math.sin(k),
        "margin_buckets": dict(zip(BUCKETS, [k % 3, 3, 5, 10 - k % 3, 20, 8, k % 2, 2], strict=True)),
        "invariants_ok": True,
    }


def _report(steps=10, active=True) -> dict:
    return {
        "scenario": {"name": "flash-crash", "description": "test", "market": "ETH", "steps": steps, "depth_usd_per_pct": 2e6},
        "seed": 7,
        "steps": [_step(i, active) for i in range(steps + 1)],
    }


def _assert_png(path, min_bytes=MIN_BYTES):
    assert path.is_file(), path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > min_bytes, (path, len(data))


def test_plot_report__synthetic_run__writes_every_figure_as_png(tmp_path):
    paths = plot_report(_report(), tmp_path)
    assert [p.name for p in paths] == REPORT_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(REPORT_FILES)
    for p in paths:
        _assert_png(p)


def test_plot_report__1000x600_pixels(tmp_path):
    (path, *_) = plot_report(_report(), tmp_path)
    header = path.read_bytes()[16:24]  # IHDR width, height (big-endian)
    assert (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")) == (1000, 600)


def test_plot_report__idle_run_all_zeros__still_plots(tmp_path):
    for p in plot_report(_report(active=False), tmp_path):
        _assert_png(p)


def test_plot_report__out_dir_missing__is_created(tmp_path):
    out = tmp_path / "a" / "b"
    plot_report(_report(steps=3), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)


def test_plot_report__same_report_twice__identical_bytes(tmp_path):
    first = plot_report(_report(), tmp_path / "one")
    second = plot_report(_report(), tmp_path / "two")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def _stats(values, seeds=(1, 2, 3)):
    from backstop.sim.sweep import METRICS, statistics

    rows = [{"setting_label": f"usd_per_pct={v}", "setting": {"market_depth.usd_per_pct": str(v)}, "seed": s,
             **{key: 1000.0 * i * s for i, (key, _, _) in enumerate(METRICS)}}
            for v in values for s in seeds]
    return statistics(rows)


def test_plot_sweep__writes_sweep_png(tmp_path):
    path = plot_sweep(_stats([250000, 500000]), "market_depth.usd_per_pct", tmp_path, "cascade")
    assert path == tmp_path / "sweep.png"
    _assert_png(path)


def test_sweep_figure__infinite_and_long_values__every_setting_a_tick_none_overlapping_axis_named():
    from backstop.sim.plots import sweep_figure

    values = [125000, 250000, 500000, 1000000, 2000000, 4000000, "infinite"]
    fig = sweep_figure(_stats(values), "market_depth.usd_per_pct", "cascade")
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            ticks = [t for t in ax.get_xticklabels() if t.get_text()]
            assert [t.get_text() for t in ticks] == [str(v) for v in values]
            assert ax.get_xlabel() == "market_depth.usd_per_pct"
            boxes = [t.get_window_extent(renderer) for t in ticks]
            assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_plot_sweep__same_stats_twice__identical_bytes(tmp_path):
    a = plot_sweep(_stats([3, 1, 2]), "x", tmp_path / "one", "t")
    b = plot_sweep(_stats([3, 1, 2]), "x", tmp_path / "two", "t")
    assert a.read_bytes() == b.read_bytes()


def test_plot_sweep__no_settings__raises(tmp_path):
    with pytest.raises(ValueError, match="no settings"):
        plot_sweep([], "seed", tmp_path, "t")
