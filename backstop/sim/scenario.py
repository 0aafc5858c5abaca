"""Crash scenarios for the simulator: files under scenarios/, validated.

A scenario moves one market (`market`, `start_price`, `path`, `market_depth`
at the top level) or several (`assets`, each with those four; gbm paths
correlated by `correlation`), over a trader population, with keepers and a
gas price. The paths are exogenous (what the wider market does); each
market's depth model adds the cascade feedback: the USD value of a step's
flow in that market (forced liquidations, and the traders' own trades unless
`voluntary_flow: false`) moves its next oracle price by `flow / usd_per_pct`
percent (selling pushes down, buying up), and that displacement recovers by
`recovery_per_step` of itself each step. `usd_per_pct: infinite` turns the
feedback off, for comparison.

The population may react (`population.behaviours`: stop-losses, margin
top-ups on a warning, panic closes, dip buying, and a share that never
reacts) and hold every market at once (`cross_margin_share`). `keepers`
lists the keeper bots (latency in blocks of `block_seconds`, lost
transactions, a minimum profit against the gas price of `gas`); without it,
one perfect keeper, the control.

Everything is deterministic: a path depends only on the file and the seed.
A bad file fails here with ParamsError naming the field, before any chain is
started.
"""

import math
import random
import re
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
DEFAULT_BLOCK_SECONDS = 12
# Actor names the simulator gives besides the keepers' (a keeper may not take one).
RESERVED_ACTORS = frozenset({"owner", "lp", "staker", "oracle-operator", "faucet",
                             # dev: the contracts' names in the log (a keeper so named would read as one)
                             "token", "vault", "oracle", "engine", "pool", "fund", "lens", "configurator",
                             "deleverager"})
# Largest USD amount a population field may ask for: far beyond any real book,
# far below what a WAD word holds (a larger one reverts at setup, without a reason).
MAX_USD = 1e12
# gbm bounds per step (log-returns): beyond them a path overflows a float within a few steps.
MAX_DRIFT, MAX_JUMP = 1.0, 5.0


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
class Behaviours:
    """How traders react (shares of the population, each trader at most one
    kind; the rest act only at random, `activity`). Every figure is a scenario
    parameter, so a sweep can vary it."""

    # Never act after opening: not at random, not on any signal.
    never_react: float = 0.0
    # Close every position once equity has lost `stop_loss` of what was deposited.
    stop_loss_share: float = 0.0
    stop_loss: float = 0.5
    # Warned when equity falls below `warn_at` x maintenance; with `probability`
    # add `amount` x the opening margin, `delay_steps` later (once per warning).
    top_up_share: float = 0.0
    top_up_warn_at: float = 1.5
    top_up_probability: float = 0.5
    top_up_delay_steps: int = 1
    top_up_amount: float = 0.5
    # Close a market's position once its price has moved `panic_drawdown`
    # against it from the best since the position opened.
    panic_share: float = 0.0
    panic_drawdown: float = 0.15
    # Start flat; open a long at `dip_leverage` once a market is `dip` below
    # its highest so far (again after each liquidation or close).
    dip_buy_share: float = 0.0
    dip: float = 0.1
    dip_leverage: float = 8.0

    @property
    def kinds(self) -> tuple:
        """(kind, share) in the order traders are assigned to them."""
        return (("never_react", self.never_react), ("stop_loss", self.stop_loss_share),
                ("top_up", self.top_up_share), ("panic", self.panic_share), ("dip_buy", self.dip_buy_share))

    @property
    def any(self) -> bool:
        return any(share > 0 for _, share in self.kinds)


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
    # Share of traders holding a position in every asset of the scenario (cross-margined).
    cross_margin_share: float = 0.0
    behaviours: Behaviours = Behaviours()


@dataclass(frozen=True)
class Asset:
    """One market the scenario moves: its price path and its order-book depth."""

    market: int
    symbol: str
    start_price: float
    path: PathSpec
    # None: infinite depth, no feedback.
    depth_usd_per_pct: float | None
    recovery_per_step: float
    # Traders' own trades move the book too, not only the forced flow.
    voluntary_flow: bool = True


