"""The crash simulator (SPEC 9): a trader population, a price path and the
keeper in the loop, on a chain, deterministically.

One run: deploy a fresh protocol (collateral with 6 decimals, like USDC), fund
an LP, stake the insurance fund, open every trader's position at its drawn
leverage, then play the scenario's steps. Each step:

1. the clock moves `step_seconds`;
2. the oracle publishes the path's price times the depth model's displacement
   (the cascade feedback: last step's forced selling moved the book);
3. a random few traders act (add margin, reduce, close, open);
4. accounts are counted by margin (before the keeper acts, so the accounts at
   risk show);
5. the keeper (backstop.keeper.logic.Keeper, the code bots/keeper.py runs) liquidates
   and deleverages whatever the price made liquidatable; just before each
   `deleverage` the ADL ranking is read, so every fill has its counterparty's
   rank and quantile at the time;
6. the step's forced flow (liquidated size times its fill price; selling
   positive) goes into the depth model for the next price;
7. the state is read: fund balance, open interest and the invariants I1-I4.

Every transaction, whoever sends it, lands in the event log: the step, the
sender, the call, and either its decoded events or its revert reason, with
known addresses written as actor names. The log depends only on the scenario,
the protocol parameters, the seed and the population size, so its hash names
a run; a replay reruns from the log's header and compares. The protocol is
deployed with `params` (config/local.yaml's format, default that file), and
the header records them whole, with the code's git commit. Feed events are
left out (they carry block timestamps, which a node takes from its wall
clock); the price each step published is in the step's first entry instead.

The chain is anything with `backstop.chain.revm_chain.Chain`'s interface: revm in
process, or a node through `backstop.chain.web3_chain.Web3Chain` (what
`ape run simulate` uses). Both give the same log for the same run.
"""

import dataclasses
import hashlib
import json
import logging
import math
import random
import subprocess
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from backstop.chain import revm_chain
from backstop.chain.revm_chain import Reverted, to_checksum_address
from backstop.checks import invariants
from backstop.keeper.logic import adl_quantiles, can_liquidate
from backstop.protocol.params import ParamsError, default_params, parse_params
from backstop.protocol.wiring import actor_address
from backstop.sim.keepers import SimKeeper
from backstop.sim.liquidation_map import liquidation_map
from backstop.sim.scenario import DepthModel, Scenario, parse_scenario, price_paths
from backstop.sim.traders import TraderPlan, draw_kind, react

WAD = 10**18
# The event log's format: 2 added the protocol parameters and the code version
# to the header, and the closing `end` line.
LOG_FORMAT = 2
# Accounts by margin, worst first (the plot stacks them in this order from the
# bottom): equity against the account's own maintenance and initial
# requirements (the engine's Health), then the flat ones.
BUCKETS = ("underwater", "below maintenance", "maintenance to initial", "initial to 2x initial",
           "2x to 5x initial", "5x initial and up", "flat by liquidation or ADL", "flat")
# The fund counts as empty below a cent.
FUND_EMPTY_USD = 0.01
# A trader's leverage is capped below 1 / imr so its opening trade clears the
# initial margin after fees and the skew premium.
LEVERAGE_HEADROOM = 0.9
# What a trader does when it acts, and how often relative to the others.
ACTIONS = {"add_margin": 3, "reduce": 3, "close": 1.5, "open": 2.5}
SIZE_UNIT = 10**12  # sizes are drawn in millionths of a base unit
# The report's liquidation maps: +-50% of the mark in 2.5% bins.
LIQUIDATION_MAP_SPAN = "0.5"
LIQUIDATION_MAP_BINS = 40


def _usd(wad_amount) -> float:
    return wad_amount / WAD


@dataclass
class StepRecord:
    """One step's figures: what report.json lists and the plots draw."""

    step: int
    # The headline asset's (the scenario's first) price, with and without the feedback.
    price: float
    price_no_feedback: float
    # Its flow into the book: forced (liquidations) and the traders' own trades (selling positive).
    forced_flow_usd: float = 0.0
    voluntary_flow_usd: float = 0.0
    # Every asset's price and flows, by symbol (one entry in a one-market run).
    prices: dict = field(default_factory=dict)
    flows_usd: dict = field(default_factory=dict)
    liquidated_notional_by_market_usd: dict = field(default_factory=dict)
    liquidations: int = 0
    liquidated_notional_usd: float = 0.0
    bad_debt_usd: float = 0.0
    fund_draw_usd: float = 0.0
    fund_balance_usd: float = 0.0
    adl_fills: int = 0
    adl_volume_usd: float = 0.0
    adl_socialised_usd: float = 0.0
    open_interest_long_usd: float = 0.0
    open_interest_short_usd: float = 0.0
    # The oracle's price guard on any of the scenario's markets at the step's end (no new risk while up).
    guarded: bool = False
    # The gas price keepers paid (it rises with the liquidatable accounts at the round), and
    # what the keepers did not send: transactions lost, accounts held back as unprofitable.
    gas_gwei: float = 0.0
    lost_transactions: int = 0
    held_back: int = 0
    # Rounds played between this step's and the next for late keepers.
    late_rounds: int = 0
    # Counted after the traders acted and before the keeper did (BUCKETS).
    margin_buckets: dict = field(default_factory=dict)
    # Of those below maintenance, the ones the stable mark held (not liquidatable at it yet).
    stable_held: int = 0
    transactions: int = 0
    rejected: int = 0
    # Every liquidatable account processed at the step's end (I3 and I4 are checked only then).
    settled: bool = True
    invariants: dict = field(default_factory=dict)
    invariants_ok: bool = True


