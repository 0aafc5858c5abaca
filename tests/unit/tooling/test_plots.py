"""Simulation plots (backstop/plots.py): every figure is written as a real PNG,
an idle run still plots, a sweep plots, and the same input gives the same bytes."""

import math

import pytest

from backstop.plots import BUCKETS, REPORT_FILES, plot_report, plot_sweep

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
        "margin_buckets": dict(zip(BUCKETS, [2, k % 3, 3, 5, 10 - k % 3, 20, 8], strict=True)),
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


def _sweep_rows(values):
    return [
        {"seed": v, "bad_debt_usd": 1000.0 * (v % 3), "fund_drawdown_usd": 5000.0 * v,
         "adl_volume_usd": 0.0, "peak_liquidations": v % 5}
        for v in values
    ]  # fmt: skip


def test_plot_sweep__unsorted_int_param__writes_sweep_png(tmp_path):
    path = plot_sweep(_sweep_rows([5, 1, 9, 3, 7]), "seed", tmp_path)
    assert path == tmp_path / "sweep.png"
    _assert_png(path)


def test_plot_sweep__float_param__plots(tmp_path):
    rows = [{**r, "depth": r["seed"] / 10} for r in _sweep_rows([1, 2, 3])]
    _assert_png(plot_sweep(rows, "depth", tmp_path))


def test_plot_sweep__same_rows_twice__identical_bytes(tmp_path):
    a = plot_sweep(_sweep_rows([3, 1, 2]), "seed", tmp_path / "one")
    b = plot_sweep(_sweep_rows([3, 1, 2]), "seed", tmp_path / "two")
    assert a.read_bytes() == b.read_bytes()


def test_plot_sweep__no_rows__raises(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        plot_sweep([], "seed", tmp_path)