@dataclass(frozen=True)
class KeeperSpec:
    """One keeper bot. The perfect keeper (the default, the control) sees
    every round at once, never loses a transaction and sends every account."""

    name: str = "keeper"
    # Blocks between the oracle round it sees and its transaction landing.
    latency_blocks: int = 0
    # Share of its transactions that never land (dropped, outbid, reorged):
    # nothing happens, no gas is paid, it tries again next round.
    lost_tx_share: float = 0.0
    # None: every liquidatable account is sent. A number: an account is sent
    # only when its reward bound beats its gas at the step's gas price by this much.
    min_profit_usd: float | None = None


@dataclass(frozen=True)
class GasSpec:
    """The gas price keepers pay: it rises with the load (liquidatable
    accounts at the round) up to a cap; paid in the native token, priced at
    the `native` market's oracle price."""

    base_gwei: float = 20.0
    gwei_per_liquidatable: float = 0.0
    max_gwei: float = 2_000.0
    native: int = 0

    def gwei(self, liquidatable: int) -> float:
        return min(self.max_gwei, self.base_gwei + self.gwei_per_liquidatable * liquidatable)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sources: tuple
    steps: int
    step_seconds: int
    assets: tuple  # of Asset, the first the headline market
    population: Population
    # Correlation of the gbm assets' per-step shocks (a common factor; jumps land together).
    correlation: float = 0.0
    keepers: tuple = (KeeperSpec(),)
    gas: GasSpec = GasSpec()
    block_seconds: int = DEFAULT_BLOCK_SECONDS

    # dev: the headline asset's fields, as one-market code and reports read them.
    @property
    def market(self) -> int:
        return self.assets[0].market

    @property
    def start_price(self) -> float:
        return self.assets[0].start_price

    @property
    def path(self) -> PathSpec:
        return self.assets[0].path

    @property
    def depth_usd_per_pct(self) -> float | None:
        return self.assets[0].depth_usd_per_pct

    @property
    def recovery_per_step(self) -> float:
        return self.assets[0].recovery_per_step


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


ONE_ASSET_KEYS = {"market", "start_price", "path", "market_depth"}
OPTIONAL_KEYS = {"correlation", "keepers", "gas", "block_seconds"}


def parse_scenario(data) -> Scenario:
    """A scenario names one market at the top level (`market`, `start_price`,
    `path`, `market_depth`) or several under `assets`, each with those four."""
    common = {"name", "description", "sources", "steps", "step_seconds", "population"}
    many = isinstance(data, dict) and "assets" in data
    _keys(data, "", common | ({"assets"} if many else ONE_ASSET_KEYS), OPTIONAL_KEYS)
    optional = OPTIONAL_KEYS & set(data)
    sources = data["sources"]
    _check(isinstance(sources, list) and sources and all(isinstance(s, str) and s.strip() for s in sources),
           "sources", "must be a list of citations (non-empty text), at least one")
    steps = _int(data, "steps", "", 1, MAX_STEPS)
    if many:
        listed = data["assets"]
        _check(isinstance(listed, list) and listed, "assets", "must list at least one market")
        assets = tuple(_asset(a, f"assets[{i}]", steps) for i, a in enumerate(listed))
        symbols = [a.symbol for a in assets]
        _check(len(set(symbols)) == len(symbols), "assets", f"a market is listed twice: {symbols}")
    else:
        assets = (_asset(data, "", steps),)
    step_seconds = _int(data, "step_seconds", "", 1, 3_600)
    block_seconds = _int(data, "block_seconds", "", 1, 3_600) if "block_seconds" in optional else \
        DEFAULT_BLOCK_SECONDS
    keepers = _keepers(data["keepers"]) if "keepers" in optional else (KeeperSpec(),)
    if "correlation" in optional:
        gbm = sum(1 for a in assets if a.path.kind == "gbm")
        _check(gbm >= 2, "correlation", f"correlates the shocks of two or more gbm assets; this scenario has {gbm}")
    name = _text(data, "name", "")
    _check("\n" not in name and "\r" not in name, "name", "must be one line (it heads the summary)")
    return Scenario(
        name=name,
        description=_text(data, "description", ""),
        sources=tuple(sources),
        steps=steps,
        step_seconds=step_seconds,
        assets=assets,
        population=_population(data["population"]),
        correlation=_fraction(data, "correlation", "") if "correlation" in optional else 0.0,
        keepers=keepers,
        gas=_gas(data["gas"]) if "gas" in optional else GasSpec(),
        block_seconds=block_seconds,
    )