class Simulation:
    """One scenario run on `chain`. `scenario_data` is the scenario file's
    content and `params_data` the protocol parameters (config/local.yaml's
    content as `Params.to_dict()` gives it; default that file), both kept
    whole in the log header, so a replay needs no file."""

    def __init__(self, scenario_data: dict, seed: int, chain, traders: int | None = None,
                 log: logging.Logger | None = None, params_data: dict | None = None):
        data = json.loads(json.dumps(scenario_data))  # a private copy, JSON-clean
        if traders is not None and isinstance(data.get("population"), dict):
            data["population"]["traders"] = traders
        self.scenario_data = data
        self.scenario: Scenario = parse_scenario(data)
        self.params = parse_params(params_data) if params_data is not None else default_params()
        self.params_data = self.params.to_dict()
        _check_compatible(self.scenario, self.params)
        self.seed = seed
        self.chain = chain
        if hasattr(chain, "cache_views"):
            # dev: revm: a step reads the same batch views at one state more than once.
            chain.cache_views = True
        self.log = log or logging.getLogger("backstop.sim.simulator")
        self.rng = random.Random(seed)
        self.activity = self.scenario.population.activity
        self.assets = self.scenario.assets
        self.asset_of = {a.market: i for i, a in enumerate(self.assets)}  # market id -> asset index
        self.paths = price_paths(self.scenario, seed)
        _check_in_band(self.scenario, self.params, self.paths)
        self.path = self.paths[0]
        self.depths = [DepthModel(a.depth_usd_per_pct, a.recovery_per_step) for a in self.assets]
        # dev: each asset's price at the last round, and its highest so far (dip buyers).
        self.prices: list[float] = []
        self.highs: list[float] = []
        self.events: list[dict] = []
        self.steps: list[StepRecord] = []
        self.step_no = 0
        # dev: whoever sends outside a prank (the mock token's mints) is the faucet.
        self.names: dict[str, str] = {to_checksum_address(revm_chain.DEFAULT_SENDER): "faucet"}
        self.contracts: dict[str, object] = {}
        self.traders: list[str] = []
        self.keeper_address = ""
        self.plans: dict[str, TraderPlan] = {}
        self.protocol = None
        self.keeper = None
        self.keepers: list[SimKeeper] = []
        self._keeper_order = random.Random(f"{seed}:keeper-order")
        self._feed_refreshed = {}
        self._step_start = 0
        self._now = 0  # dev: seconds since the first step (chain time moved by the run)
        self._step_started_at = 0
        self.max_leverage: list[float] = []
        self.tiers: list[tuple] = []
        self.volatility_scaled: list[bool] = []
        # symbol -> effective imr and mmr, last and highest (markets with volatility-scaled margin only).
        self.volatility_margins: dict = {}
        self.started = self.finished = 0.0
        self.transaction_count = 0
        # dev: accounts whose position a liquidation or an ADL fill closed, until
        #      their next own trade: flat ones are "flat by liquidation or ADL".
        self._forced_out: set[str] = set()
        # dev: the ADL ranking read just before the keeper's `deleverage`
        #      (counterparty -> (rank, eligible, quantile)), for its fills.
        self._adl_ranking: dict = {}
        self.adl_fills: list[dict] = []
        # dev: what ADL took from counterparties beyond what it gave the bankrupt accounts (WAD).
        self.adl_overshoot_wad = 0
        self._keeper_stats: dict = {}  # dev: keeper name -> its KeeperStats
        # The liquidation map of every market at the start and at the low: the first step where
        # a market's path is furthest below its start (the feedback rarely moves the low elsewhere).
        self.low_step = min(range(len(self.path)), key=lambda t: min(p[t] / p[0] for p in self.paths))
        self.liquidation_maps: dict = {}
        self._controls_only = True

    # ------------------------------------------------------------ the run

    def run(self, progress=None) -> "Simulation":
        """Set up, play every step; `progress(self)` is called after each
        trader is set up and after each step (`step_no`, `transaction_count`)."""
        revm_chain.compiled()  # dev: the compile (or its cache) is not the run's time
        self.started = time.perf_counter()
        self.setup(progress)
        for step in range(1, self.scenario.steps + 1):
            self.play_step(step)
            if progress:
                progress(self)
        self.finished = time.perf_counter()
        return self

    def setup(self, progress=None):
        s = self.scenario
        owner = self._actor("owner")
        p = self.protocol = self._deploy(owner)
        # dev: the log starts once every contract has a name (the wiring is
        #      the same in every run).
        self.chain.recorder = self._record
        roles = {"token": p.token, "vault": p.vault, "oracle": p.oracle, "engine": p.engine, "pool": p.pool,
                 "fund": p.insurance, "lens": p.lens, "configurator": p.configurator, "deleverager": p.deleverager}
        for i, feed in enumerate(p.feeds):
            roles[f"feed-{p.markets[i].name.split(' ')[0]}"] = feed
        self.contracts = {str(c.address): c for c in roles.values()}
        self.names.update({str(c.address): role for role, c in roles.items()})
        for spec in s.keepers:
            self.keepers.append(SimKeeper(spec, self._actor(spec.name), p, self.params.liquidation, s.block_seconds,
                                          self._before_deleverage, self.seed, self.log))
        self._keeper_stats = {k.spec.name: k.stats for k in self.keepers}
        self.keeper = self.keepers[0].keeper
        self._controls_only = all(k.perfect and not k.spec.lost_tx_share and k.spec.min_profit_usd is None
                                  for k in self.keepers)
        self.keeper_address = self.keepers[0].address
        self._begin_step(0, [path[0] for path in self.paths])
        p.fund_pool(self._actor("lp"), s.population.lp_usd)
        if s.population.fund_stake_usd > 0:
            p.stake(self._actor("staker"), s.population.fund_stake_usd)
        # dev: (imr, tier slope, skew scale) per asset: with size tiers a trader's leverage cap falls with its size.
        markets = [p.configurator.markets(a.market) for a in self.assets]
        self.tiers = [(_usd(m.imr), _usd(p.configurator.margin_tier_slopes(a.market)), _usd(m.skew_scale))
                      for a, m in zip(self.assets, markets)]
        self.max_leverage = [LEVERAGE_HEADROOM / imr for imr, _, _ in self.tiers]
        self.volatility_scaled = [self.params.markets[a.market].volatility_scaled for a in self.assets]
        for i in range(s.population.traders):
            trader = self._actor(f"trader-{i + 1}")
            self.traders.append(trader)
            for k in self.keepers:
                k.track(trader)
            plan = self.plans[trader] = self._plan()
            if plan.kind == "dip_buy":
                self._fund(trader, self._draw_margin(), opening=True)
            else:
                self._open(trader, plan.assets, fresh=True)
            if progress:
                progress(self)
        self._count_margins()
        self._end_step()
        self.liquidation_maps["start"] = self._maps("at the start")
        if self.low_step == 0:  # dev: no path falls below its start
            self.liquidation_maps["low"] = self.liquidation_maps["start"]
        for m in range(len(p.feeds)):
            self._feed_refreshed[m] = 0

    def _deploy(self, owner):
        """The protocol with `self.params` through the one wiring (each of the
        scenario's markets starting at its start price), before the log starts."""
        params = self.params
        starts = {a.market: a.start_price for a in self.assets}
        markets = []
        for i, m in enumerate(params.markets):
            if i in starts:
                m = dataclasses.replace(m, price=Decimal(m.feed_units(starts[i])) / 10**m.feed_decimals)
            markets.append(m)
        return revm_chain.deploy(owner, chain=self.chain, params=params.variant(markets=markets))

    def _plan(self) -> TraderPlan:
        """A new trader's markets (every asset for the cross-margined share, else
        one) and behaviour; no draw is made for a choice there is not."""
        pop, n = self.scenario.population, len(self.assets)
        if n == 1:
            assets = (0,)
        elif self.rng.random() < pop.cross_margin_share:
            assets = tuple(range(n))
        else:
            assets = (self.rng.randrange(n),)
        kind = draw_kind(pop.behaviours, self.rng.random()) if pop.behaviours.any else None
        return TraderPlan(assets=assets, kind=kind)

    def play_step(self, step: int):
        s = self.scenario
        self._advance(self._step_started_at + s.step_seconds)
        self._step_started_at = self._now
        last = self.steps[-1]
        prices = []
        for i, asset in enumerate(self.assets):
            flow = last.flows_usd[asset.symbol]
            # dev: the population's opening trades (step 0) are the book the start price already reflects.
            voluntary = flow["voluntary"] if asset.voluntary_flow and last.step > 0 else 0.0
            prices.append(self.paths[i][step] * self.depths[i].step(flow["forced"] + voluntary))
        self._begin_step(step, prices)
        self._refresh_idle_feeds(step)
        if s.population.behaviours.any:
            self._react(step)
        for trader in self.traders:
            if self.rng.random() < self.activity and self.plans[trader].kind != "never_react":
                self._act(trader)
        liquidatable = self._count_margins()
        rec = self.steps[-1]
        rec.gas_gwei = s.gas.gwei(len(liquidatable))
        for k in self.keepers:
            k.observe(self._now, liquidatable)
        self._keepers_act([k for k in self.keepers if k.perfect or (k.next_due() or math.inf) <= self._now])
        self._late_rounds(step)
        self._stable_mark_round(step)
        self._end_step()
        if step == self.low_step:
            self.liquidation_maps["low"] = self._maps(f"at the low, step {step}")

    def _advance(self, to: int):
        if to > self._now:
            self.chain.time_travel(to - self._now)
            self._now = to

    def _keepers_act(self, due: list):
        """The keepers due now, in an order drawn each time when several compete."""
        if len(due) > 1:
            self._keeper_order.shuffle(due)
        rec = self.steps[-1]
        native = self._native_usd()
        for k in due:
            lost, held = k.stats.lost_transactions, k.stats.held_back
            k.act(self._now, rec.gas_gwei, native)
            rec.lost_transactions += k.stats.lost_transactions - lost
            rec.held_back += k.stats.held_back - held

    def _late_rounds(self, step: int):
        """Late keepers whose transactions land before the next step's round:
        at each such moment, a round at the price the path has reached by then
        (the step's displacement held), then those keepers and the perfect
        ones act. (Late keepers observe at the step's main round only.)"""
        s = self.scenario
        end = self._step_started_at + s.step_seconds
        while True:
            due = [k.next_due() for k in self.keepers if k.next_due() is not None and k.next_due() < end]
            if not due:
                return
            at = min(due)
            if at > self._now:
                self._advance(at)
                fraction = (at - self._step_started_at) / s.step_seconds
                nxt = min(step + 1, s.steps)
                prices = []
                for i, path in enumerate(self.paths):
                    displaced = self.steps[-1].prices[self.assets[i].symbol] / path[step]
                    prices.append((path[step] + (path[nxt] - path[step]) * fraction) * displaced)
                self._publish(prices, late_seconds=at - self._step_started_at)
                self.steps[-1].late_rounds += 1
            # dev: the perfect keepers act at every round, late ones included:
            #      otherwise what the late round's price pushed under waits for
            #      the next step even with a perfect keeper there.
            self._keepers_act([k for k in self.keepers
                               if k.perfect or (k.next_due() is not None and k.next_due() <= at)])

    def _stable_mark_round(self, step: int):
        """With a stable mark, an account held at the step's round turns
        liquidatable between rounds, as its mark follows the price, and real
        keepers look every block. So the keepers look once more in the step,
        with no new round: when every mark has followed the step's round in
        full (the longest window) or, failing that, at the step's last
        second. They see what is liquidatable then: the perfect ones act at
        once, the late ones after their latency if that is still within the
        step (as late rounds, `_late_rounds`). Without a mark on, or with
        nobody held, nothing happens (runs stay as they were)."""
        windows = [self.params.markets[a.market].stable_window for a in self.assets
                   if self.params.markets[a.market].stable_rate]
        if not windows:
            return
        at = self._step_started_at + min(max(windows), self.scenario.step_seconds - 1)
        if at <= self._now or not any(invariants.held(h) for h in invariants.batched(self.protocol.lens.health,
                                                                                      self.traders)):
            return
        self._advance(at)
        liquidatable = {a for a, h in zip(self.traders, invariants.batched(self.protocol.lens.health, self.traders))
                        if can_liquidate(h)}
        for k in self.keepers:
            k.observe(self._now, liquidatable)
        self._keepers_act([k for k in self.keepers if k.perfect or (k.next_due() or math.inf) <= self._now])
        self._late_rounds(step)

    def _maps(self, label: str) -> list:
        """Each market's liquidation map over the traders now (backstop.sim.liquidation_map; views only)."""
        out = []
        for asset in self.assets:
            try:
                m = liquidation_map(self.protocol, self.traders, asset.market, span=LIQUIDATION_MAP_SPAN,
                                    bins=LIQUIDATION_MAP_BINS)
            except Reverted as e:
                # dev: a map needs a valid price: the feedback can push one out of the feed's band.
                self.log.warning("no liquidation map of %s %s: %s", asset.symbol, label, e)
                continue
            m.label = label
            out.append(m)
        return out

    def _native_usd(self) -> float:
        """The gas token's price: its market's price at the last round."""
        native = self.scenario.gas.native
        if native in self.asset_of:
            return self.prices[self.asset_of[native]]
        feed = self.protocol.feeds[native]
        return feed.latestRoundData()[1] / 10 ** self.params.markets[native].feed_decimals

    # ------------------------------------------------------------ one step

    def _answers(self, prices: list) -> list:
        out = []
        for asset, price in zip(self.assets, prices):
            market = self.params.markets[asset.market]
            out.append(market.feed_units(Decimal(repr(price)).quantize(Decimal(10) ** -market.feed_decimals)))
        return out

    def _begin_step(self, step: int, prices: list):
        self.step_no = step
        self._step_start = len(self.events)  # dev: where this step's entries begin
        answers = self._answers(prices)
        entry = {"step": step, "price": answers[0]}
        if len(self.assets) > 1:
            entry["prices"] = {a.symbol: x for a, x in zip(self.assets, answers)}
        self.events.append(entry)
        decimals = [self.params.markets[a.market].feed_decimals for a in self.assets]
        rec = StepRecord(step=step, price=answers[0] / 10 ** decimals[0], price_no_feedback=self.path[step])
        rec.prices = {a.symbol: x / 10**d for a, x, d in zip(self.assets, answers, decimals)}
        rec.flows_usd = {a.symbol: {"forced": 0.0, "voluntary": 0.0} for a in self.assets}
        rec.liquidated_notional_by_market_usd = {a.symbol: 0.0 for a in self.assets}
        self.steps.append(rec)
        self.prices = list(rec.prices.values())
        self.highs = [max(h, x) for h, x in zip(self.highs, self.prices)] if self.highs else list(self.prices)
        if step > 0:
            self._set_answers(answers)

    def _publish(self, prices: list, late_seconds: int):
        """A late round inside a step (for late keepers): logged with its offset."""
        answers = self._answers(prices)
        entry = {"step": self.step_no, "late_round_seconds": late_seconds, "price": answers[0]}
        if len(self.assets) > 1:
            entry["prices"] = {a.symbol: x for a, x in zip(self.assets, answers)}
        self.events.append(entry)
        self._set_answers(answers)

    def _set_answers(self, answers: list):
        with self.chain.prank(self._actor("oracle-operator")):
            for asset, answer in zip(self.assets, answers):
                self.protocol.feeds[asset.market].set_answer(answer)

    def _refresh_idle_feeds(self, step: int):
        """A new round, at the same answer, for each market the paths do not
        move, before its heartbeat runs out (a stale feed blocks liquidations)."""
        for m, last in self._feed_refreshed.items():
            due = self.params.markets[m].heartbeat // 2 // self.scenario.step_seconds
            if m not in self.asset_of and step - last >= due:
                feed = self.protocol.feeds[m]
                with self.chain.prank(self._actor("oracle-operator")):
                    feed.set_answer(feed.latestRoundData()[1])
                self._feed_refreshed[m] = step

    def _react(self, step: int):
        """The reacting traders' moves at the new prices (backstop.sim.traders), before the random ones."""
        p, b = self.protocol, self.scenario.population.behaviours
        reacting = [t for t in self.traders if self.plans[t].kind not in (None, "never_react")]
        if not reacting:
            return
        health = dict(zip(reacting, invariants.batched(p.lens.health, reacting)))
        sizes = {t: {} for t in reacting}
        for i, asset in enumerate(self.assets):
            for t, position in zip(reacting, invariants.batched(lambda c, m=asset.market: p.lens.positions(c, m),
                                                                 reacting)):
                sizes[t][i] = position.size
        for trader in reacting:
            plan = self.plans[trader]
            for action in react(plan, b, step, health[trader], sizes[trader], self.prices, self.highs,
                                self.rng.random):
                if action[0] == "close":
                    self._trade(trader, action[1], -sizes[trader][action[1]])
                elif action[0] == "top_up":
                    self._fund(trader, action[1])
                elif action[0] == "open_long":
                    self._open(trader, (action[1],), fresh=True, long=True, leverage=action[2])

    def _act(self, trader: str):
        kind = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        plan = self.plans[trader]
        asset = plan.assets[0] if len(plan.assets) == 1 else self.rng.choice(plan.assets)
        size = self.protocol.engine.position(trader, self.assets[asset].market).size
        fraction = self.rng.uniform(0.2, 0.8)
        if size == 0 and plan.kind == "dip_buy":
            return  # dev: a dip buyer enters only on a dip (backstop.sim.traders)
        if kind == "add_margin":
            self._fund(trader, round(plan.opening_margin * fraction / 2, 2))
        elif kind == "reduce" and size != 0:
            self._trade(trader, asset,
                        -(abs(size) * int(fraction * 100) // 100 // SIZE_UNIT * SIZE_UNIT) * _sign(size))
        elif kind == "close" and size != 0:
            self._trade(trader, asset, -size)
        elif kind == "open" or size == 0:
            self._open(trader, (asset,), fresh=size == 0, long=size > 0 if size else None)

    def _draw_margin(self) -> float:
        pop = self.scenario.population
        return round(math.exp(self.rng.uniform(math.log(pop.margin_min_usd), math.log(pop.margin_max_usd))), 2)

    def _fund(self, trader: str, usd: float, opening: bool = False) -> bool:
        """A deposit, remembered as the trader's (stop-losses count from what was deposited)."""
        plan = self.plans[trader]
        if opening:
            plan.opening_margin = usd
        if not self._try(self.protocol.fund_trader, trader, usd):
            return False
        plan.deposited += usd
        return True

    def _open(self, trader: str, assets: tuple, fresh: bool, long: bool | None = None,
              leverage: float | None = None):
        """A new position in each of `assets` (deposit a drawn margin, split
        across them, and trade at a drawn leverage), or more of an existing one
        at the same kind of draw. `long` None: the side is drawn."""
        pop = self.scenario.population
        margin = self._draw_margin()
        drawn = self.rng.uniform(pop.leverage_min, pop.leverage_max) if leverage is None else leverage
        if fresh:
            if not self._fund(trader, margin, opening=True):
                return
        else:
            margin *= 0.25  # adding to a position: a smaller clip, from free collateral
        for asset in assets:
            side = long if long is not None else self.rng.random() < pop.long_share
            price = self.prices[asset]
            size = int(margin / len(assets) * min(drawn, self._leverage_cap(asset, margin / len(assets), price))
                       / price * 10**6) * SIZE_UNIT
            self._trade(trader, asset, size if side else -size)

    def _leverage_cap(self, asset: int, margin: float, price: float) -> float:
        """The most leverage a trader takes on `margin` USD: LEVERAGE_HEADROOM
        of what initial margin allows; with size tiers the fraction grows with
        the size, imr + slope * L * margin / (price * skew_scale), so L solves
        L * fraction(L) = headroom (the quadratic's positive root)."""
        imr, slope, skew_scale = self.tiers[asset]
        if self.volatility_scaled[asset]:
            # dev: with volatility-scaled margin the engine asks the effective imr and slope (they rise in stress).
            imr, _, slope = (_usd(v) for v in self.protocol.configurator.effective_margins(self.assets[asset].market))
            if slope == 0:
                return LEVERAGE_HEADROOM / imr
        if slope == 0:
            return self.max_leverage[asset]
        a = slope * margin / (price * skew_scale)
        if imr + a * LEVERAGE_HEADROOM >= 1:
            return LEVERAGE_HEADROOM  # dev: the fraction is capped at 1 there: 100% margin, L * 1 = headroom
        return (-imr + math.sqrt(imr * imr + 4 * a * LEVERAGE_HEADROOM)) / (2 * a)

    def _track_volatility_margins(self):
        """The effective margins of the markets with volatility-scaled margin
        (as the engine has them after the step's keeper rounds): the last and
        the highest, report.json's `outcome.volatility_margins`."""
        for asset, scaled in enumerate(self.volatility_scaled):
            if not scaled:
                continue
            imr, mmr, _ = (_usd(v) for v in self.protocol.configurator.effective_margins(self.assets[asset].market))
            seen = self.volatility_margins.setdefault(self.assets[asset].symbol, {"max_imr": imr, "max_mmr": mmr})
            seen.update(imr=imr, mmr=mmr, max_imr=max(seen["max_imr"], imr), max_mmr=max(seen["max_mmr"], mmr))

    def _trade(self, trader: str, asset: int, size_delta: int):
        if size_delta != 0:
            with self.chain.prank(trader):
                self._try(self.protocol.engine.trade, self.assets[asset].market, size_delta)

    def _try(self, fn, *args) -> bool:
        # dev: a refused action is part of the run (the log has its reason), not an error.
        try:
            fn(*args)
            return True
        except Reverted:
            return False

    def _end_step(self):
        """Totals of the step's events, then the state after it."""
        p, rec = self.protocol, self.steps[-1]
        self._track_volatility_margins()
        for entry in self.events[self._step_start:]:
            if "call" not in entry:
                continue
            rec.transactions += 1
            rec.rejected += "reverted" in entry
            deleverage = entry["call"] == "deleverager.deleverage"
            for _, name, args in entry.get("events", []):
                if name == "Liquidation":
                    symbol = self.assets[self.asset_of[args["market"]]].symbol
                    rec.flows_usd[symbol]["forced"] += -args["size_closed"] * args["exec_price"] / WAD / WAD
                    rec.liquidated_notional_by_market_usd[symbol] += \
                        abs(args["size_closed"]) * args["exec_price"] / WAD / WAD
                elif name == "Trade":
                    symbol = self.assets[self.asset_of[args["market"]]].symbol
                    rec.flows_usd[symbol]["voluntary"] += -args["size_delta"] * args["exec_price"] / WAD / WAD
                elif name == "LiquidationSettled":
                    rec.liquidations += 1
                    rec.liquidated_notional_usd += _usd(args["closed_notional"])
                    rec.bad_debt_usd += _usd(args["bad_debt"])
                elif name == "BadDebtCovered":
                    rec.fund_draw_usd += _usd(args["amount"])
                    if deleverage:  # a liquidation's is already in its bad_debt
                        rec.bad_debt_usd += _usd(args["amount"])
                elif name == "Deleverage":
                    volume = abs(args["size_closed"]) * args["price"] / WAD / WAD
                    socialised = _usd(args["haircut"])
                    rec.adl_fills += 1
                    rec.adl_volume_usd += volume
                    rec.adl_socialised_usd += socialised
                    rec.bad_debt_usd += socialised
        headline = rec.flows_usd[self.assets[0].symbol]
        rec.forced_flow_usd, rec.voluntary_flow_usd = headline["forced"], headline["voluntary"]
        rec.fund_balance_usd = _usd(p.vault.collateral(p.fund))
        rec.guarded = any(bool(p.oracle.guarded(a.market)) for a in self.assets)
        # dev: one `book` read for the open interest and every invariant; the
        #      traders' open interest is the book's less what the others hold.
        totals = invariants.book(p, invariants.everyone(p, self.accounts()))
        for asset in self.assets:
            m = asset.market
            longs, shorts = totals["longs"][m], totals["shorts"][m]
            for other in (p.pool.address, *(k.address for k in self.keepers)):
                size = p.engine.position(other, m).size
                longs, shorts = longs - max(size, 0), shorts - max(-size, 0)
            rec.open_interest_long_usd += longs * rec.prices[asset.symbol] / WAD
            rec.open_interest_short_usd += shorts * rec.prices[asset.symbol] / WAD
        # dev: I3 and I4 hold once every liquidatable account has been processed:
        #      always after the control keeper's round; with realistic keepers,
        #      only when none is left (a late or gated keeper may leave some).
        #      An account a stable mark holds is pending: I3 counts its deficit, I4 waits for it.
        rec.settled, pending = self._settlement()
        rec.invariants = {name: violations
                          for name, violations in invariants.check(p, self.accounts(), settled=rec.settled,
                                                                   totals=totals, pending=pending)}
        rec.invariants_ok = not any(rec.invariants.values())

    def _settlement(self) -> tuple[bool, frozenset]:
        """Whether every liquidatable account has been processed now (I3 and I4
        apply: the control keeper leaves nothing by construction, so its runs
        skip the read), and the traders a stable mark holds (pending)."""
        stable_on = any(self.params.markets[a.market].stable_rate for a in self.assets)
        if self._controls_only and not stable_on:
            return True, frozenset()
        health = list(zip(self.traders, invariants.batched(self.protocol.lens.health, self.traders)))
        settled = self._controls_only or not any(can_liquidate(h) for _, h in health)
        return settled, frozenset(a for a, h in health if invariants.held(h))

    def _count_margins(self) -> set:
        """This step's accounts by margin (BUCKETS), as they stand now; the
        liquidatable ones (what every keeper sees at this round)."""
        counts = dict.fromkeys(BUCKETS, 0)
        # dev: the keeper's own scan (it tracks every trader), read just before its round.
        health = dict(self.keeper.tracked_health())
        for trader in self.traders:
            counts[_bucket(health[trader], self.names[trader] in self._forced_out)] += 1
        self.steps[-1].margin_buckets = counts
        self.steps[-1].stable_held = sum(invariants.held(health[trader]) for trader in self.traders)
        return {a for a, h in health.items() if can_liquidate(h)}

    def _before_deleverage(self, account: str, market: int, counterparties: list):
        """The ranking the keeper's `deleverage` is about to use: each
        counterparty's rank among the eligible (opposite side, in profit; 1 =
        deleveraged first) and its ADL quantile (5 = top fifth by score)."""
        entries = self.keeper.adl_entries(market)
        side = entries[account].size > 0 if account in entries else None
        eligible = sorted(
            ((a, e) for a, e in entries.items()
             if a != account and e.size != 0 and (e.size > 0) != side and e.upnl > 0 and e.prices_valid),
            key=lambda item: (-item[1].score, item[0].lower()))
        quantiles = adl_quantiles(entries)
        rank = {a: i + 1 for i, (a, _) in enumerate(eligible)}
        self._adl_ranking = {self._name(str(c)): (rank.get(str(c)), len(eligible), quantiles.get(str(c)))
                             for c in counterparties}
        # dev: the overshoot is measured, not derived from the events: what the
        #      counterparties' equity lost beyond what the account's gained from
        #      them (its gain less the fund's draw), read before and after the call.
        p = self.protocol
        who = [account, *counterparties]
        before = [int(h.equity) for h in p.lens.health(who)]
        fund_before = int(p.vault.collateral(p.fund))

        def after():
            now = [int(h.equity) for h in p.lens.health(who)]
            draw = fund_before - int(p.vault.collateral(p.fund))
            gained = now[0] - before[0] - draw
            lost = sum(b - a for b, a in zip(before[1:], now[1:]))
            self.adl_overshoot_wad += lost - gained

        return after

    def accounts(self) -> list[str]:
        """Every account with a balance in the vault besides the pool and the fund."""
        return [*self.traders, *(k.address for k in self.keepers)]

    # ------------------------------------------------------------ the log

    def _actor(self, name: str) -> str:
        address = actor_address(name)
        self.names[address] = name
        return address

    def _name(self, value):
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            return self.names.get(to_checksum_address(value), value)
        if isinstance(value, (tuple, list)):
            return [self._name(v) for v in value]
        return value

    def _record(self, sender, to, calldata, logs, reason):
        contract = self.contracts.get(str(to))
        role = self.names.get(str(to), str(to))
        entry = {"step": self.step_no, "from": self._name(sender),
                 "call": f"{role}.{contract.function_name(calldata) if contract else '?'}"}
        if reason is not None:
            entry["reverted"] = reason
        else:
            entry["events"] = []
            for log in logs:
                source = self.contracts.get(str(log.address))
                event = source.decode(log) if source else None
                if event is None or self.names[str(log.address)].startswith("feed-"):
                    continue
                args = {k: self._name(v) for k, v in event._asdict().items()}
                entry["events"].append([self.names[str(log.address)], type(event).__name__, args])
                self._note(type(event).__name__, args)
        self.events.append(entry)
        self.transaction_count += 1

    def _note(self, name: str, args: dict):
        """What the report needs beside the log: who was forced out, each ADL fill with its ranking."""
        if name == "Trade":
            self._forced_out.discard(args["account"])
        elif name == "LiquidationSettled":
            self._forced_out.add(args["account"])
            stats = self._keeper_stats.get(args["keeper"])
            if stats is not None:
                stats.liquidations += 1
                stats.reward_usd += _usd(args["keeper_reward"])
        elif name == "Deleverage":
            # dev: a pro-rata haircut without a fill leaves the counterparty's position open.
            self._forced_out.update((args["account"], args["counterparty"]) if args["size_closed"] else ())
            rank, eligible, quantile = self._adl_ranking.get(args["counterparty"], (None, None, None))
            size = abs(args["size_closed"])
            self.adl_fills.append({
                "step": self.step_no, "account": args["account"], "counterparty": args["counterparty"],
                "market": args["market"], "size": size / WAD, "price_usd": args["price"] / WAD,
                "mark_usd": args["mark_price"] / WAD,
                "counterparty_loss_usd": _usd(args["haircut"]),
                "rank": rank, "eligible": eligible, "quantile": quantile,
            })

    # ------------------------------------------------------------ results

    def header(self) -> dict:
        """What the log's first line records: everything a replay needs, and the code that ran."""
        return {"format": LOG_FORMAT, "scenario": self.scenario_data, "params": self.params_data, "seed": self.seed,
                "traders": self.scenario.population.traders, "decimals": self.params.collateral.decimals,
                "code_version": code_version()}

    def event_lines(self) -> list[str]:
        """The event log as canonical JSON lines (the hash is over these)."""
        return self.event_lines_from(0)

    def event_lines_from(self, start: int) -> list[str]:
        """The log's lines from entry `start` on (a log written as the run goes)."""
        return [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in self.events[start:]]

    def event_hash(self) -> str:
        digest = hashlib.sha256()
        for line in self.event_lines():
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()

    def transactions(self) -> int:
        return sum(1 for e in self.events if "call" in e)

    def final_balances(self) -> dict:
        p = self.protocol
        accounts = invariants.everyone(p, self.accounts())
        collateral = invariants.batched(p.lens.collaterals, accounts)
        health = invariants.batched(p.lens.health, accounts)
        decimals = self.params.collateral.decimals
        return {
            "vault_tokens_usd": p.token.balanceOf(p.vault.address) / 10**decimals,
            # dev: assets per whole share: the pool's shares have their own decimals (9 here).
            "pool_share_price_usd": p.pool.convertToAssets(10 ** p.pool.decimals()) / 10**decimals,
            "accounts": {
                self.names.get(str(a), str(a)): {"collateral_usd": _usd(c), "equity_usd": _usd(h.equity)}
                for a, c, h in zip(accounts, collateral, health)
            },
        }

    def outcome(self) -> dict:
        """The run in a few numbers (the sweep's columns), USD as floats."""
        start_fund = self.steps[0].fund_balance_usd
        liquidated = {args["account"] for e in self.events for _, name, args in e.get("events", [])
                      if name == "LiquidationSettled"}
        fund = self.fund_story()
        return {
            "liquidations": sum(r.liquidations for r in self.steps),
            "accounts_liquidated": len(liquidated),
            "peak_liquidations": max(r.liquidations for r in self.steps),
            "steps_with_liquidations": sum(1 for r in self.steps if r.liquidations),
            "bad_debt_usd": sum(r.bad_debt_usd for r in self.steps),
            "bad_debt_paid_by_fund_usd": sum(r.fund_draw_usd for r in self.steps),
            "bad_debt_paid_by_adl_usd": sum(r.adl_socialised_usd for r in self.steps),
            "fund_draw_usd": sum(r.fund_draw_usd for r in self.steps),
            "fund_drawdown_usd": max(0.0, start_fund - min(r.fund_balance_usd for r in self.steps)),
            "fund_empty_step": fund["empty_step"],
            "adl_fills": sum(r.adl_fills for r in self.steps),
            "adl_volume_usd": sum(r.adl_volume_usd for r in self.steps),
            "adl_modes": {a.symbol: self.params.markets[a.market].adl_mode for a in self.assets},
            "adl_accounts_touched": len({f["counterparty"] for f in self.adl_fills}),
            "adl_largest_haircut_usd": max((f["counterparty_loss_usd"] for f in self.adl_fills), default=0.0),
            "adl_largest_counterparty_loss_usd": max(self._losses_by_counterparty().values(), default=0.0),
            "adl_overshoot_usd": _usd(self.adl_overshoot_wad),
            "min_price": min(r.price for r in self.steps),
            "min_price_no_feedback": min(r.price_no_feedback for r in self.steps),
            "min_prices": {a.symbol: min(r.prices[a.symbol] for r in self.steps) for a in self.assets},
            "liquidated_notional_by_market_usd": {
                a.symbol: sum(r.liquidated_notional_by_market_usd[a.symbol] for r in self.steps) for a in self.assets},
            "lost_transactions": sum(r.lost_transactions for r in self.steps),
            "held_back": sum(r.held_back for r in self.steps),
            "max_gas_gwei": max(r.gas_gwei for r in self.steps),
            "invariants_ok": all(r.invariants_ok for r in self.steps),
            "steps_settled": sum(r.settled for r in self.steps),
            "stable_marks": {a.symbol: {"rate": float(self.params.markets[a.market].stable_rate),
                                        "window": self.params.markets[a.market].stable_window} for a in self.assets},
            "stable_held_peak": max(r.stable_held for r in self.steps),
            "stable_held_account_steps": sum(r.stable_held for r in self.steps),
            # dev: only with volatility-scaled margin on somewhere, so runs without it report as before.
            **({"volatility_margins": self.volatility_margins} if self.volatility_margins else {}),
        }

    def _losses_by_counterparty(self) -> dict:
        """counterparty -> all it gave to ADL over the run (USD)."""
        out: dict = {}
        for fill in self.adl_fills:
            out[fill["counterparty"]] = out.get(fill["counterparty"], 0.0) + fill["counterparty_loss_usd"]
        return out

    def keeper_story(self) -> list[dict]:
        """Each keeper over the run: its settings, what it settled and earned, what its gas cost."""
        return [{**dataclasses.asdict(k.stats), "net_usd": k.stats.net_usd} for k in self.keepers]

    def fund_story(self) -> dict:
        """The insurance fund over the run: its balance once set up, its lowest
        (and the first step there), the first step it was empty (None: never), its end."""
        balances = [r.fund_balance_usd for r in self.steps]
        low = min(balances)
        empty = next((r.step for r in self.steps if r.fund_balance_usd < FUND_EMPTY_USD), None)
        return {"start_usd": balances[0], "min_usd": low, "min_step": self.steps[balances.index(low)].step,
                "empty_step": empty, "end_usd": balances[-1], "draws_usd": sum(r.fund_draw_usd for r in self.steps)}

    def bad_debt_story(self) -> dict:
        """Who paid the bad debt: the fund (its draws) and ADL (each counterparty
        closed at the bankrupt's price instead of the mark loses the difference)."""
        by_counterparty: dict[str, dict] = {}
        for fill in self.adl_fills:
            c = by_counterparty.setdefault(fill["counterparty"], {
                "counterparty": fill["counterparty"], "fills": 0, "size": 0.0, "loss_usd": 0.0,
                "first_step": fill["step"], "best_rank": fill["rank"], "quantile": fill["quantile"]})
            c["fills"] += 1
            c["size"] += fill["size"]
            c["loss_usd"] += fill["counterparty_loss_usd"]
            if fill["rank"] is not None and (c["best_rank"] is None or fill["rank"] < c["best_rank"]):
                c["best_rank"] = fill["rank"]
        o = self.outcome()
        return {
            "total_usd": o["bad_debt_usd"],
            "paid_by_fund_usd": o["bad_debt_paid_by_fund_usd"],
            "paid_by_adl_usd": o["bad_debt_paid_by_adl_usd"],
            "adl_counterparties": sorted(by_counterparty.values(), key=lambda c: (-c["loss_usd"], c["counterparty"])),
        }

    def report(self) -> dict:
        """Everything report.json holds; docs/report-schema.md describes every field."""
        wall = self.finished - self.started
        s = self.scenario
        market = self.params.markets[s.market]
        return {
            "report_format": REPORT_FORMAT,
            "units": UNITS,
            "scenario": {"name": s.name, "description": s.description, "sources": list(s.sources),
                         "market": market.name.split(" ")[0], "steps": s.steps,
                         "step_seconds": s.step_seconds, "depth_usd_per_pct": s.depth_usd_per_pct,
                         "recovery_per_step": s.recovery_per_step, "activity": self.activity,
                         "block_seconds": s.block_seconds,
                         "assets": [{"market": a.symbol, "start_price": a.start_price,
                                     "depth_usd_per_pct": a.depth_usd_per_pct,
                                     "recovery_per_step": a.recovery_per_step,
                                     "voluntary_flow": a.voluntary_flow} for a in s.assets]},
            "scenario_file": self.scenario_data,
            "params": self.params_data,
            "code_version": code_version(),
            "seed": self.seed,
            "traders": len(self.traders),
            "event_log_hash": self.event_hash(),
            "transactions": self.transactions(),
            "wall_seconds": wall,
            "transactions_per_second": self.transactions() / wall if wall else 0.0,
            "outcome": self.outcome(),
            "fund": self.fund_story(),
            "bad_debt": self.bad_debt_story(),
            "adl_fills": self.adl_fills,
            "keepers": self.keeper_story(),
            "liquidation_maps": {"low_step": self.low_step,
                                 **{when: [m.to_dict() for m in maps] for when, maps in self.liquidation_maps.items()}},
            "margin_bucket_bounds": {"maintenance": float(market.mmr), "initial": float(market.imr)},
            "events_wad": {
                kind: [dict(step=e["step"], **args) for e in self.events for _, name, args in e.get("events", [])
                       if name == kind]
                for kind in ("Liquidation", "LiquidationSettled", "BadDebtCovered", "AdlRequired", "Deleverage")
            },
            "steps": [dataclasses.asdict(r) for r in self.steps],
            "final_balances": self.final_balances(),
        }


# report.json's format (docs/report-schema.md); 2: the units, parameters, fund,
# bad-debt and ADL sections, margin buckets before the keeper; 3: several
# markets, voluntary flow, the keepers' section, gas and late rounds.
REPORT_FORMAT = 3
UNITS = {
    "*_usd": "US dollars as floats (display precision; the exact figures are in events_wad)",
    "price, price_no_feedback, min_price*": "USD per unit of the market's base asset, floats",
    "size": "base-asset units (e.g. ETH), floats",
    "events_wad": "the contracts' event fields as emitted: WAD integers (10**18 = 1 USD or 1 base unit)",
    "params": "the parameter file's human units (fractions, USD, seconds), decimals as exact strings",
}


def _check_compatible(scenario: Scenario, params) -> None:
    """The scenario's market exists in the parameters under its name, and
    every contract is one the simulator makes (it moves its own mock feeds
    and mints its own mock token)."""
    if params.collateral.address is not None:
        raise ParamsError("collateral.address", "the simulator mints its own mock collateral: leave the address out")
    for i, m in enumerate(params.markets):
        if m.feed is not None:
            raise ParamsError(f"markets[{i}].feed", "the simulator moves its own mock feeds: give a price, not a feed")
    for i, asset in enumerate(scenario.assets):
        field_name = f"assets[{i}].market" if len(scenario.assets) > 1 else "market"
        if asset.market >= len(params.markets) or not params.markets[asset.market].name.startswith(asset.symbol):
            raise ParamsError(field_name, f"the scenario trades {asset.symbol}, which must be markets[{asset.market}] "
                                          "of the protocol parameters")


def _check_in_band(scenario: Scenario, params, paths) -> None:
    """Every price a path reaches is one its market's feed can answer (strictly
    inside the band): a path the oracle would refuse is no crash to replay."""
    for i, (asset, path) in enumerate(zip(scenario.assets, paths)):
        m = params.markets[asset.market]
        low, high = min(path), max(path)
        field_name = f"assets[{i}].path" if len(scenario.assets) > 1 else "path"
        if not float(m.band_min) < low or not high < float(m.band_max):
            raise ParamsError(field_name, f"reaches {low:,.6g}..{high:,.6g} USD, outside the feed's band of "
                                          f"markets[{asset.market}] ({m.band_min}..{m.band_max} USD)")


@cache
def code_version() -> dict:
    """The git commit of the code that ran, and whether tracked files differed from it ("unknown" outside a checkout)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "dirty": None}
    return {"git_commit": commit, "dirty": dirty}


def _sign(x: int) -> int:
    return 1 if x > 0 else -1


def _bucket(h, forced_out: bool) -> str:
    if h.notional == 0:
        return "flat by liquidation or ADL" if forced_out else "flat"
    if h.equity < 0:
        return "underwater"
    if h.equity < h.maintenance_req:
        return "below maintenance"
    if h.equity < h.initial_req:
        return "maintenance to initial"
    for multiple, name in ((2, "initial to 2x initial"), (5, "2x to 5x initial")):
        if h.equity < multiple * h.initial_req:
            return name
    return "5x initial and up"
