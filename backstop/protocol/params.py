"""The protocol's parameters: one model, the format of config/local.yaml.

Every deployment path (ape's `scripts/deploy.py`, the titanoboa and revm test
harnesses, the node chain, the simulator and the sweep) builds the protocol
from a `Params` read here, through `backstop.protocol.wiring.wire`; the default is
config/local.yaml itself (`default_params()`).

The loader enforces exactly the contracts' bounds (each constant below names
the Vyper constant or assert it mirrors), so a value the contracts would
refuse fails here, in one line naming the field, before any chain is touched;
a value the contracts accept loads. Plain Python: no chain, no ape, no boa.
"""

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import yaml
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from backstop.units import WAD, scaled, wad
from backstop.protocol.validation import ParamsError
from backstop.protocol.validation import check as _check
from backstop.protocol.validation import keys as _keys

DEFAULT_PARAMS = Path(__file__).resolve().parents[2] / "config" / "local.yaml"

# Limits the contracts enforce, checked here first so a bad file fails with the
# field's name instead of a revert halfway through a deployment.
MAX_MARKETS = 16  # constants.MAX_MARKETS (Configurator.list_market: "too many markets")
MAX_FEE_RATE = Decimal("0.1")  # Configurator.MAX_FEE_RATE (market fee_rate and liquidation liq_fee)
MAX_CONFIRM_ROUNDS = 8  # PriceOracle.MAX_CONFIRM_ROUNDS
MAX_HEARTBEAT = 2**32 - 1  # PriceOracle.MAX_HEARTBEAT, seconds
# PriceOracle.MAX_PRICE (10**36 in WAD): set_feed refuses a band_max above 10**18 USD ("Oracle: band too wide").
MAX_PRICE_USD = 10**18
MAX_DECIMALS = 18  # Vault / PriceOracle: token and feed decimals at most 18 (and uint8)
TOKEN_NAME_MAX, TOKEN_SYMBOL_MAX, FEED_NAME_MAX = 25, 5, 64  # String[...] sizes of MockERC20 / MockAggregator
# InsuranceFund.MIN_COOLDOWN, MAX_COOLDOWN, MIN_WINDOW, MAX_WINDOW, seconds.
MIN_COOLDOWN, MAX_COOLDOWN, MIN_WINDOW, MAX_WINDOW = 3600, 90 * 86400, 3600, 90 * 86400
# packing.MAX_AMOUNT (Configurator: min_position_notional and max_reward, WAD: "amount too large").
MAX_AMOUNT_WAD = 2**128 - 1
MAX_UINT256 = 2**256 - 1
ADL_MODES = ("queue", "pro_rata")  # Configurator.adl_pro_rata: False, True
MAX_TIER_SLOPE = Decimal(10)  # Configurator.MAX_TIER_SLOPE ("tier slope too high")
# PriceOracle.set_stable_mark: the rate in billionths a second (RATE_UNIT), at most MAX_STABLE_RATE of them.
STABLE_RATE_PLACES, MAX_STABLE_RATE_UNITS = 9, 2**32 - 1
MAX_VOL_SCALE = Decimal(5)  # Configurator.MAX_VOL_SCALE ("bad vol scale")
MAX_MMR_RISE = Decimal(4)  # Configurator.MAX_MMR_RISE ("bad mmr rise"), base mmr per hour

# ---------------------------------------------------------------- parameters

# Optional market fields at their defaults: `Params.to_dict()` leaves them out,
# so records written before the field existed read the same.
MARKET_DEFAULTS = {"adl_mode": "queue", "margin_tier_slope": Decimal(0), "stable_rate": Decimal(0), "stable_window": 0,
                   "vol_lambda": Decimal(0), "vol_ref": Decimal(0), "vol_max_scale": Decimal(0),
                   "vol_mmr_rise_per_hour": Decimal(0)}


@dataclass(frozen=True)
class CollateralParams:
    """The collateral token: a MockERC20 deployed with this name, symbol and
    decimals, or the existing ERC-20 at `address` (whose `decimals()` must
    be `decimals`; name and symbol are then the token's own)."""

    name: str | None
    symbol: str | None
    decimals: int
    address: str | None = None


