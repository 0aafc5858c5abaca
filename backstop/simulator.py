"""The crash simulator (SPEC 9): a trader population, a price path and the
keeper in the loop, on a chain, deterministically.

One run: deploy a fresh protocol (collateral with 6 decimals, like USDC), fund
an LP, stake the insurance fund, open every trader's position at its drawn
leverage, then play the scenario's steps. Each step:

1. the clock moves `step_seconds`;
2. the oracle publishes the path's price times the depth model's displacement
   (the cascade feedback: last step's forced selling moved the book);
3. a random few traders act (add margin, reduce, close, open);
4. the keeper (backstop.keeper.Keeper, the code bots/keeper.py runs) liquidates
   and deleverages whatever the price made liquidatable;
5. the step's forced flow (liquidated size times its fill price; selling
   positive) goes into the depth model for the next price;
6. the state is read: fund balance, open interest, accounts by margin ratio,
   and the invariants I1-I4.

Every transaction, whoever sends it, lands in the event log: the step, the
sender, the call, and either its decoded events or its revert reason, with
known addresses written as actor names. The log depends only on the scenario,
the seed and the population size, so its hash names a run; a replay reruns
from the log's header and compares. Feed events are left out (they carry
block timestamps, which a node takes from its wall clock); the price each step
published is in the step's first entry instead.

The chain is anything with `backstop.revm_chain.Chain`'s interface: revm in
process, or a node through `backstop.web3_chain.Web3Chain` (what
`ape run simulate` uses). Both give the same log for the same run.
"""

import dataclasses
import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from backstop import harness, invariants, revm_chain
from backstop.keeper import BoaChain, Keeper
from backstop.revm_chain import Reverted, to_checksum_address
from backstop.scenario import DepthModel, Scenario, parse_scenario, price_path

WAD = 10**18
DECIMALS = 6
# Accounts by equity / notional, the report's buckets (the engine's margin ratio).
BUCKETS = ("flat", "underwater", "0-5%", "5-10%", "10-20%", "20-50%", ">=50%")
BUCKET_BOUNDS = ((0.05, "0-5%"), (0.10, "5-10%"), (0.20, "10-20%"), (0.50, "20-50%"))
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
    margin_buckets: dict = field(default_factory=dict)
    transactions: int = 0
    rejected: int = 0
    invariants: dict = field(default_factory=dict)
    invariants_ok: bool = True


