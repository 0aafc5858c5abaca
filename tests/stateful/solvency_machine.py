"""The stateful solvency fuzzer: the whole protocol under random sequences of
every action, with SPEC 8's invariants checked after every step.

Runs on revm (backstop.chain.revm_chain): the same bytecode as everywhere else at
thousands of calls per second. Each example deploys a fresh protocol.

Actors and roles: traders (deposit, withdraw, open / add / reduce / flip /
close in both markets), LPs (deposit, redeem), stakers (stake, request,
withdraw, cancel), a keeper (the real backstop.keeper.logic.Keeper: liquidations and
ADL), and the market (small moves, crash jumps, spikes and recoveries, new rounds, time).
Amounts are drawn from on-chain views, so most steps are valid; a share of
steps are deliberately invalid and must revert with their named reason and
change nothing.

Reference model: ghost totals of the tokens each path moved into and out of
the vault (trader deposits and withdrawals, LP deposits and redemptions,
stakes and fund withdrawals), beside the chain's own ledger.

Checked after every step (rounding tolerance: exact, except I2's unrealised
PnL sum, which may be below zero by one wei of flooring per open position):
  I1 custody: token balance of the vault = ledger total = ghost total.
  I2 zero-sum: sizes and cost bases sum to zero per market.
  I3 solvency: while no account is below zero, the vault covers every positive
     equity; once the keeper has run, always.
  I4 no hidden bad debt: an account below zero always still has a position
     (the waterfall can reach it); once the keeper's round leaves nothing
     liquidatable, no account below zero; the insurance fund never below zero.
  I5 margin safety: after a risk-adding trade or a withdrawal, equity >= initial margin.
  I6 no free liquidation: liquidating a healthy account reverts; every keeper
     reward is within its bounds.
  I7 ADL order: every ADL call passes backstop.checks.adl_audit.
"""

import time

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from backstop.chain import revm_chain
from backstop.checks.adl_audit import RankingRecorder, audit
from backstop.protocol.harness import FEED_DECIMALS, FUND_COOLDOWN, HEARTBEAT, LIQUIDATION, actor
from backstop.checks.invariants import bad_debt_violations, custody_violations, held, solvency_violations, zero_sum_violations
from backstop.keeper.logic import BoaChain, Keeper
from backstop.chain.revm_chain import Reverted
from backstop.units import WAD, wad

N_TRADERS, N_LPS, N_STAKERS = 4, 2, 2
TRADERS = [actor(f"fuzz trader {i}") for i in range(N_TRADERS)]
LPS = [actor(f"fuzz lp {i}") for i in range(N_LPS)]
STAKERS = [actor(f"fuzz staker {i}") for i in range(N_STAKERS)]
KEEPER, OWNER, ATTACKER = actor("fuzz keeper"), actor("fuzz owner"), actor("fuzz attacker")
MARKETS = (0, 1)
KEEPER_SHARE, MIN_REWARD, MAX_REWARD = LIQUIDATION[1], LIQUIDATION[2], LIQUIDATION[3]

# Reasons a valid-looking step may still meet (the book moved since its amount
# was drawn, the market is guarded, a feed is stale...). Anything else fails.
TRADE_REVERTS = {
    "Clearinghouse: insufficient margin", "Clearinghouse: negative equity", "Clearinghouse: position too small",
    "Clearinghouse: pool margin", "Clearinghouse: max skew", "Clearinghouse: market guarded",
    "margin_math: price impact too large", "Oracle: stale price",
}
WITHDRAW_REVERTS = {
    "Clearinghouse: insufficient margin", "Clearinghouse: insufficient collateral", "Clearinghouse: market guarded",
    "Oracle: stale price",
}

fraction = st.integers(min_value=1, max_value=100)


class Throughput:
    """Protocol calls, wall time and what happened, over every example of a run
    (printed by conftest, so a run shows it reached the waterfall's stages)."""

    calls = 0
    seconds = 0.0
    examples = 0
    liquidations = 0
    bad_debt_covered = 0
    adl_fills = 0
    rejected = 0  # deliberately invalid steps that reverted with their reason
    margins_scaled = 0  # volatility cranks (anyone's or the keeper's) that moved a market's margins


class RecordingChain(BoaChain):
    """The keeper's chain adapter, keeping every event its transactions emitted."""

    def __init__(self, contracts, sender):
        super().__init__(contracts, sender)
        self.events = []

    def _send(self, name, *args):
        logs = super()._send(name, *args)
        self.events += logs
        return logs