@dataclass(frozen=True)
class MarketParams:
    """One market: its feed (a MockAggregator first answering `price`, or the
    existing Chainlink-shaped feed at `feed`, whose `decimals()` must be
    `feed_decimals`), oracle checks and risk parameters, in human units."""

    name: str
    price: Decimal | None
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
    feed: str | None = None
    # Auto-deleveraging mode (Configurator.set_adl_pro_rata): "queue", best-ranked
    # first at the bankruptcy price, or "pro_rata", the deficit spread over the
    # listed counterparties by profit x leverage.
    adl_mode: str = "queue"
    # Size tiers (Configurator.set_margin_tiers): a trader's initial margin fraction is
    # imr + margin_tier_slope * |size| / skew_scale (at most 1), maintenance in proportion; 0: flat.
    margin_tier_slope: Decimal = Decimal(0)
    # The stable mark (PriceOracle.set_stable_mark): what decides liquidatability follows the
    # feed at most stable_rate (a fraction of itself) a second, and in full once a move has
    # stood stable_window seconds (at most the heartbeat); stable_rate 0: off.
    stable_rate: Decimal = Decimal(0)
    stable_window: int = 0

    # Volatility-scaled margin (Configurator.set_volatility_margin): an EWMA of squared
    # round returns (weight vol_lambda on the past per round) scales imr and mmr by
    # clamp(sqrt(ewma) / vol_ref, 1, vol_max_scale): imr at once, mmr by at most
    # vol_mmr_rise_per_hour base mmr an hour. A zero vol_ref or vol_max_scale: off.
    vol_lambda: Decimal = Decimal(0)
    vol_ref: Decimal = Decimal(0)
    vol_max_scale: Decimal = Decimal(0)
    vol_mmr_rise_per_hour: Decimal = Decimal(0)

    def stable_rate_units(self) -> int:
        """stable_rate in the oracle's unit: billionths of the price a second."""
        return int(self.stable_rate * 10**STABLE_RATE_PLACES)

    @property
    def volatility_scaled(self) -> bool:
        """Whether the margins scale with volatility (the contract's test: both non-zero)."""
        return self.vol_ref != 0 and self.vol_max_scale != 0

    def volatility_params(self) -> tuple:
        """The `set_volatility_margin` arguments after the market id, in WAD."""
        return tuple(wad(v) for v in (self.vol_lambda, self.vol_ref, self.vol_max_scale, self.vol_mmr_rise_per_hour))

    def feed_units(self, usd) -> int:
        """A USD price as an answer of this market's feed (exact, validated on load)."""
        return scaled(usd, self.feed_decimals)

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

    def variant(self, decimals: int | None = None, markets=None) -> "Params":
        """These parameters with another collateral `decimals` or other `markets`
        (MarketParams), validated like a file; the test harnesses' knobs."""
        if decimals is None and markets is None:
            return self
        data = self.to_dict()
        if decimals is not None:
            data["collateral"]["decimals"] = decimals
        if markets is not None:
            data["markets"] = [{k: str(v) if isinstance(v, Decimal) else v for k, v in vars(m).items() if v is not None}
                               for m in markets]
        return parse_params(data)

    def to_dict(self) -> dict:
        """The parameters as the file would write them (decimals as strings); `parse_params` reads it back."""

        def plain(obj) -> dict:
            # dev: an optional field left out (no address: a mock) is left out of the file too.
            return {k: str(v) if isinstance(v, Decimal) else v for k, v in vars(obj).items() if v is not None}

        return {
            "collateral": plain(self.collateral),
            "fee_pool_share": str(self.fee_pool_share),
            "min_position_notional": str(self.min_position_notional),
            # dev: optional market fields at their defaults are left out (MARKET_DEFAULTS).
            "markets": [{k: v for k, v in plain(m).items() if getattr(m, k) != MARKET_DEFAULTS.get(k, object())}
                        for m in self.markets],
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


def _hex_as_text(loader, node):
    # dev: YAML 1.1 reads `0x...` as an integer: an address (`feed: 0xAbC...`)
    #      stays the text it was written as, its checksum case kept.
    text = loader.construct_scalar(node)
    if text.lower().startswith(("0x", "+0x", "-0x")):
        return text
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_ExactLoader.add_constructor("tag:yaml.org,2002:int", _hex_as_text)


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
    # dev: an existing token needs only its address and decimals (checked against
    #      the token at deployment); a mock needs its name and symbol too.
    existing = isinstance(c, dict) and c.get("address") is not None
    _keys(c, "collateral", {"decimals"} if existing else {"name", "symbol", "decimals"},
          optional={"name", "symbol", "address"} if existing else {"address"})
    collateral = CollateralParams(
        name=_text(c, "name", "collateral", TOKEN_NAME_MAX) if "name" in c else None,
        symbol=_text(c, "symbol", "collateral", TOKEN_SYMBOL_MAX) if "symbol" in c else None,
        decimals=_int(c, "decimals", "collateral", 0, MAX_DECIMALS),
        address=_address(c, "address", "collateral") if existing else None,
    )
    share = _number(data, "fee_pool_share", "")
    _at_most(share, 1, "fee_pool_share", "Configurator: share > 1")
    min_notional = _number(data, "min_position_notional", "")
    _at_most_wad(min_notional, MAX_AMOUNT_WAD, "min_position_notional", "Configurator: amount too large")
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
    # dev: Configurator._check_dust_reward: min_reward * WAD <= liq_fee * min_notional (exact in decimals).
    _check(liquidation.min_reward <= liquidation.liq_fee * min_notional, "liquidation.min_reward",
           f"must not exceed liq_fee x min_position_notional ({liquidation.liq_fee * min_notional}): "
           "a larger top-up lets dust positions farm the insurance fund")
    f = data["insurance_fund"]
    _keys(f, "insurance_fund", {"cooldown", "withdraw_window"})
    fund = InsuranceFundParams(
        cooldown=_int(f, "cooldown", "insurance_fund", MIN_COOLDOWN, MAX_COOLDOWN),
        withdraw_window=_int(f, "withdraw_window", "insurance_fund", MIN_WINDOW, MAX_WINDOW),
    )
    return Params(collateral, share, min_notional, parsed, liquidation, fund)


def _liquidation(lq) -> LiquidationParams:
    _keys(lq, "liquidation", set(LiquidationParams.__dataclass_fields__))
    out = LiquidationParams(**{k: _number(lq, k, "liquidation") for k in LiquidationParams.__dataclass_fields__})
    # dev: Configurator.set_liquidation_params's asserts, in its order.
    _at_most(out.liq_fee, MAX_FEE_RATE, "liquidation.liq_fee", "Configurator: fee too high")
    _at_most(out.keeper_share, 1, "liquidation.keeper_share", "Configurator: share > 1")
    _check(out.min_reward <= out.max_reward, "liquidation.min_reward",
           f"must not exceed max_reward ({out.min_reward} > {out.max_reward})")
    _at_most_wad(out.max_reward, MAX_AMOUNT_WAD, "liquidation.max_reward", "Configurator: amount too large")
    _at_most(out.buffer, 1, "liquidation.buffer", "Configurator: bad buffer")
    return out


def _market(m, at: str) -> MarketParams:
    # dev: an existing feed (`feed: 0x...`) answers its own price: no `price` then.
    existing = isinstance(m, dict) and m.get("feed") is not None
    optional = {"feed", *MARKET_DEFAULTS}
    fields = set(MarketParams.__dataclass_fields__) - optional
    _keys(m, at, fields - {"price"} if existing else fields, optional=optional)
    name = _text(m, "name", at, FEED_NAME_MAX)
    feed = _address(m, "feed", at) if existing else None
    feed_decimals = _int(m, "feed_decimals", at, 0, MAX_DECIMALS)
    heartbeat = _int(m, "heartbeat", at, 1, MAX_HEARTBEAT)
    # Prices must be exact in feed units; everything else exact in WAD.
    band_min, band_max = (_number(m, k, at, places=feed_decimals) for k in ("band_min", "band_max"))
    price = None if existing else _number(m, "price", at, places=feed_decimals)
    max_deviation, imr, mmr, fee_rate, skew_scale, max_skew = (
        _number(m, k, at) for k in ("max_deviation", "imr", "mmr", "fee_rate", "skew_scale", "max_skew")
    )
    # dev: PriceOracle.set_feed's asserts: 0 < min < max, max within MAX_PRICE, and the
    #      feed's first answer (read at set_feed) strictly inside the band.
    _check(band_min > 0, f"{at}.band_min", f"must be above 0, got {band_min}")
    _check(band_max > band_min, f"{at}.band_max", f"must be above band_min ({band_min}), got {band_max}")
    _at_most(band_max, MAX_PRICE_USD, f"{at}.band_max", "Oracle: band too wide")
    if price is not None:
        _check(band_min < price < band_max, f"{at}.price",
               f"must lie strictly between band_min and band_max, got {price}")
    _check(0 < max_deviation <= 1, f"{at}.max_deviation", f"must be in (0, 1], got {max_deviation}")
    # dev: a guard lifts after these rounds at the new level or these seconds after the jump.
    confirm_rounds = _int(m, "confirm_rounds", at, 1, MAX_CONFIRM_ROUNDS)
    confirm_seconds = _int(m, "confirm_seconds", at, 1, heartbeat)
    # dev: Configurator._check_market's asserts: the fee is what a sandwich
    #      around liquidations pays, and the skew cap keeps it paying (SPEC 5.2).
    _check(0 < imr <= 1, f"{at}.imr", f"must be in (0, 1], got {imr}")
    _check(0 < mmr < imr, f"{at}.mmr", f"must be above 0 and below imr ({imr}), got {mmr}")
    _check(0 < fee_rate <= MAX_FEE_RATE, f"{at}.fee_rate", f"must be above 0 and at most {MAX_FEE_RATE}, got {fee_rate}")
    _check(skew_scale > 0, f"{at}.skew_scale", f"must be above 0, got {skew_scale}")
    # dev: the contract computes skew_scale * (WAD - fee_rate) and 2 * max_skew * WAD in
    #      uint256: a larger value overflows (a revert without a reason).
    _at_most_wad(skew_scale, MAX_UINT256 // (WAD - wad(fee_rate)), f"{at}.skew_scale", "uint256 overflow")
    _at_most_wad(max_skew, MAX_UINT256 // (2 * WAD), f"{at}.max_skew", "uint256 overflow")
    skew_bound = skew_scale * (1 - fee_rate) / 2
    _check(0 < max_skew < skew_bound, f"{at}.max_skew",
           f"must be above 0 and below skew_scale * (1 - fee_rate) / 2 ({skew_bound}), got {max_skew}")
    adl_mode = m.get("adl_mode", MARKET_DEFAULTS["adl_mode"])
    _check(adl_mode in ADL_MODES, f"{at}.adl_mode", f"must be one of {', '.join(ADL_MODES)}, got {adl_mode!r}")
    slope = _number(m, "margin_tier_slope", at) if "margin_tier_slope" in m else MARKET_DEFAULTS["margin_tier_slope"]
    _check(0 <= slope <= MAX_TIER_SLOPE, f"{at}.margin_tier_slope", f"must be between 0 and {MAX_TIER_SLOPE}, got {slope}")
    # dev: PriceOracle.set_stable_mark's asserts: the rate's unit and width, and a
    #      window (at most the heartbeat) whenever there is a rate.
    rate = _number(m, "stable_rate", at, places=STABLE_RATE_PLACES) if "stable_rate" in m \
        else MARKET_DEFAULTS["stable_rate"]
    max_rate = Decimal(MAX_STABLE_RATE_UNITS) / 10**STABLE_RATE_PLACES
    _check(0 <= rate <= max_rate, f"{at}.stable_rate", f"must be between 0 and {max_rate} a second, got {rate}")
    window = _int(m, "stable_window", at, 0, heartbeat) if "stable_window" in m else MARKET_DEFAULTS["stable_window"]
    _check(rate == 0 or window > 0, f"{at}.stable_window",
           f"must be above 0 with a stable_rate ({rate}), got {window}")
    vol = {k: _number(m, k, at) if k in m else MARKET_DEFAULTS[k]
           for k in ("vol_lambda", "vol_ref", "vol_max_scale", "vol_mmr_rise_per_hour")}
    # dev: Configurator.set_volatility_margin's asserts (a zero vol_ref or vol_max_scale turns it off).
    _check(vol["vol_lambda"] < 1, f"{at}.vol_lambda", f"must be at least 0 and below 1, got {vol['vol_lambda']}")
    _check(vol["vol_ref"] <= 1, f"{at}.vol_ref", f"must be between 0 and 1 (0 turns it off), got {vol['vol_ref']}")
    _check(vol["vol_max_scale"] == 0 or 1 <= vol["vol_max_scale"] <= MAX_VOL_SCALE, f"{at}.vol_max_scale",
           f"must be between 1 and {MAX_VOL_SCALE} or 0 to turn it off, got {vol['vol_max_scale']}")
    _check(vol["vol_mmr_rise_per_hour"] <= MAX_MMR_RISE, f"{at}.vol_mmr_rise_per_hour",
           f"must be between 0 and {MAX_MMR_RISE} (base mmr per hour), got {vol['vol_mmr_rise_per_hour']}")
    # dev: Configurator._check_scaled_slope: the engine holds the scaled tier slope in 64 bits.
    if vol["vol_ref"] != 0 and vol["vol_max_scale"] != 0:
        _check((wad(slope) * wad(vol["vol_max_scale"]) + WAD - 1) // WAD < 2**64, f"{at}.vol_max_scale",
               f"{vol['vol_max_scale']} x margin_tier_slope {slope} is above the contract's maximum "
               f"{Decimal(2**64) / WAD} ('Configurator: tier slope x vol scale too high')")
    return MarketParams(
        name, price, feed_decimals, heartbeat, band_min, band_max,
        max_deviation, confirm_rounds, confirm_seconds, imr, mmr, fee_rate, skew_scale, max_skew, feed, adl_mode,
        slope, stable_rate=rate, stable_window=window, **vol,
    )


def _at_most(value: Decimal, high, field_name: str, revert: str):
    _check(value <= high, field_name, f"{value} is above the contract's maximum {high} ({revert!r})")


def _at_most_wad(value: Decimal, high_wad: int, field_name: str, revert: str):
    """`value` in WAD at most `high_wad` (the contract's bound on the WAD integer)."""
    _check(wad(value) <= high_wad, field_name,
           f"{value} is above the contract's maximum {Decimal(high_wad) / WAD} ({revert!r})")


def _address(obj, key, at) -> str:
    """A 20-byte hex address (a mixed-case one must carry a valid checksum), checksummed."""
    value, field_name = obj[key], f"{at}.{key}"
    _check(isinstance(value, str) and is_hex_address(value), field_name,
           f"must be a 0x-prefixed address of 40 hex digits, got {value!r}")
    _check(value[2:].islower() or value[2:].isupper() or value[2:].isdigit() or is_checksum_address(value),
           field_name, f"{value} has a wrong checksum (a typo?)")
    _check(int(value, 16) != 0, field_name, "is the zero address")
    return to_checksum_address(value)


def _text(obj, key, at, max_len) -> str:
    value = obj[key]
    ok = isinstance(value, str) and 0 < len(value) <= max_len
    _check(ok, f"{at}.{key}", f"must be a string of 1 to {max_len} characters")
    return value


def _int(obj, key, at, low, high) -> int:
    """An integer in [low, high]: the contract's bounds, so a value past them fails here, not on-chain."""
    value, field_name = obj[key], f"{at}.{key}"
    # dev: bool is an int subclass; `decimals: yes` must not read as 1.
    _check(isinstance(value, int) and not isinstance(value, bool), field_name,
           f"must be an integer between {low} and {high}, got {value!r}")
    _check(value >= low, field_name, f"{value} is below the contract's minimum {low}")
    _check(value <= high, field_name, f"{value} is above the contract's maximum {high}")
    return value


def _number(obj, key, at, places=18) -> Decimal:
    """A finite decimal, at least 0, that is a whole number of 10**-places
    (each field's upper bound is the contract's, checked by the caller)."""
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
    _check(number >= 0, field_name, f"must be at least 0, got {number}")
    numerator, denominator = number.as_integer_ratio()
    _check(numerator * 10**places % denominator == 0, field_name, f"has more than {places} decimals: {number}")
    return number


@cache
def default_params() -> Params:
    """config/local.yaml, loaded once: what every deployment uses unless told otherwise."""
    return load_params(DEFAULT_PARAMS)


def parse_market(data: dict, at: str = "market") -> MarketParams:
    """One market's mapping (a `markets[i]` entry of the file), validated; `at` names it in errors."""
    return _market(data, at)
