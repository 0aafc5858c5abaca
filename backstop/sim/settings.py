"""What one simulator run is made of besides its seed: a scenario (backstop.sim.scenario)
and the protocol's parameters (backstop.protocol.params' `Params`, the format of
config/local.yaml), and how `--set FIELD=VALUE,...` changes either.

A field is a path into one of the two: `market_depth.usd_per_pct`,
`population.leverage.max` (the scenario's), `markets[0].mmr`,
`liquidation.liq_fee`, `insurance_fund.cooldown` (the protocol's). Which of
the two a path names is told by its first key: the two files share none. Every
changed document is validated at once, so a bad value fails with its field's
name before any chain starts.

Protocol values keep their decimals exactly (`0.03` is the decimal 0.03, never
a binary float), as the parameter file's loader reads them.
"""

import copy
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from backstop.protocol.params import DEFAULT_PARAMS, MARKET_DEFAULTS, Params, default_params, load_params, parse_params
from backstop.sim.scenario import parse_scenario
from backstop.protocol.validation import ParamsError

# The parameter file's top-level keys (collateral, markets, liquidation, ...).
PARAMS_KEYS = frozenset(Params.__dataclass_fields__)
# Market fields `Params.to_dict()` leaves out at their default.
OPTIONAL_MARKET_FIELDS = frozenset(MARKET_DEFAULTS)
_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


def default_params_data() -> dict:
    """config/local.yaml as `Params.to_dict()` (decimals as strings): what a run uses unless told otherwise."""
    return default_params().to_dict()


def params_data(path=None) -> dict:
    """The parameter file at `path` (default config/local.yaml), validated, as a JSON-clean dict."""
    return load_params(path or DEFAULT_PARAMS).to_dict()


def parse_path(path: str) -> list:
    """'markets[0].mmr' -> ['markets', 0, 'mmr']."""
    keys = []
    for part in path.split("."):
        match = _PART.match(part)
        if not match:
            raise ParamsError(path, "not a field path (like market_depth.usd_per_pct or markets[0].mmr)")
        keys.append(match.group(1))
        keys += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return keys


def is_protocol_field(path: str) -> bool:
    """True when `path` names a protocol parameter, False for a scenario field."""
    return parse_path(path)[0] in PARAMS_KEYS


def with_field(data: dict, path: str, value) -> dict:
    """A copy of `data` with the field at `path` set to `value` (no validation here)."""
    out = copy.deepcopy(data)
    node, keys = out, parse_path(path)
    what = "the protocol parameters" if keys[0] in PARAMS_KEYS else "the scenario"
    for key in keys[:-1]:
        ok = (isinstance(key, int) and isinstance(node, list) and key < len(node)) or (
            isinstance(key, str) and isinstance(node, dict) and isinstance(node.get(key), (dict, list)))
        if not ok:
            raise ParamsError(path, f"no such field in {what}")
        node = node[key]
    last = keys[-1]
    # dev: an optional field a document may leave out at its default (a market's adl_mode) can still be set.
    optional = keys[0] == "markets" and len(keys) == 3 and last in OPTIONAL_MARKET_FIELDS
    present = (isinstance(node, list) and isinstance(last, int) and last < len(node)) or (
        isinstance(node, dict) and (last in node or optional))
    if not present:
        raise ParamsError(path, f"no such field in {what}")
    node[last] = value
    return out


@dataclass(frozen=True)
class Setting:
    """One `--set`: a field and the values it takes, in the order given."""

    path: str
    values: tuple


def parse_setting(text: str) -> Setting:
    """'markets[0].mmr=0.03,0.05' -> Setting('markets[0].mmr', ('0.03', '0.05'));
    'market_depth.usd_per_pct=500000,infinite' -> (500000, 'infinite')."""
    path, eq, values = text.partition("=")
    path = path.strip()
    if not eq or not path or not values.strip():
        raise ParamsError("--set", f"must be FIELD=VALUE[,VALUE...], got {text!r}")
    protocol = is_protocol_field(path)
    parsed = []
    for v in (v.strip() for v in values.split(",")):
        if protocol:
            # dev: a protocol number stays its text (the loader reads it as an exact
            #      decimal, never through a binary float); an integer is an int.
            parsed.append(int(v) if re.fullmatch(r"-?\d+", v) else v)
            continue
        try:
            parsed.append(yaml.safe_load(v))
        except yaml.YAMLError:
            raise ParamsError(path, f"value {v!r} is not a number or text") from None
    if len(set(map(str, parsed))) != len(parsed):
        raise ParamsError(path, f"a value is given twice in {values!r}")
    return Setting(path, tuple(parsed))


def apply(scenario: dict, params: dict, assignment: dict) -> tuple[dict, dict]:
    """`scenario` and `params` with every `path -> value` of `assignment` set, both validated."""
    for path, value in assignment.items():
        if is_protocol_field(path):
            params = with_field(params, path, value)
        else:
            scenario = with_field(scenario, path, value)
    parse_scenario(scenario)
    params = parse_params(params).to_dict()  # dev: normalised: Decimals back to strings, JSON-clean
    return scenario, params


def grid(settings: list[Setting]) -> list[dict]:
    """Every combination of the settings' values (the first setting varies slowest): `path -> value` dicts."""
    paths = [s.path for s in settings]
    if len(set(paths)) != len(paths):
        raise ParamsError("--set", f"a field is set twice: {sorted(p for p in paths if paths.count(p) > 1)[0]}")
    return [dict(zip(paths, combo)) for combo in itertools.product(*(s.values for s in settings))]


def short_names(paths: list[str]) -> dict:
    """path -> a short name for labels: the last key, or the whole path where two last keys clash."""
    last = {p: str(parse_path(p)[-1]) for p in paths}
    clashes = {n for n in last.values() if list(last.values()).count(n) > 1}
    return {p: (re.sub(r"[\[\]]", "", p) if n in clashes else n) for p, n in last.items()}


def value_text(value) -> str:
    """A swept value as it reads in a label or a table (0.03, 500000, infinite)."""
    return str(value)
