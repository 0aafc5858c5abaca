"""What runs outside the tests never loads titanoboa: the node chain, the revm
chain, the simulator, the sweep and the keeper import without `boa` (it took
~4 of ~6 s of importing the node chain when revm_chain went through the
titanoboa harness for the contract list)."""

import subprocess
import sys

RUNTIME = ["backstop.chain.web3_chain", "backstop.chain.revm_chain", "backstop.sim.simulator", "backstop.sim.sweep",
           "backstop.keeper.logic", "backstop.protocol.wiring", "backstop.protocol.params", "backstop.protocol.deployment"]


def test_runtime_modules__fresh_process__titanoboa_not_loaded():
    code = "import sys\n" + "".join(f"import {m}\n" for m in RUNTIME) + (
        "loaded = sorted(m for m in sys.modules if m == 'boa' or m.startswith('boa.'))\n"
        "print(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