def _asset(a, at, steps) -> Asset:
    if at:
        _keys(a, at, ONE_ASSET_KEYS)
    _check(isinstance(a["market"], str) and a["market"] in MARKETS, _name(at, "market"),
           f"must be one of {sorted(MARKETS)}, got {a['market']!r}")
    depth = a["market_depth"]
    where = _name(at, "market_depth")
    _keys(depth, where, {"usd_per_pct", "recovery_per_step"}, {"voluntary_flow"})
    voluntary = depth.get("voluntary_flow", True)
    _check(isinstance(voluntary, bool), f"{where}.voluntary_flow", f"must be true or false, got {voluntary!r}")
    return Asset(
        market=MARKETS[a["market"]],
        symbol=a["market"],
        start_price=_positive(a, "start_price", at),
        path=_path(a["path"], steps, _name(at, "path")),
        depth_usd_per_pct=_depth(depth, where),
        recovery_per_step=_fraction(depth, "recovery_per_step", where),
        voluntary_flow=voluntary,
    )


def _path(p, steps, at="path") -> PathSpec:
    _check(isinstance(p, dict) and p.get("kind") in ("keyframes", "gbm"), f"{at}.kind", "must be keyframes or gbm")
    if p["kind"] == "keyframes":
        _keys(p, at, {"kind", "keyframes"})
        frames = p["keyframes"]
        _check(isinstance(frames, list) and len(frames) >= 2, f"{at}.keyframes", "must list at least two points")
        points, last = [], -1
        for i, f in enumerate(frames):
            where = f"{at}.keyframes[{i}]"
            _keys(f, where, {"step", "change"})
            step = _int(f, "step", where, 0, steps)
            _check(step > last, f"{where}.step", f"must be after the previous point's step ({last}), got {step}")
            change = _real(f, "change", where)
            _check(change > -1, f"{where}.change", f"must be above -1 (a price stays positive), got {change}")
            points.append((step, change))
            last = step
        _check(points[0][0] == 0, f"{at}.keyframes[0].step", "must be 0 (the path starts at the start price)")
        return PathSpec("keyframes", keyframes=tuple(points))
    _keys(p, at, {"kind", "drift", "volatility", "jump_rate", "jump_mean", "jump_stdev"})
    spec = PathSpec(
        "gbm",
        drift=_real(p, "drift", at),
        volatility=_nonnegative(p, "volatility", at),
        jump_rate=_fraction(p, "jump_rate", at),
        jump_mean=_real(p, "jump_mean", at),
        jump_stdev=_nonnegative(p, "jump_stdev", at),
    )
    _check(spec.volatility < 1, f"{at}.volatility", f"must be below 1 per step, got {spec.volatility}")
    _check(abs(spec.drift) < MAX_DRIFT, f"{at}.drift", f"must be between -{MAX_DRIFT} and {MAX_DRIFT} per step, "
                                                      f"got {spec.drift}")
    _check(abs(spec.jump_mean) <= MAX_JUMP, f"{at}.jump_mean", f"must be between -{MAX_JUMP} and {MAX_JUMP}, "
                                                              f"got {spec.jump_mean}")
    _check(spec.jump_stdev <= MAX_JUMP, f"{at}.jump_stdev", f"must be at most {MAX_JUMP}, got {spec.jump_stdev}")
    return spec


POPULATION_OPTIONAL = {"activity", "cross_margin_share", "behaviours"}


def _population(p) -> Population:
    _keys(p, "population", {"traders", "leverage", "long_share", "margin_usd", "lp_usd", "fund_stake_usd"},
          POPULATION_OPTIONAL)
    optional = POPULATION_OPTIONAL & set(p)
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
        activity=_fraction(p, "activity", "population") if "activity" in optional else DEFAULT_ACTIVITY,
        cross_margin_share=(_fraction(p, "cross_margin_share", "population")
                            if "cross_margin_share" in optional else 0.0),
        behaviours=_behaviours(p["behaviours"]) if "behaviours" in optional else Behaviours(),
    )
    _check(out.leverage_min <= out.leverage_max, "population.leverage.max", "must be at least leverage.min")
    _check(out.margin_min_usd <= out.margin_max_usd, "population.margin_usd.max", "must be at least margin_usd.min")
    for field_name, value in (("margin_usd.max", out.margin_max_usd), ("lp_usd", out.lp_usd),
                              ("fund_stake_usd", out.fund_stake_usd)):
        _check(value <= MAX_USD, f"population.{field_name}", f"must be at most {MAX_USD:,.0f} USD, got {value:g}")
    return out


