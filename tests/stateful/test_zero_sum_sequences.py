"""Random sequences of every operation so far, with I1 (custody) and I2 (zero-sum)
checked after every step. Deploys fresh for each example.

Amounts are drawn from on-chain views (free collateral, position sizes) so most
steps are valid; the ones that still revert must do so with a reason from the
expected list, and must change nothing (the chain is checked by the invariants,
and the revert itself is atomic).
"""

import time

import boa
from boa.contracts.base_evm_contract import BoaError
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from backstop import harness
from backstop.units import WAD
from tests.invariants import assert_invariants
from backstop.harness import actor

N_TRADERS = 3
EXPECTED_REVERTS = (
    "Clearinghouse: insufficient margin",
    "Clearinghouse: negative equity",
    "Clearinghouse: position too small",
    "Clearinghouse: pool margin",
    "Clearinghouse: max skew",
    "Clearinghouse: market guarded",
    "Clearinghouse: insufficient collateral",
)

fraction = st.integers(min_value=1, max_value=100)


class ZeroSumMachine(RuleBasedStateMachine):
    calls = 0
    started = None

    @initialize(decimals=st.sampled_from([6, 18]))
    def deploy(self, decimals):
        owner = actor("owner")
        self.p = harness.deploy(owner, decimals)
        self.lp = actor("lp")
        self.p.fund_pool(self.lp, 1_000_000)
        self.traders = [actor(f"trader{i}") for i in range(N_TRADERS)]
        for t in self.traders:
            self.p.fund_trader(t, 20_000)
        ZeroSumMachine.started = ZeroSumMachine.started or time.perf_counter()

    def _call(self, account, fn, *args):
        ZeroSumMachine.calls += 1
        try:
            with boa.env.prank(account):
                fn(*args)
        except BoaError as e:
            assert any(reason in str(e) for reason in EXPECTED_REVERTS), f"unexpected revert: {e}"

    @rule(i=st.integers(0, N_TRADERS - 1), market=st.integers(0, 1), pct=fraction, short=st.booleans(), lev=st.integers(1, 9))
    def open_or_add(self, i, market, pct, short, lev):
        t = self.traders[i]
        free = self.p.engine.free_collateral(t)
        price = self.p.oracle.price(market)
        size = free * pct // 100 * lev * WAD // price
        if size > 0:
            self._call(t, self.p.engine.trade, market, -size if short else size)

    @rule(i=st.integers(0, N_TRADERS - 1), market=st.integers(0, 1), pct=fraction)
    def reduce_or_close(self, i, market, pct):
        t = self.traders[i]
        size = self.p.engine.position(t, market).size
        if size != 0:
            self._call(t, self.p.engine.trade, market, -(size * pct // 100) or -size)

    @rule(i=st.integers(0, N_TRADERS - 1), pct=fraction)
    def withdraw(self, i, pct):
        t = self.traders[i]
        amount = self.p.engine.free_collateral(t) * pct // 100 // self.p.vault.SCALE()
        if amount > 0:
            self._call(t, self.p.engine.withdraw, amount)

    @rule(i=st.integers(0, N_TRADERS - 1), usd=st.integers(1, 5_000))
    def deposit(self, i, usd):
        ZeroSumMachine.calls += 1
        self.p.fund_trader(self.traders[i], usd)

    @rule(market=st.integers(0, 1), move_bp=st.integers(-2_000, 2_000))
    def move_price(self, market, move_bp):
        price = self.p.oracle.last(market).price * (10_000 + move_bp) // 10_000
        self.p.feeds[market].set_answer(price // 10**10)
        ZeroSumMachine.calls += 1
        self.p.oracle.refresh(market)

    @rule(pct=fraction)
    def lp_redeem(self, pct):
        shares = min(self.p.pool.maxRedeem(self.lp), self.p.pool.balanceOf(self.lp)) * pct // 100
        if shares > 0:
            self._call(self.lp, self.p.pool.redeem, shares)

    @rule(usd=st.integers(1, 100_000))
    def lp_deposit(self, usd):
        ZeroSumMachine.calls += 1
        self.p.fund_pool(self.lp, usd)

    @invariant()
    def custody_and_zero_sum(self):
        if hasattr(self, "p"):
            assert_invariants(self.p, self.traders)


def teardown_module():
    if ZeroSumMachine.started:
        elapsed = time.perf_counter() - ZeroSumMachine.started
        print(f"\n{ZeroSumMachine.calls} protocol calls, {ZeroSumMachine.calls / elapsed:.0f} calls/s")


TestZeroSum = ZeroSumMachine.TestCase
