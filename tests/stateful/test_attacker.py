"""The attacker fuzzer (tests/stateful/attacker_machine.py) in CI.

Every flaw it found is fixed, each with its regression test (RECORDED), so it
runs with every check on and any find fails:

  - the fixed run: derandomised, of bounded length (FIXED_RUN: 500 examples,
    ~865,000 protocol calls, ~4 min here), the same examples every time;
  - `TestAttacker`: fresh examples under the active profile (`ci` in CI, `deep`
    with `make fuzz`, `hunt` for a first look without shrinking). Randomised
    hunts found eight things this way (three protocol flaws, a keeper flaw, a
    model error and three monitor rules: tests/regression,
    test_replayed_finds.py).

ATTACKER_SKIP (comma-separated check names, see AttackerMachine.SKIP) turns
checks off to look past a find while its fix is under way; hunting runs only.
"""

import os

import pytest
from hypothesis.stateful import run_state_machine_as_test

from hypothesis import settings

from tests.stateful.attacker_machine import FIXED_RUN, AttackerMachine
from backstop.units import wad
from tests.stateful.solvency_machine import OWNER


class HuntingMachine(AttackerMachine):
    SKIP = frozenset(filter(None, os.environ.get("ATTACKER_SKIP", "").split(",")))


TestAttacker = HuntingMachine.TestCase

# Each flaw the fuzzer found (the start of its failure message) and its
# regression test: a find that starts so is that flaw back.
RECORDED = {
    "SPEC 4 guard bypass (withdraw)": "tests/regression/test_unrefreshed_jump_round_bypasses_guard.py",
    "SPEC 4 guard bypass (LP ": "tests/regression/test_unrefreshed_jump_round_bypasses_guard.py and "
                                "tests/regression/test_lp_deposit_ignores_raised_guard.py",
    "SPEC 4 guard bypass (risk-adding trade": "tests/regression/test_unrefreshed_jump_round_bypasses_guard.py",
    "SPEC 4 guard bypass (margin of a risk-adding trade": "tests/regression/test_trade_margin_uses_guarded_market_price.py",
    "SPEC 6 ADL beyond profit": "tests/regression/test_adl_charges_counterparty_beyond_profit.py",
    "SPEC 6 solvent account sent to ADL": "tests/regression/test_skew_push_sends_solvent_account_to_adl.py",
    "I3 after the keeper": "tests/regression/test_adl_deficit_beyond_counterparties_profit_left_unowned.py and "
                           "tests/regression/test_adl_closes_a_bankrupt_counterparty_leaving_its_deficit_on_a_flat_account.py",
    "I8 free lunch": "tests/regression/test_lp_redeem_around_own_skew_profits.py, "
                     "tests/regression/test_lp_shares_around_price_lag_release_profit.py, "
                     "tests/regression/test_liquidation_fill_premium_lifts_lp_shares.py, "
                     "tests/regression/test_liquidation_sandwich_profits_at_fixed_prices.py, "
                     "tests/regression/test_lp_deposit_before_liquidation_takes_the_lag_release.py and "
                     "tests/regression/test_trade_flattening_the_pool_drops_the_lag_premium_from_lp_value.py",
}


class ProRataAttackerMachine(AttackerMachine):
    """The same attacker where every market deleverages pro rata (issue 19)
    from the start: the owner's `adl_mode` rule may switch a market back."""

    def _after_deploy(self):
        with self.chain.prank(OWNER):
            for market in range(self.p.engine.market_count()):
                self.p.configurator.set_adl_pro_rata(market, True)
        super()._after_deploy()


# dev: fewer examples than the queue's fixed run: ADL is the only path that differs.
PRO_RATA_RUN = settings(FIXED_RUN, max_examples=200)


class StableMarkAttackerMachine(AttackerMachine):
    """The same attacker where every market decides liquidatability behind a
    stable mark (issue 19) from the start: 0.1% a second, in full after 10
    minutes, so a crash holds accounts for a few steps of `time_passes`; the
    owner's `stable_mark` rule may change or lift it."""

    def _after_deploy(self):
        with self.chain.prank(OWNER):
            for market in range(self.p.engine.market_count()):
                self.p.oracle.set_stable_mark(market, 1_000_000, 600)
        super()._after_deploy()


# dev: the liquidation path's decision is what differs: as many examples as pro rata.
STABLE_MARK_RUN = settings(FIXED_RUN, max_examples=200)


class VolatilityMarginAttackerMachine(AttackerMachine):
    """The same attacker where every market's margins scale with the
    volatility of its rounds (issue 19) from the start: a 0.5% per-round
    volatility starts scaling, up to 3x, maintenance by at most its base an
    hour; anyone (the coalition too) cranks `update_margins`, and the owner's
    `volatility_margin` rule may change or lift it."""

    def _after_deploy(self):
        with self.chain.prank(OWNER):
            for market in range(self.p.engine.market_count()):
                self.p.configurator.set_volatility_margin(market, wad("0.9"), wad("0.005"), wad(3), wad(1))
        super()._after_deploy()


def _fixed_run(machine, run_settings):
    try:
        run_state_machine_as_test(machine, settings=run_settings)
    except AssertionError as e:
        known = [test for start, test in RECORDED.items() if str(e).startswith(start)]
        where = f"the family of {known[0]} (a new case of it?)" if known else "no regression test yet: record it"
        pytest.fail(f"the attacker fuzzer found a flaw, {where}: {e}")


def test_attacker_fuzzer__fixed_run__finds_nothing():
    _fixed_run(AttackerMachine, FIXED_RUN)


def test_attacker_fuzzer__pro_rata_markets__fixed_run__finds_nothing():
    _fixed_run(ProRataAttackerMachine, PRO_RATA_RUN)


def test_attacker_fuzzer__stable_marks__fixed_run__finds_nothing():
    _fixed_run(StableMarkAttackerMachine, STABLE_MARK_RUN)


def test_attacker_fuzzer__volatility_scaled_margins__fixed_run__finds_nothing():
    _fixed_run(VolatilityMarginAttackerMachine, STABLE_MARK_RUN)
