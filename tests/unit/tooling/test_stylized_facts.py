"""Stylized facts of real liquidation cascades, reproduced by the simulator
(seeded, on revm). Each assertion message carries the figures measured, so a
failure says how far the model moved from the fact.

- Liquidations cluster in time (a random path, so the clustering is the
  cascade's, not the script's).
- With finite depth the low is deeper than without, and the gap grows as the
  depth thins.
- The insurance fund is drawn before any ADL fill (the waterfall's order).
- Bad debt grows with leverage and with keeper latency.
"""

import statistics

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import with_field
from backstop.sim.simulator import Simulation

TRADERS = 200


def run(name, seed=1, traders=TRADERS, **fields) -> Simulation:
    data = load_scenario_data(name)
    for path, value in fields.items():
        data = with_field(data, path, value)
    return Simulation(data, seed, Chain(), traders=traders).run()


def _lag1(counts):
    x, y = counts[:-1], counts[1:]
    mx, my = statistics.mean(x), statistics.mean(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return cov / (sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y)) ** 0.5


def test_liquidations__random_path__cluster_in_time():
    counts = [r.liquidations for r in run("gbm-jumps").steps[1:]]
    mean = statistics.mean(counts)
    dispersion = statistics.pvariance(counts) / mean  # dev: 1 for liquidations spread as a Poisson process
    lag1 = _lag1(counts)
    busiest = sorted(counts, reverse=True)[: len(counts) // 20]
    share = sum(busiest) / sum(counts)
    figures = (f"{sum(counts)} liquidations over {len(counts)} steps: variance/mean {dispersion:.1f}, "
               f"lag-1 autocorrelation {lag1:.2f}, busiest 5% of steps hold {share:.0%}")
    assert dispersion > 5, figures
    assert lag1 > 0.3, figures
    assert share > 0.4, figures


def test_depth__thinner_books__deeper_low_and_the_gap_grows():
    lows, gaps = {}, {}
    for depth in ("infinite", 4_000_000, 1_000_000, 250_000):
        o = run("flash-crash", **{"market_depth.usd_per_pct": depth}).outcome()
        lows[depth], gaps[depth] = o["min_price"], o["min_price_no_feedback"] - o["min_price"]
    figures = ", ".join(f"{d}: low {lows[d]:,.2f} (gap {gaps[d]:,.2f})" for d in lows)
    assert gaps["infinite"] == 0, figures
    assert 0 < gaps[4_000_000] < gaps[1_000_000] < gaps[250_000], figures


@pytest.mark.parametrize("name", ["flash-crash", "eth-2020-03-12"])
def test_waterfall__the_fund_is_drawn_before_any_adl_fill(name):
    sim = run(name)
    order = [(i, event, args) for i, e in enumerate(sim.events) for _, event, args in e.get("events", [])]
    draws = [i for i, event, _ in order if event == "BadDebtCovered"]
    fills = [i for i, event, _ in order if event == "Deleverage"]
    assert fills, f"{name}: no ADL fill to order against"
    assert draws and draws[0] < fills[0], f"{name}: first fund draw at entry {draws[:1]}, first ADL fill at {fills[0]}"
    # dev: and each ADL was required because the fund could not cover the shortfall then
    for _, event, args in order:
        if event == "AdlRequired":
            assert args["fund_balance"] < args["shortfall"], f"{name}: ADL required with {args}"


def test_bad_debt__grows_with_leverage():
    debt = {}
    for top in (3, 6, 9):
        debt[top] = run("eth-2020-03-12", **{"population.leverage.min": 2, "population.leverage.max": top}
                        ).outcome()["bad_debt_usd"]
    figures = ", ".join(f"leverage up to {k}x: {v:,.0f} USD" for k, v in debt.items())
    assert debt[3] < debt[6] < debt[9], figures


def test_bad_debt__grows_with_keeper_latency():
    debt = {}
    for blocks in (0, 3, 10):
        debt[blocks] = run("eth-2020-03-12", **{"keepers[0].latency_blocks": blocks}).outcome()["bad_debt_usd"]
    figures = ", ".join(f"{k} blocks: {v:,.0f} USD" for k, v in debt.items())
    assert debt[0] < debt[3] < debt[10], figures
