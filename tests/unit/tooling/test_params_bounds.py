"""The parameter loader's bounds are the contracts' bounds, each checked both
ways: a file at the bound loads and deploys on revm; one step past it is
refused by the loader with one line naming the field, and the contracts
refuse that same value too (deployed bypassing the loader), so the loader is
neither looser nor stricter than the chain.

The contract source of each bound is in backstop/protocol/params.py beside its constant."""

import copy
import dataclasses
from decimal import Decimal

import pytest

from backstop.chain import revm_chain
from backstop.protocol.params import ParamsError, default_params, parse_params
from backstop.chain.revm_chain import Reverted
from backstop.protocol.wiring import actor_address

OWNER = actor_address("bounds owner")
MAX_AMOUNT = Decimal(2**128 - 1) / 10**18  # packing.MAX_AMOUNT in WAD, as USD
E18 = Decimal("1e-18")  # one WAD unit
MAX_UINT = 2**256 - 1


def _skew_scale_max(fee_wad: int) -> Decimal:
    return Decimal(MAX_UINT // (10**18 - fee_wad)) / 10**18


# Volatility-scaled margin on for ETH (its other fields' bounds are checked only then on-chain).
VOL_ON = {"markets[0].vol_ref": "0.01", "markets[0].vol_max_scale": "3"}

# (field, value at the bound, value one step past it, what the error says, other fields the case needs)
BOUNDS = [
    # InsuranceFund.MIN_COOLDOWN / MAX_COOLDOWN ("Fund: cooldown too short/long")
    ("insurance_fund.cooldown", 3600, 3599, "below the contract's minimum 3600", {}),
    ("insurance_fund.cooldown", 90 * 86400, 90 * 86400 + 1, "above the contract's maximum 7776000", {}),
    # InsuranceFund.MIN_WINDOW / MAX_WINDOW ("Fund: bad window")
    ("insurance_fund.withdraw_window", 3600, 3599, "below the contract's minimum 3600", {}),
    ("insurance_fund.withdraw_window", 90 * 86400, 90 * 86400 + 1, "above the contract's maximum 7776000", {}),
    # PriceOracle.set_feed: heartbeat != 0, <= MAX_HEARTBEAT
    ("markets[0].heartbeat", 1, 0, "below the contract's minimum 1", {"markets[0].confirm_seconds": 1}),
    ("markets[0].heartbeat", 2**32 - 1, 2**32, "above the contract's maximum 4294967295", {}),
    # PriceOracle.set_feed: confirm_rounds in [1, MAX_CONFIRM_ROUNDS], confirm_seconds in [1, heartbeat]
    ("markets[0].confirm_rounds", 1, 0, "below the contract's minimum 1", {}),
    ("markets[0].confirm_rounds", 8, 9, "above the contract's maximum 8", {}),
    ("markets[0].confirm_seconds", 1, 0, "below the contract's minimum 1", {}),
    ("markets[0].confirm_seconds", 3600, 3601, "above the contract's maximum 3600", {}),
    # PriceOracle.set_feed: max_answer <= MAX_PRICE // scale ("Oracle: band too wide"): 10**18 USD
    ("markets[0].band_max", Decimal(10**18), Decimal(10**18) + Decimal("1e-8"),
     "above the contract's maximum 1000000000000000000 ('Oracle: band too wide')", {}),
    # PriceOracle.set_stable_mark: rate <= MAX_STABLE_RATE billionths a second, a window in [1, heartbeat] with it
    ("markets[0].stable_rate", Decimal("4.294967295"), Decimal("4.294967296"), "must be between 0 and 4.294967295",
     {"markets[0].stable_window": 600}),
    ("markets[0].stable_window", 3600, 3601, "above the contract's maximum 3600", {"markets[0].stable_rate": "0.001"}),
    ("markets[0].stable_window", 1, 0, "must be above 0 with a stable_rate", {"markets[0].stable_rate": "0.001"}),
    # Configurator._check_scaled_slope: the tier slope at the largest volatility scale fits 64 bits (18.44 WAD)
    ("markets[0].vol_max_scale", Decimal("1.8"), Decimal("1.9"), "('Configurator: tier slope x vol scale too high')",
     {"markets[0].margin_tier_slope": "10", "markets[0].vol_ref": "0.01", "markets[0].vol_lambda": "0.9"}),
    # Vault / PriceOracle: decimals <= 18
    ("collateral.decimals", 18, 19, "above the contract's maximum 18", {}),
    ("markets[0].feed_decimals", 18, 19, "above the contract's maximum 18", {}),
    # Configurator: fee_pool_share <= WAD ("share > 1"), min_position_notional <= MAX_AMOUNT
    ("fee_pool_share", Decimal(1), 1 + E18, "above the contract's maximum 1 ('Configurator: share > 1')", {}),
    ("min_position_notional", MAX_AMOUNT, MAX_AMOUNT + E18, "('Configurator: amount too large')", {}),
    # Configurator._check_market: fee_rate <= MAX_FEE_RATE
    ("markets[0].fee_rate", Decimal("0.1"), Decimal("0.1") + E18, "at most 0.1", {}),
    # Configurator._check_market: skew_scale * (WAD - fee_rate) and 2 * max_skew * WAD in uint256
    ("markets[0].skew_scale", _skew_scale_max(10**15), _skew_scale_max(10**15) + E18, "('uint256 overflow')", {}),
    ("markets[0].max_skew", Decimal(MAX_UINT // (2 * 10**18)) / 10**18, Decimal(MAX_UINT // (2 * 10**18) + 1) / 10**18,
     "('uint256 overflow')", {"markets[0].skew_scale": _skew_scale_max(10**15)}),
    # Configurator.set_liquidation_params
    ("liquidation.liq_fee", Decimal("0.1"), Decimal("0.1") + E18, "('Configurator: fee too high')", {}),
    ("liquidation.keeper_share", Decimal(1), 1 + E18, "('Configurator: share > 1')", {}),
    ("liquidation.buffer", Decimal(1), 1 + E18, "('Configurator: bad buffer')", {}),
    ("liquidation.max_reward", MAX_AMOUNT, MAX_AMOUNT + E18, "('Configurator: amount too large')", {}),
    # Configurator.set_volatility_margin (on: vol_ref and vol_max_scale both non-zero)
    ("markets[0].vol_lambda", 1 - E18, Decimal(1), "below 1", VOL_ON),
    ("markets[0].vol_ref", Decimal(1), 1 + E18, "between 0 and 1", {"markets[0].vol_max_scale": "3"}),
    ("markets[0].vol_max_scale", Decimal(5), 5 + E18, "between 1 and 5", {"markets[0].vol_ref": "0.01"}),
    ("markets[0].vol_max_scale", Decimal(1), 1 - E18, "between 1 and 5", {"markets[0].vol_ref": "0.01"}),
    ("markets[0].vol_mmr_rise_per_hour", Decimal(4), 4 + E18, "between 0 and 4", VOL_ON),
]
IDS = [f"{b[0]}={b[1]}" for b in BOUNDS]


def _set(data: dict, path: str, value):
    node, keys = data, path.replace("[", ".").replace("]", "").split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    node[keys[-1]] = str(value) if isinstance(value, Decimal) else value


def _data(path, value, others) -> dict:
    data = copy.deepcopy(default_params().to_dict())
    for other, v in others.items():
        _set(data, other, v)
    _set(data, path, value)
    return data


def _unchecked(params, path: str, value):
    """`params` with the field at `path` set to `value`, past the loader's checks."""
    keys = path.replace("[", ".").replace("]", "").split(".")
    if keys[0] == "markets":
        markets = list(params.markets)
        markets[int(keys[1])] = dataclasses.replace(markets[int(keys[1])], **{keys[2]: value})
        return dataclasses.replace(params, markets=tuple(markets))
    if len(keys) == 1:
        return dataclasses.replace(params, **{keys[0]: value})
    part = getattr(params, keys[0])
    return dataclasses.replace(params, **{keys[0]: dataclasses.replace(part, **{keys[1]: value})})


@pytest.mark.parametrize("path, at, past, message, others", BOUNDS, ids=IDS)
def test_bound__at_the_bound__loads_and_deploys(path, at, past, message, others):
    params = parse_params(_data(path, at, others))
    p = revm_chain.deploy(OWNER, params=params)
    assert p.engine.market_count() == len(params.markets)


@pytest.mark.parametrize("path, at, past, message, others", BOUNDS, ids=IDS)
def test_bound__one_past__loader_refuses_in_one_line_naming_the_field(path, at, past, message, others):
    with pytest.raises(ParamsError) as e:
        parse_params(_data(path, past, others))
    text = str(e.value)
    assert e.value.field == path
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


@pytest.mark.parametrize("path, at, past, message, others", BOUNDS, ids=IDS)
def test_bound__one_past__contracts_refuse_it_too(path, at, past, message, others):
    params = _unchecked(parse_params(_data(path, at, others)), path, past)
    with pytest.raises(Reverted):
        revm_chain.deploy(OWNER, params=params)


def test_cooldown_10__one_line_error_with_the_contracts_minimum():
    """The issue's example: `insurance_fund.cooldown: 10` loaded, then failed on-chain with a 472-line trace."""
    with pytest.raises(ParamsError) as e:
        parse_params(_data("insurance_fund.cooldown", 10, {}))
    assert str(e.value) == "insurance_fund.cooldown: 10 is below the contract's minimum 3600"
