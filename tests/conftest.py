"""Shared fixtures: the whole protocol on titanoboa's in-process EVM.

Unit tests run on titanoboa directly (thousands of calls per second, see the
README's harness table); titanoboa's pytest plugin snapshots the chain around
every fixture and test, so each test starts from the fixtures' state.
"""

from dataclasses import dataclass
from pathlib import Path

import boa
import pytest

from backstop.units import WAD, wad

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"

FEED_DECIMALS = 8
HEARTBEAT = 3600
ETH_PRICE = 2_000
BTC_PRICE = 50_000

# (name, price, imr, mmr, fee_rate, skew_scale, max_skew) for the two test markets.
ETH = dict(name="ETH / USD", price=ETH_PRICE, imr="0.10", mmr="0.05", fee="0.001", skew_scale=100_000, max_skew=10_000)
BTC = dict(name="BTC / USD", price=BTC_PRICE, imr="0.20", mmr="0.10", fee="0.002", skew_scale=10_000, max_skew=1_000)


def feed_answer(price) -> int:
    """A USD price as an 8-decimal feed answer."""
    from decimal import Decimal

    return int(Decimal(str(price)) * 10**FEED_DECIMALS)


@pytest.fixture(scope="session")
def contracts():
    """Compiled deployers, compiled once per test session."""
    names = ["Vault", "PriceOracle", "Clearinghouse", "LiquidityPool"]
    out = {name: boa.load_partial(str(CONTRACTS / f"{name}.vy")) for name in names}
    out["MockERC20"] = boa.load_partial(str(CONTRACTS / "mocks" / "MockERC20.vy"))
    out["MockAggregator"] = boa.load_partial(str(CONTRACTS / "mocks" / "MockAggregator.vy"))
    return out


@pytest.fixture(scope="session")
def owner():
    return boa.env.generate_address("owner")


@pytest.fixture(scope="session")
def trader():
    return boa.env.generate_address("trader")


@pytest.fixture(scope="session")
def other_trader():
    return boa.env.generate_address("other_trader")


@pytest.fixture(scope="session")
def lp():
    return boa.env.generate_address("lp")


@pytest.fixture(scope="session")
def attacker():
    return boa.env.generate_address("attacker")


@pytest.fixture(scope="session")
def fund_account():
    """Vault account that receives the insurance fund's share of fees."""
    return boa.env.generate_address("insurance_fund")


@dataclass
class Protocol:
    token: object
    vault: object
    oracle: object
    engine: object
    pool: object
    feeds: list
    fund: str
    owner: str
    decimals: int

    def units(self, usd) -> int:
        """A USD amount in collateral token units."""
        from decimal import Decimal

        return int(Decimal(str(usd)) * 10**self.decimals)

    def fund_trader(self, account, usd) -> int:
        """Mint `usd` of collateral to `account` and deposit it; return token units."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with boa.env.prank(account):
            self.token.approve(self.vault.address, amount)
            self.vault.deposit(amount)
        return amount

    def fund_pool(self, account, usd) -> int:
        amount = self.units(usd)
        self.token.mint(account, amount)
        with boa.env.prank(account):
            self.token.approve(self.pool.address, amount)
            self.pool.deposit(amount)
        return amount

    def set_price(self, market, price):
        self.feeds[market].set_answer(feed_answer(price))


@pytest.fixture(scope="session")
def deploy(contracts, owner, fund_account):
    """Factory: a fully wired protocol with two markets (ETH, BTC) for a token of `decimals`."""

    def _deploy(decimals: int = 18, fee_pool_share=wad("0.5"), min_notional=wad(10)) -> Protocol:
        with boa.env.prank(owner):
            token = contracts["MockERC20"].deploy("Test USD", "tUSD", decimals)
            vault = contracts["Vault"].deploy(token.address)
            oracle = contracts["PriceOracle"].deploy()
            feeds = []
            for market_id, m in enumerate([ETH, BTC]):
                feed = contracts["MockAggregator"].deploy(FEED_DECIMALS, m["name"], feed_answer(m["price"]))
                oracle.set_feed(market_id, feed.address, HEARTBEAT, 1, feed_answer(10**9), wad("0.25"))
                feeds.append(feed)
            engine = contracts["Clearinghouse"].deploy(vault.address, oracle.address, fee_pool_share, min_notional)
            vault.set_engine(engine.address)
            pool = contracts["LiquidityPool"].deploy(token.address, vault.address, engine.address, "Backstop LP", "bLP")
            engine.set_pool(pool.address)
            engine.set_insurance_fund(fund_account)
            for m in [ETH, BTC]:
                engine.list_market(market_params(m))
        return Protocol(token, vault, oracle, engine, pool, feeds, fund_account, owner, decimals)

    return _deploy


def market_params(m) -> tuple:
    """MarketParams struct (imr, mmr, fee_rate, skew_scale, max_skew) from a market dict."""
    return (wad(m["imr"]), wad(m["mmr"]), wad(m["fee"]), wad(m["skew_scale"]), wad(m["max_skew"]))


@pytest.fixture(scope="module", params=[6, 18], ids=["usd6", "usd18"])
def decimals(request):
    return request.param


@pytest.fixture(scope="module")
def protocol(deploy, decimals):
    """The protocol for both token decimals (6 and 18), pool funded with 1M USD."""
    p = deploy(decimals)
    p.fund_pool(boa.env.generate_address("lp"), 1_000_000)
    return p


__all__ = ["WAD", "wad"]