# InsuranceFund.VIRTUAL_SHARES (a constant, not readable on-chain).
FUND_VIRTUAL_SHARES = 10**3


class SolvencyMachine(RuleBasedStateMachine):
    # The compiled contracts to deploy; a mutation test swaps in a broken build.
    CONTRACTS: dict | None = None
    # Where the run's counters go (a subclass keeps its own, so each prints apart).
    STATS = Throughput

    @initialize(decimals=st.sampled_from([6, 18]), pool_usd=st.integers(50_000, 500_000),
                stake_usd=st.integers(0, 5_000),
                margins=st.lists(st.integers(100, 20_000), min_size=N_TRADERS, max_size=N_TRADERS),
                leverages=st.lists(st.integers(-95, 95), min_size=N_TRADERS, max_size=N_TRADERS))
    def deploy(self, decimals, pool_usd, stake_usd, margins, leverages):
        revm_chain.compiled()  # dev: compiled once per process, before the clock starts
        self.started = time.perf_counter()
        self.chain = self._new_chain()
        self.p = revm_chain.deploy(OWNER, decimals, contracts=self.CONTRACTS, chain=self.chain, **self._deploy_options())
        self.scale = self.p.vault.SCALE()
        self.ghost_vault_tokens = 0
        self.ghost_vault_tokens += self.p.fund_pool(LPS[0], pool_usd)
        if stake_usd:
            self.ghost_vault_tokens += self.p.units(stake_usd)
            self.p.stake(STAKERS[0], stake_usd)
        self.keeper = Keeper(self._keeper_chain())
        self.sent = self.keeper.chain
        self.recorder = RankingRecorder(self.keeper.chain, lambda: self.keeper.accounts)
        self.keeper.chain = self.recorder
        # Every trader starts funded, most with a position of up to 95% of the
        # leverage its margin allows (long or short; ETH for even traders, BTC
        # for odd): the book a crash can bite.
        for i, (t, usd, pct) in enumerate(zip(TRADERS, margins, leverages)):
            self.ghost_vault_tokens += self.p.fund_trader(t, usd)
            self.keeper.track(t)
            size = self._affordable(t, i % 2, abs(pct))
            if size:
                self._attempt(t, self.p.engine.trade, i % 2, size if pct > 0 else -size, 0, allowed=TRADE_REVERTS)
        self._after_deploy()

    def _after_deploy(self):
        """A subclass's hook, once the honest book is set up."""

    def teardown(self):
        if hasattr(self, "chain"):
            self.STATS.calls += self.chain.calls
            self.STATS.seconds += time.perf_counter() - self.started
            self.STATS.examples += 1

    # ------------------------------------------------------------ helpers

    def _new_chain(self):
        return revm_chain.Chain()

    def _keeper_chain(self):
        return RecordingChain(self.p, KEEPER)

    def _deploy_options(self) -> dict:
        # dev: the two markets of harness.deploy; a subclass may list more.
        return {}

    def _attempt(self, account, fn, *args, allowed=()):
        """Call `fn` as `account`; a revert must carry an allowed reason and change nothing."""
        before = self._snapshot()
        try:
            with self.chain.prank(account):
                return True, fn(*args)
        except Reverted as e:
            assert e.reason in allowed, f"unexpected revert {e.reason!r} from {fn.name}{args}"
            assert self._snapshot() == before, f"{fn.name}{args} reverted ({e.reason}) but state changed"
            return False, None

    def _must_revert(self, account, reason, fn, *args):
        """A deliberately invalid step: it reverts with exactly `reason` and changes nothing."""
        before = self._snapshot()
        try:
            with self.chain.prank(account):
                fn(*args)
        except Reverted as e:
            assert e.reason == reason, f"{fn.name}{args}: expected {reason!r}, got {e.reason!r}"
        else:
            raise AssertionError(f"{fn.name}{args} should revert with {reason!r}")
        assert self._snapshot() == before
        self.STATS.rejected += 1

    def _everyone(self):
        return [*TRADERS, *LPS, *STAKERS, KEEPER, self.p.pool.address, self.p.fund]

    def _snapshot(self):
        p = self.p
        return (
            [p.vault.collateral(a) for a in self._everyone()],
            [tuple(p.engine.position(t, m)) for t in TRADERS for m in MARKETS],
            p.token.balanceOf(p.vault.address),
        )

    def _health(self, account):
        return self.p.lens.account_health(account)

    def _check_margin(self, account):
        # I5: after a risk-adding trade or a withdrawal.
        h = self._health(account)
        assert h.equity >= h.initial_req, f"I5: {account} at {h.equity} below initial margin {h.initial_req}"

    # ------------------------------------------------------------ traders

    @rule(i=st.integers(0, N_TRADERS - 1), usd=st.integers(1, 20_000))
    def deposit(self, i, usd):
        self.ghost_vault_tokens += self.p.fund_trader(TRADERS[i], usd)

    @rule(i=st.integers(0, N_TRADERS - 1), pct=fraction)
    def withdraw(self, i, pct):
        t = TRADERS[i]
        amount = self.p.lens.free_collateral(t) * pct // 100 // self.scale
        if amount == 0:
            return
        ok, _ = self._attempt(t, self.p.engine.withdraw, amount, allowed=WITHDRAW_REVERTS)
        if ok:
            self.ghost_vault_tokens -= amount
            self._check_margin(t)

    def _affordable(self, trader, market, pct):
        # dev: `pct`% of the largest size the free margin carries at the market's imr (volatility-scaled).
        imr = self.p.configurator.effective_margins(market)[0]
        free = self.p.lens.free_collateral(trader)
        return free * pct // 100 * WAD // imr * WAD // self.p.oracle.last(market).price

    @rule(i=st.integers(0, N_TRADERS - 1), market=st.sampled_from(MARKETS), pct=st.integers(1, 99),
          short=st.booleans())
    def open_or_add(self, i, market, pct, short):
        trader = TRADERS[i]
        size = self._affordable(trader, market, pct)
        if size == 0:
            return
        ok, _ = self._attempt(trader, self.p.engine.trade, market, -size if short else size, 0, allowed=TRADE_REVERTS)
        if ok:
            self._check_margin(trader)

    @rule(i=st.integers(0, N_TRADERS - 1), market=st.sampled_from(MARKETS), pct=fraction,
          mode=st.sampled_from(["reduce", "close", "flip"]))
    def reduce_close_or_flip(self, i, market, pct, mode):
        trader = TRADERS[i]
        size = self.p.engine.position(trader, market).size
        if size == 0:
            return
        delta = {"reduce": -(size * pct // 100) or -size, "close": -size, "flip": -size - size * pct // 100}[mode]
        ok, _ = self._attempt(trader, self.p.engine.trade, market, delta, 0, allowed=TRADE_REVERTS)
        if ok and mode == "flip" and delta != -size:
            self._check_margin(trader)

    @rule(i=st.integers(0, N_TRADERS - 1), case=st.sampled_from(["zero size", "unknown market", "zero withdraw",
                                                               "excess withdraw", "healthy liquidation"]))
    def invalid_trader_step(self, i, case):
        t, e = TRADERS[i], self.p.engine
        if case == "zero size":
            self._must_revert(t, "Clearinghouse: zero size", e.trade, 0, 0, 0)
        elif case == "unknown market":
            self._must_revert(t, "Clearinghouse: unknown market", e.trade, 7, WAD, 0)
        elif case == "zero withdraw":
            self._must_revert(t, "Clearinghouse: zero amount", e.withdraw, 0)
        elif case == "excess withdraw":
            collateral = max(self.p.vault.collateral(t), 0) // self.scale
            self._must_revert(t, "Clearinghouse: insufficient collateral", e.withdraw, collateral + 1)
        else:
            # I6: a healthy account (with or without positions) is never liquidated.
            h = self._health(t)
            if not h.liquidatable and h.prices_valid:
                self._must_revert(ATTACKER, "Clearinghouse: account healthy", e.liquidate, t)

    # ------------------------------------------------------------ LPs and stakers

    @rule(i=st.integers(0, N_LPS - 1), usd=st.integers(1, 100_000))
    def lp_deposit(self, i, usd):
        amount = self.p.units(usd)
        self.p.token.mint(LPS[i], amount)
        with self.chain.prank(LPS[i]):
            self.p.token.approve(self.p.pool.address, amount)
        ok, _ = self._attempt(LPS[i], self.p.pool.deposit, amount, allowed={"Pool: insolvent", "Pool: market guarded", "Oracle: stale price"})
        if ok:
            self.ghost_vault_tokens += amount

    @rule(i=st.integers(0, N_LPS - 1), pct=fraction)
    def lp_redeem(self, i, pct):
        shares = self.p.pool.maxRedeem(LPS[i]) * pct // 100
        if shares == 0:
            return
        paid_before = self.p.token.balanceOf(LPS[i])
        ok, _ = self._attempt(LPS[i], self.p.pool.redeem, shares,
                              allowed=WITHDRAW_REVERTS | {"Pool: zero assets", "Pool: market guarded"})
        if ok:
            self.ghost_vault_tokens -= self.p.token.balanceOf(LPS[i]) - paid_before

    @rule(i=st.integers(0, N_STAKERS - 1), usd=st.integers(1, 10_000))
    def stake(self, i, usd):
        if self.p.insurance.totalAssets() == 0 and self.p.insurance.totalSupply() != 0:
            # dev: a fund bad debt emptied takes no stake until its income refills it
            #      (checked before any transfer, so no tokens are needed to see it).
            self._must_revert(STAKERS[i], "Fund: wiped out", self.p.insurance.stake, self.p.units(usd))
            return
        fund = self.p.insurance
        if self.p.units(usd) * (fund.totalSupply() + FUND_VIRTUAL_SHARES) // (fund.totalAssets() + 1) == 0:
            # dev: a stake worth less than one share: a fund that earned fees
            #      and penalties with (nearly) no stakers prices a share at its
            #      income over the virtual shares (found by the attacker
            #      fuzzer's donations and the fund's income, 549,478 calls).
            self._must_revert(STAKERS[i], "Fund: zero shares", fund.stake, self.p.units(usd))
            return
        self.ghost_vault_tokens += self.p.units(usd)
        self.p.stake(STAKERS[i], usd)

    @rule(i=st.integers(0, N_STAKERS - 1), pct=fraction)
    def request_withdrawal(self, i, pct):
        s = STAKERS[i]
        shares = self.p.insurance.balanceOf(s) * pct // 100
        if shares == 0:
            return
        if self.p.insurance.requests(s).shares:
            self._must_revert(s, "Fund: request pending", self.p.insurance.request_withdrawal, shares)
        else:
            self._attempt(s, self.p.insurance.request_withdrawal, shares)

    def _requests(self):
        return [s for s in STAKERS if self.p.insurance.requests(s).shares]

    @precondition(lambda self: hasattr(self, "p") and self._requests())
    @rule(data=st.data())
    def fund_withdraw(self, data):
        s = data.draw(st.sampled_from(self._requests()))
        request = self.p.insurance.requests(s)
        if self.chain.timestamp < request.unlocks_at:
            self._must_revert(s, "Fund: cooldown", self.p.insurance.withdraw)
            return
        before = self.p.token.balanceOf(s)
        ok, _ = self._attempt(s, self.p.insurance.withdraw, allowed={"Fund: request expired"})
        if ok:
            paid = self.p.token.balanceOf(s) - before
            assert paid <= request.assets, "a withdrawal paid more than the request's value"
            self.ghost_vault_tokens -= paid

    @precondition(lambda self: hasattr(self, "p") and self._requests())
    @rule(data=st.data())
    def cancel_withdrawal(self, data):
        self._attempt(data.draw(st.sampled_from(self._requests())), self.p.insurance.cancel_withdrawal)

    @rule(i=st.integers(0, N_STAKERS - 1), cancel=st.booleans())
    def invalid_fund_step(self, i, cancel):
        s = STAKERS[i]
        if not self.p.insurance.requests(s).shares:
            fn = self.p.insurance.cancel_withdrawal if cancel else self.p.insurance.withdraw
            self._must_revert(s, "Fund: no request", fn)

    # ------------------------------------------------------------ the market

    def _publish(self, market, price_wad):
        answer = max(price_wad // 10 ** (18 - FEED_DECIMALS), 2 * 10**FEED_DECIMALS)  # inside the band
        self.p.feeds[market].set_answer(answer)

    # Each price rule may wake the keeper at once, as the bot's price-update
    # handler does; otherwise the book waits (a slow keeper) for `keeper_round`.

    @rule(market=st.sampled_from(MARKETS), bp=st.integers(-300, 300), keeper_reacts=st.booleans())
    def small_move(self, market, bp, keeper_reacts):
        self._publish(market, self.p.oracle.last(market).price * (10_000 + bp) // 10_000)
        if keeper_reacts:
            self.keeper_round()

    @rule(market=st.sampled_from(MARKETS), bp=st.integers(500, 4_500), keeper_reacts=st.booleans())
    def crash(self, market, bp, keeper_reacts):
        self._publish(market, self.p.oracle.last(market).price * (10_000 - bp) // 10_000)
        if keeper_reacts:
            self.keeper_round()

    @rule(market=st.sampled_from(MARKETS), bp=st.integers(500, 3_000), keeper_reacts=st.booleans())
    def spike(self, market, bp, keeper_reacts):
        self._publish(market, self.p.oracle.last(market).price * (10_000 + bp) // 10_000)
        if keeper_reacts:
            self.keeper_round()

    @rule(market=st.sampled_from(MARKETS))
    def refresh(self, market):
        self.p.oracle.refresh(market)

    @rule(seconds=st.sampled_from([12, 600, HEARTBEAT + 1, FUND_COOLDOWN]), republish=st.booleans())
    def time_passes(self, seconds, republish):
        self.chain.time_travel(seconds)
        if republish:  # the feeds publish a new round at the same prices
            for m in MARKETS:
                self._publish(m, self.p.oracle.last(m).price)

    @rule(data=st.data(), pro_rata=st.booleans())
    def adl_mode(self, data, pro_rata):
        """The owner switches a market between the ADL queue and pro rata
        (issue 19), at any moment: every invariant holds in both modes."""
        market = data.draw(st.integers(0, self.p.engine.market_count() - 1), label="market")
        with self.chain.prank(OWNER):
            self.p.configurator.set_adl_pro_rata(market, pro_rata)

    @rule(data=st.data(), slope=st.sampled_from(["0", "0.5", "2", "10"]))
    def margin_tiers(self, data, slope):
        """The owner sets a market's size-tier slope (issue 19) at any moment:
        large accounts may become liquidatable at once, and every invariant holds."""
        market = data.draw(st.integers(0, self.p.engine.market_count() - 1), label="market")
        scale = self.p.configurator.volatility_params(market).max_scale
        with self.chain.prank(OWNER):
            self._set_scaled_slope(lambda: self.p.configurator.set_margin_tiers(market, wad(slope)), wad(slope), scale)

    def _set_scaled_slope(self, setter, slope, max_scale):
        """`setter`, refused with its reason (and nothing set) exactly when the
        tier slope at the largest volatility scale would not fit the engine's
        64 bits (Configurator._check_scaled_slope)."""
        if (slope * max_scale + WAD - 1) // WAD < 2**64:
            setter()
            return
        try:
            setter()
        except Reverted as e:
            assert "tier slope x vol scale too high" in str(e), e
            return
        raise AssertionError(f"a tier slope {slope} at scale {max_scale} was accepted past 64 bits")

    @rule(data=st.data(), mark=st.sampled_from([(0, 0), (1_000_000, 600), (10_000, 3_600), (10**9, 1)]))
    def stable_mark(self, data, mark):
        """The owner sets a market's stable mark (issue 19) at any moment: off,
        0.1% a second over 10 minutes, a slow one over the heartbeat, or one
        that follows within a second. A held account is pending, not hidden."""
        market = data.draw(st.integers(0, self.p.engine.market_count() - 1), label="market")
        with self.chain.prank(OWNER):
            self.p.oracle.set_stable_mark(market, *mark)

    @rule(data=st.data(), setting=st.sampled_from([None, ("0.9", "0.01", "3", "0.5"), ("0.5", "0.002", "5", "4"),
                                                   ("0", "0.005", "2", "0")]))
    def volatility_margin(self, data, setting):
        """The owner turns a market's volatility-scaled margin on (with a drawn
        setting), changes it, or turns it off (issue 19), at any moment: the
        margins move within their bounds and every invariant holds."""
        market = data.draw(st.integers(0, self.p.engine.market_count() - 1), label="market")
        args = (0, 0, 0, 0) if setting is None else tuple(wad(v) for v in setting)
        slope = self.p.configurator.margin_tier_slopes(market)
        with self.chain.prank(OWNER):
            self._set_scaled_slope(lambda: self.p.configurator.set_volatility_margin(market, *args), slope,
                                   args[2] if args[1] else 0)
        imr, mmr, _ = self.p.configurator.effective_margins(market)
        assert 0 < mmr < imr <= WAD, f"volatility margin: bad fractions {imr} {mmr}"

    @rule(data=st.data())
    def update_margins(self, data):
        """Anyone cranks a market's volatility-scaled margin at any moment
        (a no-op with it off): imr at its target, mmr within its hourly cap."""
        market = data.draw(st.integers(0, self.p.engine.market_count() - 1), label="market")
        before = tuple(self.p.configurator.effective_margins(market))[:2]
        was = self.p.configurator.volatility_states(market)
        with self.chain.prank(ATTACKER):
            self.p.configurator.update_margins(market)
        imr, mmr, _ = self.p.configurator.effective_margins(market)
        assert 0 < mmr < imr <= WAD, f"volatility margin: bad fractions {imr} {mmr}"
        params = self.p.configurator.volatility_params(market)
        if params.max_scale == 0:
            assert (imr, mmr) == tuple(before)
            return
        self.STATS.margins_scaled += (imr, mmr) != before
        now = self.p.configurator.volatility_states(market)
        # The cap: the maintenance scale moved at most mmr_rise_per_hour for the time it walked.
        walked = now.updated_at - was.updated_at
        assert abs(now.mmr_scale - was.mmr_scale) <= params.mmr_rise_per_hour * walked // 3600, "mmr past its cap"

    # ------------------------------------------------------------ the keeper

    @rule()
    def keeper_round(self):
        calls_before, events_before = len(self.recorder.calls), len(self.sent.events)
        report = self.keeper.run_round()
        assert report.failed_batches == 0, "liveness: a liquidation batch reverted as a whole"
        self.STATS.adl_fills += len(report.adl_fills)
        for e in self.sent.events[events_before:]:
            self.STATS.bad_debt_covered += type(e).__name__ == "BadDebtCovered"
            if type(e).__name__ == "LiquidationSettled":
                self.STATS.liquidations += 1
                # I6: the reward within its bounds; above the keeper's share only as the min-reward top-up.
                assert e.keeper_reward <= MAX_REWARD, f"I6: reward {e.keeper_reward} above the cap"
                assert e.keeper_reward <= max(e.penalty * KEEPER_SHARE // WAD, MIN_REWARD), f"I6: {e}"
        violations = audit(self.recorder.calls[calls_before:], str(self.p.pool.address))
        assert not violations, f"I7: {violations}"
        # dev: "processed" means nothing left liquidatable at all: an account
        #      behind a failing feed cannot be liquidated yet, so its deficit
        #      is pending, not hidden (the per-step check below covers that).
        #      An account a stable mark holds is pending: I3 counts its deficit, I4 waits for it.
        health = self.p.lens.health(self._everyone())
        if not any(h.liquidatable for h in health):
            pending = frozenset(a for a, h in zip(self._everyone(), health) if held(h))
            for name, found in (("I3", solvency_violations(self.p, self._everyone(), pending=pending)),
                                ("I4", bad_debt_violations(self.p, self._everyone(), pending=pending))):
                assert not found, f"{name} after the keeper: {found}"

    # ------------------------------------------------------------ invariants

    @invariant()
    def custody_and_ghost_totals(self):
        if not hasattr(self, "p"):
            return
        assert not (v := custody_violations(self.p, self._everyone())), f"I1: {v}"
        held = self.p.token.balanceOf(self.p.vault.address)
        assert held == self.ghost_vault_tokens, f"I1 ghost: vault holds {held}, the paths moved {self.ghost_vault_tokens}"

    @invariant()
    def zero_sum(self):
        if hasattr(self, "p"):
            assert not (v := zero_sum_violations(self.p, self._everyone())), f"I2: {v}"

    @invariant()
    def solvency_and_fund(self):
        if not hasattr(self, "p"):
            return
        assert self.p.vault.collateral(self.p.fund) >= 0, "the insurance fund went below zero"
        health = self.p.lens.health(self._everyone())
        # I4, at every step: a deficit is never hidden: an account below zero
        # still has a position, so it is liquidatable (or held by the stable
        # mark until it follows) and the waterfall reaches it.
        hidden = [a for a, h in zip(self._everyone(), health) if h.equity < 0 and h.notional == 0]
        assert not hidden, f"I4: below zero with nothing to liquidate: {hidden}"
        if min(h.equity for h in health) >= 0:
            assert not (v := solvency_violations(self.p, self._everyone())), f"I3: {v}"
