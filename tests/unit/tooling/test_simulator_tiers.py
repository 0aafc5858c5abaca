"""The simulator with size tiers (issue 19, `markets[0].margin_tier_slope`):
traders take no more leverage than their tier allows, and the run holds every
invariant; with a slope of 0 the run is the flat one, event for event."""

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import apply, default_params_data
from backstop.sim.simulator import LEVERAGE_HEADROOM, Simulation


def _run(slope: str, traders: int = 40):
    scenario, params = apply(load_scenario_data("flash-crash"), default_params_data(),
                             {"markets[0].margin_tier_slope": slope, "population.margin_usd.max": 500000})
    return Simulation(scenario, 2, Chain(), params_data=params, traders=traders).run()


@pytest.fixture(scope="module")
def tiered():
    return _run("10")


def _refused_openings(sim) -> int:
    return sum(1 for e in sim.events if e.get("call") == "engine.trade" and e.get("step") == 0
               and e.get("reverted") == "Clearinghouse: insufficient margin")


def test_simulator_tiers__whales_open_within_their_tier__few_openings_refused(tiered, monkeypatch):
    # dev: the price impact of a whale's own fill still refuses one now and then, tiers or not;
    #      a population blind to its tier is refused far more often.
    assert tiered.outcome()["invariants_ok"]
    monkeypatch.setattr(Simulation, "_leverage_cap", lambda self, asset, margin, price: self.max_leverage[asset])
    blind = _run("10")
    assert _refused_openings(tiered) * 3 <= _refused_openings(blind), (_refused_openings(tiered),
                                                                        _refused_openings(blind))


def test_simulator_tiers__leverage_cap__solves_the_tiered_fraction(tiered):
    imr, slope, skew_scale = tiered.tiers[0]
    for margin in (1_000, 100_000, 500_000):
        cap = tiered._leverage_cap(0, margin, 2_000)
        size = margin * cap / 2_000
        assert cap * min(imr + slope * size / skew_scale, 1) == pytest.approx(LEVERAGE_HEADROOM)
    assert tiered._leverage_cap(0, 500_000, 2_000) < tiered._leverage_cap(0, 1_000, 2_000)


def test_simulator_tiers__slope_zero__the_flat_run():
    scenario, params = apply(load_scenario_data("flash-crash"), default_params_data(),
                             {"population.margin_usd.max": 500000})
    flat = Simulation(scenario, 2, Chain(), params_data=params, traders=40).run()
    assert _run("0").event_hash() == flat.event_hash()
