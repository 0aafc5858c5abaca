"""The fuzzer catches a broken build: each mutant is a copy of the contracts
with one deliberate bug, and the solvency machine (or, for the review's bugs,
the attacker machine, on the invariant that names the bug), run against it
with a fixed seed, must fail. A mutant that survives means the fuzzer has a
blind spot."""

import re
import shutil

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from backstop.protocol import harness

from backstop.chain import revm_chain
from tests.stateful.attacker_machine import FIXED_RUN, AttackerMachine
from tests.stateful.solvency_machine import SolvencyMachine

MUTANTS = {
    # The fund may be drawn below zero: the ADL gate never fires, nothing stops the draw.
    "fund goes negative": ("Clearinghouse.vy", [
        ("fund_raw, shortfall > fund_balance or (shortfall > 0", "fund_raw, False or (shortfall > 0"),
        ("reward = min(reward, paid + convert(fund_balance - shortfall, uint256))",
         "reward = min(reward, paid + convert(max(fund_balance - shortfall, 0), uint256))"),
        ("pool_cover: int256 = max(-(fund_raw + fund_change), 0)", "pool_cover: int256 = 0"),
    ]),
    # Unrealised PnL rounds up, in the accounts' favour instead of the protocol's.
    "upnl rounds up": ("modules/margin_math.vy", [
        ("return self._floor_div(size * convert(price, int256), IWAD) - cost",
         "return self._ceil_div(size * convert(price, int256), IWAD) - cost"),
    ]),
}

# Mutants for the attacker machine, each a bug the review found put back into
# the fixed code: name -> (file, patches, the invariant its failure must name).
ATTACKER_MUTANTS = {
    # ADL charges a thin counterparty its share of the deficit whatever its
    # profit (loss-waterfall review, finding 1): the bound on `gain` is gone.
    "counterparty charged beyond its profit": ("Deleverager.vy", [
        ("            if gain > bound:\n", "            if gain > bound and False:\n"),
    ], "SPEC 6 ADL beyond profit"),
    # The ADL gate counts the gap to maintenance as a deficit, so a solvent
    # (only liquidatable) account the fund cannot "cover" goes to ADL and is
    # closed at its bankruptcy price (finding 2's outcome, by another road).
    # (With issue 19's owner rules in the machine, the fixed run's draws reach
    # this mutant's bad debt on a flat account, I4, before a fill against a
    # solvent account: the same run on the real contracts finds nothing.)
    "solvent account sent to ADL": ("Clearinghouse.vy", [
        ("    shortfall: int256 = max(-scan.equity, 0)\n",
         "    shortfall: int256 = max(convert(scan.maintenance_req, int256) - scan.equity, 0)\n"),
    ], ("SPEC 6 solvent account sent to ADL", "I4: below zero with nothing to liquidate")),
    # Priced reads take the guard as the last `refresh` logged it: a jump
    # round no one refreshed yet is traded on (the guard review's bypass).
    "guard read that ignores a new round": ("PriceOracle.vy", [
        ("            if with_guard and self._guard(i, r).guarded:\n",
         "            if with_guard and self.logged_guard[i]:\n"),
    ], "SPEC 4 guard bypass"),
}

# Enough examples to reach a bad debt beyond the fund (the ci profile sees ~15
# bad debts in 40 examples); no shrinking: finding the failure is the point.
MUTANT_RUN = settings(
    max_examples=200, stateful_step_count=50, deadline=None, derandomize=True, database=None,
    phases=(Phase.generate,), suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def mutated(tmp_path_factory):
    """Factory: the compiled contracts with `name`'s patches applied."""

    def _mutated(name):
        path, patches = ({**MUTANTS, **ATTACKER_MUTANTS}[name])[:2]
        root = tmp_path_factory.mktemp(name.replace(" ", "-")) / "contracts"
        shutil.copytree(harness.CONTRACTS, root)
        source = root / path
        text = source.read_text()
        for old, new in patches:
            assert old in text, f"mutant {name!r}: the code it patches changed: {old!r}"
            text = text.replace(old, new, 1)
        source.write_text(text)
        return revm_chain.compile_contracts(root)

    return _mutated


@pytest.mark.parametrize("name", MUTANTS)
def test_fuzzer__mutated_build__fails(name, mutated):
    class Mutant(SolvencyMachine):
        CONTRACTS = mutated(name)

    with pytest.raises(AssertionError):
        run_state_machine_as_test(Mutant, settings=MUTANT_RUN)


if ATTACKER_MUTANTS:
    # dev: defined once there is a mutant, so an empty list is no test that cannot fail.
    @pytest.mark.parametrize("name", ATTACKER_MUTANTS)
    def test_attacker_fuzzer__mutated_build__fails_on_its_invariant(name, mutated):
        class Mutant(AttackerMachine):
            CONTRACTS = mutated(name)

        names = ATTACKER_MUTANTS[name][2]
        names = (names,) if isinstance(names, str) else names
        with pytest.raises(AssertionError, match="^(" + "|".join(map(re.escape, names)) + ")"):
            run_state_machine_as_test(Mutant, settings=FIXED_RUN)


def test_fuzzer__unmutated_build__passes_the_same_run():
    # The control: the same fixed-seed run on the real contracts finds nothing,
    # so the mutants fail for their bug, not for the run.
    run_state_machine_as_test(SolvencyMachine, settings=MUTANT_RUN)
