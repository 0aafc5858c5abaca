"""The one wiring: deploy and wire a full protocol from a `Params`, on any chain.

`wire(params, deployer)` deploys every contract and makes every owner call in
the order the contracts require; a deployer says how, for its chain:

  - `ChainDeployer(chain, owner)`: a `revm_chain.Chain` (revm in process) or a
    `web3_chain.Web3Chain` (a node over JSON-RPC); anything with
    `deploy(name, *args, contracts=...)` and `prank(address)`;
  - `deployment.ApeDeployer(account)`: ape's project and an account
    (`scripts/deploy.py`, `scripts/demo.py`);
  - `harness.BoaDeployer(owner)`: titanoboa, for the tests that need it.

A deployer has `owner`, `deploy(name, *args)` (a contract handle with
`.address`) and `send(contract, function, *args)` (a transaction from the
owner). `replace={"MockERC20": ...}` on a deployer swaps one contract (the
tests' hostile tokens). Nothing here imports ape or titanoboa.
"""

from pathlib import Path

from eth_utils import keccak, to_checksum_address

from backstop.units import wad

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
# Every deployable, by contract name, and its source under contracts/.
DEPLOYABLES = {
    "Vault": "Vault.vy",
    "PriceOracle": "PriceOracle.vy",
    "Configurator": "Configurator.vy",
    "Deleverager": "Deleverager.vy",
    "Clearinghouse": "Clearinghouse.vy",
    "LiquidityPool": "LiquidityPool.vy",
    "InsuranceFund": "InsuranceFund.vy",
    "ClearinghouseLens": "ClearinghouseLens.vy",
    "MockERC20": "mocks/MockERC20.vy",
    "MockAggregator": "mocks/MockAggregator.vy",
}
# Deployment roles -> contract names (the feeds are MockAggregators, one per
# market); a deployment record (deployment.write_addresses) uses the same keys.
ROLES = {
    "token": "MockERC20",
    "vault": "Vault",
    "oracle": "PriceOracle",
    "configurator": "Configurator",
    "deleverager": "Deleverager",
    "engine": "Clearinghouse",
    "pool": "LiquidityPool",
    "insurance": "InsuranceFund",
    "lens": "ClearinghouseLens",
}
POOL_TOKEN = ("Backstop LP", "bLP")
FUND_TOKEN = ("Backstop Insurance", "bINS")


def actor_address(name: str) -> str:
    """The address of the actor called `name`: the same name always gives the
    same address, different names never collide (harness.actor also names it
    in titanoboa's traces)."""
    return to_checksum_address(keccak(f"backstop actor: {name}".encode())[:20])


class ChainDeployer:
    """Deploys on a `revm_chain.Chain` or a `web3_chain.Web3Chain`, as `owner`."""

    def __init__(self, chain, owner, contracts: dict | None = None, replace: dict | None = None):
        self.chain = chain
        self.owner = str(owner)
        self.contracts = contracts
        self.replace = replace or {}

    def deploy(self, name: str, *args):
        with self.chain.prank(self.owner):
            if name in self.replace:
                return self.replace[name](*args)
            return self.chain.deploy(name, *args, contracts=self.contracts)

    def send(self, contract, function: str, *args):
        with self.chain.prank(self.owner):
            return getattr(contract, function)(*args)


def wire(params, deployer) -> dict:
    """Deploy and wire a full protocol from `params` (backstop.protocol.params.Params);
    return the handles by role, with `feeds` (one per market), `fund` (the
    insurance fund's vault account: its address) and `owner`.

    Order: token -> vault -> oracle + one feed per market (oracle.set_feed) ->
    configurator -> deleverager -> clearinghouse -> configurator.set_engine
    (binds the deleverager too) -> vault.set_engine -> pool ->
    configurator.set_pool -> insurance fund -> configurator.set_insurance_fund
    -> lens -> configurator.list_market per market ->
    configurator.set_liquidation_params. The engine names its configurator and
    deleverager at deployment, a market can only be listed once its feed
    answers, and the pool and the fund need the engine's address."""
    deploy, send = deployer.deploy, deployer.send
    c = params.collateral
    token = deploy("MockERC20", c.name, c.symbol, c.decimals)
    vault = deploy("Vault", token.address)
    oracle = deploy("PriceOracle")
    feeds = []
    for market_id, m in enumerate(params.markets):
        feed = deploy("MockAggregator", m.feed_decimals, m.name, m.feed_units(m.price))
        send(oracle, "set_feed", market_id, feed.address, m.heartbeat, m.feed_units(m.band_min),
             m.feed_units(m.band_max), wad(m.max_deviation), m.confirm_rounds, m.confirm_seconds)
        feeds.append(feed)
    configurator = deploy("Configurator", wad(params.fee_pool_share), wad(params.min_position_notional))
    deleverager = deploy("Deleverager", configurator.address)
    engine = deploy("Clearinghouse", vault.address, oracle.address, configurator.address, deleverager.address)
    send(configurator, "set_engine", engine.address)
    send(vault, "set_engine", engine.address)
    pool = deploy("LiquidityPool", token.address, vault.address, engine.address, *POOL_TOKEN)
    send(configurator, "set_pool", pool.address)
    f = params.insurance_fund
    insurance = deploy("InsuranceFund", token.address, vault.address, engine.address, f.cooldown, f.withdraw_window,
                       *FUND_TOKEN)
    send(configurator, "set_insurance_fund", insurance.address)
    lens = deploy("ClearinghouseLens", engine.address)
    for m in params.markets:
        send(configurator, "list_market", m.risk_params())
    send(configurator, "set_liquidation_params", params.liquidation.as_struct())
    return dict(token=token, vault=vault, oracle=oracle, engine=engine, pool=pool, feeds=feeds,
                fund=str(insurance.address), owner=deployer.owner, insurance=insurance, lens=lens,
                configurator=configurator, deleverager=deleverager)

