"""The simulator on the same crash with each ADL mode (issue 19): the queue
and pro rata, sweepable as `markets[0].adl_mode`. The crash is the analyst
proposal's flash crash (mmr 0.03, liq_fee 0.01, seed 3), where the fund runs
dry and ADL fills."""

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import apply, params_data
from backstop.sim.simulator import Simulation

DUST_USD = 1e-15  # a few hundred wei over a run's ADL calls


@pytest.fixture(scope="module")
def runs():
    out = {}
    for mode in ("queue", "pro_rata"):
        scenario, params = apply(load_scenario_data("flash-crash"), params_data("docs/analyst/proposal.yaml"),
                                 {"markets[0].mmr": "0.03", "liquidation.liq_fee": "0.01",
                                  "markets[0].adl_mode": mode})
        out[mode] = Simulation(scenario, 3, Chain(), params_data=params).run()
    return out


def test_adl_modes__same_crash__both_hold_every_invariant_and_report_their_mode(runs):
    for mode, sim in runs.items():
        o = sim.outcome()
        assert o["invariants_ok"], mode
        assert o["adl_modes"] == {"ETH": mode}
        assert o["adl_fills"] > 0, f"{mode}: no ADL in this crash: the test lost its case"


def test_adl_modes__pro_rata__spreads_the_loss_over_more_accounts_with_a_smaller_largest_haircut(runs):
    queue, pro_rata = runs["queue"].outcome(), runs["pro_rata"].outcome()
    assert pro_rata["adl_accounts_touched"] > queue["adl_accounts_touched"]
    assert pro_rata["adl_largest_haircut_usd"] < queue["adl_largest_haircut_usd"]


def test_adl_modes__overshoot_measured_from_equity__rounding_dust_only(runs):
    for mode, sim in runs.items():
        assert abs(sim.outcome()["adl_overshoot_usd"]) <= DUST_USD, mode


def test_adl_modes__every_counterparty_loss__within_what_adl_paid_the_bankrupt(runs):
    for mode, sim in runs.items():
        o = sim.outcome()
        total = sum(f["counterparty_loss_usd"] for f in sim.adl_fills)
        assert total == pytest.approx(o["bad_debt_paid_by_adl_usd"], abs=1e-9), mode
        assert o["adl_largest_counterparty_loss_usd"] <= total
