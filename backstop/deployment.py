"""Deploy a full Backstop protocol with ape, from a YAML parameter file.

Three steps, each usable on its own:
  - `load_params(path)`: read and validate the parameter file (config/local.yaml).
    Plain Python, no chain: a bad file fails here, naming the field, before any
    gas is spent on a half-wired protocol.
  - `deploy_protocol(params, deployer)`: deploy and wire every
    contract in the order the contracts require (the titanoboa tests do the same
    through backstop/harness.py).
  - `write_addresses(path, deployment)` / `load_deployment(path)`: the JSON record
    that keepers, the simulator and later scripts attach to.

ape is imported only inside the functions that need a chain, so validating a
file never loads ape's plugins and the parameter tests need no node.
"""

import json
import os
import shutil
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from backstop.protocol import ProtocolContracts
from backstop.units import wad
from backstop.validation import ParamsError  # noqa: F401  (callers import it from here too)
from backstop.validation import check as _check
from backstop.validation import keys as _keys

# Limits the contracts enforce, checked here first so a bad file fails with the
# field's name instead of a revert halfway through a deployment.
MAX_MARKETS = 16  # constants.MAX_MARKETS
MAX_FEE_RATE = Decimal("0.1")  # Configurator.MAX_FEE_RATE
MAX_CONFIRM_ROUNDS = 8  # PriceOracle.MAX_CONFIRM_ROUNDS
TOKEN_NAME_MAX, TOKEN_SYMBOL_MAX, FEED_NAME_MAX = 25, 5, 64  # String[...] sizes
MAX_COOLDOWN, MIN_WINDOW, MAX_WINDOW = 90 * 86400, 3600, 90 * 86400  # InsuranceFund bounds, seconds
# dev: larger is a typo for any price, size or scale here; the bound also keeps
#      every number within 28 significant digits at 18 decimals, where `wad()`
#      (Decimal arithmetic at the default precision) is exact.
MAX_NUMBER = 10**10

