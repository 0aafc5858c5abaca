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
owner); for what the parameters name by address (an existing collateral
token, an existing feed), `code(address)` (the runtime code there),
`attach(name, address)` (a handle through `name`'s ABI) and `now()` (the
chain's clock). `replace={"MockERC20": ...}` on a deployer swaps one contract
(the tests' hostile tokens). Nothing here imports ape or titanoboa.

An existing contract is checked before anything is deployed: code at the
address, the interface answering (`decimals`, `balanceOf`, `totalSupply` of
a token; `decimals`, `latestRoundData`, `getRoundData` of a feed), the
decimals the parameters state, and a feed's answer fresh and inside the
band: each failure is one ParamsError naming the field.
"""

from decimal import Decimal
from pathlib import Path

from eth_utils import keccak, to_checksum_address

from backstop.protocol.validation import ParamsError
from backstop.protocol.validation import check as _check
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

    def code(self, address: str) -> bytes:
        return self.chain.code(address)

    def attach(self, name: str, address: str):
        return self.chain.at(name, address, contracts=self.contracts)

    def now(self) -> int:
        return self.chain.timestamp


def _existing(deployer, name: str, address: str, field: str, calls: dict):
    """The contract at `address` through `name`'s ABI, once it has code and
    every one of `calls` (label -> function of the handle) answers; else a
    ParamsError naming `field`. The answers by label, beside the handle."""
    if not deployer.code(address):
        raise ParamsError(field, f"no contract at {address} on this chain")
    handle = deployer.attach(name, address)
    answers = {}
    for label, call in calls.items():
        try:
            answers[label] = call(handle)
        except Exception as e:  # noqa: BLE001  (a revert, or an answer that is not the ABI's shape)
            kind = "an ERC-20 token" if name == "MockERC20" else "a Chainlink-shaped feed"
            raise ParamsError(field, f"the contract at {address} does not answer {label} "
                                     f"({type(e).__name__}): not {kind}") from None
    return handle, answers


def existing_token(deployer, c):
    """The collateral token at `c.address`, checked (see the module's doc)."""
    token, answers = _existing(deployer, "MockERC20", c.address, "collateral.address", {
        "decimals()": lambda t: t.decimals(), "totalSupply()": lambda t: t.totalSupply(),
        "balanceOf(address)": lambda t: t.balanceOf(deployer.owner),
    })
    _check(answers["decimals()"] == c.decimals, "collateral.decimals",
           f"is {c.decimals}, but the token at {c.address} has {answers['decimals()']} decimals")
    return token


def existing_feed(deployer, m, at: str):
    """Market `m`'s feed at `m.feed`, checked (see the module's doc)."""
    feed, answers = _existing(deployer, "MockAggregator", m.feed, f"{at}.feed", {
        "decimals()": lambda f: f.decimals(), "latestRoundData()": lambda f: f.latestRoundData(),
    })
    decimals, (round_id, answer, _, updated_at, _) = answers["decimals()"], answers["latestRoundData()"]
    _check(decimals == m.feed_decimals, f"{at}.feed_decimals",
           f"is {m.feed_decimals}, but the feed at {m.feed} answers with {decimals} decimals")
    try:
        feed.getRoundData(round_id)
    except Exception as e:  # noqa: BLE001
        raise ParamsError(f"{at}.feed", f"the contract at {m.feed} does not answer getRoundData(uint80) "
                                        f"({type(e).__name__}): not a Chainlink-shaped feed") from None
    usd = Decimal(answer) / 10**decimals
    _check(m.feed_units(m.band_min) < answer, f"{at}.band_min",
           f"{m.band_min} USD: the feed at {m.feed} answers {usd} USD, at or below it (the oracle would refuse it)")
    _check(answer < m.feed_units(m.band_max), f"{at}.band_max",
           f"{m.band_max} USD: the feed at {m.feed} answers {usd} USD, at or above it (the oracle would refuse it)")
    age = deployer.now() - updated_at
    _check(age <= m.heartbeat, f"{at}.heartbeat",
           f"{m.heartbeat} s: the feed at {m.feed} last answered {age} s ago (stale: a market cannot be listed on it)")
    return feed


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
    # dev: what exists is checked first: a wrong address fails before any gas is spent.
    token = existing_token(deployer, c) if c.address else None
    existing = {i: existing_feed(deployer, m, f"markets[{i}]") for i, m in enumerate(params.markets) if m.feed}
    if token is None:
        token = deploy("MockERC20", c.name, c.symbol, c.decimals)
    vault = deploy("Vault", token.address)
    oracle = deploy("PriceOracle")
    feeds = []
    for market_id, m in enumerate(params.markets):
        feed = existing[market_id] if market_id in existing else \
            deploy("MockAggregator", m.feed_decimals, m.name, m.feed_units(m.price))
        send(oracle, "set_feed", market_id, feed.address, m.heartbeat, m.feed_units(m.band_min),
             m.feed_units(m.band_max), wad(m.max_deviation), m.confirm_rounds, m.confirm_seconds)
        if m.stable_rate or m.stable_window:
            send(oracle, "set_stable_mark", market_id, m.stable_rate_units(), m.stable_window)
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
    for market_id, m in enumerate(params.markets):
        send(configurator, "list_market", m.risk_params())
        if m.adl_mode == "pro_rata":
            send(configurator, "set_adl_pro_rata", market_id, True)
        if m.margin_tier_slope:
            send(configurator, "set_margin_tiers", market_id, wad(m.margin_tier_slope))
        if m.volatility_scaled:
            send(configurator, "set_volatility_margin", market_id, *m.volatility_params())
    send(configurator, "set_liquidation_params", params.liquidation.as_struct())
    return dict(token=token, vault=vault, oracle=oracle, engine=engine, pool=pool, feeds=feeds,
                fund=str(insurance.address), owner=deployer.owner, insurance=insurance, lens=lens,
                configurator=configurator, deleverager=deleverager)

