"""The keeper's logic, independent of how it reaches the chain.

`Keeper` tracks accounts, finds the liquidatable ones with the lens's batch
health view, and liquidates them in batches sized to the block gas limit. It
survives a lost race (the engine skips accounts already liquidated, so the
batch simply settles fewer) and a failed transaction (logged, the next round
tries again).

When a batch reports `AdlRequired` (the insurance fund cannot cover the
account's bad debt, or the pool cannot take its positions), or the pool itself
is below its maintenance margin, the keeper runs the last stage of the waterfall: it ranks the opposite side's profitable positions
by `adl_score` from the lens's batch view, best first, and calls `deleverage`
with as many of them as the bankrupt position needs. Before it does, it logs
every profitable position's ADL quantile (1 lowest .. 5 first to be
deleveraged), as BitMEX's ADL lights show them.

Two adapters reach a chain: `ApeChain` (the silverback bot, bots/keeper.py) and
`BoaChain` (in-process, for tests and the simulator).
"""

import bisect
import logging
import threading
from dataclasses import dataclass, field
from math import isqrt

# Figures from `make bench` on anvil before the engine split, rounded up: the
# marginal gas of one more account in a batch (53,271; 42,351 since the split,
# for a one-market account), and what a batch costs before its first account
# (~159,000 with a new keeper's vault slot). Kept as they were so one-market
# batches, and every one-market simulation, stay the same.
GAS_PER_ACCOUNT = 60_000
GAS_BASE = 160_000
# Each further market an account holds, measured on anvil after the split:
# 64,755 a two-market account against 42,507 a one-market one (+22,248), with
# the same ~40% margin as GAS_PER_ACCOUNT. (Before, every account counted as
# one market: a cascade of cross-margin accounts made 31-43M-gas batches.)
GAS_PER_EXTRA_MARKET = 32_000
# What a batch's one `liquidation_prices` read costs for each market with a
# stable mark, at most (8 past rounds walked): 72,000 on anvil for 6 rounds of
# the mock feed, 4 cold slots a round (`make bench`), with the same margin.
GAS_PER_STABLE_MARK = 120_000
MAX_BATCH = 500  # the engine's MAX_LIQUIDATION_BATCH
WAD = 10**18
# Gas of one `Configurator.update_margins` (titanoboa, execution only): ~15k with no new
# round, ~50k when a round moves the margins (the push to the engine), ~136k folding the
# 16 rounds it folds at most; the simulator charges the keeper this (with 21k for the transaction).
GAS_UPDATE_MARGINS = 21_000 + 50_000
HEALTH_CHUNK = 1_000  # the lens's MAX_BATCH
MAX_COUNTERPARTIES = 50  # the Deleverager's MAX_ADL_COUNTERPARTIES
# Calls per market in a round when the Deleverager passes over thin counterparties.
ADL_ATTEMPTS = 4
ADL_QUANTILES = 5


def short(address) -> str:
    """`0x7099…79C8`: enough of an address to tell accounts apart in a log."""
    a = str(address)
    return f"{a[:6]}…{a[-4:]}"


def _size(wad: int) -> str:
    """A size in WAD of the base asset, signed, for a log line."""
    return f"{wad / 10**18:+,.4f}"


def _usd(wad: int) -> str:
    """A WAD price or amount in USD, for a log line."""
    return f"{wad / 10**18:,.2f}"


class LostTransaction(RuntimeError):
    """A transaction that never landed (dropped before a block took it; the
    simulator loses a keeper's share of them): it failed nothing, and the
    next round sends it again."""


@dataclass(frozen=True)
class AdlFill:
    """One `Deleverage` event: the bankrupt's size change against one
    counterparty and what it gave of its profit (`haircut`, WAD USD; pro rata,
    a haircut may come without a fill); or a `CounterpartySkipped` one, with
    size, price and haircut 0."""

    account: str
    counterparty: str
    market: int
    size_closed: int
    price: int
    score: int
    haircut: int = 0