class Simulation:
    """One scenario run on `chain`. `scenario_data` is the scenario file's
    content (kept whole in the log header, so a replay needs no file)."""

    def __init__(self, scenario_data: dict, seed: int, chain, traders: int | None = None,
                 log: logging.Logger | None = None):
        data = json.loads(json.dumps(scenario_data))  # a private copy, JSON-clean
        if traders is not None and isinstance(data.get("population"), dict):
            data["population"]["traders"] = traders
        self.scenario_data = data
        self.scenario: Scenario = parse_scenario(data)
        self.seed = seed
        self.chain = chain
        self.log = log or logging.getLogger("backstop.simulator")
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

    # ------------------------------------------------------------ the run

    def run(self, progress=None) -> "Simulation":
        """Set up, play every step; `progress(n)` is told as traders are set up
        and steps complete (traders + steps in all)."""
        revm_chain.compiled()  # dev: the compile (or its cache) is not the run's time
        self.started = time.perf_counter()
        self.setup(progress)
        for step in range(1, self.scenario.steps + 1):
            self.play_step(step)
            if progress:
                progress(1)
        self.finished = time.perf_counter()
        return self

    def setup(self, progress=None):
        s = self.scenario
        owner = self._actor("owner")
        markets = [harness.ETH, harness.BTC]
        markets[s.market] = dataclasses.replace(markets[s.market], price=Decimal(str(s.start_price)))
        p = self.protocol = revm_chain.deploy(owner, DECIMALS, chain=self.chain, markets=tuple(markets))
        # dev: the log starts once every contract has a name (the wiring is
        #      the same in every run).
        self.chain.on_transaction = self._record
        roles = {"token": p.token, "vault": p.vault, "oracle": p.oracle, "engine": p.engine, "pool": p.pool,
                 "fund": p.insurance, "lens": p.lens, "configurator": p.configurator, "deleverager": p.deleverager}
        for i, feed in enumerate(p.feeds):
            roles[f"feed-{p.markets[i].name.split(' ')[0]}"] = feed
        self.contracts = {str(c.address): c for c in roles.values()}
        self.names.update({str(c.address): role for role, c in roles.items()})
        self.keeper_address = self._actor("keeper")
        self.keeper = Keeper(BoaChain(p, sender=self.keeper_address), log=self.log)
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
                progress(1)
        self._end_step()
        for m in range(len(p.feeds)):
            self._feed_refreshed[m] = 0

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
        self.keeper.run_round()
        self._end_step()

    # ------------------------------------------------------------ one step

    def _begin_step(self, step: int, price: float):
        self.step_no = step
        self._step_start = len(self.events)  # dev: where this step's entries begin
        answer = harness.feed_answer(Decimal(repr(price)).quantize(Decimal("1e-8")))
        self.events.append({"step": step, "price": answer})
        self.steps.append(StepRecord(step=step, price=answer / 10**harness.FEED_DECIMALS,
                                     price_no_feedback=self.path[step]))
        if step > 0:
            with self.chain.prank(self._actor("oracle-operator")):
                self.protocol.feeds[self.scenario.market].set_answer(answer)

    def _refresh_idle_feeds(self, step: int):
        """A new round, at the same answer, for each market the path does not
        move, before its heartbeat runs out (a stale feed blocks liquidations)."""
        due = harness.HEARTBEAT // 2 // self.scenario.step_seconds
        for m, last in self._feed_refreshed.items():
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
        positions = invariants.batched(p.lens.positions, self.traders, self.scenario.market)
        rec.open_interest_long_usd = sum(x.size for x in positions if x.size > 0) * rec.price / WAD
        rec.open_interest_short_usd = -sum(x.size for x in positions if x.size < 0) * rec.price / WAD
        rec.margin_buckets = dict.fromkeys(BUCKETS, 0)
        for h in invariants.batched(p.lens.health, self.traders):
            rec.margin_buckets[_bucket(h)] += 1
        rec.invariants = {name: violations for name, violations in invariants.check(p, self.accounts(), settled=True)}
        rec.invariants_ok = not any(rec.invariants.values())

    def accounts(self) -> list[str]:
        """Every account with a balance in the vault besides the pool and the fund."""
        return [*self.traders, self.keeper_address]

    # ------------------------------------------------------------ the log

    def _actor(self, name: str) -> str:
        address = str(harness.actor(name))
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
        self.events.append(entry)

    # ------------------------------------------------------------ results

    def header(self) -> dict:
        return {"scenario": self.scenario_data, "seed": self.seed, "traders": len(self.traders),
                "decimals": DECIMALS}

    def event_lines(self) -> list[str]:
        """The event log as canonical JSON lines (the hash is over these)."""
        return [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in self.events]

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
        return {
            "vault_tokens_usd": p.token.balanceOf(p.vault.address) / 10**DECIMALS,
            "pool_share_price": p.pool.convertToAssets(10**18) / 10**DECIMALS,
            "accounts": {
                self.names.get(str(a), str(a)): {"collateral_usd": _usd(c), "equity_usd": _usd(h.equity)}
                for a, c, h in zip(accounts, collateral, health)
            },
        }

    def outcome(self) -> dict:
        """The run in a few numbers (the sweep's columns)."""
        start_fund = self.steps[0].fund_balance_usd
        liquidated = {args["account"] for e in self.events for _, name, args in e.get("events", [])
                      if name == "LiquidationSettled"}
        return {
            "liquidations": sum(r.liquidations for r in self.steps),
            "accounts_liquidated": len(liquidated),
            "peak_liquidations": max(r.liquidations for r in self.steps),
            "steps_with_liquidations": sum(1 for r in self.steps if r.liquidations),
            "bad_debt_usd": sum(r.bad_debt_usd for r in self.steps),
            "fund_draw_usd": sum(r.fund_draw_usd for r in self.steps),
            "fund_drawdown_usd": max(0.0, start_fund - min(r.fund_balance_usd for r in self.steps)),
            "adl_fills": sum(r.adl_fills for r in self.steps),
            "adl_volume_usd": sum(r.adl_volume_usd for r in self.steps),
            "min_price": min(r.price for r in self.steps),
            "min_price_no_feedback": min(r.price_no_feedback for r in self.steps),
            "invariants_ok": all(r.invariants_ok for r in self.steps),
        }

    def report(self) -> dict:
        wall = self.finished - self.started
        s = self.scenario
        return {
            "scenario": {"name": s.name, "description": s.description, "sources": list(s.sources),
                         "market": self.protocol.markets[s.market].name.split(" ")[0], "steps": s.steps,
                         "step_seconds": s.step_seconds, "depth_usd_per_pct": s.depth_usd_per_pct,
                         "recovery_per_step": s.recovery_per_step, "activity": self.activity},
            "seed": self.seed,
            "traders": len(self.traders),
            "event_log_hash": self.event_hash(),
            "transactions": self.transactions(),
            "wall_seconds": wall,
            "transactions_per_second": self.transactions() / wall if wall else 0.0,
            "outcome": self.outcome(),
            "events": {
                kind: [dict(step=e["step"], **args) for e in self.events for _, name, args in e.get("events", [])
                       if name == kind]
                for kind in ("Liquidation", "LiquidationSettled", "BadDebtCovered", "AdlRequired", "Deleverage")
            },
            "steps": [dataclasses.asdict(r) for r in self.steps],
            "final_balances": self.final_balances(),
        }


def _sign(x: int) -> int:
    return 1 if x > 0 else -1


def _bucket(h) -> str:
    if h.notional == 0:
        return "flat"
    if h.equity < 0:
        return "underwater"
    ratio = h.equity / h.notional
    return next((name for bound, name in BUCKET_BOUNDS if ratio < bound), ">=50%")
