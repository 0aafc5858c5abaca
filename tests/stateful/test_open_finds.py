"""Attacker-fuzzer finds not fixed yet, replayed from their printed steps
(tests/stateful/finds/*.steps, tests/stateful/replay.py).

Each is a strict xfail: it fails with its invariant's message today, and the
day a fix makes it pass the suite says so, and the find moves to
tests/regression/ with a test of its own.
"""

from pathlib import Path

import pytest

from tests.stateful.attacker_machine import AttackerMachine
from tests.stateful.replay import parse, replay

FINDS = Path(__file__).parent / "finds"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "open I8 find: at fixed prices the attacker deleverages the pool (liquidatable, equity +48,189 USD) in SOL "
    "with a one-name list ('last only'), and the colluder's LP shares gain 0.06 USD over that one call; the "
    "mechanism is not yet known (issue 15 note)"))
def test_open_find__attacker_adl_of_solvent_pool__lifts_lp_shares():
    steps = parse((FINDS / "i8_attacker_adl_of_solvent_pool_lifts_lp_shares.steps").read_text())
    try:
        replay(AttackerMachine, steps)
    except AssertionError as e:
        if not str(e).startswith("I8 free lunch"):
            pytest.fail(f"the recorded find now fails on something else: {e}")
        raise


def test_replay__a_recorded_find__plays_the_same_steps():
    # The replayer itself: the steps parse with their draws attached, and every
    # step before the failing one runs (no stray draw is left over or missing).
    steps = parse((FINDS / "i8_attacker_adl_of_solvent_pool_lifts_lp_shares.steps").read_text())
    names = [name for name, _ in steps]
    assert names[0] == "deploy" and "attacker_deleverage" in names
    last_rule = max(i for i, name in enumerate(names) if name == "attacker_deleverage")
    machine = replay(AttackerMachine, steps, stop=last_rule)
    assert machine.monitor.failed is None