@dataclass
class RoundReport:
    """What one keeper round saw and did."""

    tracked: int = 0
    liquidatable: list = field(default_factory=list)
    liquidated: list = field(default_factory=list)
    skipped: int = 0  # in a sent batch but settled by someone else first (a lost race)
    # dev: in a sent batch, still liquidatable, not for ADL: solvent accounts the
    #      pool has no margin left to take any of (`LiquidationDeferred`).
    deferred: list = field(default_factory=list)
    failed_batches: int = 0
    adl_required: list = field(default_factory=list)
    adl_fills: list = field(default_factory=list)
    failed_adl: int = 0
    # Below maintenance at the oracle's price, but held by a stable mark (not liquidatable yet).
    held: list = field(default_factory=list)
    dry_run: bool = False
    # What the round earned and spent, where the chain measures it (ApeChain):
    # keeper rewards credited to the sender's vault balance (WAD) and the gas
    # its transactions paid (wei); batches the profit gate held back.
    reward_wad: int = 0
    gas_wei: int = 0
    unprofitable: list = field(default_factory=list)


def can_liquidate(health) -> bool:
    """Below maintenance at valid prices: a liquidation of it can be sent now."""
    return health.liquidatable and health.prices_valid


def held_by_stable_mark(health) -> bool:
    """Below maintenance at the oracle's prices with a position, yet not
    liquidatable: a stable mark holds it until the mark follows the price
    (PriceOracle.set_stable_mark); `liquidate` would say "account healthy"."""
    return health.notional != 0 and health.equity < health.maintenance_req and not health.liquidatable


def chunked(accounts: list, read) -> list:
    """(account, item) for each account, reading a batch view `read(chunk)` in
    chunks of the lens's MAX_BATCH."""
    out = []
    for start in range(0, len(accounts), HEALTH_CHUNK):
        chunk = accounts[start : start + HEALTH_CHUNK]
        out += zip(chunk, read(chunk))
    return out


def rank_counterparties(entries: dict, bankrupt_size: int, passed_over=frozenset(), every: bool = False) -> list[str]:
    """Accounts to pass to `deleverage` against a position of `bankrupt_size`:
    the opposite side's positions in profit, highest score first (ties by
    address, so the order is deterministic), as many as cover the position;
    with `every`, all of them up to the Deleverager's bound (a pro-rata
    market spreads the deficit over the whole list; the queue stops once
    the position is closed, so a longer list costs only its calldata).
    `entries` maps account -> the lens's AdlEntry (size, upnl, score, prices_valid).
    Accounts in `passed_over` (the Deleverager skipped them as too thin for
    this deficit) keep their place in the list, so the list stays the
    ranking's prefix, but cover nothing."""
    eligible = [
        (account, e) for account, e in entries.items()
        if e.size != 0 and (e.size > 0) != (bankrupt_size > 0) and e.upnl > 0 and e.prices_valid
    ]
    eligible.sort(key=lambda item: (-item[1].score, item[0].lower()))
    chosen, covered = [], 0
    for account, e in eligible[:MAX_COUNTERPARTIES]:
        if covered >= abs(bankrupt_size) and not every:
            break
        chosen.append(account)
        if account not in passed_over:
            covered += abs(e.size)
    return chosen


def adl_quantiles(entries: dict) -> dict[str, int]:
    """ADL quantile (1..5) of every position in profit, within its side of
    one market: 5 is the top fifth by score, deleveraged first."""
    out = {}
    for long_side in (True, False):
        side = [(e.score, account) for account, e in entries.items()
                if e.size != 0 and (e.size > 0) == long_side and e.score > 0]
        scores = sorted((score for score, _ in side), reverse=True)
        for score, account in side:
            # dev: counted from the top, so the first in line is always 5/5
            #      however few there are, and equal scores share a quantile.
            above = bisect.bisect_left([-x for x in scores], -score)
            out[account] = ADL_QUANTILES - above * ADL_QUANTILES // len(side)
    return out


