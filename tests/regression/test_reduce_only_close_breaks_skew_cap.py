"""Reduce-only closes skipped the skew cap (loss-waterfall review, finding 5).

Attack: A goes long 8,000 ETH (skew +8,000 against a 10,000 cap); B sells
16,000, which flips the skew to -8,000 without growing |skew| (the old code
checked the cap and the pool's margin only when |skew| grew); then A closes.
The close was reduce-only, so nothing was checked: the skew ended at -16,000,
60% beyond the cap, with the pool long 16,000 ETH it never agreed to carry.

The rule (SPEC 3): no sequence of trades leaves |skew| above the cap or the
pool below its margin, except a pure exit that shrinks |skew|.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, trade
from tests.invariants import assert_invariants

CAP = 10_000  # the harness's ETH max_skew, in ETH


@pytest.fixture
def deep_pool(deploy, decimals):
    p = deploy(decimals)
    p.fund_pool(actor("whale_lp"), 200_000_000)
    return p


def test_reduce_only_close__after_a_flip__cannot_leave_skew_beyond_the_cap(deep_pool):
    p = deep_pool
    long_side, flipper = actor("long_side"), actor("flipper")
    p.fund_trader(long_side, 3_000_000)
    p.fund_trader(flipper, 6_000_000)
    trade(p, long_side, ETH, wad(8_000))
    trade(p, flipper, ETH, -wad(16_000))  # +8,000 -> -8,000: |skew| unchanged, both sides within the cap
    assert p.engine.market_state(ETH).skew == -wad(8_000)
    with boa.env.prank(long_side), boa.reverts("Clearinghouse: max skew"):
        p.engine.trade(ETH, -wad(8_000))  # an exit that would take |skew| to 16,000
    assert abs(p.engine.market_state(ETH).skew) <= wad(CAP)
    # What the cap leaves room for still closes: 2,000 of the 8,000.
    trade(p, long_side, ETH, -wad(2_000))
    assert p.engine.market_state(ETH).skew == -wad(CAP)
    assert_invariants(p, [long_side, flipper])


def test_reduce_only_close__that_shrinks_skew__is_never_refused(deep_pool):
    """The exemption: a pure exit that shrinks |skew| needs only equity >= 0,
    even with the market above its cap (the owner lowered it)."""
    p = deep_pool
    long_side = actor("long_side")
    p.fund_trader(long_side, 3_000_000)
    trade(p, long_side, ETH, wad(9_000))
    with boa.env.prank(p.owner):
        p.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(1_000)))
    trade(p, long_side, ETH, -wad(1_000))  # |skew| 9,000 -> 8,000, still above the new 1,000 cap
    assert p.engine.market_state(ETH).skew == wad(8_000)
    with boa.env.prank(long_side), boa.reverts("Clearinghouse: max skew"):
        p.engine.trade(ETH, wad(1))  # adding risk above the cap is refused
    assert_invariants(p, [long_side])
