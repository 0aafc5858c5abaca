"""The whole protocol on titanoboa's in-process EVM, for tests, benchmarks and fuzzing.

Titanoboa runs a call in well under a millisecond (ape on anvil needs ~40 ms),
so everything that needs many calls uses this harness; the ape scripts deploy
the same contracts to real nodes.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

import boa
from boa.util.abi import Address
from eth_utils import keccak

from backstop.protocol import ProtocolContracts
from backstop.units import wad

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
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

FEED_DECIMALS = 8
HEARTBEAT = 3600
# Insurance fund withdrawals: a week's cooldown, then two days to withdraw.
FUND_COOLDOWN = 7 * 86400
FUND_WINDOW = 2 * 86400


@dataclass(frozen=True)
class MarketSpec:
    """One market's feed and risk parameters, in human units."""

    name: str
    price: Decimal
    imr: str
    mmr: str
    fee: str
    skew_scale: int
    max_skew: int
    max_deviation: str = "0.25"
    # dev: the oracle's guard confirmation: rounds at the new level, or seconds.
    confirm_rounds: int = 1
    confirm_seconds: int = 900

    def params(self) -> tuple:
        """The MarketParams struct (imr, mmr, fee_rate, skew_scale, max_skew) in WAD."""
        return (wad(self.imr), wad(self.mmr), wad(self.fee), wad(self.skew_scale), wad(self.max_skew))


ETH = MarketSpec("ETH / USD", Decimal(2_000), imr="0.10", mmr="0.05", fee="0.001", skew_scale=100_000, max_skew=10_000)
BTC = MarketSpec("BTC / USD", Decimal(50_000), imr="0.20", mmr="0.10", fee="0.002", skew_scale=10_000, max_skew=1_000)


# (liq_fee, keeper_share, min_reward, max_reward, buffer): 1% penalty, a fifth of
# it to the keeper within 0.10..1,000 USD, partial liquidations to maintenance +
# 10%. min_reward may not exceed the penalty on the smallest position (10 USD).
LIQUIDATION = (wad("0.01"), wad("0.2"), wad("0.1"), wad(1_000), wad("0.1"))


def actor(name: str) -> str:
    """The address of the actor called `name`: the same name always gives the
    same address, different names never collide. (titanoboa's generate_address
    draws from a random stream that its snapshots rewind, so two fixtures made
    in different scopes could get the same address.)"""
    address = Address("0x" + keccak(f"backstop actor: {name}".encode())[:20].hex())
    boa.env.alias(address, name)
    return address


def feed_answer(price) -> int:
    """A USD price as an 8-decimal feed answer."""
    return int(Decimal(str(price)) * 10**FEED_DECIMALS)


@cache
def deployers() -> dict:
    """Compiled deployers, compiled once per process."""
    return {name: boa.load_partial(str(CONTRACTS / path)) for name, path in DEPLOYABLES.items()}


@dataclass
class Protocol(ProtocolContracts):
    decimals: int
    markets: list = field(default_factory=list)
    # Whatever runs the EVM: titanoboa's `boa.env`, or a `revm_chain.Chain`;
    # both have `prank(address)`.
    env: object = None

    def fund_trader(self, account, usd) -> int:
        """Mint `usd` of collateral to `account` and deposit it as margin; return token units."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.vault.address, amount)
            self.vault.deposit(amount)
        return amount

    def fund_pool(self, account, usd) -> int:
        """Mint `usd` to `account` and deposit it into the LiquidityPool; return token units."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.pool.address, amount)
            self.pool.deposit(amount)
        return amount

    def stake(self, account, usd) -> int:
        """Mint `usd` to `account` and stake it in the InsuranceFund; return shares minted."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.insurance.address, amount)
            return self.insurance.stake(amount)

    def set_price(self, market, price):
        """Publish a new feed round for `market` at `price` USD."""
        self.feeds[market].set_answer(feed_answer(price))


def deploy(
    owner,
    decimals: int = 18,
    markets=(ETH, BTC),
    fee_pool_share=wad("0.5"),
    min_notional=wad(10),
) -> Protocol:
    """Deploy and wire a full protocol on titanoboa: token, vault, oracle and
    feeds, engine, pool, insurance fund, lens, markets."""
    c = deployers()
    with boa.env.prank(owner):
        return wire(lambda name, *args: c[name].deploy(*args), boa.env, owner, decimals, markets, fee_pool_share, min_notional)


def wire(deploy_contract, env, owner, decimals, markets, fee_pool_share, min_notional) -> Protocol:
    """Deploy every contract with `deploy_contract(name, *args)` and wire them,
    the caller acting as `owner` (the same order as backstop/deployment.py).

    The engine names its Configurator and Deleverager at deployment, so they
    come first; `configurator.set_engine` then binds the Deleverager too."""
    token = deploy_contract("MockERC20", "Test USD", "tUSD", decimals)
    vault = deploy_contract("Vault", token.address)
    oracle = deploy_contract("PriceOracle")
    feeds = []
    for market_id, m in enumerate(markets):
        feed = deploy_contract("MockAggregator", FEED_DECIMALS, m.name, feed_answer(m.price))
        oracle.set_feed(market_id, feed.address, HEARTBEAT, 1, feed_answer(10**9), wad(m.max_deviation),
                        m.confirm_rounds, m.confirm_seconds)
        feeds.append(feed)
    configurator = deploy_contract("Configurator", fee_pool_share, min_notional)
    deleverager = deploy_contract("Deleverager", configurator.address)
    engine = deploy_contract("Clearinghouse", vault.address, oracle.address, configurator.address, deleverager.address)
    configurator.set_engine(engine.address)
    vault.set_engine(engine.address)
    pool = deploy_contract("LiquidityPool", token.address, vault.address, engine.address, "Backstop LP", "bLP")
    configurator.set_pool(pool.address)
    insurance = deploy_contract(
        "InsuranceFund", token.address, vault.address, engine.address, FUND_COOLDOWN, FUND_WINDOW,
        "Backstop Insurance", "bINS",
    )
    configurator.set_insurance_fund(insurance.address)
    lens = deploy_contract("ClearinghouseLens", engine.address)
    for m in markets:
        configurator.list_market(m.params())
    configurator.set_liquidation_params(LIQUIDATION)
    return Protocol(
        token, vault, oracle, engine, pool, feeds, str(insurance.address), owner, insurance, lens,
        configurator, deleverager, decimals, list(markets), env,
    )
