"""Attacker-fuzzer finds replayed from their printed steps
(tests/stateful/finds/*.steps, tests/stateful/replay.py): each must pass. A find
that was the monitor's mistake keeps the monitor's rule that explained it; a
find that was the protocol's also has a test in tests/regression/, and its
replay keeps the whole trajectory that reached it.
"""

from pathlib import Path

from tests.stateful.attacker_machine import AttackerMachine
from tests.stateful.replay import parse, replay

FINDS = Path(__file__).parent / "finds"


def _steps(name: str) -> list:
    return parse((FINDS / f"{name}.steps").read_text())


def test_replayed_find__adl_of_the_pool_against_the_colluder__releases_the_premium_no_free_lunch():
    # A randomised TestAttacker run, ~30,000 calls in: at fixed prices the
    # attacker deleverages the pool (liquidatable, equity +48,189 USD, long
    # 48.855 SOL) against the colluder's short with a one-name list. No
    # deficit, so the pool's position closes at the mark, the SOL skew goes
    # -48.855 -> 0 and its fill premium (0.074 USD) is released into the LP
    # payout value; the colluder, holding ~83% of the shares, gains 0.06 USD.
    # The colluder's own position closed the skew, as a trade closing it would
    # have (and earned the premium itself): the monitor counts ADL fills
    # against the pool in the coalition's net size (Monitor.premium_released).
    # Before that it failed with "I8 free lunch: ... gained 64658047752882960 wei (0.06 USD)".
    machine = replay(AttackerMachine, _steps("monitor_adl_against_pool_releases_premium"))
    assert machine.monitor.failed is None


def test_replayed_find__adl_closes_a_bankrupt_counterparty__no_deficit_left_on_a_flat_account():
    # A randomised TestAttacker run, 1,749,935 calls in: a BTC crash's keeper
    # round deleveraged 0x1dC9 in ETH, leaving it below zero with its BTC short
    # in profit, then used it as the first counterparty (the highest score, for
    # an account below zero) of 0x71bC's BTC ADL: closed at the mark, it ended
    # flat at -286.18 USD, owned by no one. Before the fix: "I3 after the
    # keeper: vault holds 449146... (286180886700594711938 short)".
    # tests/regression/test_adl_closes_a_bankrupt_counterparty_leaving_its_deficit_on_a_flat_account.py
    machine = replay(AttackerMachine, _steps("adl_closes_bankrupt_counterparty_leaving_flat_deficit"))
    assert machine.monitor.failed is None


def test_replay__a_recorded_find__plays_the_same_steps():
    # The replayer itself: the steps parse with their draws attached, and the
    # run reaches the recorded rule with the recorded draws.
    steps = _steps("monitor_adl_against_pool_releases_premium")
    names = [name for name, _ in steps]
    assert names[0] == "deploy" and names[-1] == "teardown"
    name, kwargs = steps[max(i for i, n in enumerate(names) if n == "attacker_deleverage")]
    assert kwargs["data"].values == ["0x35F0f54d146C364d54f51aCCE91C3414FAC0df2b", 2, "last only"]
