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


def test_replayed_find__jit_deposit_before_a_liquidation_after_a_stale_spell__no_free_lunch():
    # A randomised TestAttacker run, 263 s in: a week passed with no round, so
    # every price was stale and 0xA842 and 0x1dC9 (below zero, in ETH) could
    # not be liquidated when the attacker's cross-margin deposit opened a
    # stretch. A round at the same answers made prices fresh; the colluder
    # deposited 10M USD of LP (paying 4.75 USD of the open skews' premium on
    # entry, 3.78 of it to the attacker's older shares) and the attacker
    # liquidated both (bad debt 1,365.78 and 2,001.44 USD from the fund, 0.10
    # USD of keeper reward each; the pool's take-over at the mark released
    # 4.42 USD of premium, 4.39 of it to the colluder's new shares). The
    # coalition gained 3.64 USD, which the monitor failed as a free lunch
    # twice over, both its own mistakes:
    # - the round made prices valid but moved no mark, so the stretch went on
    #   and the two were "not liquidatable when it began": no reward allowed.
    #   A change of which prices are valid now ends the stretch;
    # - the older shares' pass for the liquidation was valued after the JIT
    #   deposit had diluted them (0.02 USD, not their 3.51 USD part of the
    #   release without it). It is now counted as if no shares were bought
    #   within the stretch (Monitor._drift_through); the coalition is then at
    #   -0.07 USD: a JIT deposit gains only if a release exceeds its entry
    #   premium. Before: "I8 free lunch: ... gained 3641262000000000000 wei
    #   (3.64 USD) beyond 0 wei of allowed keeper rewards".
    machine = replay(AttackerMachine, _steps("monitor_jit_deposit_before_liquidation_after_a_stale_spell"))
    assert machine.monitor.failed is None


def test_replayed_find__an_adl_anyone_could_send__releases_the_premium_to_shares_held_before():
    # A randomised TestAttacker run, 220,323 calls in, after a -22.46% ETH round
    # with no keeper: 0xA842 (long 50.08 ETH, -7,431.18 USD) was below zero, the
    # fund held 5,364.25 USD, and the pool (short 3,855 ETH against the
    # colluder's bankrupt long) was the only eligible counterparty. The
    # attacker sent that ADL with the keeper's own list: the fund gave all it
    # had, the pool's short closed 50.08 ETH at the bankruptcy price (paying
    # the 2,067 USD left), and the premium held for that part of the skew
    # was released, so the LP shares rose about 934 USD, 829.37 of it the
    # coalition's (held since before the stretch). A keeper would have sent
    # the same call: an ADL whose fills are the keeper's ranked list's first
    # ones, of an account liquidatable when the stretch began, now gives the
    # shares held since then their part of it, as a liquidation anyone could
    # send does (Monitor._adl_as_the_keeper). Before: "I8 free lunch: ...
    # gained 829371998357561967868 wei (829.37 USD) beyond 0 wei of allowed
    # keeper rewards ... over 1 calls of theirs".
    machine = replay(AttackerMachine, _steps("monitor_adl_anyone_could_send_releases_premium_to_held_shares"))
    assert machine.monitor.failed is None


def test_replayed_find__a_trade_closing_the_last_position_under_a_price_lag__keeps_its_premium_out_of_lp_value():
    # A randomised TestAttacker run, 3,748,821 calls in: after a liquidation
    # left a -476.95 ETH price lag, the attacker's `lp_around_own_skew` trade
    # (+1,123.05 ETH) closed the last ETH position. The pool counted the
    # payout premium only over markets with a book, so the lag's 2,547 USD
    # premium left its payout value: the LP shares rose 3,792 USD on a fee
    # share of ~1,245, and the coalition gained 1,113.06 USD beyond the
    # 26,122.87 USD of premium its trade took back from the skew. Now the
    # coalition ends at -1,307.02 USD.
    # tests/regression/test_trade_flattening_the_pool_drops_the_lag_premium_from_lp_value.py
    machine = replay(AttackerMachine, _steps("trade_flattening_the_pool_drops_the_lag_premium"))
    assert machine.monitor.failed is None


def test_replay__a_recorded_find__plays_the_same_steps():
    # The replayer itself: the steps parse with their draws attached, and the
    # run reaches the recorded rule with the recorded draws.
    steps = _steps("monitor_adl_against_pool_releases_premium")
    names = [name for name, _ in steps]
    assert names[0] == "deploy" and names[-1] == "teardown"
    name, kwargs = steps[max(i for i, n in enumerate(names) if n == "attacker_deleverage")]
    assert kwargs["data"].values == ["0x35F0f54d146C364d54f51aCCE91C3414FAC0df2b", 2, "last only"]
