"""The whole protocol on titanoboa's in-process EVM, for the tests that need it.

Every number comes from the one parameter model (config/local.yaml through
backstop.protocol.params) and every deployment goes through the one wiring
(backstop.protocol.wiring.wire); this module only adds titanoboa's deployer, its actor
names, and the defaults' names the tests use. It imports boa, so nothing that
runs outside the tests imports it (the simulator, the keeper and the chains
do not).
"""

import dataclasses
from functools import cache

import boa
from boa.util.abi import Address

from backstop.protocol.params import MarketParams, default_params, parse_market
from backstop.protocol.handles import Protocol  # noqa: F401  (the tests import it from here)
from backstop.protocol.wiring import CONTRACTS_DIR, DEPLOYABLES, actor_address, wire

CONTRACTS = CONTRACTS_DIR
# config/local.yaml's protocol, and its parts under the names the tests use.
DEFAULTS = default_params()
ETH, BTC = DEFAULTS.markets[:2]
FEED_DECIMALS = ETH.feed_decimals
HEARTBEAT = ETH.heartbeat
FUND_COOLDOWN = DEFAULTS.insurance_fund.cooldown
FUND_WINDOW = DEFAULTS.insurance_fund.withdraw_window
# (liq_fee, keeper_share, min_reward, max_reward, buffer) in WAD.
LIQUIDATION = DEFAULTS.liquidation.as_struct()


def MarketSpec(name: str, price, imr, mmr, fee, skew_scale, max_skew, **feed) -> MarketParams:  # noqa: N802
    """A market with its own name, price and risk numbers (human units), and
    config/local.yaml's first market's feed checks unless `feed` says otherwise;
    validated as the parameter file is."""
    data = {**dataclasses.asdict(ETH), "name": name, "price": price, "imr": imr, "mmr": mmr, "fee_rate": fee,
            "skew_scale": skew_scale, "max_skew": max_skew, **feed}
    # dev: a field left out (a mock market has no `feed` address) stays out.
    return parse_market({k: str(v) if not isinstance(v, (int, str)) else v for k, v in data.items() if v is not None},
                        name)


def actor(name: str) -> Address:
    """The address of the actor called `name` (wiring.actor_address), named in
    titanoboa's traces. (titanoboa's generate_address draws from a random
    stream that its snapshots rewind, so two fixtures made in different
    scopes could get the same address.)"""
    address = Address(actor_address(name))
    boa.env.alias(address, name)
    return address


def feed_answer(price) -> int:
    """A USD price as an answer of the default feeds (FEED_DECIMALS)."""
    return ETH.feed_units(price)


@cache
def deployers() -> dict:
    """Compiled deployers, compiled once per process."""
    return {name: boa.load_partial(str(CONTRACTS_DIR / path)) for name, path in DEPLOYABLES.items()}


class BoaDeployer:
    """wiring.wire's deployer on titanoboa, as `owner`; `replace` maps a
    contract name to a callable deploying something else in its place."""

    def __init__(self, owner, replace: dict | None = None):
        self.owner = owner
        self.replace = replace or {}

    def deploy(self, name: str, *args):
        with boa.env.prank(self.owner):
            if name in self.replace:
                return self.replace[name](*args)
            return deployers()[name].deploy(*args)

    def send(self, contract, function: str, *args):
        with boa.env.prank(self.owner):
            return getattr(contract, function)(*args)

    def code(self, address) -> bytes:
        return bytes(boa.env.get_code(address))

    def attach(self, name: str, address):
        return deployers()[name].at(address)

    def now(self) -> int:
        return boa.env.evm.patch.timestamp


def deploy(owner, decimals: int | None = None, markets=None, params=None, replace: dict | None = None) -> Protocol:
    """A full protocol on titanoboa: `params` (default config/local.yaml), its
    collateral with `decimals` and its `markets` if given."""
    params = (params or DEFAULTS).variant(decimals=decimals, markets=markets)
    return Protocol(**wire(params, BoaDeployer(owner, replace)), params=params, env=boa.env)
