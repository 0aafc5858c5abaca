"""Crash scenarios for the simulator (issue 5): files under scenarios/, validated.

A scenario is a price path for one market, a trader population, and a market
depth model. The path is exogenous (what the wider market does); the depth
model adds the cascade feedback: the USD value of each step's forced
liquidation flow moves the next oracle price by `flow / usd_per_pct` percent
(selling pushes down, buying up), and that displacement recovers by
`recovery_per_step` of itself each step. `usd_per_pct: infinite` turns the
feedback off, for comparison.

Everything is deterministic: a path depends only on the file and the seed.
A bad file fails here with ParamsError naming the field, before any chain is
started.
"""

import math
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from backstop.protocol.validation import ParamsError
from backstop.protocol.validation import check as _check
from backstop.protocol.validation import keys as _keys

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MARKETS = {"ETH": 0, "BTC": 1}  # market ids of config/local.yaml and backstop.protocol.harness
MAX_STEPS = 10_000
DEFAULT_ACTIVITY = 0.02


@dataclass(frozen=True)
class PathSpec:
    """`keyframes`: (step, change from the start price) points, linear between.
    `gbm`: geometric Brownian motion per step with Poisson jumps."""

    kind: str
    keyframes: tuple = ()
    drift: float = 0.0
    volatility: float = 0.0
    jump_rate: float = 0.0
    jump_mean: float = 0.0
    jump_stdev: float = 0.0


@dataclass(frozen=True)
class Population:
    traders: int
    leverage_min: float
    leverage_max: float
    long_share: float
    margin_min_usd: float
    margin_max_usd: float
    lp_usd: float
    fund_stake_usd: float
    # Chance that a trader acts (adds margin, reduces, closes, opens) in a step.
    activity: float = DEFAULT_ACTIVITY


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sources: tuple
    market: int
    start_price: float
    steps: int
    step_seconds: int
    path: PathSpec
    population: Population
    # None: infinite depth, no feedback.
    depth_usd_per_pct: float | None
    recovery_per_step: float


def load_scenario(name_or_path) -> Scenario:
    """A scenario by name (scenarios/NAME.yaml) or by path."""
    return parse_scenario(load_scenario_data(name_or_path))


