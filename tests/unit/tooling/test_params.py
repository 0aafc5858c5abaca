"""The deployment parameter file: exact WAD conversion, and every bad file rejected
with ParamsError naming the field. Plain Python: no chain, no ape."""

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from backstop.protocol import harness
from backstop.protocol.deployment import ParamsError, load_params, parse_params
from backstop.units import wad

LOCAL = Path(__file__).resolve().parents[3] / "config" / "local.yaml"


@pytest.fixture
def local_data() -> dict:
    """config/local.yaml as plain YAML data, to mutate into bad files."""
    return yaml.safe_load(LOCAL.read_text())


@pytest.fixture
def write(tmp_path):
    """Factory: write `data` (or raw text) to a parameter file; return its path."""

    def _write(data) -> Path:
        path = tmp_path / "params.yaml"
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return _write


def test_load_params__local_file__matches_the_test_harness_markets():
    params = load_params(LOCAL)
    assert params.collateral.decimals == 6
    assert params.fee_pool_share == Decimal("0.5")
    assert [m.name for m in params.markets] == [harness.ETH.name, harness.BTC.name]
    # The ape deployment and the titanoboa tests run the same parameters: the harness's are this file's.
    assert (harness.ETH, harness.BTC) == params.markets
    assert harness.DEFAULTS == params
    assert params.liquidation.as_struct() == harness.LIQUIDATION
    assert params.markets[0].feed_units(params.markets[0].price) == harness.feed_answer(2_000)


def test_load_params__eighteen_decimal_yaml_float__converts_to_wad_digit_for_digit(local_data, write):
    # dev: as a binary float this is 0.12345678901234568; the loader keeps the text's decimal.
    text = yaml.safe_dump(local_data, sort_keys=False).replace("imr: 0.1", "imr: 0.123456789012345678", 1)
    params = load_params(write(text))
    assert params.markets[0].imr == Decimal("0.123456789012345678")
    assert params.markets[0].risk_params()[0] == 123_456_789_012_345_678


def test_parse_params__to_dict_round_trip__same_params():
    params = load_params(LOCAL)
    assert parse_params(params.to_dict()) == params


def test_parse_params__volatility_fields__on_when_ref_and_scale_set_and_round_trip():
    data = load_params(LOCAL).to_dict()
    assert "vol_ref" not in data["markets"][0]  # off by default: left out of the file
    data["markets"][0].update(vol_lambda="0.94", vol_ref="0.01", vol_max_scale="3", vol_mmr_rise_per_hour="0.5")
    params = parse_params(data)
    eth, btc = params.markets[:2]
    assert eth.volatility_scaled and not btc.volatility_scaled
    assert eth.volatility_params() == (94 * 10**16, 10**16, 3 * 10**18, 5 * 10**17)
    assert parse_params(params.to_dict()) == params
    data["markets"][0]["vol_max_scale"] = "0"
    assert not parse_params(data).markets[0].volatility_scaled


def _set(data: dict, path: str, value):
    """Set (or with value ... delete) a dotted path like `markets.0.mmr` in nested data."""
    *parents, last = path.split(".")
    for key in parents:
        data = data[int(key)] if key.isdigit() else data[key]
    if value is ...:
        del data[last]
    else:
        data[int(last) if last.isdigit() else last] = value