# behaviour -> (its fields: name -> (checker, default)), as the file writes them.
BEHAVIOUR_FIELDS = {
    "never_react": {"share": ("fraction", 0.0)},
    "stop_loss": {"share": ("fraction", 0.0), "loss": ("open_fraction", 0.5)},
    "top_up": {"share": ("fraction", 0.0), "warn_at": ("above_one", 1.5), "probability": ("fraction", 0.5),
               "delay_steps": ("steps", 1), "amount": ("positive", 0.5)},
    "panic": {"share": ("fraction", 0.0), "drawdown": ("open_fraction", 0.15)},
    "dip_buy": {"share": ("fraction", 0.0), "dip": ("open_fraction", 0.1), "leverage": ("positive", 8.0)},
}


def _behaviours(b) -> Behaviours:
    at = "population.behaviours"
    _check(isinstance(b, dict), at, "must be a mapping of behaviour -> its figures")
    unknown = sorted(set(b) - set(BEHAVIOUR_FIELDS))
    _check(not unknown, f"{at}.{unknown[0]}" if unknown else at,
           f"unknown behaviour (known: {', '.join(BEHAVIOUR_FIELDS)})")
    values = {}
    for kind, fields in BEHAVIOUR_FIELDS.items():
        given = b.get(kind, {})
        where = f"{at}.{kind}"
        if kind in b:
            _keys(given, where, {"share"}, set(fields))
        for key, (checker, default) in fields.items():
            values[(kind, key)] = _CHECKERS[checker](given, key, where) if key in given else default
    total = sum(values[(kind, "share")] for kind in BEHAVIOUR_FIELDS)
    _check(total <= 1 + 1e-9, f"{at}", f"the shares sum to {total:.4g}, above 1")
    v = values
    return Behaviours(
        never_react=v[("never_react", "share")],
        stop_loss_share=v[("stop_loss", "share")], stop_loss=v[("stop_loss", "loss")],
        top_up_share=v[("top_up", "share")], top_up_warn_at=v[("top_up", "warn_at")],
        top_up_probability=v[("top_up", "probability")], top_up_delay_steps=v[("top_up", "delay_steps")],
        top_up_amount=v[("top_up", "amount")],
        panic_share=v[("panic", "share")], panic_drawdown=v[("panic", "drawdown")],
        dip_buy_share=v[("dip_buy", "share")], dip=v[("dip_buy", "dip")], dip_leverage=v[("dip_buy", "leverage")],
    )


def _keepers(k) -> tuple:
    _check(isinstance(k, list) and k, "keepers", "must list at least one keeper")
    out = []
    for i, spec in enumerate(k):
        at = f"keepers[{i}]"
        _keys(spec, at, {"name"}, {"latency_blocks", "lost_tx_share", "min_profit_usd"})
        name = _text(spec, "name", at)
        _check(re.fullmatch(r"[a-z][a-z0-9-]*", name) is not None, f"{at}.name",
               f"must be lower-case letters, digits and dashes, got {name!r}")
        _check(name not in RESERVED_ACTORS and not name.startswith("trader-"), f"{at}.name",
               f"names another actor of the run: {name!r}")
        min_profit = spec.get("min_profit_usd")
        out.append(KeeperSpec(
            name=name,
            latency_blocks=_int(spec, "latency_blocks", at, 0, 10_000) if "latency_blocks" in spec else 0,
            lost_tx_share=_open_fraction(spec, "lost_tx_share", at) if "lost_tx_share" in spec else 0.0,
            min_profit_usd=None if min_profit is None else _real(spec, "min_profit_usd", at),
        ))
    names = [s.name for s in out]
    _check(len(set(names)) == len(names), "keepers", f"a name is used twice: {names}")
    return tuple(out)


def _gas(g) -> GasSpec:
    at = "gas"
    _keys(g, at, {"base_gwei"}, {"gwei_per_liquidatable", "max_gwei", "native"})
    native = g.get("native", "ETH")
    _check(isinstance(native, str) and native in MARKETS, f"{at}.native", f"must be one of {sorted(MARKETS)}, got {native!r}")
    out = GasSpec(
        base_gwei=_nonnegative(g, "base_gwei", at),
        gwei_per_liquidatable=_nonnegative(g, "gwei_per_liquidatable", at) if "gwei_per_liquidatable" in g else 0.0,
        max_gwei=_positive(g, "max_gwei", at) if "max_gwei" in g else GasSpec.max_gwei,
        native=MARKETS[native],
    )
    _check(out.max_gwei >= out.base_gwei, f"{at}.max_gwei", "must be at least base_gwei")
    return out


