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
from backstop.keeper.logic import BoaChain, Keeper, adl_quantiles
from backstop.protocol.params import ParamsError, default_params, parse_params
from backstop.protocol.wiring import actor_address
from backstop.sim.scenario import MARKETS, DepthModel, Scenario, parse_scenario, price_path

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


def _usd(wad_amount) -> float:
    return wad_amount / WAD


@dataclass
class StepRecord:
    """One step's figures: what report.json lists and the plots draw."""

    step: int
    price: float
    price_no_feedback: float
    forced_flow_usd: float = 0.0
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
    # The oracle's price guard on the scenario's market at the step's end (no new risk while up).
    guarded: bool = False
    # Counted after the traders acted and before the keeper did (BUCKETS).
    margin_buckets: dict = field(default_factory=dict)
    transactions: int = 0
    rejected: int = 0
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
        self.path = price_path(self.scenario, seed)
        self.depth = DepthModel(self.scenario.depth_usd_per_pct, self.scenario.recovery_per_step)
        self.events: list[dict] = []
        self.steps: list[StepRecord] = []
        self.step_no = 0
        # dev: whoever sends outside a prank (the mock token's mints) is the faucet.
        self.names: dict[str, str] = {to_checksum_address(revm_chain.DEFAULT_SENDER): "faucet"}
        self.contracts: dict[str, object] = {}
        self.traders: list[str] = []
        self.keeper_address = ""
        self.margins: dict[str, float] = {}
        self.protocol = None
        self.keeper = None
        self._feed_refreshed = {}
        self._step_start = 0
        self.max_leverage = 0.0
        self.started = self.finished = 0.0
        self.transaction_count = 0
        # dev: accounts whose position a liquidation or an ADL fill closed, until
        #      their next own trade: flat ones are "flat by liquidation or ADL".
        self._forced_out: set[str] = set()
        # dev: the ADL ranking read just before the keeper's `deleverage`
        #      (counterparty -> (rank, eligible, quantile)), for its fills.
        self._adl_ranking: dict = {}
        self.adl_fills: list[dict] = []

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
        self.keeper_address = self._actor("keeper")
        self.keeper = Keeper(_RankingChain(p, self.keeper_address, self._before_deleverage), log=self.log)
        self._begin_step(0, self.path[0])
        p.fund_pool(self._actor("lp"), s.population.lp_usd)
        if s.population.fund_stake_usd > 0:
            p.stake(self._actor("staker"), s.population.fund_stake_usd)
        self.max_leverage = LEVERAGE_HEADROOM / _usd(p.configurator.markets(s.market).imr)
        for i in range(s.population.traders):
            trader = self._actor(f"trader-{i + 1}")
            self.traders.append(trader)
            self.keeper.track(trader)
            self._open(trader, fresh=True)
            if progress:
                progress(self)
        self._count_margins()
        self._end_step()
        for m in range(len(p.feeds)):
            self._feed_refreshed[m] = 0

    def _deploy(self, owner):
        """The protocol with `self.params` through the one wiring (the scenario's
        market starting at the scenario's price), before the log starts."""
        s, params = self.scenario, self.params
        m = params.markets[s.market]
        start = Decimal(m.feed_units(s.start_price)) / 10**m.feed_decimals
        markets = [dataclasses.replace(m, price=start) if i == s.market else m for i, m in enumerate(params.markets)]
        return revm_chain.deploy(owner, chain=self.chain, params=params.variant(markets=markets))

    def play_step(self, step: int):
        s = self.scenario
        self.chain.time_travel(s.step_seconds)
        multiplier = self.depth.step(self.steps[-1].forced_flow_usd) if self.steps else 1.0
        price = self.path[step] * multiplier
        self._begin_step(step, price)
        self._refresh_idle_feeds(step)
        for trader in self.traders:
            if self.rng.random() < self.activity:
                self._act(trader)
        self._count_margins()
        self.keeper.run_round()
        self._end_step()

    # ------------------------------------------------------------ one step

    def _begin_step(self, step: int, price: float):
        self.step_no = step
        self._step_start = len(self.events)  # dev: where this step's entries begin
        market = self.params.markets[self.scenario.market]
        answer = market.feed_units(Decimal(repr(price)).quantize(Decimal(10) ** -market.feed_decimals))
        self.events.append({"step": step, "price": answer})
        self.steps.append(StepRecord(step=step, price=answer / 10**market.feed_decimals,
                                     price_no_feedback=self.path[step]))
        if step > 0:
            with self.chain.prank(self._actor("oracle-operator")):
                self.protocol.feeds[self.scenario.market].set_answer(answer)

    def _refresh_idle_feeds(self, step: int):
        """A new round, at the same answer, for each market the path does not
        move, before its heartbeat runs out (a stale feed blocks liquidations)."""
        for m, last in self._feed_refreshed.items():
            due = self.params.markets[m].heartbeat // 2 // self.scenario.step_seconds
            if m != self.scenario.market and step - last >= due:
                feed = self.protocol.feeds[m]
                with self.chain.prank(self._actor("oracle-operator")):
                    feed.set_answer(feed.latestRoundData()[1])
                self._feed_refreshed[m] = step

    def _act(self, trader: str):
        kind = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        size = self.protocol.engine.position(trader, self.scenario.market).size
        fraction = self.rng.uniform(0.2, 0.8)
        if kind == "add_margin":
            self._try(self.protocol.fund_trader, trader, round(self.margins[trader] * fraction / 2, 2))
        elif kind == "reduce" and size != 0:
            self._trade(trader, -(abs(size) * int(fraction * 100) // 100 // SIZE_UNIT * SIZE_UNIT) * _sign(size))
        elif kind == "close" and size != 0:
            self._trade(trader, -size)
        elif kind == "open" or size == 0:
            self._open(trader, fresh=size == 0, existing=size)

    def _open(self, trader: str, fresh: bool, existing: int = 0):
        """A new position (deposit a drawn margin, trade at a drawn leverage),
        or more of the existing one at the same kind of draw."""
        pop, price = self.scenario.population, self.steps[-1].price
        margin = round(math.exp(self.rng.uniform(math.log(pop.margin_min_usd), math.log(pop.margin_max_usd))), 2)
        leverage = min(self.rng.uniform(pop.leverage_min, pop.leverage_max), self.max_leverage)
        long = existing > 0 if existing else self.rng.random() < pop.long_share
        if fresh:
            self.margins[trader] = margin
            if not self._try(self.protocol.fund_trader, trader, margin):
                return
        else:
            margin *= 0.25  # adding to a position: a smaller clip, from free collateral
        size = int(margin * leverage / price * 10**6) * SIZE_UNIT
        self._trade(trader, size if long else -size)

    def _trade(self, trader: str, size_delta: int):
        if size_delta != 0:
            with self.chain.prank(trader):
                self._try(self.protocol.engine.trade, self.scenario.market, size_delta)

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
        for entry in self.events[self._step_start:]:
            if "call" not in entry:
                continue
            rec.transactions += 1
            rec.rejected += "reverted" in entry
            deleverage = entry["call"] == "deleverager.deleverage"
            for _, name, args in entry.get("events", []):
                if name == "Liquidation":
                    rec.forced_flow_usd += -args["size_closed"] * args["exec_price"] / WAD / WAD
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
                    socialised = abs(args["size_closed"]) * abs(args["price"] - args["mark_price"]) / WAD / WAD
                    rec.adl_fills += 1
                    rec.adl_volume_usd += volume
                    rec.adl_socialised_usd += socialised
                    rec.bad_debt_usd += socialised
        rec.fund_balance_usd = _usd(p.vault.collateral(p.fund))
        rec.guarded = bool(p.oracle.guarded(self.scenario.market))
        # dev: one `book` read for the open interest and every invariant; the
        #      traders' open interest is the book's less what the others hold.
        m = self.scenario.market
        totals = invariants.book(p, invariants.everyone(p, self.accounts()))
        longs, shorts = totals["longs"][m], totals["shorts"][m]
        for other in (p.pool.address, self.keeper_address):
            size = p.engine.position(other, m).size
            longs, shorts = longs - max(size, 0), shorts - max(-size, 0)
        rec.open_interest_long_usd = longs * rec.price / WAD
        rec.open_interest_short_usd = shorts * rec.price / WAD
        rec.invariants = {name: violations
                          for name, violations in invariants.check(p, self.accounts(), settled=True, totals=totals)}
        rec.invariants_ok = not any(rec.invariants.values())

    def _count_margins(self):
        """This step's accounts by margin (BUCKETS), as they stand now."""
        counts = dict.fromkeys(BUCKETS, 0)
        # dev: the keeper's own scan (it tracks every trader), read just before its round.
        health = dict(self.keeper.tracked_health())
        for trader in self.traders:
            counts[_bucket(health[trader], self.names[trader] in self._forced_out)] += 1
        self.steps[-1].margin_buckets = counts

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

    def accounts(self) -> list[str]:
        """Every account with a balance in the vault besides the pool and the fund."""
        return [*self.traders, self.keeper_address]

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
        elif name == "Deleverage":
            self._forced_out.update((args["account"], args["counterparty"]))
            rank, eligible, quantile = self._adl_ranking.get(args["counterparty"], (None, None, None))
            size = abs(args["size_closed"])
            self.adl_fills.append({
                "step": self.step_no, "account": args["account"], "counterparty": args["counterparty"],
                "market": args["market"], "size": size / WAD, "price_usd": args["price"] / WAD,
                "mark_usd": args["mark_price"] / WAD,
                "counterparty_loss_usd": size * abs(args["price"] - args["mark_price"]) / WAD / WAD,
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
            "min_price": min(r.price for r in self.steps),
            "min_price_no_feedback": min(r.price_no_feedback for r in self.steps),
            "invariants_ok": all(r.invariants_ok for r in self.steps),
        }

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
                         "recovery_per_step": s.recovery_per_step, "activity": self.activity},
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
# bad-debt and ADL sections, margin buckets before the keeper.
REPORT_FORMAT = 2
UNITS = {
    "*_usd": "US dollars as floats (display precision; the exact figures are in events_wad)",
    "price, price_no_feedback, min_price*": "USD per unit of the market's base asset, floats",
    "size": "base-asset units (e.g. ETH), floats",
    "events_wad": "the contracts' event fields as emitted: WAD integers (10**18 = 1 USD or 1 base unit)",
    "params": "the parameter file's human units (fractions, USD, seconds), decimals as exact strings",
}


class _RankingChain(BoaChain):
    """The keeper's in-process chain, telling the simulator just before each
    `deleverage` (a view read then: the log does not change)."""

    def __init__(self, contracts, sender, before_deleverage):
        super().__init__(contracts, sender=sender)
        self._before_deleverage = before_deleverage

    def deleverage(self, account, market, counterparties):
        self._before_deleverage(str(account), market, [str(c) for c in counterparties])
        return super().deleverage(account, market, counterparties)


def _check_compatible(scenario: Scenario, params) -> None:
    """The scenario's market exists in the parameters under its name, and
    every contract is one the simulator makes (it moves its own mock feeds
    and mints its own mock token)."""
    if params.collateral.address is not None:
        raise ParamsError("collateral.address", "the simulator mints its own mock collateral: leave the address out")
    for i, m in enumerate(params.markets):
        if m.feed is not None:
            raise ParamsError(f"markets[{i}].feed", "the simulator moves its own mock feeds: give a price, not a feed")
    symbol = [k for k, v in MARKETS.items() if v == scenario.market][0]
    if scenario.market >= len(params.markets) or not params.markets[scenario.market].name.startswith(symbol):
        raise ParamsError("market", f"the scenario trades {symbol}, which must be markets[{scenario.market}] of the "
                                    "protocol parameters")


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
