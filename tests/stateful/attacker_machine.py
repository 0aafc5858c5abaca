"""The attacker fuzzer: the solvency machine's honest population (traders, LPs,
stakers, keeper, the market) plus an `attacker` and a `colluder` who play the
protocol the way a real adversary would, with three markets so positions can
span two or three of them (cross-margin).

The adversary's rules: `deleverage` and `liquidate` / `liquidate_batch` with
lists it chooses (any order, its own accounts, one-name lists, duplicates,
accounts in other markets); large trades that push the skew before and after
someone else's liquidation or ADL; donations of collateral to the fund, the
pool and other accounts' vault balances; LP deposit and redeem around its own
skew and around unrefreshed or guarded rounds; feed rounds published without
anyone refreshing, and withdrawals right after them; positions in two and
three markets, with a crash in one market while another moves the other way.

Everything the honest machine checks still holds (I1-I7). On top, a
`Monitor` watches every transaction sent to the chain and holds:

  ghost ledger: every account's equity change in a transaction is explained by
     its own trades (fill cash, fee and the mark-to-market of the new size),
     price moves (its sizes times the mark's change), liquidation fills,
     penalties, keeper rewards, fund draws, deposits and withdrawals, exactly
     to the wei; ADL fills move value only between the bankrupt account and its
     counterparties, zero-sum up to a wei of flooring per fill. Any other
     change fails the run.
  SPEC 6 (ADL bounds): a counterparty loses at most its unrealised profit in
     the deleveraged market and never ends below zero; only an account below
     zero at the mark is deleveraged (not a solvent one pushed there by skew).
  SPEC 4 (guard): right after a feed round that moves beyond the market's
     deviation (the same block, before any later round), no withdrawal by an
     account holding that market, no LP deposit or redemption while the pool
     holds it, and no risk-adding trade using its price (its own market, or
     the margin of the account's other markets) succeeds, whether or not
     anyone refreshed the oracle.
  I8 (no free lunch): over every stretch of calls made only by the attacker
     and colluder with every mark fixed, their joint wealth (tokens + equity at
     the mark, floored at zero + LP and fund shares at what they redeem for)
     does not rise beyond the tokens minted to them, the keeper rewards for
     accounts liquidatable when the stretch began, and the fill premium their
     own net trades took back from the skew the stretch began with (what
     others paid into it before; see `Monitor.premium_released`), and the
     change, while time passes, in the value of the LP and fund shares they
     held when the stretch began (what holding would have brought without
     acting: a liquidation's price lag releasing; `Monitor.before_clock`),
     within a token unit per share holding (shares are valued in whole units).
  liveness: after a keeper round, no account that was liquidatable (at valid
     prices) before it is still liquidatable with the same equity and
     maintenance requirement unless it is pending ADL with an `AdlRequired`
     event, or pending the pool's margin with a `LiquidationDeferred` one; a
     `liquidate_batch` never reverts as a whole, whoever sends it.

Every failure message starts with its invariant's name (`ghost`, `SPEC 6`,
`SPEC 4`, `I8`, `liveness`, ...) so a run, a regression test and the CI
xfail can say which one fired.

Deleverage calls (the keeper's and the attacker's) all go through
`AttackerMachine._deleverage`, and revert reasons are matched by their tail
(`tail()`), so the engine's split into engine / Configurator / Deleverager
changes one helper and no reason string.
"""

import time
from decimal import Decimal

from eth_abi import decode as abi_decode

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from backstop.chain import revm_chain
from backstop.protocol.harness import BTC, ETH, MarketSpec, actor
from backstop.keeper.logic import AdlFill, rank_counterparties
from backstop.chain.revm_chain import Reverted, to_checksum_address
from backstop.units import WAD
from tests.stateful.solvency_machine import (
    ATTACKER, KEEPER, KEEPER_SHARE, LPS, MAX_REWARD, MIN_REWARD, STAKERS, TRADE_REVERTS, TRADERS, WITHDRAW_REVERTS,
    RecordingChain, SolvencyMachine, fraction,
)

# A third market, so the adversary can hold two or three at once.
SOL = MarketSpec("SOL / USD", Decimal(100), imr="0.10", mmr="0.05", fee="0.001", skew_scale=1_000_000, max_skew=100_000)
MARKET_SPECS = (ETH, BTC, SOL)
ALL_MARKETS = tuple(range(len(MARKET_SPECS)))
COLLUDER = actor("fuzz colluder")
COALITION = (ATTACKER, COLLUDER)
WHO = st.sampled_from([0, 1])  # 0: the attacker, 1: the colluder


# The attacker machine's fixed run (its CI test, its mutants): derandomised, so
# the same examples every time, and no shrinking (finding it is the point).
FIXED_RUN = settings(
    max_examples=500, stateful_step_count=50, deadline=None, derandomize=True, database=None,
    phases=(Phase.generate,), suppress_health_check=list(HealthCheck),
)


def tail(reason: str) -> str:
    """A revert reason without its contract prefix ("Clearinghouse: max skew" -> "max skew")."""
    return reason.split(": ", 1)[-1]


ORACLE_TAILS = {"stale price", "invalid price"}
TRADE_TAILS = {tail(r) for r in TRADE_REVERTS} | ORACLE_TAILS
WITHDRAW_TAILS = {tail(r) for r in WITHDRAW_REVERTS} | ORACLE_TAILS
# dev: "market guarded" is the pool's own refusal (SPEC 4), the engine's is in WITHDRAW_TAILS.
LP_DEPOSIT_TAILS = {"insolvent", "zero shares", "market guarded"} | ORACLE_TAILS
LP_REDEEM_TAILS = WITHDRAW_TAILS | {"zero assets", "zero shares"}
LIQUIDATE_TAILS = {"account healthy", "ADL required", "capacity spent"} | ORACLE_TAILS
ADL_TAILS = {
    "ADL not required", "account healthy", "no position", "no counterparties", "counterparty flat", "counterparty listed twice",
    "counterparty same side", "counterparty not in profit", "scores not ordered",
} | ORACLE_TAILS

# dev: I8 allows no gain beyond how finely wealth is measured: every rounding in
#      the protocol is in its own favour, so a sequence at fixed prices can only
#      lose (fees, impact), but LP and fund shares are valued in whole token
#      units (ERC-4626 convertToAssets floors), so one holder's redemption can
#      lift another's floored value by a unit: one unit per share holding valued.
I8_UNITS_OF_SLACK = 4  # (attacker, colluder) x (LP shares, fund shares)


def fl(x: int) -> int:
    # dev: the engine's floor(size * price / WAD), toward minus infinity like Python's //.
    return x // WAD