BAD = [
    # (what to change, value, field named in the error, reason fragment)
    ("fees", "0.5", "fees", "unknown key"),
    ("markets.1.mrr", "0.1", "markets[1].mrr", "unknown key"),
    ("markets.0.heartbeat", ..., "markets[0].heartbeat", "missing"),
    ("collateral", ..., "collateral", "missing"),
    ("markets.0.mmr", "0.10", "markets[0].mmr", "below imr"),
    ("markets.1.mmr", "0.25", "markets[1].mmr", "below imr"),
    ("markets.0.mmr", "0", "markets[0].mmr", "above 0"),
    ("markets.0.imr", "1.5", "markets[0].imr", "(0, 1]"),
    ("min_position_notional", -1, "min_position_notional", "at least 0"),
    ("markets.0.skew_scale", "-100000", "markets[0].skew_scale", "at least 0"),
    ("fee_pool_share", "1.5", "fee_pool_share", "above the contract's maximum 1"),
    ("collateral.decimals", 19, "collateral.decimals", "above the contract's maximum 18"),
    ("collateral.decimals", True, "collateral.decimals", "integer"),
    ("collateral.decimals", "6", "collateral.decimals", "integer"),
    ("collateral.symbol", "TOOLONG", "collateral.symbol", "1 to 5 characters"),
    ("collateral.name", "", "collateral.name", "1 to 25 characters"),
    ("markets.0.price", "0.5", "markets[0].price", "strictly between"),
    ("markets.0.price", 1_000_000, "markets[0].price", "strictly between"),
    ("markets.0.band_max", "0.5", "markets[0].band_max", "above band_min"),
    ("markets.0.band_min", 0, "markets[0].band_min", "above 0"),
    ("markets.0.price", "2000.123456789", "markets[0].price", "more than 8 decimals"),
    ("markets.0.imr", "0.1000000000000000001", "markets[0].imr", "more than 18 decimals"),
    ("markets.0.max_deviation", "0", "markets[0].max_deviation", "(0, 1]"),
    ("markets.0.fee_rate", "0.2", "markets[0].fee_rate", "at most 0.1"),
    ("markets.1.max_skew", 10_000, "markets[1].max_skew", "below skew_scale"),
    ("markets.1.max_skew", 4_990, "markets[1].max_skew", "below skew_scale"),
    ("markets.0.fee_rate", 0, "markets[0].fee_rate", "above 0"),
    ("markets.0.heartbeat", 0, "markets[0].heartbeat", "below the contract's minimum 1"),
    ("markets.0.feed_decimals", 19, "markets[0].feed_decimals", "above the contract's maximum 18"),
    ("markets.0.imr", "ten percent", "markets[0].imr", "must be a number"),
    ("markets.0.imr", [0.1], "markets[0].imr", "must be a number"),
    ("markets.1.name", "ETH / USD", "markets[1].name", "duplicate market"),
    ("markets.0.name", "x" * 65, "markets[0].name", "1 to 64 characters"),
    ("markets", [], "markets", "1 to 16 markets"),
    ("markets.0", "ETH", "markets[0]", "must be a mapping"),
    ("liquidation", ..., "liquidation", "missing"),
    ("liquidation.penalty", "0.01", "liquidation.penalty", "unknown key"),
    ("liquidation.liq_fee", "0.2", "liquidation.liq_fee", "above the contract's maximum 0.1"),
    ("liquidation.keeper_share", "1.5", "liquidation.keeper_share", "above the contract's maximum 1"),
    ("liquidation.min_reward", "2000", "liquidation.min_reward", "must not exceed max_reward"),
    ("liquidation.buffer", "2", "liquidation.buffer", "above the contract's maximum 1"),
    ("liquidation.max_reward", "-1", "liquidation.max_reward", "must be at least 0"),
    ("liquidation.min_reward", "0.2", "liquidation.min_reward", "farm the insurance fund"),
    ("markets.0.vol_lambda", "1", "markets[0].vol_lambda", "below 1"),
    ("markets.0.vol_ref", "1.5", "markets[0].vol_ref", "between 0 and 1"),
    ("markets.0.vol_max_scale", "0.5", "markets[0].vol_max_scale", "between 1 and 5 or 0"),
    ("markets.1.vol_max_scale", "6", "markets[1].vol_max_scale", "between 1 and 5 or 0"),
    ("markets.0.vol_mmr_rise_per_hour", "5", "markets[0].vol_mmr_rise_per_hour", "between 0 and 4"),
    ("markets.0.vol_ref", "one percent", "markets[0].vol_ref", "must be a number"),
]


@pytest.mark.parametrize("path, value, field, reason", BAD, ids=[f"{b[0]}={b[1]!r:.20}" for b in BAD])
def test_load_params__bad_value__params_error_names_field(local_data, write, path, value, field, reason):
    _set(local_data, path, value)
    with pytest.raises(ParamsError, match=reason.replace("(", r"\(").replace("]", r"\]")) as e:
        load_params(write(local_data))
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ")


def test_load_params__seventeen_markets__params_error(local_data, write):
    local_data["markets"] = [dict(local_data["markets"][0], name=f"M{i}") for i in range(17)]
    with pytest.raises(ParamsError, match="1 to 16 markets") as e:
        load_params(write(local_data))
    assert e.value.field == "markets"


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf"])
def test_load_params__non_finite_yaml_float__params_error_names_field(local_data, write, text):
    body = yaml.safe_dump(local_data, sort_keys=False).replace("imr: 0.1", f"imr: {text}", 1)
    with pytest.raises(ParamsError, match="must be a number") as e:
        load_params(write(body))
    assert e.value.field == "markets[0].imr"


def test_load_params__not_a_mapping__params_error(write):
    with pytest.raises(ParamsError, match="must be a mapping") as e:
        load_params(write("- just\n- a list\n"))
    assert e.value.field == "<file>"


def test_load_params__broken_yaml__params_error_names_file(write):
    path = write("markets: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML") as e:
        load_params(path)
    assert e.value.field == str(path)


def test_parse_params__input_untouched__validation_has_no_side_effects(local_data):
    before = copy.deepcopy(local_data)
    parse_params(local_data)
    assert local_data == before