def _depth(d, at="market_depth") -> float | None:
    if d["usd_per_pct"] == "infinite":
        return None
    return _positive(d, "usd_per_pct", at)


# ---------------------------------------------------------------- paths and depth


def price_path(s: Scenario, seed: int) -> list[float]:
    """The headline asset's exogenous price at every step 0..steps (no feedback)."""
    return price_paths(s, seed)[0]


def price_paths(s: Scenario, seed: int) -> list[list[float]]:
    """Each asset's exogenous price at every step 0..steps, in `s.assets` order.

    Keyframe assets follow their points. The gbm assets share one random
    stream: with one, it is the one-market path of earlier versions; with
    several, each step's shock is `sqrt(c) z + sqrt(1 - c) e_i` (a common
    factor z, correlation c between any two). Jumps too: with chance c a
    market's jump is decided by the step's common draw (a market-wide jump
    lands in every such market whose jump rate it is under), else by its own,
    and jump sizes are correlated the same way."""
    out = [_keyframes(s.steps, a.start_price, a.path) if a.path.kind == "keyframes" else None for a in s.assets]
    gbm = [i for i, a in enumerate(s.assets) if a.path.kind == "gbm"]
    rng = random.Random(seed)
    if len(gbm) == 1:
        path, p = s.assets[gbm[0]].path, s.assets[gbm[0]].start_price
        prices = [p]
        for _ in range(s.steps):
            shock = path.drift - path.volatility**2 / 2 + path.volatility * rng.gauss(0, 1)
            if rng.random() < path.jump_rate:
                shock += rng.gauss(path.jump_mean, path.jump_stdev)
            p *= math.exp(shock)
            prices.append(p)
        out[gbm[0]] = prices
    elif gbm:
        common, own = math.sqrt(s.correlation), math.sqrt(1 - s.correlation)
        prices = {i: [s.assets[i].start_price] for i in gbm}
        for _ in range(s.steps):
            z, jump_z, jump_draw = rng.gauss(0, 1), rng.gauss(0, 1), rng.random()
            for i in gbm:
                path = s.assets[i].path
                shock = path.drift - path.volatility**2 / 2 + path.volatility * (common * z + own * rng.gauss(0, 1))
                jump_own, together, draw_own = rng.gauss(0, 1), rng.random(), rng.random()
                if (jump_draw if together < s.correlation else draw_own) < path.jump_rate:
                    shock += path.jump_mean + path.jump_stdev * (common * jump_z + own * jump_own)
                prices[i].append(prices[i][-1] * math.exp(shock))
        for i in gbm:
            out[i] = prices[i]
    return out


def _keyframes(steps: int, start: float, path: PathSpec) -> list[float]:
    out, frames = [], path.keyframes
    for step in range(steps + 1):
        (a, ca), (b, cb) = _bracket(frames, step)
        change = ca if b == a else ca + (cb - ca) * (step - a) / (b - a)
        out.append(start * (1 + change))
    return out


def _bracket(frames, step):
    for i in range(len(frames) - 1):
        if frames[i][0] <= step <= frames[i + 1][0]:
            return frames[i], frames[i + 1]
    return frames[-1], frames[-1]  # after the last point: flat


class DepthModel:
    """The off-chain order book one market's flow sells into: each step's
    flow (USD, positive = selling; forced, and voluntary unless the asset
    turns it off) displaces the price by flow / usd_per_pct percent, and the
    displacement recovers by `recovery` of itself a step."""

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


def _open_fraction(obj, key, at) -> float:
    v = _real(obj, key, at)
    _check(0 <= v < 1, _name(at, key), f"must be at least 0 and below 1, got {v}")
    return v


def _above_one(obj, key, at) -> float:
    v = _real(obj, key, at)
    _check(v > 1, _name(at, key), f"must be above 1, got {v}")
    return v


def _steps(obj, key, at) -> int:
    return _int(obj, key, at, 0, MAX_STEPS)


_CHECKERS = {"fraction": _fraction, "open_fraction": _open_fraction, "above_one": _above_one,
             "positive": _positive, "steps": _steps}