def ceil(x: int) -> int:
    return -((-x) // WAD)


class Coverage:
    """What the attacker machine reached over a run (printed by conftest)."""

    calls = 0
    checker_calls = 0  # of `calls`, the monitor's own reads
    seconds = 0.0
    examples = 0
    liquidations = 0  # the honest keeper's (the solvency machine's counters)
    bad_debt_covered = 0
    adl_fills = 0
    all_liquidations = 0  # everyone's, the coalition's included
    all_bad_debts = 0
    adl_fills_by_market = [0] * len(MARKET_SPECS)  # everyone's, by market
    pro_rata_fills = 0  # of them, on a market in pro-rata mode (a weight in the event)
    rejected = 0
    guarded_rounds = 0  # rounds beyond the deviation, published and not refreshed
    guard_probes = 0  # guarded-price actions attempted right after such a round
    i8_checks = 0
    fund_tunings = 0  # donations tuning the fund to a liquidation's preview of bad debt
    margins_scaled = 0  # volatility cranks that moved a market's margins (the solvency machine's rule)
    i8_stretches = 0  # fixed-price stretches of the coalition's calls, each checked
    first_failure = None
    calls_to_first_failure = 0
    seconds_to_first_failure = 0.0


class MonitoredChain(revm_chain.Chain):
    """A revm chain that shows every transaction to a `Monitor`, before and after."""

    def __init__(self):
        super().__init__()
        self.monitor = None

    def call(self, to, calldata, sender=None, mutates=True):
        m = self.monitor
        if m is None or not mutates or m.busy:
            return super().call(to, calldata, sender, mutates)
        who = self._sender(sender)
        m.before(who, to, calldata)
        output = super().call(to, calldata, sender, mutates)  # dev: a revert changes nothing to check
        m.after(who, to, calldata, self.last_logs)
        return output

    def time_travel(self, seconds):
        if self.monitor is not None:
            self.monitor.before_clock()
        super().time_travel(seconds)
        if self.monitor is not None:
            self.monitor.after_clock()


class Monitor:
    """The ghost ledger, the guard model and the I8 stretches (see the module docstring)."""

    def __init__(self, machine):
        self.machine = machine
        self.p = p = machine.p
        self.chain = machine.chain
        self.busy = False
        self.accounts = [to_checksum_address(str(a)) for a in machine._everyone()]
        self.index = {a: i for i, a in enumerate(self.accounts)}
        self.pool = to_checksum_address(str(p.pool.address))
        self.fund = to_checksum_address(str(p.fund))
        self.engine = to_checksum_address(str(p.engine.address))
        self.pool_contract = p.pool
        self.coalition = {to_checksum_address(str(a)) for a in COALITION}
        self.token = to_checksum_address(str(p.token.address))
        self.n = p.engine.market_count()
        self.mask = (1 << self.n) - 1
        self.fee_share = p.configurator.fee_pool_share()
        self.skew_scale = [p.configurator.markets(m).skew_scale for m in range(p.engine.market_count())]
        self.scale = p.vault.SCALE()
        self.feeds = {to_checksum_address(str(f.address)): m for m, f in enumerate(p.feeds)}
        config = [p.oracle.feeds(m) for m in range(self.n)]
        self.max_deviation = [c.max_deviation for c in config]
        # dev: the contracts whose events explain equity: the engine (and the
        #      Deleverager once the engine is split), the vault.
        self.deleverager = to_checksum_address(str(getattr(p, "deleverager", p.engine).address))
        self.configurator = to_checksum_address(str(p.configurator.address))
        self.decoders = {to_checksum_address(str(c.address)): c
                         for c in (p.engine, getattr(p, "deleverager", None), p.vault) if c is not None}
        self.sizes = {}
        for m in range(self.n):
            for a, pos in zip(self.accounts, p.lens.positions(self.accounts, m)):
                if a != self.pool and pos.size:
                    self.sizes[a, m] = pos.size
        self.skew = [p.engine.market_state(m).skew for m in range(self.n)]
        self.health = p.lens.health(self.accounts)
        self.marks = self._marks()
        self.valid = self._valid()
        self.answers = [f.latestRoundData()[1] for f in p.feeds]
        # market -> deviation of its latest round from the one before, while that
        # round beyond the deviation is the latest and no time has passed.
        self.fresh_jump = {}
        self.inflow = 0  # WAD of tokens minted to the coalition
        self.stretch = None
        self.failed = None

    def fail(self, message: str):
        """Fail the run with `message`, remembered: the keeper catches every
        exception of its own calls, so a violation inside its round is raised
        again once the round is over (`AttackerMachine.keeper_round`)."""
        if self.failed is None:
            self.failed = message
        if Coverage.first_failure is None:  # dev: the run's first, not a shrunk example's
            Coverage.first_failure = message
            Coverage.calls_to_first_failure = Coverage.calls + self.chain.calls
            Coverage.seconds_to_first_failure = Coverage.seconds + time.perf_counter() - self.machine.started
        raise AssertionError(message)

    # ------------------------------------------------------------ reads

    def _read(self, fn, *args):
        # dev: the monitor's own views: counted apart, and the caller's logs of
        #      the last transaction (chain.last_logs) survive them.
        saved, before = self.chain.last_logs, self.chain.calls
        self.busy = True
        try:
            return fn(*args)
        finally:
            self.busy = False
            self.chain.last_logs = saved
            Coverage.checker_calls += self.chain.calls - before

    def _marks(self):
        prices, _valid, _guarded = self.p.oracle.try_prices(self.mask)
        return list(prices[: self.n])

    def _valid(self) -> int:
        """The bit mask of the markets whose price is valid (fresh and positive)."""
        return self.p.oracle.try_prices(self.mask)[1]

    def _validity_changed(self) -> bool:
        # dev: a round at the same answer after a stale spell (or the clock
        #      making a price stale) changes what may be liquidated as a price
        #      move does, so it ends the stretch: liquidations revert on stale
        #      prices, and the keeper rewards for accounts liquidatable only
        #      once the round made prices fresh again would otherwise count as
        #      a gain (tests/stateful/finds/monitor_jit_deposit_before_liquidation_after_a_stale_spell.steps).
        old, self.valid = self.valid, self._read(self._valid)
        return old != self.valid

    def equity(self, account) -> int:
        return self.health[self.index[to_checksum_address(str(account))]].equity

    def markets_of(self, account) -> set:
        account = to_checksum_address(str(account))
        if account == self.pool:
            return {m for m in range(self.n) if self.skew[m]}
        return {m for m in range(self.n) if self.sizes.get((account, m))}

    def liquidatable(self) -> set:
        return {a for a, h in zip(self.accounts, self.health) if h.liquidatable and h.prices_valid}

    def wealth_parts(self) -> dict:
        """The coalition's wealth, WAD, by part: tokens held, equity at the mark
        (floored at zero: an account can walk away from a deficit), LP shares and
        fund shares at what they redeem for."""
        p, parts = self.p, {}
        for name, a in zip(("attacker", "colluder"), COALITION):
            a = to_checksum_address(str(a))
            parts[name, "tokens"] = p.token.balanceOf(a) * self.scale
            parts[name, "equity"] = max(self.equity(a), 0)
            shares = p.pool.balanceOf(a)
            parts[name, "lp"] = p.pool.convertToAssets(shares) * self.scale if shares else 0
            shares = p.insurance.balanceOf(a)
            parts[name, "fund"] = p.insurance.convertToAssets(shares) * self.scale if shares else 0
        return parts

    # ------------------------------------------------------------ I8

    def _kind(self, sender, to) -> str:
        if sender in self.coalition:
            return "coalition"
        if to in self.feeds:
            return "market"
        if to == self.token:
            return "neutral"  # dev: mints and approvals; what the coalition is minted counts as inflow
        return "other"

    def _held_shares(self) -> dict:
        """The coalition's LP and fund shares, by holder."""
        p = self.p
        return {a: (p.pool.balanceOf(a), p.insurance.balanceOf(a)) for a in self.coalition}

    def _vaults(self) -> tuple:
        """(pool assets, pool shares, fund assets, fund shares): what each
        share vault redeems for in all, token units, and its supply."""
        p = self.p
        return p.pool.totalAssets(), p.pool.totalSupply(), p.insurance.totalAssets(), p.insurance.totalSupply()

    def _hold_through(self, s, event: str):
        """Before `event`, one anyone could cause (time passing, a liquidation
        anyone could send): the vaults, for `_drift_through`."""
        s[event] = self._read(self._vaults)

    def _drift_through(self, s, event: str):
        """Count into `s["drift"]` what the shares held since stretch `s`
        began would have gained across `event` had the coalition bought no
        shares within the stretch: their fraction of each vault's supply (less
        the shares bought since) times the change of that vault's assets.
        What time or a liquidation anyone could send gives the LPs and
        stakers would have come to those shares without acting, so it is
        neither a gain nor a loss of the stretch's; shares bought within the
        stretch get no such pass, and their buying does not change the pass of
        the older ones: a JIT deposit pays its entry premium mostly to the
        holders it dilutes, the attacker's older shares among them, and takes
        their part of the event's release, so valued after the deposit the
        older shares' pass would be too small by what the deposit took
        (tests/stateful/finds/monitor_jit_deposit_before_liquidation_after_a_stale_spell.steps;
        a deposit that takes a release larger than its entry premium is the
        gain to find: test_lp_deposit_before_liquidation_takes_the_lag_release.py)."""
        before, after = s.pop(event), self._read(self._vaults)
        held, start = self._read(self._held_shares), s["held"]
        for k in (0, 1):  # dev: the pool's shares, the fund's
            kept = sum(min(start[a][k], held[a][k]) for a in held)
            bought = sum(held[a][k] for a in held) - kept
            supply = before[2 * k + 1] - bought
            if kept and supply > 0:
                s["drift"] += kept * (after[2 * k] - before[2 * k]) * self.scale // supply

    def _hold_adl(self, calldata: bytes):
        """Before the coalition's `deleverage`: the vaults, and the list the
        honest keeper would send for the same account and market now."""
        account, market, _listed = abi_decode(["address", "uint256", "address[]"], calldata[4:])
        account = to_checksum_address(account)
        entries = dict(zip(self.accounts, self._read(self.p.lens.adl_ranking, self.accounts, market)))
        size = entries[account].size if account in entries else 0
        ranked = rank_counterparties({a: e for a, e in entries.items() if a != account}, size) if size else []
        self._hold_through(self.stretch, "adl")
        self.stretch["adl ranked"] = (account, ranked)

    def _adl_as_the_keeper(self, s, events) -> bool:
        """Whether the coalition's `deleverage` did what the honest keeper's
        would have: of an account liquidatable when stretch `s` began, its
        fills (and counterparties passed over) the keeper's ranked list's
        first ones, in order. A bankrupt's ADL anyone could send closes the
        pool's side of the skew at the bankruptcy price, so the premium held
        for it is released to the LPs (SPEC 8): like a liquidation anyone
        could send, that is the holding's, not the stretch's
        (tests/stateful/finds/monitor_adl_anyone_could_send_releases_premium_to_held_shares.steps).
        A list that skips or reorders the keeper's gets no pass: steering a
        deficit or a release is the gain to find."""
        account, ranked = s.pop("adl ranked")
        seen = [str(e.counterparty) for e in events if type(e).__name__ in ("Deleverage", "CounterpartySkipped")]
        return bool(seen) and account in s["liquidatable"] and seen == ranked[: len(seen)]

    def _open_stretch(self):
        self.stretch = {"base": self._read(self.wealth_parts), "inflow": self.inflow, "allowed": 0, "drift": 0,
                        # dev: the shares held when the stretch began (see `before_clock`).
                        "held": self._read(self._held_shares),
                        "liquidatable": self.liquidatable(), "calls": 0,
                        # dev: the skew fills price at (less the liquidations' price lag): the premium's own skew.
                        "skew": self._read(lambda: [self.p.engine.price_skew(m) for m in range(self.n)]),
                        "net": [0] * self.n}
        Coverage.i8_stretches += 1

    def premium_released(self, s) -> int:
        """The fill premium P*S^2/(2K) that the coalition's own net trades took
        back from the skew its stretch began with: whoever trades a skew back
        earns what others paid into it, by the impact formula, so that is no
        free lunch (as keeper rewards for accounts that were already
        liquidatable are not). Counted from the coalition's net size traded per
        market, so a round trip around someone else's liquidation releases
        nothing: what the victim's forced close paid stays a gain to explain.
        The skew is the one fills price at: liquidations fill at the mark and
        pay no premium, so what they add to the skew (its price lag) holds
        none until it is released into prices."""
        out = 0
        for m in range(self.n):
            s0, s1 = s["skew"][m], s["skew"][m] + s["net"][m]
            if s0 * s0 > s1 * s1:
                out += self.marks[m] * (s0 * s0 - s1 * s1) // (2 * self.skew_scale[m] * WAD) + 1
        return out

    def check_i8(self, where: str):
        s = self.stretch
        if "i8" in self.machine.SKIP:
            return
        if s is None or not s["calls"]:
            return
        Coverage.i8_checks += 1
        now = self._read(self.wealth_parts)
        released = self.premium_released(s)
        gain = (sum(now.values()) - sum(s["base"].values()) - (self.inflow - s["inflow"]) - s["allowed"] - released
                - s["drift"])
        if gain > I8_UNITS_OF_SLACK * self.scale:
            moved = {f"{who} {part}": f"{(now[who, part] - v) / WAD:+,.2f}" for (who, part), v in s["base"].items()
                     if now[who, part] != v}
            self.fail(
                f"I8 free lunch: at fixed prices the attacker and colluder gained {gain} wei ({gain / WAD:,.2f} USD) "
                f"beyond {s['allowed']} wei of allowed keeper rewards and {released} wei of premium released from the "
                f"skew the stretch began with, and {s['drift']} wei of drift of the shares held since it began (time "
                f"passing, liquidations anyone could send), over {s['calls']} calls of theirs ({where}); "
                f"minted to them {(self.inflow - s['inflow']) / WAD:,.2f} USD; moves: {moved}"
            )

    def before(self, sender, to, calldata=b""):
        kind = self._kind(sender, to)
        if kind in ("other", "market"):
            # dev: the stretch ends with the state its last call left; a feed
            #      round at the same marks does not end it, unless it changes
            #      which prices are valid (see `after`).
            self.check_i8(f"before a call by {sender}")
        if kind == "other":
            self.stretch = None
        elif kind == "coalition" and self.stretch is None:
            self._open_stretch()
        if kind == "coalition":
            for key in ("liquidation", "adl", "adl ranked"):  # dev: left by a call that reverted
                self.stretch.pop(key, None)
        if kind == "coalition" and to == self.engine \
                and self.p.engine.function_name(calldata) in ("liquidate", "liquidate_batch"):
            # dev: a liquidation anyone could send (of an account liquidatable
            #      when the stretch began) pays its penalty's remainder to the
            #      fund and the pool takes the book at the mark: what the shares
            #      held since the stretch began gain from it is the holding's,
            #      as a keeper would have sent it anyway; shares bought within
            #      the stretch get no pass (a deposit that captures it is the
            #      gain to find). See `after` and `_drift_through`.
            self._hold_through(self.stretch, "liquidation")
        if kind == "coalition" and to == self.deleverager \
                and self.decoders[to].function_name(calldata) == "deleverage":
            self._hold_adl(calldata)

    def before_clock(self):
        self.check_i8("before time passed")
        s = self.stretch
        if s is not None:
            # dev: time passing is no call of the coalition's: what the shares it
            #      held when the stretch began gain or lose across it (a
            #      liquidation's price lag releasing lifts the LP payout value)
            #      would have come to it without acting, so it is neither a
            #      gain nor a loss of the stretch's. Shares bought within the
            #      stretch get no such pass: a deposit before a liquidation
            #      that takes the lag's release is the gain to find
            #      (test_lp_deposit_before_liquidation_takes_the_lag_release.py).
            self._hold_through(s, "clock")

    # ------------------------------------------------------------ the ghost ledger

    def after_clock(self):
        self.fresh_jump = {}
        s = self.stretch
        if s is not None and "clock" in s:
            self._drift_through(s, "clock")
        old_marks, marks = self.marks, self._read(self._marks)
        self._reconcile("time passing", "the clock", [], marks)
        if self._validity_changed() or marks != old_marks:
            self.stretch = None
        self._liquidatable_by_time()

    def _liquidatable_by_time(self):
        # dev: what time alone made liquidatable at fixed prices (a stable mark
        #      following its price, a volatility-scaled maintenance walking up
        #      its hourly cap, pushed by anyone's crank) is no call of the
        #      coalition's: a keeper would liquidate it anyway, so its reward is
        #      allowed as for an account liquidatable when the stretch began.
        if self.stretch is not None:
            self.stretch["liquidatable"] |= self.liquidatable()

    def after(self, sender, to, calldata, logs):
        market = self.feeds.get(to)
        marks = self.marks
        if market is not None:
            marks = self._read(self._marks)
            self._new_round(market)
        events = [e for e in (self._decode(log) for log in logs) if e is not None]
        contract = self.decoders.get(to) or (self.pool_contract if to == self.pool else None)
        name = contract.function_name(calldata) if contract is not None else calldata[:4].hex()
        old_marks = self.marks
        risk_adding = self._reconcile(name, sender, events, marks)
        if to == self.configurator:
            self._liquidatable_by_time()  # dev: `update_margins`, the only call of it anyone may make
        if "guard" not in self.machine.SKIP:
            self._check_guard(sender, to, name, risk_adding)
        if self._kind(sender, to) == "coalition" and self.stretch is not None:
            s = self.stretch
            s["calls"] += 1
            settled = set()
            adl_pass = "adl" in s and self._adl_as_the_keeper(s, events)
            for e in events:
                if type(e).__name__ == "LiquidationSettled":
                    settled.add(str(e.account))
                if type(e).__name__ == "LiquidationSettled" and str(e.keeper) in self.coalition \
                        and str(e.account) in s["liquidatable"]:
                    s["allowed"] += e.keeper_reward
                elif type(e).__name__ == "Trade" and str(e.account) in self.coalition:
                    s["net"][e.market] += e.size_delta
                elif type(e).__name__ == "Deleverage" and self.pool in (str(e.account), str(e.counterparty)) \
                        and not adl_pass:
                    # dev: an ADL fill against the pool moves the traders' skew
                    #      as a trade would: by the trader side's size change
                    #      (the bankrupt's `size_closed`, the counterparty's the
                    #      opposite). A coalition position closing the skew so
                    #      releases its premium (here to the LPs, at the mark),
                    #      as its trade would have; fills between two traders
                    #      leave the skew where it was. With the pass of an
                    #      ADL as the keeper's, the release is counted there.
                    trader, delta = ((str(e.counterparty), -e.size_closed) if str(e.account) == self.pool
                                     else (str(e.account), e.size_closed))
                    if trader in self.coalition:
                        s["net"][e.market] += delta
            if "liquidation" in s:
                if settled and settled <= s["liquidatable"]:
                    self._drift_through(s, "liquidation")
                else:
                    del s["liquidation"]
            if "adl" in s:
                if adl_pass:
                    self._drift_through(s, "adl")
                else:
                    del s["adl"]
        if (market is not None and self._validity_changed()) or marks != old_marks:
            self.stretch = None  # dev: a price moved: a new stretch starts at the next coalition call

    def _decode(self, log):
        contract = self.decoders.get(log.address)
        return contract.decode(log) if contract is not None else None

    def _new_round(self, market):
        answer = self._read(lambda: self.p.feeds[market].latestRoundData()[1])
        previous = self.answers[market]
        self.answers[market] = answer
        deviation = abs(answer - previous) * WAD // previous if previous > 0 else WAD
        if deviation > self.max_deviation[market]:
            self.fresh_jump[market] = deviation
            Coverage.guarded_rounds += 1
        else:
            self.fresh_jump.pop(market, None)

    def _reconcile(self, name, sender, events, marks) -> list:
        """Explain every account's equity change by `events` and the marks'
        move; fail on anything else. Returns the risk-adding trades' (account, market)."""
        explained = [0] * len(self.accounts)
        idx, pool, fund = self.index, self.index[self.pool], self.index[self.fund]
        # Price moves: every size times its mark's change (positions are unchanged by a new round).
        for m in range(self.n):
            old, new = self.marks[m], marks[m]
            if old == new:
                continue
            for (a, mm), s in self.sizes.items():
                if mm == m:
                    explained[idx[a]] += fl(s * new) - fl(s * old)
            explained[pool] += fl(-self.skew[m] * new) - fl(-self.skew[m] * old)
        risk_adding, adl_parties = [], set()

        def fill(account, m, size_delta, cash, fee, mark):
            # dev: collateral - cost of the account moves by exactly -cash - fee,
            #      the pool's (the mirror) by +cash + its fee share.
            old = self.sizes.get((account, m), 0)
            new = old + size_delta
            explained[idx[account]] += -cash - fee + fl(new * mark) - fl(old * mark)
            to_pool = fee * self.fee_share // WAD
            skew = self.skew[m]
            explained[pool] += cash + to_pool + fl(-(skew + size_delta) * mark) - fl(-skew * mark)
            explained[fund] += fee - to_pool
            self.skew[m] = skew + size_delta
            self._set_size(account, m, new)
            return old, new

        for e in events:
            kind = type(e).__name__
            if kind == "Trade":
                a = str(e.account)
                old, new = fill(a, e.market, e.size_delta, ceil(e.size_delta * e.exec_price), e.fee, e.mark_price)
                if new != e.size:
                    self.fail(f"ghost: {a}'s size in market {e.market} is {e.size}, its fills add up to {new}")
                if not (old != 0 and (old > 0) != (e.size_delta > 0) and abs(e.size_delta) <= abs(old)):
                    risk_adding.append((a, e.market))
            elif kind == "Liquidation":
                fill(str(e.account), e.market, e.size_closed, ceil(e.size_closed * e.exec_price), 0, e.mark_price)
            elif kind == "LiquidationSettled":
                a, keeper = str(e.account), str(e.keeper)
                explained[idx[a]] -= e.penalty
                explained[fund] += e.penalty - e.keeper_reward
                explained[idx[keeper]] += e.keeper_reward
                Coverage.all_liquidations += 1
                # I6 for every liquidator, the coalition's included.
                if e.keeper_reward > min(MAX_REWARD, max(e.penalty * KEEPER_SHARE // WAD, MIN_REWARD)):
                    self.fail(f"I6: keeper reward beyond its bounds: {e}")
            elif kind == "BadDebtCovered":
                explained[fund] -= e.amount
                explained[idx[str(e.account)]] += e.amount
                Coverage.all_bad_debts += 1
            elif kind == "Deleverage":
                a, cp, m, delta = str(e.account), str(e.counterparty), e.market, e.size_closed
                adl_parties |= {a, cp, self.pool}
                if a == self.pool:
                    self._set_size(cp, m, self.sizes.get((cp, m), 0) - delta)
                    self.skew[m] -= delta
                elif cp == self.pool:
                    self._set_size(a, m, self.sizes.get((a, m), 0) + delta)
                    self.skew[m] += delta
                else:
                    self._set_size(a, m, self.sizes.get((a, m), 0) + delta)
                    self._set_size(cp, m, self.sizes.get((cp, m), 0) - delta)
                Coverage.adl_fills_by_market[m] += 1
                Coverage.pro_rata_fills += e.weight != 0
            elif kind == "Deposit" and "payer" in e._fields:  # the vault's
                explained[idx[str(e.account)]] += e.wad
            elif kind == "Withdraw" and "wad" in e._fields:
                explained[idx[str(e.account)]] -= e.wad

        after = self._read(self.p.lens.health, self.accounts)
        residual_adl = 0
        for i, a in enumerate(self.accounts):
            change = after[i].equity - self.health[i].equity
            if a in adl_parties:
                residual_adl += change - explained[i]
                continue
            if change != explained[i]:
                self.fail(
                    f"ghost: {name} by {sender} changed {a}'s equity by {change} wei; its own fills, fees, "
                    f"penalties, rewards, fund draws, transfers and the marks explain {explained[i]}"
                )
        fills = sum(type(e).__name__ == "Deleverage" for e in events)
        if abs(residual_adl) > 2 * fills + 2:
            self.fail(f"ghost: the ADL fills of {name} by {sender} moved {residual_adl} wei that no counterparty gave")
        self.health, self.marks = after, marks
        return risk_adding

    def _set_size(self, account, m, size):
        if size:
            self.sizes[account, m] = size
        else:
            self.sizes.pop((account, m), None)

    # ------------------------------------------------------------ SPEC 4

    def _check_guard(self, sender, to, name, risk_adding):
        if not self.fresh_jump:
            return
        skip = self.machine.SKIP
        uses = []  # (path, markets whose price it used)
        if to == self.engine and name == "withdraw" and "guard-exits" not in skip:
            uses.append(("withdraw", self.markets_of(sender)))
        elif to == self.pool and name in ("deposit", "mint", "redeem", "withdraw") and "guard-exits" not in skip:
            uses.append((f"LP {name}", self.markets_of(self.pool)))
        for account, m in risk_adding:
            # dev: a risk-adding trade uses its market's price, and its margin every
            #      other market the account holds (the trade's own market is
            #      refreshed, and so guarded, by the trade itself).
            uses.append((f"risk-adding trade in market {m}", {m}))
            if "guard-margin" not in skip:
                uses.append((f"margin of a risk-adding trade in market {m}", self.markets_of(account) - {m}))
        for path, markets in uses:
            for m in sorted(markets & set(self.fresh_jump)):
                self.fail(
                    f"SPEC 4 guard bypass ({path}): {name} by {sender} succeeded on market {m}'s price right after "
                    f"a round {self.fresh_jump[m] * 100 / WAD:.1f}% away from the one before (deviation cap "
                    f"{self.max_deviation[m] * 100 / WAD:.0f}%), before any later round; the oracle's guard flag "
                    f"reads {self._read(self.p.oracle.guarded, m)}"
                )


class CheckedKeeperChain(RecordingChain):
    """The keeper's adapter: its `deleverage` goes through the machine's one
    checked helper, and a whole-batch revert is remembered with its reason."""

    def __init__(self, contracts, sender, machine):
        super().__init__(contracts, sender)
        self.machine = machine

    def liquidate_batch(self, accounts):
        try:
            return super().liquidate_batch(accounts)
        except Reverted as e:
            self.machine.batch_reverts.append(e.reason)
            raise

    def deleverage(self, account, market, counterparties):
        fills, events = self.machine._deleverage(self.sender, account, market, counterparties)
        self.events += events
        return fills


class AttackerMachine(SolvencyMachine):
    """The honest machine plus the adversary (see the module docstring)."""

    STATS = Coverage
    # Checks a run may switch off to look past a finding already recorded as a
    # regression test (hunting runs, ATTACKER_SKIP; never in CI): "guard" (all
    # of SPEC 4), "guard-exits" (withdraw, LP deposit and redeem), "guard-margin"
    # (other markets' margin in a trade), "adl-beyond-profit", "solvent-adl",
    # "i8", "liveness"; and "keeper-adl" / "attacker-adl": the keeper / the
    # coalition sends no `deleverage` (to look past the ADL finds and their
    # consequences, a counterparty left below zero).
    SKIP: frozenset = frozenset()

    # ------------------------------------------------------------ setup

    def _new_chain(self):
        return MonitoredChain()

    def _deploy_options(self) -> dict:
        return {"markets": MARKET_SPECS}

    def _keeper_chain(self):
        self.batch_reverts = []
        return CheckedKeeperChain(self.p, KEEPER, self)

    def _everyone(self):
        return [*TRADERS, *LPS, *STAKERS, KEEPER, *COALITION, self.p.pool.address, self.p.fund]

    def _after_deploy(self):
        # dev: the monitor watches from the end of the honest setup on.
        for a in COALITION:
            self.keeper.track(a)
        self.monitor = Monitor(self)
        self.chain.monitor = self.monitor
        if "keeper-adl" in self.SKIP:
            # dev: a hunting run looking past the keeper's own ADL finds leaves ADL to the coalition.
            self.keeper._deleverage = lambda account, report: None

    @invariant()
    def i8_no_free_lunch(self):
        if hasattr(self, "monitor") and "i8" not in self.SKIP:
            self.monitor.check_i8("end of step")

    # ------------------------------------------------------------ helpers

    def _who(self, i):
        return COALITION[i]

    def _mint(self, account, amount):
        self.p.token.mint(account, amount)
        if account in COALITION:
            self.monitor.inflow += amount * self.scale

    def _fund(self, account, usd):
        amount = self.p.units(usd)
        if amount == 0:
            return
        self._mint(account, amount)
        with self.chain.prank(account):
            self.p.token.approve(self.p.vault.address, amount)
            self.p.vault.deposit(amount)
        self.ghost_vault_tokens += amount

    def _try(self, account, fn, *args, tails=()):
        """Call `fn` as `account`; a revert must carry an allowed reason (by its tail)."""
        try:
            with self.chain.prank(account):
                fn(*args)
            return True
        except Reverted as e:
            assert tail(e.reason) in tails, f"unexpected revert {e.reason!r} from {fn.name}{tuple(args)}"
            return False

    def _trade(self, account, market, delta):
        return delta != 0 and self._try(account, self.p.engine.trade, market, delta, 0, tails=TRADE_TAILS)

    def _mark(self, market):
        return self.monitor.marks[market]

    def _push_size(self, market, pct, short):
        """`pct`% of the room left on the chosen side: under the market's skew
        cap, and within what the pool's free margin carries (a larger push
        would only revert "pool margin")."""
        params = self.p.configurator.markets(market)
        skew = self.monitor.skew[market]
        room = params.max_skew + skew if short else params.max_skew - skew
        pool = self.monitor.health[self.monitor.index[self.monitor.pool]]
        free = max(pool.equity - pool.initial_req, 0)
        carried = free * WAD // (params.imr * self._mark(market) // WAD)
        # dev: a push towards zero first unwinds the pool's exposure, then adds to it.
        toward_zero = abs(skew) if (skew > 0) == short else 0
        size = max(min(room, 2 * toward_zero + carried), 0) * pct // 100
        return -size if short else size

    def _margin_for(self, account, market, size):
        # dev: the attacker brings whatever margin its push needs (minted: inflow for I8).
        params = self.p.configurator.markets(market)
        need = abs(size) * self._mark(market) // WAD * (params.imr + 2 * params.fee_rate) // WAD * 3 // 2
        free = self.p.lens.free_collateral(account)
        if need > free:
            self._fund(account, (need - free) // WAD + 1)

    def _push(self, account, market, pct, short):
        size = self._push_size(market, pct, short)
        if size == 0:
            return 0
        self._margin_for(account, market, size)
        return size if self._trade(account, market, size) else 0

    def _tradable(self, market) -> bool:
        # dev: a push needs a valid, unguarded price; the adversary waits for one.
        return not self.p.oracle.guarded(market) and self.p.oracle.status(market) == 0

    def _close(self, account, market):
        size = self.p.engine.position(account, market).size
        return self._trade(account, market, -size) if size else False

    def _adl_contract(self):
        # dev: `deleverage` moves to the Deleverager when the engine is split.
        return getattr(self.p, "deleverager", self.p.engine)

    def _deleverage(self, sender, account, market, counterparties):
        """Every `deleverage` call, the keeper's and the attacker's: sends it,
        then checks SPEC 6's bounds on what it moved. Returns (fills, events);
        a revert propagates (the keeper counts it, the attacker's rule checks its reason)."""
        mon = self.monitor
        ranking = dict(zip(mon.accounts, self.p.lens.adl_ranking(mon.accounts, market)))
        before = {a: h.equity for a, h in zip(mon.accounts, mon.health)}
        with self.chain.prank(sender):
            self._adl_contract().deleverage(account, market, list(counterparties))
        events = [e for e in (mon._decode(log) for log in self.chain.last_logs) if e is not None]
        fills = [e for e in events if type(e).__name__ == "Deleverage"]
        after = {a: h.equity for a, h in zip(mon.accounts, mon.health)}
        self._check_adl(to_checksum_address(str(account)), market, fills, ranking, before, after)
        # dev: a counterparty passed over is a fill of nothing for the I7 audit, in its place in the list.
        seen = [e for e in events if type(e).__name__ in ("Deleverage", "CounterpartySkipped")]
        return [AdlFill(str(e.account), str(e.counterparty), int(e.market), int(getattr(e, "size_closed", 0)),
                        int(getattr(e, "price", 0)), int(e.score), int(getattr(e, "haircut", 0))) for e in seen], events

    def _check_adl(self, account, market, fills, ranking, before, after):
        """SPEC 6: only a real deficit is deleveraged, and a counterparty loses
        at most its unrealised profit in the market and never ends below zero."""
        if not fills:
            return
        tol = 2 * len(fills) + 2  # dev: a wei of flooring per fill and side
        if account != self.monitor.pool and before[account] >= 0 and "solvent-adl" not in self.SKIP:
            self.monitor.fail(
                f"SPEC 6 solvent account sent to ADL: {account} had equity {before[account]} >= 0 at the mark, "
                f"and {len(fills)} fills in market {market} deleveraged it against "
                f"{[str(f.counterparty) for f in fills]} (prices {[int(f.price) for f in fills]}, mark "
                f"{int(fills[0].mark_price)})"
            )
        if "adl-beyond-profit" in self.SKIP:
            return
        for cp in dict.fromkeys(str(f.counterparty) for f in fills):
            loss, profit = before[cp] - after[cp], max(ranking[cp].upnl, 0)
            if loss > profit + tol:
                self.monitor.fail(
                f"SPEC 6 ADL beyond profit: counterparty {cp} lost {loss} wei ({loss / WAD:,.2f} USD) when {account} "
                f"was deleveraged in market {market}; its unrealised profit there was {profit} ({profit / WAD:,.2f} USD)"
            )
            if before[cp] >= 0 and after[cp] < -tol:
                self.monitor.fail(
                f"SPEC 6 ADL beyond profit: counterparty {cp} ended at equity {after[cp]} (from {before[cp]}) "
                f"after {account}'s ADL in market {market}"
            )

    # ------------------------------------------------------------ the keeper, with liveness

    @rule()
    def keeper_round(self):
        if not hasattr(self, "monitor"):
            return super().keeper_round()
        mon = self.monitor
        # dev: the pool has no `liquidate` path (it goes straight to ADL, with no
        #      event), so liveness is asserted for the accounts a batch can settle.
        before = {a: (h.equity, h.maintenance_req) for a, h in zip(mon.accounts, mon.health)
                  if h.liquidatable and h.prices_valid and a != mon.pool}
        events_before = len(self.sent.events)
        try:
            super().keeper_round()
        except AssertionError:
            if mon.failed:  # dev: a violation inside the keeper's own calls, which it caught
                raise AssertionError(mon.failed) from None
            if self.batch_reverts and "liveness" in self.SKIP:
                return
            raise
        if mon.failed:
            raise AssertionError(mon.failed)
        if "liveness" in self.SKIP:
            return
        # dev: pending: for ADL (a deficit), or for the pool's margin (a solvent
        #      account the pool has no room to take any of), each with its event.
        pending = {str(e.account) for e in self.sent.events[events_before:]
                   if type(e).__name__ in ("AdlRequired", "LiquidationDeferred")}
        now = dict(zip(mon.accounts, mon.health))
        stuck = [a for a, figures in before.items()
                 if now[a].liquidatable and (now[a].equity, now[a].maintenance_req) == figures and a not in pending]
        self.batch_reverts.clear()
        if stuck:
            pool = now.get(mon.pool)
            mon.fail(f"liveness: still liquidatable with the same figures after a keeper round, no ADL pending: {stuck} "
                     f"({[(now[a].equity, now[a].maintenance_req) for a in stuck]}; the pool: equity {pool.equity}, "
                     f"maintenance {pool.maintenance_req}, fund {self.p.vault.collateral(self.p.fund)})")

    # ------------------------------------------------------------ the attacker: accounts and trades

    @rule(who=WHO, usd=st.integers(100, 500_000))
    def attacker_deposit(self, who, usd):
        self._fund(self._who(who), usd)

    @rule(who=WHO, pct=fraction)
    def attacker_withdraw(self, who, pct):
        # Also "a withdrawal right after a new round": nothing passes time here.
        a = self._who(who)
        amount = self.p.lens.free_collateral(a) * pct // 100 // self.scale
        if amount and self._try(a, self.p.engine.withdraw, amount, tails=WITHDRAW_TAILS):
            self.ghost_vault_tokens -= amount
            self._check_margin(a)

    @rule(who=WHO, market=st.sampled_from(ALL_MARKETS), pct=st.integers(1, 99), short=st.booleans(),
          mode=st.sampled_from(["open", "reduce", "close", "flip"]))
    def attacker_trade(self, who, market, pct, short, mode):
        a = self._who(who)
        size = self.p.engine.position(a, market).size
        if mode == "open" or size == 0:
            delta = self._affordable(a, market, pct)
            delta = -delta if short else delta
        else:
            delta = {"reduce": -(size * pct // 100) or -size, "close": -size, "flip": -size - size * pct // 100}[mode]
        if self._trade(a, market, delta) and mode in ("open", "flip"):
            self._check_margin(a)

    @rule(who=WHO, markets=st.permutations(ALL_MARKETS), k=st.integers(2, 3), pct=st.integers(10, 99),
          shorts=st.lists(st.booleans(), min_size=3, max_size=3), usd=st.integers(1_000, 50_000))
    def attacker_cross_margin(self, who, markets, k, pct, shorts, usd):
        """Positions in two or three markets at once on one margin account."""
        a = self._who(who)
        self._fund(a, usd)
        for m, short in zip(markets[:k], shorts):
            size = self._affordable(a, m, pct // k)
            self._trade(a, m, -size if short else size)

    # ------------------------------------------------------------ the attacker: liquidations and ADL

    @rule(data=st.data(), batch=st.booleans(), who=WHO)
    def attacker_liquidate(self, data, batch, who):
        """`liquidate` of any account, or `liquidate_batch` of a list it chose:
        any order, its own accounts, duplicates, one name, other markets' accounts."""
        a, mon = self._who(who), self.monitor
        everyone = mon.accounts
        liquidatable = sorted(mon.liquidatable())
        pick = st.sampled_from(liquidatable) if liquidatable and data.draw(st.booleans()) else st.sampled_from(everyone)
        if not batch:
            target = data.draw(pick)
            was = mon.health[mon.index[target]]
            if self._try(a, self.p.engine.liquidate, target, tails=LIQUIDATE_TAILS):
                # I6: only an account that was liquidatable can be liquidated.
                assert was.liquidatable, f"I6: {target} liquidated while healthy ({was})"
            return
        accounts = data.draw(st.lists(st.one_of(pick, st.sampled_from(everyone)), min_size=1, max_size=8))
        order = data.draw(st.sampled_from(["as drawn", "reversed", "doubled", "coalition first"]))
        if order == "reversed":
            accounts = accounts[::-1]
        elif order == "doubled":
            accounts = accounts + accounts
        elif order == "coalition first":
            accounts = [str(x) for x in COALITION] + accounts
        try:
            with self.chain.prank(a):
                self.p.engine.liquidate_batch(accounts)
        except Reverted as e:
            if "liveness" not in self.SKIP:
                self.monitor.fail(f"liveness: liquidate_batch({accounts}) reverted as a whole: {e.reason!r}")

    def _counterparty_list(self, data, account, market):
        mon = self.monitor
        entries = dict(zip(mon.accounts, self.p.lens.adl_ranking(mon.accounts, market)))
        size = entries[account].size
        ranked = rank_counterparties({a: e for a, e in entries.items() if a != account}, size) if size else []
        strategy = data.draw(st.sampled_from(["ranked", "reversed", "first only", "last only", "duplicated",
                                              "coalition first", "pool only", "anyone", "empty"]))
        if strategy == "ranked":
            return ranked
        if strategy == "reversed":
            return ranked[::-1]
        if strategy == "first only":
            return ranked[:1]
        if strategy == "last only":
            return ranked[-1:]
        if strategy == "duplicated":
            return [x for x in ranked for _ in (0, 1)]
        if strategy == "coalition first":
            return [str(x) for x in COALITION] + ranked
        if strategy == "pool only":
            return [mon.pool]
        if strategy == "empty":
            return []
        return data.draw(st.lists(st.sampled_from(mon.accounts), min_size=1, max_size=6))

    @rule(data=st.data(), who=WHO)
    def attacker_deleverage(self, data, who):
        """`deleverage` of an account and market it picks, with a list it chose."""
        mon = self.monitor
        candidates = sorted(mon.liquidatable()) or sorted({a for a, _ in mon.sizes})
        if not candidates:
            return
        account = data.draw(st.sampled_from(candidates))
        markets = sorted(mon.markets_of(account)) or list(ALL_MARKETS)
        market = data.draw(st.sampled_from(markets))
        counterparties = self._counterparty_list(data, account, market)
        if "attacker-adl" in self.SKIP:
            return
        try:
            self._deleverage(self._who(who), account, market, counterparties)
        except Reverted as e:
            assert tail(e.reason) in ADL_TAILS, f"unexpected revert {e.reason!r} from deleverage"
            if not counterparties:
                assert tail(e.reason) == "no counterparties", f"deleverage with no list: {e.reason!r}"

    # ------------------------------------------------------------ the attacker: skew around others' liquidations

    def _victims(self, market=None):
        mon = self.monitor
        out = [a for a in sorted(mon.liquidatable()) if a != mon.pool and a not in mon.coalition]
        if market is not None:
            out = [a for a in out if market in mon.markets_of(a)]
        return out

    @rule(data=st.data(), pct=st.integers(5, 100), against=st.booleans(),
          liquidator=st.sampled_from(["attacker", "attacker batch", "keeper"]), unwind=st.booleans())
    def sandwich_liquidation(self, data, pct, against, liquidator, unwind):
        """A large trade that pushes the skew before someone else's liquidation, and its unwind after."""
        victims = self._victims()
        if not victims:
            return
        victim = data.draw(st.sampled_from(victims))
        markets = sorted(m for m in self.monitor.markets_of(victim) if self._tradable(m))
        if not markets:
            return
        market = data.draw(st.sampled_from(markets))
        victim_long = self.monitor.sizes[victim, market] > 0
        # "against": the same side as the victim's close, so its close fills worse.
        pushed = self._push(ATTACKER, market, pct, short=victim_long if against else not victim_long)
        if liquidator == "keeper":
            self.keeper_round()
        elif liquidator == "attacker":
            self._try(ATTACKER, self.p.engine.liquidate, victim, tails=LIQUIDATE_TAILS)
        else:
            try:
                with self.chain.prank(ATTACKER):
                    self.p.engine.liquidate_batch([victim])
            except Reverted as e:
                if "liveness" not in self.SKIP:
                    self.monitor.fail(f"liveness: liquidate_batch([{victim}]) reverted as a whole: {e.reason!r}")
        if pushed and unwind:
            self._close(ATTACKER, market)

    @rule(data=st.data(), pct=st.integers(20, 100), lp_usd=st.sampled_from([0, 0, 1_000_000, 10_000_000]),
          hedge_pct=st.integers(0, 100), coalition_first=st.booleans())
    def skew_into_adl(self, data, pct, lp_usd, hedge_pct, coalition_first):
        """Push the skew against a liquidatable account's close so the ADL gate
        previews a ruinous close, then deleverage it against the colluder's
        opposite position (opened first, against the skew, so it is in profit
        at the mark at once) with a list the coalition chose, then unwind.
        LP capital first, if the pool must carry a larger push."""
        mon = self.monitor
        victims = self._victims()
        if not victims:
            return
        # dev: a solvent victim is the interesting one (SPEC 6: only a real deficit is deleveraged).
        solvent = [a for a in victims if mon.equity(a) > 0]
        victim = data.draw(st.sampled_from(solvent if solvent and data.draw(st.booleans()) else victims))
        markets = sorted(m for m in mon.markets_of(victim) if self._tradable(m))
        if not markets:
            return
        market = data.draw(st.sampled_from(markets))
        victim_size = mon.sizes[victim, market]
        if lp_usd:
            self._lp_deposit(COLLUDER, lp_usd)
        hedge = -victim_size * hedge_pct // 100
        if hedge and not self.p.engine.position(COLLUDER, market).size:
            self._margin_for(COLLUDER, market, hedge)
            self._trade(COLLUDER, market, hedge)
        pushed = self._push(ATTACKER, market, pct, short=victim_size > 0)
        try:
            with self.chain.prank(ATTACKER):
                self.p.engine.liquidate_batch([victim])
        except Reverted as e:
            if "liveness" not in self.SKIP:
                mon.fail(f"liveness: liquidate_batch([{victim}]) reverted as a whole: {e.reason!r}")
        if self.p.engine.position(victim, market).size:
            entries = dict(zip(mon.accounts, self.p.lens.adl_ranking(mon.accounts, market)))
            ranked = rank_counterparties({a: e for a, e in entries.items() if a != victim}, entries[victim].size)
            mine = [a for a in ranked if a in mon.coalition]
            counterparties = mine + [a for a in ranked if a not in mine] if coalition_first else ranked
            if counterparties and "attacker-adl" not in self.SKIP:
                try:
                    self._deleverage(ATTACKER, victim, market, counterparties)
                except Reverted as e:
                    assert tail(e.reason) in ADL_TAILS, f"unexpected revert {e.reason!r} from deleverage"
        if pushed:
            self._close(ATTACKER, market)
        self._close(COLLUDER, market)

    def _full_close_equity(self, account) -> int:
        """What `account` would have left after closing everything against the
        pool at the impact price of the current skew: the engine's ADL-gate
        preview, recomputed here from the ghost's sizes and the lens."""
        mon = self.monitor
        out = mon.equity(account)
        for m in sorted(mon.markets_of(account)):
            size, mark, skew = mon.sizes[account, m], mon.marks[m], mon.skew[m]
            scale = self.p.configurator.markets(m).skew_scale
            impact = mark * (2 * skew - size)
            # dev: the engine's _exec_price for size_delta = -size, rounded against the taker.
            exec_price = mark + (-((-impact) // (2 * scale)) if -size > 0 else impact // (2 * scale))
            out += -ceil(-size * exec_price) - fl(size * mark)
        return out

    @rule(data=st.data(), pct=st.integers(0, 100), lp_usd=st.sampled_from([0, 1_000_000, 10_000_000]),
          slack=st.one_of(st.integers(0, 4_096), st.integers(0, MIN_REWARD), st.integers(0, 10 * WAD)))
    def brick_liquidation(self, data, pct, lp_usd, slack):
        """Tune the insurance fund to the wei a liquidation's preview says it
        needs (a donation: anyone may credit the fund), after pushes that make
        the close costlier until the preview shows bad debt (LP capital first,
        if the pool must carry them), then send the batch: a close in several
        passes that rounds beyond the preview must not make the batch revert."""
        mon = self.monitor
        victims = self._victims()
        if not victims:
            return
        victim = data.draw(st.sampled_from(victims))
        markets = [m for m in mon.markets_of(victim) if self._tradable(m)]
        if not markets:
            return
        # dev: the largest position rounds the most over several passes.
        market = max(markets, key=lambda m: abs(mon.sizes[victim, m]) * mon.marks[m])
        if lp_usd:
            self._lp_deposit(COLLUDER, lp_usd)
        pushed = 0
        for _ in range(3 if pct else 0):
            if self._full_close_equity(victim) < 16:
                break
            pushed += self._push(ATTACKER, market, pct, short=mon.sizes[victim, market] > 0)
        shortfall = max(16 - self._full_close_equity(victim), 0)  # dev: the engine's ROUNDING_SLACK
        Coverage.fund_tunings += shortfall > 0
        missing = shortfall + slack - max(self.p.vault.collateral(self.p.fund), 0)
        if missing > 0:
            amount = -((-missing) // self.scale)  # dev: whole token units, rounded up
            self._mint(ATTACKER, amount)
            with self.chain.prank(ATTACKER):
                self.p.token.approve(self.p.vault.address, amount)
                self.p.vault.deposit(amount, self.p.fund)
            self.ghost_vault_tokens += amount
        batch = [victim, *(a for a in sorted(mon.liquidatable()) if a != victim)]
        try:
            with self.chain.prank(ATTACKER):
                self.p.engine.liquidate_batch(batch)
        except Reverted as e:
            if "liveness" not in self.SKIP:
                mon.fail(f"liveness: liquidate_batch({batch}) reverted as a whole: {e.reason!r} (the fund tuned to "
                         f"{slack} wei above the preview's shortfall of {shortfall} wei for {victim})")
        if pushed:
            self._close(ATTACKER, market)

    # ------------------------------------------------------------ the attacker: donations and LP

    @rule(to=st.sampled_from(["fund", "pool", "trader", "colluder", "vault"]), i=st.integers(0, len(TRADERS) - 1),
          usd=st.integers(1, 50_000))
    def donate(self, to, i, usd):
        """Collateral given away: to the fund, the pool, another account, or sent to the vault with no deposit."""
        amount = self.p.units(usd)
        self._mint(ATTACKER, amount)
        with self.chain.prank(ATTACKER):
            if to == "vault":
                self.p.token.transfer(self.p.vault.address, amount)
            else:
                receiver = {"fund": self.p.fund, "pool": self.p.pool.address, "trader": TRADERS[i],
                            "colluder": COLLUDER}[to]
                self.p.token.approve(self.p.vault.address, amount)
                self.p.vault.deposit(amount, receiver)
        self.ghost_vault_tokens += amount

    def _lp_deposit(self, account, usd):
        amount = self.p.units(usd)
        self._mint(account, amount)
        with self.chain.prank(account):
            self.p.token.approve(self.p.pool.address, amount)
        if self._try(account, self.p.pool.deposit, amount, tails=LP_DEPOSIT_TAILS):
            self.ghost_vault_tokens += amount
            return True
        return False

    def _lp_redeem(self, account, pct):
        shares = self.p.pool.maxRedeem(account) * pct // 100
        if shares == 0:
            return False
        paid_before = self.p.token.balanceOf(account)
        if self._try(account, self.p.pool.redeem, shares, tails=LP_REDEEM_TAILS):
            self.ghost_vault_tokens -= self.p.token.balanceOf(account) - paid_before
            return True
        return False

    @rule(who=WHO, deposit=st.booleans(), usd=st.integers(1_000, 2_000_000), pct=fraction)
    def attacker_lp(self, who, deposit, usd, pct):
        if deposit:
            self._lp_deposit(self._who(who), usd)
        else:
            self._lp_redeem(self._who(who), pct)

    @rule(who=WHO, order=st.permutations(["deposit", "push", "redeem", "unwind"]), usd=st.integers(10_000, 5_000_000),
          market=st.sampled_from(ALL_MARKETS), pct=st.integers(10, 100), short=st.booleans(), redeem_pct=fraction)
    def lp_around_own_skew(self, who, order, usd, market, pct, short, redeem_pct):
        """LP deposit and redemption around the coalition's own skew, in any order."""
        a = self._who(who)
        for step in order:
            if step == "deposit":
                self._lp_deposit(a, usd)
            elif step == "push":
                self._push(a, market, pct, short)
            elif step == "redeem":
                self._lp_redeem(a, redeem_pct)
            else:
                self._close(a, market)

    # ------------------------------------------------------------ the attacker: rounds nobody refreshed

    def _publish_move(self, market, bp):
        self._publish(market, self._mark(market) * (10_000 + bp) // 10_000)

    @rule(market=st.sampled_from(ALL_MARKETS), bp=st.integers(-5_000, 5_000), refresh=st.booleans())
    def publish_round(self, market, bp, refresh):
        """A feed round; most often nobody refreshes the oracle after it."""
        self._publish_move(market, bp)
        if refresh:
            self.p.oracle.refresh(market)

    @rule(market=st.sampled_from(ALL_MARKETS), bp=st.integers(2_600, 5_000), down=st.booleans(), who=WHO,
          action=st.sampled_from(["withdraw", "lp redeem", "lp deposit", "open same market", "open other market"]),
          usd=st.integers(1_000, 100_000), pct=st.integers(10, 90))
    def jump_then_exit(self, market, bp, down, who, action, usd, pct):
        """A round beyond the deviation cap that nobody refreshed, and at once
        the coalition takes value out or adds risk on that price."""
        a = self._who(who)
        other = (market + 1) % len(ALL_MARKETS)
        # Prepare what the action needs: a position in the market (and margin), or LP shares in a pool that holds it.
        if not self.monitor.markets_of(a) & {market}:
            self._fund(a, usd)
            size = self._affordable(a, market, pct)
            self._trade(a, market, -size if down else size)  # dev: the side the jump pays
        if action.startswith("lp"):
            if not self.monitor.skew[market]:
                self._push(COLLUDER if who == 0 else ATTACKER, market, 5, short=False)
            if action == "lp redeem" and not self.p.pool.balanceOf(a):
                self._lp_deposit(a, usd)
        self._publish_move(market, -bp if down else bp)
        Coverage.guard_probes += 1
        if action == "withdraw":
            amount = self.p.lens.free_collateral(a) * pct // 100 // self.scale
            if amount and self._try(a, self.p.engine.withdraw, amount, tails=WITHDRAW_TAILS | {"market guarded"}):
                self.ghost_vault_tokens -= amount
        elif action == "lp redeem":
            self._lp_redeem(a, pct)
        elif action == "lp deposit":
            self._lp_deposit(a, usd)
        else:
            m = market if action == "open same market" else other
            size = self._affordable(a, m, pct)
            self._trade(a, m, size)

    @rule(down=st.sampled_from(ALL_MARKETS), shift=st.integers(1, 2), bp_down=st.integers(500, 6_000),
          bp_up=st.integers(300, 3_000), keeper_reacts=st.booleans())
    def crash_one_rally_other(self, down, shift, bp_down, bp_up, keeper_reacts):
        """A crash in one market while another moves the other way (cross-margin's worst case)."""
        self._publish_move(down, -bp_down)
        self._publish_move((down + shift) % len(ALL_MARKETS), bp_up)
        if keeper_reacts:
            self.keeper_round()

