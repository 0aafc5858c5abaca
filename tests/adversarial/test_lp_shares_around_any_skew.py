"""LP deposits and redemptions around any skew, as a property (I8).

Attack: at a fixed oracle price, the attacker mixes trades of its own in
either direction, up to the markets' skew caps, in both markets, with LP
deposits and redemptions of its own, in any order, while other traders move
the skew between its calls; it hopes that some order (push, redeem, unwind;
close someone else's skew, deposit, re-open it; ...) sells shares above or
buys them below what they are worth.

Why it must fail (I8, SPEC 8's note on LP shares): over every stretch of calls
made only by the attacker, at fixed prices, its wealth (tokens in hand, equity
at the mark, LP shares at what they redeem for) does not rise, except by the
fill premium its own net trades take back from the skew the stretch began with
(whoever trades a skew back earns what others paid into it, by the impact
formula: the attacker machine allows the same, tests/stateful/attacker_machine.py
`premium_released`). The slack is what measuring allows: LP shares are valued
in whole token units (ERC-4626's convertToAssets floors), so one unit, plus a
few wei per call.
"""

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backstop.protocol.harness import actor
from backstop.units import WAD, wad

MARKETS = (0, 1)  # ETH, BTC
WEI_PER_CALL = 8

ATTACKER, OTHER = actor("property attacker"), actor("property other trader")

# dev: what a refused trade may say; anything else fails the test.
TRADE_REFUSALS = (
    "Clearinghouse: max skew", "Clearinghouse: pool margin", "Clearinghouse: insufficient margin",
    "Clearinghouse: position too small", "Clearinghouse: negative equity",
)

step = st.one_of(
    st.tuples(st.just("trade"), st.sampled_from(MARKETS), st.integers(-1_000, 1_000)),  # per mille of the skew cap
    st.tuples(st.just("close"), st.sampled_from(MARKETS), st.just(0)),
    st.tuples(st.just("deposit"), st.just(0), st.integers(1, 5_000_000)),  # USD
    st.tuples(st.just("redeem"), st.just(0), st.integers(1, 100)),  # % of the shares it may redeem
    st.tuples(st.just("other"), st.sampled_from(MARKETS), st.integers(-1_000, 1_000)),
)


@pytest.fixture(scope="module")
def deep_pool(deploy, decimals):
    """A 20M USD pool (it carries both markets' skew caps within its margin),
    the attacker with 30M USD of margin and 10M in hand, the other trader 30M."""
    p = deploy(decimals)
    p.fund_pool(actor("property seed lp"), 20_000_000)
    p.fund_trader(ATTACKER, 30_000_000)
    p.fund_trader(OTHER, 30_000_000)
    p.token.mint(ATTACKER, p.units(10_000_000))
    with boa.env.prank(ATTACKER):
        p.token.approve(p.pool.address, 2**256 - 1)
    return p


def wealth(p) -> int:
    scale = p.vault.SCALE()
    return (p.token.balanceOf(ATTACKER) * scale + p.lens.equity(ATTACKER)
            + p.pool.convertToAssets(p.pool.balanceOf(ATTACKER)) * scale)


def try_trade(p, account, market, size) -> bool:
    if size == 0:
        return False
    try:
        with boa.env.prank(account):
            p.engine.trade(market, size, 0)
        return True
    except Exception as e:  # dev: titanoboa's BoaError; its message carries the reason
        assert any(r in str(e) for r in TRADE_REFUSALS), f"unexpected trade revert: {e}"
        return False


class Stretch:
    """One run of the attacker's calls: the wealth it began with, the price
    skew it began with, and the attacker's net size traded per market."""

    def __init__(self, p):
        self.p, self.calls = p, 0
        self.base = wealth(p)
        self.skew = [p.engine.price_skew(m) for m in MARKETS]
        self.net = [0 for _ in MARKETS]

    def premium_released(self) -> int:
        # dev: P * (s0^2 - s1^2) / (2K) where the attacker's net trades shrank |s|, rounded up.
        p, out = self.p, 0
        prices = p.oracle.try_prices(3)[0]
        for m in MARKETS:
            s0, s1 = self.skew[m], self.skew[m] + self.net[m]
            if s0 * s0 > s1 * s1:
                out += -(-prices[m] * (s0 * s0 - s1 * s1) // (2 * p.configurator.markets(m).skew_scale * WAD))
        return out

    def check(self):
        if not self.calls:
            return
        gain = wealth(self.p) - self.base - self.premium_released()
        slack = self.p.vault.SCALE() + WEI_PER_CALL * self.calls
        assert gain <= slack, (
            f"I8: over {self.calls} calls of the attacker at fixed prices its wealth rose {gain} wei "
            f"({gain / WAD:,.6f} USD) beyond the premium its trades released (slack {slack} wei)"
        )


# dev: bounded for CI (2 x 20 examples of up to 12 calls, ~30 s on 2 cores); `deep` adds nothing here.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_lp_deposit_and_redeem__around_any_skew_at_a_fixed_price__attacker_gains_nothing(deep_pool, steps):
    p = deep_pool
    with boa.env.anchor():
        caps = [p.configurator.markets(m).max_skew for m in MARKETS]
        stretch = Stretch(p)
        for kind, market, n in steps:
            if kind == "other":
                stretch.check()
                try_trade(p, OTHER, market, caps[market] * n // 1_000)
                stretch = Stretch(p)
                continue
            stretch.calls += 1
            if kind in ("trade", "close"):
                size = caps[market] * n // 1_000 if kind == "trade" else -p.engine.position(ATTACKER, market).size
                if try_trade(p, ATTACKER, market, size):
                    stretch.net[market] += size
            elif kind == "deposit":
                amount = min(p.units(n), p.token.balanceOf(ATTACKER))
                if amount and p.pool.previewDeposit(amount):
                    with boa.env.prank(ATTACKER):
                        p.pool.deposit(amount)
            else:
                shares = p.pool.maxRedeem(ATTACKER) * n // 100
                if shares and p.pool.previewRedeem(shares):
                    with boa.env.prank(ATTACKER):
                        p.pool.redeem(shares)
            stretch.check()
