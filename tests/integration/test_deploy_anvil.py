"""`ape run deploy` and `ape run demo` end to end, each on its own anvil node (see conftest)."""

import json
import subprocess
import sys

import pytest

from backstop.protocol.deployment import CONTRACTS, load_params
from tests.integration.conftest import NETWORK, ROOT, _env, ape_run

pytestmark = pytest.mark.anvil


# Attach to a recorded deployment the way a keeper or the simulator will.
LOAD = """
import sys
from ape import networks
from backstop.protocol.deployment import load_deployment
with networks.parse_network_choice("ethereum:local:foundry"):
    d = load_deployment(sys.argv[1])
    print("markets", d.engine.market_count(), "owner", d.vault.owner())
"""


def test_deploy__local_anvil__writes_every_address(tmp_path):
    out = tmp_path / "deployment.json"
    ape_run("deploy", "--out", str(out))
    record = json.loads(out.read_text())
    params = load_params(ROOT / "config" / "local.yaml")

    assert record["network"] == NETWORK
    assert record["chain_id"] == 31337  # anvil's default
    assert record["block_number"] > 0
    addresses = record["addresses"]
    contracts = [addresses[role] for role in CONTRACTS]
    feeds = [addresses["feeds"][m.name] for m in params.markets]
    assert len(set(contracts + feeds)) == len(CONTRACTS) + len(params.markets), "addresses must be distinct"
    for address in contracts + feeds + [addresses["owner"]]:
        assert address.startswith("0x") and len(address) == 42
    # The record says which parameters built this deployment.
    assert record["params"] == params.to_dict()


def test_demo__eth_drops_12_percent__keeper_liquidates_and_invariants_hold():
    out = ape_run("demo").stdout
    # Before and after the price move, and after the liquidations.
    assert out.count("I1 custody: ok") == 3, out
    assert out.count("I2 zero-sum: ok") == 3, out
    assert "FAILED" not in out
    # The 8x long is liquidatable after the drop; nobody was before it.
    before, after = out.split("=== after ETH moves", 1)
    after, final = after.split("liquidates in one batch", 1)
    assert " YES" not in before
    assert any(line.startswith("trader-2") and line.rstrip().endswith("YES") for line in after.splitlines())
    # The keeper's batch liquidated exactly that account, and nobody is left liquidatable.
    settled = [line for line in final.splitlines() if line.startswith("trader-") and "closed" in line]
    assert len(settled) == 1 and settled[0].startswith("trader-2"), final
    assert " YES" not in final


def test_load_deployment__same_node__attaches_and_a_fresh_node__refuses(tmp_path, anvil):
    node, out = anvil(), tmp_path / "deployment.json"
    ape_run("deploy", "--out", str(out), host=node)  # ape attaches to the running node
    owner = json.loads(out.read_text())["addresses"]["owner"]

    loaded = subprocess.run([sys.executable, "-c", LOAD, str(out)], cwd=ROOT, env=_env(node),
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert f"markets 2 owner {owner}" in loaded.stdout

    # Same chain id, but the contracts died with the node that held them.
    stale = subprocess.run([sys.executable, "-c", LOAD, str(out)], cwd=ROOT, env=_env(anvil()),
                           capture_output=True, text=True, timeout=300)
    assert stale.returncode != 0
    assert "DeploymentError" in stale.stderr and "no MockERC20 code" in stale.stderr
