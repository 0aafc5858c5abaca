"""The attacker fuzzer (tests/stateful/attacker_machine.py).

`TestAttacker` runs under the active hypothesis profile (`make fuzz`: deep).
ATTACKER_SKIP (comma-separated check names, see AttackerMachine.SKIP) turns
checks off to look past a finding already recorded in tests/regression; it is
for hunting runs only."""

import os

from tests.stateful.attacker_machine import AttackerMachine


class HuntingMachine(AttackerMachine):
    SKIP = frozenset(filter(None, os.environ.get("ATTACKER_SKIP", "").split(",")))


TestAttacker = HuntingMachine.TestCase