class Keeper:
    def __init__(self, chain, block_gas_limit: int = 30_000_000, log: logging.Logger | None = None,
                 profit_gate=None):
        self.chain = chain
        # dev: `profit_gate(batch, health_by_account) -> (send, why)`, or None
        #      to send every batch (the simulator, the tests: the protocol's view).
        self.profit_gate = profit_gate
        self.accounts: set[str] = set()
        self.log = log or logging.getLogger("backstop.keeper.logic")
        # dev: silverback may run two blocks' handlers at once (a round slower
        #      than a block): one round at a time keeps the signer's nonces in order.
        self._lock = threading.Lock()
        self.gas_budget = int(block_gas_limit * 0.9) - GAS_BASE
        # dev: the most one-market accounts a batch holds (the budget decides
        #      for accounts in more markets, see `batches`).
        self.batch_size = max(1, min(MAX_BATCH, self.gas_budget // GAS_PER_ACCOUNT))
        # dev: batches that failed, by the reason they failed with: one that
        #      fails again the same way is split, never resent whole.
        self._failed: set = set()
        # dev: accounts whose batch of one failed twice the same way, with the
        #      figures they had: left alone until their figures change.
        self._stuck: dict = {}

    def track(self, account: str):
        """Watch `account` (every trader: from Trade events, or told by the simulator)."""
        self.accounts.add(str(account))

    def tracked_health(self) -> list:
        """(account, Health) for every tracked account, in the order and
        chunks the round's scan reads them (so a reader just before a round,
        the simulator's margin buckets, and the scan share one read on a
        chain that caches views)."""
        return chunked(sorted(self.accounts), self.chain.health)

    def liquidatable(self) -> list[str]:
        """Tracked accounts below maintenance, at valid prices (the others cannot be liquidated now)."""
        return [a for a, h in self.tracked_health() if can_liquidate(h)]

    def pool_below_maintenance(self) -> bool:
        """The pool itself is below its maintenance margin (a move beyond what LP capital carries)."""
        (health,) = self.chain.health([self.chain.pool])
        return can_liquidate(health)

    def adl_entries(self, market: int) -> dict:
        """account -> AdlEntry in `market` for every tracked account and the pool."""
        return dict(chunked(sorted(self.accounts | {self.chain.pool}), lambda c: self.chain.adl_ranking(c, market)))

    def run_round(self, select=None) -> RoundReport:
        """Liquidate every liquidatable account, then deleverage those the
        waterfall sends to ADL; never raises on a failed transaction.
        `select(account, health) -> bool`, when given, picks which of the
        liquidatable accounts this round sends (a keeper that saw only some
        yet, or finds the others unprofitable: the simulator's keepers)."""
        with self._lock:
            earned, spent = getattr(self.chain, "earned_wad", 0), getattr(self.chain, "spent_wei", 0)
            report = self._round(select)
            report.reward_wad = getattr(self.chain, "earned_wad", 0) - earned
            report.gas_wei = getattr(self.chain, "spent_wei", 0) - spent
            return report

    def _round(self, select=None) -> RoundReport:
        # dev: one scan of every tracked account: the liquidatable ones, and the rows the profit gate reads.
        report = RoundReport(tracked=len(self.accounts), dry_run=not self.chain.can_send)
        if not report.dry_run:
            self._update_margins()
        rows = dict(self.tracked_health())
        report.liquidatable = [a for a, h in rows.items() if can_liquidate(h) and (select is None or select(a, h))]
        report.held = [a for a, h in rows.items() if held_by_stable_mark(h)]
        if report.held:
            # dev: an operator asking why an account below maintenance is left alone.
            self.log.info("%d held by a stable mark (below maintenance at the oracle's price, not at the mark yet): %s",
                          len(report.held), ", ".join(short(a) for a in report.held[:10]))
        if not report.liquidatable and not self.pool_below_maintenance():
            return report
        if report.dry_run:
            self.log.info("dry run: %d liquidatable: %s", len(report.liquidatable),
                          ", ".join(short(a) for a in report.liquidatable))
            return report
        sendable = report.liquidatable
        if self._stuck:
            figures = self._figures(report.liquidatable)
            for account in [a for a in sendable if self._stuck.get(a) == figures[a]]:
                self.log.warning("%s: its liquidation failed twice the same way; left until its figures change",
                                 short(account))
            sendable = [a for a in sendable if self._stuck.get(a) != figures[a]]
        for batch in self.batches(sendable):
            if self.profit_gate is not None:
                send, why = self.profit_gate(batch, rows)
                if not send:
                    report.unprofitable += batch
                    self.log.info("batch of %d held back: %s", len(batch), why)
                    continue
            self._send_batch(batch, report)
        self.log.info(
            "liquidated %d of %d liquidatable (%d lost to other keepers, %d failed batches, %d for ADL, "
            "%d waiting for the pool's margin)",
            len(report.liquidated), len(report.liquidatable), report.skipped, report.failed_batches,
            len(report.adl_required), len(report.deferred),
        )
        if self.pool_below_maintenance():
            # dev: nobody can take the pool's book: it goes straight to ADL.
            report.adl_required.append(self.chain.pool)
        if report.adl_required:
            # dev: the ranking ADL is about to use, so every trader can see where it stood.
            self.publish_adl_quantiles()
        for account in report.adl_required:
            if self._deleverage(account, report):
                continue
            # dev: an account sent to ADL early in a batch can be covered by
            #      the fund once later accounts' penalties reach it ("ADL not
            #      required"): liquidate it at once, before the next
            #      account's ADL draws on the fund, and deleverage it after
            #      all if that draw came first.
            (health,) = self.chain.health([account])
            if not can_liquidate(health):
                continue
            try:
                settled, again = self.chain.liquidate_batch([account])
            except Exception as e:  # noqa: BLE001
                report.failed_batches += 1
                self.log.warning("liquidation of %s after a refused ADL failed: %s", short(account), e)
                continue
            report.liquidated += settled
            self.log.info("%s: ADL not required any more; liquidated %d", short(account), len(settled))
            if again:
                self._deleverage(account, report)
        return report

    def _update_margins(self):
        """Crank the volatility-scaled margins of every market that has them on
        (Configurator.update_margins) before the scan, so the scan and the
        liquidations see the maintenance the feed's rounds imply by now. With
        scaling off nowhere, nothing is sent. A failed crank is logged, never
        raised: the liquidations still go out."""
        # dev: a chain that knows no volatility-scaled margin (a test double) has none to crank.
        for market in getattr(self.chain, "volatility_markets", list)():
            try:
                # dev: a crank that would move nothing is not sent (a bot runs every block).
                if self.chain.margins_stale(market):
                    self.chain.update_margins(market)
            except Exception as e:  # noqa: BLE001 (a keeper round never raises on a transaction)
                self.log.warning("update_margins(%d) failed: %s", market, e)

    def batches(self, accounts: list[str]) -> list[list[str]]:
        """`accounts` in order, cut into batches that fit the block: each
        account costs GAS_PER_ACCOUNT for its first market and
        GAS_PER_EXTRA_MARKET for each further one it holds."""
        counts = self.chain.market_counts(accounts) if accounts else {}
        # dev: a batch prices every market once; with stable marks on, that read walks rounds.
        budget = self.gas_budget - GAS_PER_STABLE_MARK * (self.chain.stable_marks() if accounts else 0)
        out, batch, gas = [], [], 0
        for account in accounts:
            cost = GAS_PER_ACCOUNT + GAS_PER_EXTRA_MARKET * max(counts[account] - 1, 0)
            if batch and (gas + cost > budget or len(batch) == MAX_BATCH):
                out.append(batch)
                batch, gas = [], 0
            batch.append(account)
            gas += cost
        if batch:
            out.append(batch)
        return out

    def _send_batch(self, batch: list[str], report: RoundReport, splitting: bool = False):
        """Send one batch. On out-of-gas, or a second failure the same way, it
        is split in halves and those are sent, and split again while they
        fail; a batch of one that fails so is left alone until its figures
        change. Any other failure is logged, and the next round sends it again."""
        try:
            settled, adl_required = self.chain.liquidate_batch(batch)
        except LostTransaction as e:
            # dev: never mined, so it says nothing about the batch: sent again
            #      next round as it is, not split or left as stuck.
            report.failed_batches += 1
            self.log.warning("batch of %d lost: %s", len(batch), e)
            return
        except Exception as e:  # noqa: BLE001  (a keeper must outlive any failed transaction)
            report.failed_batches += 1
            reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            key = (tuple(batch), reason)
            split = splitting or "gas" in reason.lower() or key in self._failed
            self._failed.add(key)
            self.log.warning("batch of %d failed: %s", len(batch), reason)
            if split and len(batch) > 1:
                half = len(batch) // 2
                self._send_batch(batch[:half], report, splitting=True)
                self._send_batch(batch[half:], report, splitting=True)
            elif split:
                self._stuck[batch[0]] = self._figures(batch)[batch[0]]
            return
        for account in batch:
            self._stuck.pop(account, None)
        report.liquidated += settled
        report.adl_required += adl_required
        left = [a for a in batch if a not in settled and a not in adl_required]
        if left:
            # dev: healthy now (another keeper was first), or waiting for the pool's margin.
            waiting = [a for a, h in chunked(left, self.chain.health) if can_liquidate(h)]
            report.deferred += waiting
            report.skipped += len(left) - len(waiting)

    def _figures(self, accounts: list[str]) -> dict:
        """account -> (equity, notional, maintenance) now: what "the same way" compares."""
        return {a: (int(h.equity), int(h.notional), int(h.maintenance_req)) for a, h in chunked(accounts, self.chain.health)}

    def _deleverage(self, account: str, report: RoundReport) -> bool:
        """Close each of `account`'s positions against the best-ranked
        counterparties; False when a market's ADL was refused.

        The Deleverager charges each market only its notional share of the
        deficit, each counterparty at most its profit, and leaves what those
        bounds cannot take on the account for its other markets; its last
        market takes all that is left. So the markets go in order of the
        profit their counterparties hold, least first: the deepest market
        comes last and absorbs what the thinner ones could not."""
        plan = []
        for market in range(self.chain.market_count()):
            size = self.chain.adl_ranking([account], market)[0].size
            if size == 0:
                continue
            entries = {a: e for a, e in self.adl_entries(market).items() if a != account}
            depth = sum(e.upnl for e in entries.values()
                        if e.size != 0 and (e.size > 0) != (size > 0) and e.upnl > 0 and e.prices_valid)
            plan.append((depth, market, size, entries))
        done = True
        for n, (_, market, size, entries) in enumerate(sorted(plan, key=lambda item: (item[0], item[1]))):
            if n:
                # dev: ranked afresh: an earlier market's fills moved the
                #      counterparties' equity, so their scores (profit times
                #      leverage) here; a list ranked before them can leave out
                #      an account now ranked above its last fill (I7).
                size = self.chain.adl_ranking([account], market)[0].size
                if size == 0:
                    continue
                entries = {a: e for a, e in self.adl_entries(market).items() if a != account}
            if not self._deleverage_market(account, market, size, entries, report):
                done = False
        return done

    def _deleverage_market(self, account: str, market: int, size: int, entries: dict, report: RoundReport) -> bool:
        """ADL of `account`'s position in `market`; False when refused.

        Calls are sent, ranked afresh each time, while the position is open
        and the last call moved it (a fill, or a haircut of a thin
        counterparty, which then ranks lower), up to ADL_ATTEMPTS a round:
        a list cut short by a counterparty's equity, or one whose thin
        accounts paid what they could, is followed at once by the next,
        instead of leaving the deficit a round. Counterparties the
        Deleverager passed over (nothing to give) keep their place in the
        next list, which is longer, so it stays the ranking's prefix; the
        same list is never sent twice."""
        passed_over: set = set()
        pro_rata = self.chain.adl_pro_rata(market)
        sent = None
        for attempt in range(ADL_ATTEMPTS):
            if attempt:
                size = self.chain.adl_ranking([account], market)[0].size
                if size == 0:
                    return True
                entries = {a: e for a, e in self.adl_entries(market).items() if a != account}
            # dev: after a first call that left the position open, the whole
            #      ranking: its thin accounts ahead of the deep ones pay a
            #      haircut each and cover nothing, however large their size.
            counterparties = rank_counterparties(entries, size, passed_over, every=pro_rata or attempt > 0)
            if not counterparties:
                self.log.warning("ADL %s market %d: no counterparty in profit on the other side", short(account),
                                 market)
                return True
            if counterparties == sent:
                return True  # dev: nothing new to try this round
            sent = counterparties
            try:
                fills = self.chain.deleverage(account, market, counterparties)
            except Exception as e:  # noqa: BLE001
                # dev: typically "ADL not required": an earlier market's ADL left
                #      little enough that the fund or the pool can take the rest.
                report.failed_adl += 1
                self.log.warning("ADL %s market %d failed: %s", short(account), market, e)
                return False
            passed_over |= {f.counterparty for f in fills if f.size_closed == 0 and f.haircut == 0}
            fills = [f for f in fills if f.size_closed != 0 or f.haircut != 0]  # dev: not the passed-over ones
            report.adl_fills += fills
            for fill in fills:
                self.log.info(
                    "ADL %s market %d: %s closed against %s at %s USD, haircut %s USD (score %.4f)",
                    short(account), market, _size(fill.size_closed), short(fill.counterparty),
                    _usd(fill.price), _usd(fill.haircut), fill.score / 10**18,
                )
            if not fills and len(counterparties) >= MAX_COUNTERPARTIES:
                return True  # dev: the longest list moved nothing: the deficit waits for the ranking to change
        return True

    def publish_adl_quantiles(self) -> dict:
        """Log every profitable position's ADL quantile; return {market: {account: quantile}}."""
        out = {}
        for market in range(self.chain.market_count()):
            out[market] = adl_quantiles(self.adl_entries(market))
            for account, quantile in sorted(out[market].items()):
                self.log.info("ADL quantile market %d %s: %d/%d", market, short(account), quantile, ADL_QUANTILES)
        return out


class EngineChain:
    """What the keeper needs of a chain: the lens's batch views, and a sender
    for `liquidate_batch` and `deleverage` (None: dry run). `contracts` is a
    deployed protocol (harness.Protocol or deployment.Deployment)."""

    def __init__(self, contracts, sender=None):
        self.engine = contracts.engine
        self.deleverager = contracts.deleverager
        self.configurator = contracts.configurator
        self.lens = contracts.lens
        self.oracle = contracts.oracle
        self.pool = str(contracts.pool.address)
        self.sender = sender
        # dev: running totals of what the sender earned (keeper rewards, WAD) and
        #      paid (gas, wei), where the chain can measure them (ApeChain).
        self.earned_wad = 0
        self.spent_wei = 0

    @property
    def can_send(self) -> bool:
        return self.sender is not None

    def health(self, accounts):
        return self.lens.health(accounts)

    def adl_ranking(self, accounts, market: int):
        return self.lens.adl_ranking(accounts, market)

    def market_count(self) -> int:
        return self.engine.market_count()

    def stable_marks(self) -> int:
        """How many markets decide liquidatability behind a stable mark (PriceOracle.set_stable_mark)."""
        return sum(1 for market in range(self.market_count()) if self.oracle.feeds(market).stable_rate)

    def adl_pro_rata(self, market: int) -> bool:
        """Whether `market` deleverages pro rata (Configurator.adl_pro_rata) rather than by the queue."""
        return bool(self.configurator.adl_pro_rata(market))

    def volatility_markets(self) -> list[int]:
        """The markets whose margins scale with volatility (Configurator.volatility_params: max_scale set)."""
        return [m for m in range(self.market_count()) if self.configurator.volatility_params(m).max_scale != 0]

    def margins_stale(self, market: int) -> bool:
        """Whether `update_margins(market)` would move anything: a feed round
        not folded yet (or a new feed), or the maintenance scale still walking
        towards the target its EWMA sets (Configurator._target, in integers)."""
        v = self.configurator.volatility_params(market)
        state = self.configurator.volatility_states(market)
        latest, baseline = self.oracle.latest_round(market)
        if latest > state.round_id or baseline != state.baseline:
            return True
        target = min(max(isqrt(state.ewma * WAD) * WAD // v.vol_ref, WAD), v.max_scale)
        return state.mmr_scale != target

    def market_counts(self, accounts) -> dict:
        """account -> how many markets it holds a position in (the lens's batch positions view)."""
        accounts = list(accounts)
        counts = dict.fromkeys(accounts, 0)
        for market in range(self.market_count()):
            for account, position in chunked(accounts, lambda c: self.lens.positions(c, market)):
                counts[account] += position.size != 0
        return counts


def _fill(event) -> AdlFill:
    # dev: a `CounterpartySkipped` is a fill of nothing (size 0, price 0): the
    #      audit counts it as a counterparty seen in its place in the list.
    return AdlFill(
        str(event.account), str(event.counterparty), int(event.market), int(getattr(event, "size_closed", 0)),
        int(getattr(event, "price", 0)), int(event.score), int(getattr(event, "haircut", 0)),
    )


class ApeChain(EngineChain):
    """A live node through ape contract instances; `sender` is an ape account.
    `nonce()`, when given, numbers each transaction (silverback's `bot.nonce`,
    which knows the nonces of transactions still pending)."""

    def __init__(self, contracts, sender=None, nonce=None, log: logging.Logger | None = None):
        super().__init__(contracts, sender)
        self.nonce = nonce
        self.log = log or logging.getLogger("backstop.keeper.logic")

    def _tx(self) -> dict:
        if not self.nonce:
            return {"sender": self.sender}
        # dev: the keeper waits for every transaction it sends, so none of its own
        #      is pending when it sends the next: a nonce above the chain's count
        #      is a stale one (silverback keeps the last it used in a session file
        #      across runs, and across chains reset under it) and would never be
        #      mined. The chain's count wins then.
        nonce, on_chain = self.nonce(), int(self.sender.nonce)
        if nonce > on_chain:
            self.log.warning(
                "nonce %d from the bot's saved state is ahead of the chain's %d (a stale session): using %d",
                nonce, on_chain, on_chain)
            nonce = on_chain
        return {"sender": self.sender, "nonce": nonce}

    def _mined(self, receipt):
        """`receipt` once its transaction is in a block, with its logs (ape hands
        back a receipt not yet mined, without logs, when anvil mines by interval)."""
        if receipt.block_number is None or receipt.block_number < 0:
            from ape import chain

            receipt = chain.provider.get_receipt(receipt.txn_hash)
        self.spent_wei += int(receipt.gas_used) * int(receipt.gas_price)
        return receipt

    def update_margins(self, market: int):
        self._mined(self.configurator.update_margins(market, **self._tx()))

    def liquidate_batch(self, accounts) -> tuple[list[str], list[str]]:
        receipt = self._mined(self.engine.liquidate_batch(accounts, **self._tx()))
        logs = receipt.decode_logs(self.engine.LiquidationSettled)
        me = str(self.sender.address)
        self.earned_wad += sum(int(e.keeper_reward) for e in logs if str(e.keeper) == me)
        settled = [str(e.account) for e in logs]
        return settled, [str(e.account) for e in receipt.decode_logs(self.engine.AdlRequired)]

    def deleverage(self, account, market, counterparties) -> list[AdlFill]:
        receipt = self._mined(self.deleverager.deleverage(account, market, counterparties, **self._tx()))
        logs = [*receipt.decode_logs(self.deleverager.Deleverage), *receipt.decode_logs(self.deleverager.CounterpartySkipped)]
        return [_fill(e) for e in sorted(logs, key=lambda e: e.log_index)]


class BoaChain(EngineChain):
    """An in-process chain (tests, the simulator, the fuzzer): titanoboa or
    revm (backstop.chain.revm_chain), whichever deployed `contracts`; `sender` is an address."""

    def __init__(self, contracts, sender=None):
        super().__init__(contracts, sender)
        self.env = contracts.env

    def _send(self, contract, name, *args) -> list:
        with self.env.prank(self.sender):
            getattr(contract, name)(*args)
        return contract.get_logs()

    def update_margins(self, market: int):
        self._send(self.configurator, "update_margins", market)

    def liquidate_batch(self, accounts) -> tuple[list[str], list[str]]:
        logs = self._send(self.engine, "liquidate_batch", accounts)
        settled = [str(e.account) for e in logs if type(e).__name__ == "LiquidationSettled"]
        return settled, [str(e.account) for e in logs if type(e).__name__ == "AdlRequired"]

    def deleverage(self, account, market, counterparties) -> list[AdlFill]:
        logs = self._send(self.deleverager, "deleverage", account, market, counterparties)
        return [_fill(e) for e in logs if type(e).__name__ in ("Deleverage", "CounterpartySkipped")]