def load_scenario_data(name_or_path) -> dict:
    """A scenario file's content, validated (a run's log keeps it whole)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIOS / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
        raise ParamsError(str(name_or_path), f"no such scenario (known: {known})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(str(path), f"not valid YAML: {e}") from e
    parse_scenario(data)
    return data


def parse_scenario(data) -> Scenario:
    _keys(data, "", {"name", "description", "sources", "market", "start_price", "steps", "step_seconds",
                     "path", "population", "market_depth"})
    sources = data["sources"]
    _check(isinstance(sources, list) and sources and all(isinstance(s, str) and s for s in sources),
           "sources", "must be a list of citations (text), at least one")
    _check(data["market"] in MARKETS, "market", f"must be one of {sorted(MARKETS)}, got {data['market']!r}")
    steps = _int(data, "steps", "", 1, MAX_STEPS)
    return Scenario(
        name=_text(data, "name", ""),
        description=_text(data, "description", ""),
        sources=tuple(sources),
        market=MARKETS[data["market"]],
        start_price=_positive(data, "start_price", ""),
        steps=steps,
        step_seconds=_int(data, "step_seconds", "", 1, 3_600),
        path=_path(data["path"], steps),
        population=_population(data["population"]),
        depth_usd_per_pct=_depth(data["market_depth"]),
        recovery_per_step=_fraction(data["market_depth"], "recovery_per_step", "market_depth"),
    )


def _path(p, steps) -> PathSpec:
    _check(isinstance(p, dict) and p.get("kind") in ("keyframes", "gbm"), "path.kind", "must be keyframes or gbm")
    if p["kind"] == "keyframes":
        _keys(p, "path", {"kind", "keyframes"})
        frames = p["keyframes"]
        _check(isinstance(frames, list) and len(frames) >= 2, "path.keyframes", "must list at least two points")
        points, last = [], -1
        for i, f in enumerate(frames):
            at = f"path.keyframes[{i}]"
            _keys(f, at, {"step", "change"})
            step = _int(f, "step", at, 0, steps)
            _check(step > last, f"{at}.step", f"must be after the previous point's step ({last}), got {step}")
            change = _real(f, "change", at)
            _check(change > -1, f"{at}.change", f"must be above -1 (a price stays positive), got {change}")
            points.append((step, change))
            last = step
        _check(points[0][0] == 0, "path.keyframes[0].step", "must be 0 (the path starts at the start price)")
        return PathSpec("keyframes", keyframes=tuple(points))
    _keys(p, "path", {"kind", "drift", "volatility", "jump_rate", "jump_mean", "jump_stdev"})
    spec = PathSpec(
        "gbm",
        drift=_real(p, "drift", "path"),
        volatility=_nonnegative(p, "volatility", "path"),
        jump_rate=_fraction(p, "jump_rate", "path"),
        jump_mean=_real(p, "jump_mean", "path"),
        jump_stdev=_nonnegative(p, "jump_stdev", "path"),
    )
    _check(spec.volatility < 1, "path.volatility", f"must be below 1 per step, got {spec.volatility}")
    return spec


def _population(p) -> Population:
    optional = {"activity"} & set(p) if isinstance(p, dict) else set()
    _keys(p, "population", {"traders", "leverage", "long_share", "margin_usd", "lp_usd", "fund_stake_usd"} | optional)
    _keys(p["leverage"], "population.leverage", {"min", "max"})
    _keys(p["margin_usd"], "population.margin_usd", {"min", "max"})
    out = Population(
        traders=_int(p, "traders", "population", 1, 5_000),
        leverage_min=_positive(p["leverage"], "min", "population.leverage"),
        leverage_max=_positive(p["leverage"], "max", "population.leverage"),
        long_share=_fraction(p, "long_share", "population"),
        margin_min_usd=_positive(p["margin_usd"], "min", "population.margin_usd"),
        margin_max_usd=_positive(p["margin_usd"], "max", "population.margin_usd"),
        lp_usd=_positive(p, "lp_usd", "population"),
        fund_stake_usd=_nonnegative(p, "fund_stake_usd", "population"),
        activity=_fraction(p, "activity", "population") if optional else DEFAULT_ACTIVITY,
    )
    _check(out.leverage_min <= out.leverage_max, "population.leverage.max", "must be at least leverage.min")
    _check(out.margin_min_usd <= out.margin_max_usd, "population.margin_usd.max", "must be at least margin_usd.min")
    return out


def _depth(d) -> float | None:
    _keys(d, "market_depth", {"usd_per_pct", "recovery_per_step"})
    if d["usd_per_pct"] == "infinite":
        return None
    return _positive(d, "usd_per_pct", "market_depth")


# ---------------------------------------------------------------- paths and depth


def price_path(s: Scenario, seed: int) -> list[float]:
    """The exogenous price at every step 0..steps (no feedback)."""
    if s.path.kind == "keyframes":
        out, frames = [], s.path.keyframes
        for step in range(s.steps + 1):
            (a, ca), (b, cb) = _bracket(frames, step)
            change = ca if b == a else ca + (cb - ca) * (step - a) / (b - a)
            out.append(s.start_price * (1 + change))
        return out
    rng = random.Random(seed)
    p, out = s.start_price, [s.start_price]
    for _ in range(s.steps):
        shock = s.path.drift - s.path.volatility**2 / 2 + s.path.volatility * rng.gauss(0, 1)
        if rng.random() < s.path.jump_rate:
            shock += rng.gauss(s.path.jump_mean, s.path.jump_stdev)
        p *= math.exp(shock)
        out.append(p)
    return out


def _bracket(frames, step):
    for i in range(len(frames) - 1):
        if frames[i][0] <= step <= frames[i + 1][0]:
            return frames[i], frames[i + 1]
    return frames[-1], frames[-1]  # after the last point: flat


class DepthModel:
    """The off-chain order book the liquidations sell into: each step's forced
    flow (USD, positive = selling) displaces the price by flow / usd_per_pct
    percent, and the displacement recovers by `recovery` of itself a step."""

    def __init__(self, usd_per_pct: float | None, recovery: float):
        self.usd_per_pct = usd_per_pct
        self.recovery = recovery
        self.displacement = 0.0

    def step(self, sell_flow_usd: float) -> float:
        """Record this step's flow; return the multiplier for the next price (1.0: no feedback)."""
        self.displacement *= 1 - self.recovery
        if self.usd_per_pct is not None:
            self.displacement -= sell_flow_usd / self.usd_per_pct / 100
        # dev: a price never crosses zero, however large the flow.
        self.displacement = max(self.displacement, -0.99)
        return 1 + self.displacement


# ---------------------------------------------------------------- field checks


def _name(at, key):
    return f"{at}.{key}" if at else key


def _text(obj, key, at) -> str:
    _check(isinstance(obj[key], str) and obj[key].strip(), _name(at, key), "must be non-empty text")
    return obj[key]


def _int(obj, key, at, low, high) -> int:
    v = obj[key]
    ok = isinstance(v, int) and not isinstance(v, bool) and low <= v <= high
    _check(ok, _name(at, key), f"must be an integer between {low} and {high}, got {v!r}")
    return v


def _real(obj, key, at) -> float:
    v = obj[key]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    _check(ok, _name(at, key), f"must be a number, got {v!r}")
    return float(v)


def _positive(obj, key, at) -> float:
    v = _real(obj, key, at)
    _check(v > 0, _name(at, key), f"must be above 0, got {v}")
    return v


def _nonnegative(obj, key, at) -> float:
    v = _real(obj, key, at)
    _check(v >= 0, _name(at, key), f"must be at least 0, got {v}")
    return v


def _fraction(obj, key, at) -> float:
    v = _real(obj, key, at)
    _check(0 <= v <= 1, _name(at, key), f"must be between 0 and 1, got {v}")
    return v
