"""At a late keeper's oracle round inside a step, only the late keepers acted:
accounts the late round's price pushed under maintenance waited for the next
step even with the perfect keeper in the run, so the step ended unsettled and
I3/I4 went unchecked exactly at the crash (found by the independent review of
issue 17: cascade-2025-10-10, 60 traders, seed 1: 12 unsettled steps, 57-74).
The perfect keeper now acts at every round, late ones included."""

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.simulator import Simulation


def test_cascade_2025__perfect_keeper_beside_a_slow_one__every_step_settled():
    sim = Simulation(load_scenario_data("cascade-2025-10-10"), 1, Chain(), traders=60).run()
    assert sum(r.late_rounds for r in sim.steps) > 0, "no late round: the test lost its case"
    assert [r.step for r in sim.steps if not r.settled] == []
    assert all(r.invariants_ok for r in sim.steps)
