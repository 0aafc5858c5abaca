"""Deploy a full Backstop protocol with ape, from a YAML parameter file.

Three steps, each usable on its own:
  - `load_params(path)` (backstop.protocol.params): read and validate the parameter
    file (config/local.yaml). Plain Python, no chain: a bad file fails here,
    naming the field, before any gas is spent on a half-wired protocol.
  - `deploy_protocol(params, account)`: the one wiring (backstop.protocol.wiring.wire)
    through ape's project, sent from `account`, which owns every contract.
  - `write_addresses(path, deployment)` / `load_deployment(path)`: the JSON record
    that keepers, the simulator and later scripts attach to.

ape is imported only inside the functions that need a chain, so validating a
file never loads ape's plugins and the parameter tests need no node.
"""

import dataclasses
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from backstop.protocol.params import Params, load_params, parse_params  # noqa: F401  (callers import them from here too)
from backstop.protocol.handles import ProtocolContracts
from backstop.protocol.validation import ParamsError  # noqa: F401  (callers import it from here too)
from backstop.protocol.wiring import ROLES, wire

# Deployment roles -> contract names; the JSON record uses the same keys.
CONTRACTS = ROLES


class DeploymentError(RuntimeError):
    """A deployment record does not match the connected chain."""


# ---------------------------------------------------------------- deployment


@dataclass
class Deployment(ProtocolContracts):
    """A deployed protocol: ape contract instances, by role as in backstop.protocol.handles.Protocol."""

    @property
    def token_is_mock(self) -> bool:
        """True when the collateral is the MockERC20 this deployment made (anyone may mint it)."""
        return self.params.collateral.address is None

    def feed_is_mock(self, market: int) -> bool:
        """True when market `market`'s feed is a MockAggregator this deployment made (anyone may move it)."""
        return self.params.markets[market].feed is None

    def addresses(self) -> dict:
        """Every address of the deployment, by role."""
        return {
            **{role: str(getattr(self, role).address) for role in CONTRACTS},
            "feeds": {m.name: str(f.address) for m, f in zip(self.params.markets, self.feeds)},
            "owner": str(self.owner),
        }


def _project():
    """ape's local project, with the venv's compiler findable in case it must recompile.

    ape-vyper runs the pip-installed vyper only if `shutil.which("vyper")` finds it,
    so `.venv/bin/ape run ...` without the venv's bin on PATH fails with VyperNotInstalled.
    """
    if shutil.which("vyper") is None:
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    from ape import project

    return project


class ApeDeployer:
    """wiring.wire's deployer through ape: ape's project, every transaction from `account`."""

    def __init__(self, account, project=None):
        self.account = account
        self.owner = str(account.address)
        self.project = project or _project()

    def deploy(self, name: str, *args):
        return self.project.get_contract(name).deploy(*args, sender=self.account)

    def send(self, contract, function: str, *args):
        return getattr(contract, function)(*args, sender=self.account)

    def code(self, address: str) -> bytes:
        from ape import chain

        return bytes(chain.provider.get_code(address))

    def attach(self, name: str, address: str):
        return self.project.get_contract(name).at(address)

    def now(self) -> int:
        from ape import chain

        return chain.blocks.head.timestamp


def deploy_protocol(params: Params, deployer) -> Deployment:
    """Deploy and wire a full protocol from `deployer` (an ape account, which
    owns every contract), through the one wiring (backstop.protocol.wiring.wire)."""
    return Deployment(**wire(params, ApeDeployer(deployer)), params=params)


def write_addresses(path, deployment: Deployment) -> Path:
    """Write the deployment record: chain, block, every address and the parameters used."""
    from ape import chain

    record = {
        "network": chain.provider.network_choice,
        "chain_id": chain.chain_id,
        "block_number": chain.blocks.head.number,
        "addresses": deployment.addresses(),
        "params": deployment.params.to_dict(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def record_feed(path, market: int, feed: str) -> dict:
    """Rewrite the deployment record at `path` after market `market`'s feed
    changed to the existing feed at `feed`: its address, and its parameters
    (`markets[i].feed`, no mock price), so every later tool reads the feed
    the oracle reads and knows it is not a mock. The new record."""
    path = Path(path)
    record = read_addresses(path)
    params = parse_params(record["params"])
    markets = list(params.markets)
    markets[market] = dataclasses.replace(markets[market], feed=feed, price=None)
    params = params.variant(markets=markets)
    record["params"] = params.to_dict()
    record["addresses"]["feeds"][markets[market].name] = feed
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    return record


def read_addresses(path) -> dict:
    """The JSON record as written by `write_addresses` (no chain needed)."""
    return json.loads(Path(path).read_text())


def load_deployment(path) -> Deployment:
    """Attach to a recorded deployment on the connected chain.

    Local chains are thrown away with their node, so a stale record is the common
    mistake: the chain id must match and every address must hold code.
    """
    from ape import chain

    project = _project()
    record = read_addresses(path)
    if record["chain_id"] != chain.chain_id:
        raise DeploymentError(f"{path}: recorded on chain {record['chain_id']}, connected to {chain.chain_id}")
    a = record["addresses"]
    params = parse_params(record["params"])

    def attach(name: str, address: str):
        if not chain.provider.get_code(address):
            raise DeploymentError(f"{path}: no {name} code at {address} (is this the chain it was deployed to?)")
        return project.get_contract(name).at(address)

    contracts = {role: attach(name, a[role]) for role, name in CONTRACTS.items()}
    feeds = [attach("MockAggregator", a["feeds"][m.name]) for m in params.markets]
    return Deployment(**contracts, feeds=feeds, fund=a["insurance"], owner=a["owner"], params=params)
