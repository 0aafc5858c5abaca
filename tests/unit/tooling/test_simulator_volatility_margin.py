"""The simulator on the same crash with volatility-scaled margin off and on
(issue 19), sweepable as `markets[0].vol_*`: the keeper cranks
`update_margins` each round, the initial margin rises at once as the crash
starts and the maintenance margin only by its hourly cap. The crash is the
analyst proposal's flash crash (mmr 0.03, liq_fee 0.01, seed 3)."""

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import apply, params_data
from backstop.sim.simulator import Simulation

BASE = {"markets[0].mmr": "0.03", "liquidation.liq_fee": "0.01"}
RISE = 2  # base mmr an hour
SCALED = {**BASE, "markets[0].vol_lambda": "0.9", "markets[0].vol_ref": "0.01", "markets[0].vol_max_scale": "3",
          "markets[0].vol_mmr_rise_per_hour": str(RISE)}


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, settings in (("off", BASE), ("on", SCALED)):
        scenario, params = apply(load_scenario_data("flash-crash"), params_data("docs/analyst/proposal.yaml"), settings)
        out[name] = Simulation(scenario, 3, Chain(), params_data=params).run()
    return out


def test_volatility_margin__same_crash__every_invariant_holds_both_ways(runs):
    for name, sim in runs.items():
        assert sim.outcome()["invariants_ok"], name


def test_volatility_margin__off__not_reported_and_no_crank_sent(runs):
    off = runs["off"]
    assert "volatility_margins" not in off.outcome()
    assert not any(e.get("call") == "configurator.update_margins" for e in off.events)


def test_volatility_margin__on__imr_rises_at_once_mmr_within_its_hourly_cap(runs):
    on = runs["on"]
    seen = on.outcome()["volatility_margins"]["ETH"]
    imr, mmr = (float(on.params.markets[0].imr), float(on.params.markets[0].mmr))
    hours = (len(on.steps) - 1) * on.scenario.step_seconds / 3600
    assert seen["max_imr"] == pytest.approx(3 * imr)  # the crash's first rounds: the cap of 3x at once
    assert mmr < seen["max_mmr"] <= mmr * (1 + RISE * hours) + 1e-12
    assert any(e.get("call") == "configurator.update_margins" for e in on.events)
    assert on.keepers[0].stats.transactions > runs["off"].keepers[0].stats.transactions  # the cranks
