"""The solvency fuzzer (tests/stateful/solvency_machine.py) under the active
hypothesis profile: `quick` locally, `ci` in CI, `deep` with `make fuzz`."""

from tests.stateful.solvency_machine import SolvencyMachine

TestSolvency = SolvencyMachine.TestCase
