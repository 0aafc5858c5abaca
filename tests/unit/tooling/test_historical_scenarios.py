"""The historical scenarios at full size (500 traders, seed 1, on revm):
each gives liquidations and fund draws, the two most severe ADL too, every
invariant holds, and the run's summary cites the data it was shaped on."""

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.output import summary
from backstop.sim.scenario import SCENARIOS, load_scenario, load_scenario_data
from backstop.sim.simulator import Simulation

# name -> ADL expected (the two most severe: -51% and -42% from the open)
HISTORICAL = {"eth-2020-03-12": True, "eth-2021-05-19": True, "cascade-2025-10-10": False}


@pytest.mark.parametrize("name", HISTORICAL)
def test_historical_scenario__500_traders__liquidations_fund_draws_adl_and_every_invariant(name):
    s = load_scenario(name)
    assert s.population.traders == 500
    sim = Simulation(load_scenario_data(name), 1, Chain()).run()
    o = sim.outcome()
    figures = (f"{name}: {o['liquidations']} liquidations of {o['accounts_liquidated']} accounts, fund draws "
               f"{o['fund_draw_usd']:,.0f} USD, {o['adl_fills']} ADL fills, bad debt {o['bad_debt_usd']:,.0f} USD")
    assert o["accounts_liquidated"] >= 100, figures
    assert o["fund_draw_usd"] > 0, figures
    if HISTORICAL[name]:
        assert o["adl_fills"] > 0 and o["fund_empty_step"] is not None, figures
    assert o["invariants_ok"], [(r.step, r.invariants) for r in sim.steps if not r.invariants_ok][:3]
    text = summary(sim.report())
    for source in s.sources:
        assert source in text, f"the summary does not cite {source!r}"


def test_historical_scenarios__every_step_seconds_true_to_its_comment():
    # dev: each file's header says how long a step stands for and how many
    #      steps it plays; the fields must say the same
    words = {60: "1 minute", 300: "5 minutes"}
    for name in HISTORICAL:
        s = load_scenario(name)
        lines = (SCENARIOS / f"{name}.yaml").read_text().splitlines()
        header = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
        assert f"one step = {words[s.step_seconds]} (step_seconds {s.step_seconds})" in header, name
        assert f"{s.steps} steps" in header, name