# Deployment roles -> contract names; the JSON record uses the same keys.
CONTRACTS = {
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


class DeploymentError(RuntimeError):
    """A deployment record does not match the connected chain."""


# ---------------------------------------------------------------- parameters


@dataclass(frozen=True)
class CollateralParams:
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class MarketParams:
    """One market: its mock feed, oracle checks and risk parameters, in human units."""

    name: str
    price: Decimal
    feed_decimals: int
    heartbeat: int
    band_min: Decimal
    band_max: Decimal
    max_deviation: Decimal
    confirm_rounds: int
    confirm_seconds: int
    imr: Decimal
    mmr: Decimal
    fee_rate: Decimal
    skew_scale: Decimal
    max_skew: Decimal

    def feed_units(self, usd) -> int:
        """A USD price as an answer of this market's feed (exact, validated on load)."""
        return int(Decimal(str(usd)) * 10**self.feed_decimals)

    def risk_params(self) -> tuple:
        """The Configurator MarketParams struct (imr, mmr, fee_rate, skew_scale, max_skew) in WAD."""
        return tuple(wad(v) for v in (self.imr, self.mmr, self.fee_rate, self.skew_scale, self.max_skew))


@dataclass(frozen=True)
class LiquidationParams:
    """Penalty and keeper reward (SPEC 5), in human units."""

    liq_fee: Decimal
    keeper_share: Decimal
    min_reward: Decimal
    max_reward: Decimal
    buffer: Decimal

    def as_struct(self) -> tuple:
        """The Configurator LiquidationParams struct in WAD."""
        return tuple(wad(v) for v in (self.liq_fee, self.keeper_share, self.min_reward, self.max_reward, self.buffer))


@dataclass(frozen=True)
class InsuranceFundParams:
    """Withdrawal timing of the InsuranceFund (SPEC 7), seconds."""

    cooldown: int
    withdraw_window: int


@dataclass(frozen=True)
class Params:
    collateral: CollateralParams
    fee_pool_share: Decimal
    min_position_notional: Decimal
    markets: tuple
    liquidation: LiquidationParams
    insurance_fund: InsuranceFundParams

    def to_dict(self) -> dict:
        """The parameters as the file would write them (decimals as strings); `parse_params` reads it back."""

        def plain(obj) -> dict:
            return {k: str(v) if isinstance(v, Decimal) else v for k, v in vars(obj).items()}

        return {
            "collateral": plain(self.collateral),
            "fee_pool_share": str(self.fee_pool_share),
            "min_position_notional": str(self.min_position_notional),
            "markets": [plain(m) for m in self.markets],
            "liquidation": plain(self.liquidation),
            "insurance_fund": plain(self.insurance_fund),
        }


class _ExactLoader(yaml.SafeLoader):
    """YAML loader that reads floats as Decimal: `0.1` stays exactly 0.1, never a binary float."""


def _exact_float(loader, node):
    text = loader.construct_scalar(node)
    try:
        return Decimal(text)
    except InvalidOperation:
        # dev: `.inf`, `.nan` and the like: left as text so validation names the field.
        return text


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def load_params(path) -> Params:
    """Read and validate a parameter file. Raises ParamsError naming the bad field."""
    try:
        data = yaml.load(Path(path).read_text(), Loader=_ExactLoader)
    except yaml.YAMLError as e:
        raise ParamsError(str(path), f"not valid YAML: {e}") from e
    return parse_params(data)


def parse_params(data) -> Params:
    """Validate a parameter mapping (a loaded file, or `Params.to_dict()` from a record)."""
    _keys(data, "", {"collateral", "fee_pool_share", "min_position_notional", "markets", "liquidation", "insurance_fund"})
    c = data["collateral"]
    _keys(c, "collateral", {"name", "symbol", "decimals"})
    collateral = CollateralParams(
        name=_text(c, "name", "collateral", TOKEN_NAME_MAX),
        symbol=_text(c, "symbol", "collateral", TOKEN_SYMBOL_MAX),
        decimals=_int(c, "decimals", "collateral", 0, 18),
    )
    share = _number(data, "fee_pool_share", "")
    _check(share <= 1, "fee_pool_share", f"must be at most 1, got {share}")
    min_notional = _number(data, "min_position_notional", "")
    markets = data["markets"]
    _check(
        isinstance(markets, list) and 1 <= len(markets) <= MAX_MARKETS,
        "markets", f"must be a list of 1 to {MAX_MARKETS} markets",
    )
    parsed = tuple(_market(m, f"markets[{i}]") for i, m in enumerate(markets))
    names = [m.name for m in parsed]
    for i, name in enumerate(names):
        _check(name not in names[:i], f"markets[{i}].name", f"duplicate market {name!r}")
    liquidation = _liquidation(data["liquidation"])
    _check(liquidation.min_reward <= liquidation.liq_fee * min_notional, "liquidation.min_reward",
           f"must not exceed liq_fee x min_position_notional ({liquidation.liq_fee * min_notional}): "
           "a larger top-up lets dust positions farm the insurance fund")
    f = data["insurance_fund"]
    _keys(f, "insurance_fund", {"cooldown", "withdraw_window"})
    fund = InsuranceFundParams(
        cooldown=_int(f, "cooldown", "insurance_fund", 0, MAX_COOLDOWN),
        withdraw_window=_int(f, "withdraw_window", "insurance_fund", MIN_WINDOW, MAX_WINDOW),
    )
    return Params(collateral, share, min_notional, parsed, liquidation, fund)


def _liquidation(lq) -> LiquidationParams:
    _keys(lq, "liquidation", set(LiquidationParams.__dataclass_fields__))
    out = LiquidationParams(**{k: _number(lq, k, "liquidation") for k in LiquidationParams.__dataclass_fields__})
    # dev: the same bounds the contract enforces, so a bad file fails before any gas is spent.
    _check(out.liq_fee <= Decimal("0.1"), "liquidation.liq_fee", f"must be at most 0.1, got {out.liq_fee}")
    _check(out.keeper_share <= 1, "liquidation.keeper_share", f"must be at most 1, got {out.keeper_share}")
    _check(out.min_reward <= out.max_reward, "liquidation.min_reward",
           f"must not exceed max_reward ({out.min_reward} > {out.max_reward})")
    _check(out.buffer <= 1, "liquidation.buffer", f"must be at most 1, got {out.buffer}")
    return out


def _market(m, at: str) -> MarketParams:
    _keys(m, at, set(MarketParams.__dataclass_fields__))
    name = _text(m, "name", at, FEED_NAME_MAX)
    feed_decimals = _int(m, "feed_decimals", at, 0, 18)
    heartbeat = _int(m, "heartbeat", at, 1)
    # Prices must be exact in feed units; everything else exact in WAD.
    band_min, band_max, price = (_number(m, k, at, places=feed_decimals) for k in ("band_min", "band_max", "price"))
    max_deviation, imr, mmr, fee_rate, skew_scale, max_skew = (
        _number(m, k, at) for k in ("max_deviation", "imr", "mmr", "fee_rate", "skew_scale", "max_skew")
    )
    _check(band_min > 0, f"{at}.band_min", f"must be above 0, got {band_min}")
    _check(band_max > band_min, f"{at}.band_max", f"must be above band_min ({band_min}), got {band_max}")
    # dev: the oracle rejects answers at or beyond the band, so the first price must lie strictly inside.
    _check(band_min < price < band_max, f"{at}.price", f"must lie strictly between band_min and band_max, got {price}")
    _check(0 < max_deviation <= 1, f"{at}.max_deviation", f"must be in (0, 1], got {max_deviation}")
    # dev: the oracle's bounds (PriceOracle.set_feed): a guard lifts after these
    #      rounds at the new level or these seconds after the jump.
    confirm_rounds = _int(m, "confirm_rounds", at, 1, MAX_CONFIRM_ROUNDS)
    confirm_seconds = _int(m, "confirm_seconds", at, 1, heartbeat)
    _check(0 < imr <= 1, f"{at}.imr", f"must be in (0, 1], got {imr}")
    _check(0 < mmr < imr, f"{at}.mmr", f"must be above 0 and below imr ({imr}), got {mmr}")
    # dev: the Configurator's bounds: the fee is what a sandwich around
    #      liquidations pays, and the skew cap keeps it paying (SPEC 5.2).
    _check(0 < fee_rate <= MAX_FEE_RATE, f"{at}.fee_rate", f"must be above 0 and at most {MAX_FEE_RATE}, got {fee_rate}")
    _check(skew_scale > 0, f"{at}.skew_scale", f"must be above 0, got {skew_scale}")
    skew_bound = skew_scale * (1 - fee_rate) / 2
    _check(0 < max_skew < skew_bound, f"{at}.max_skew",
           f"must be above 0 and below skew_scale * (1 - fee_rate) / 2 ({skew_bound}), got {max_skew}")
    return MarketParams(
        name, price, feed_decimals, heartbeat, band_min, band_max,
        max_deviation, confirm_rounds, confirm_seconds, imr, mmr, fee_rate, skew_scale, max_skew,
    )


def _text(obj, key, at, max_len) -> str:
    value = obj[key]
    ok = isinstance(value, str) and 0 < len(value) <= max_len
    _check(ok, f"{at}.{key}", f"must be a string of 1 to {max_len} characters")
    return value


def _int(obj, key, at, low, high=None) -> int:
    value = obj[key]
    bound = f"between {low} and {high}" if high is not None else f"at least {low}"
    # dev: bool is an int subclass; `decimals: yes` must not read as 1.
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    _check(ok, f"{at}.{key}", f"must be an integer {bound}, got {value!r}")
    return value


def _number(obj, key, at, places=18) -> Decimal:
    """A finite decimal in [0, MAX_NUMBER) that is a whole number of 10**-places."""
    field_name = f"{at}.{key}" if at else key
    value = obj[key]
    number = None
    if isinstance(value, (int, float, str, Decimal)) and not isinstance(value, bool):
        try:
            # dev: a float (only from Python callers; the file loader makes Decimals)
            #      goes through its shortest repr, as `wad()` does.
            number = Decimal(str(value))
        except InvalidOperation:
            pass
    _check(number is not None and number.is_finite(), field_name, f"must be a number, got {value!r}")
    _check(0 <= number < MAX_NUMBER, field_name, f"must be at least 0 and below {MAX_NUMBER:,}, got {number}")
    numerator, denominator = number.as_integer_ratio()
    _check(numerator * 10**places % denominator == 0, field_name, f"has more than {places} decimals: {number}")
    return number


# ---------------------------------------------------------------- deployment


@dataclass
class Deployment(ProtocolContracts):
    """A deployed protocol: ape contract instances, named as in backstop/harness.Protocol."""

    params: Params

    @property
    def decimals(self) -> int:
        return self.params.collateral.decimals

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


def deploy_protocol(params: Params, deployer) -> Deployment:
    """Deploy and wire a full protocol from `deployer` (which owns every contract).

    Order: token -> vault -> oracle + one feed per market (oracle.set_feed) ->
    configurator -> deleverager -> clearinghouse -> configurator.set_engine
    (binds the deleverager too) -> vault.set_engine -> pool ->
    configurator.set_pool -> insurance fund -> configurator.set_insurance_fund
    -> lens -> configurator.list_market per market. The engine names its
    configurator and deleverager at deployment, a market can only be listed
    once its feed answers, and the pool and the fund need the engine's address.
    """
    project = _project()
    tx = {"sender": deployer}
    c = params.collateral
    token = project.MockERC20.deploy(c.name, c.symbol, c.decimals, **tx)
    vault = project.Vault.deploy(token, **tx)
    oracle = project.PriceOracle.deploy(**tx)
    feeds = []
    for market_id, m in enumerate(params.markets):
        feed = project.MockAggregator.deploy(m.feed_decimals, m.name, m.feed_units(m.price), **tx)
        oracle.set_feed(
            market_id, feed, m.heartbeat, m.feed_units(m.band_min), m.feed_units(m.band_max),
            wad(m.max_deviation), m.confirm_rounds, m.confirm_seconds, **tx,
        )
        feeds.append(feed)
    configurator = project.Configurator.deploy(
        wad(params.fee_pool_share), wad(params.min_position_notional), **tx
    )
    deleverager = project.Deleverager.deploy(configurator, **tx)
    engine = project.Clearinghouse.deploy(vault, oracle, configurator, deleverager, **tx)
    configurator.set_engine(engine, **tx)
    vault.set_engine(engine, **tx)
    pool = project.LiquidityPool.deploy(token, vault, engine, "Backstop LP", "bLP", **tx)
    configurator.set_pool(pool, **tx)
    f = params.insurance_fund
    insurance = project.InsuranceFund.deploy(
        token, vault, engine, f.cooldown, f.withdraw_window, "Backstop Insurance", "bINS", **tx
    )
    configurator.set_insurance_fund(insurance, **tx)
    lens = project.ClearinghouseLens.deploy(engine, **tx)
    for m in params.markets:
        configurator.list_market(m.risk_params(), **tx)
    configurator.set_liquidation_params(params.liquidation.as_struct(), **tx)
    return Deployment(
        token, vault, oracle, engine, pool, feeds, str(insurance.address), str(deployer.address), insurance, lens,
        configurator, deleverager, params,
    )


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
