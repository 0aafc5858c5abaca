"""One account could brick liquidation for everyone (loss-waterfall review, finding 3).

Attack: the ADL gate previewed a single full close, but a liquidation can take
up to three passes (a partial close solved at mark, a second if the impact
left it short, then everything), and each fill rounds against the account by
up to |size| / 10**18 wei (the fill price is rounded to the wei, then
multiplied by the size). With the fund topped up to exactly the previewed
shortfall, the passes' bad debt came out a few hundred wei more: `liquidate`
reverted "insurance fund short", `deleverage` "ADL not required", and a
`liquidate_batch` holding the account reverted as a whole, round after round.

The rule (SPEC 5): the gate that decides liquidation vs ADL can never be
contradicted by the close (the gate now bounds every pass's rounding:
|size| / 10**18 + 3 wei a market beyond the preview), and one account never
makes a batch revert.
"""

import boa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, trade
from tests.invariants import assert_invariants

KEEPER = actor("keeper")


@pytest.fixture(scope="module")
def deep(deploy, decimals):
    p = deploy(decimals)
    p.fund_pool(actor("deep_lp"), 20_000_000)
    return p


def _seed_fund_to(p, target_wad: int):
    """Top the insurance fund's vault balance up to `target_wad` (a donation anyone can make)."""
    missing = target_wad - p.vault.collateral(p.fund)
    if missing <= 0:
        return
    units = -(-missing // p.vault.SCALE())  # rounded up to whole token units
    p.token.mint(KEEPER, units)
    with boa.env.prank(KEEPER):
        p.token.approve(p.vault.address, units)
        p.vault.deposit(units, p.fund)


# dev: the slice where a liquidation takes several passes and still ends in bad
#      debt: a large long, a deep opposite skew (its close pays ~3-9% of
#      impact), and equity a few percent of its notional at the new price.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# dev: the case the search found on the previous build (after 150 examples; it
#      shrank to this): the passes' bad debt came out above the previewed shortfall.
@example(size=300, skew=-2_000, equity_bps=101)
@given(
    size=st.integers(min_value=300, max_value=3_000),
    skew=st.integers(min_value=-9_000, max_value=-2_000),
    equity_bps=st.integers(min_value=20, max_value=490),
)
def test_liquidate__fund_at_the_previewed_shortfall__never_reverts(deep, size, skew, equity_bps):
    p = deep
    with boa.env.anchor():
        victim, other = actor("big_long"), actor("skew_setter")
        margin = size * 2_000 // 8
        p.fund_trader(victim, margin)
        trade(p, victim, ETH, wad(size))
        p.fund_trader(other, abs(skew - size) * 2_000 // 5 + 1_000)
        trade(p, other, ETH, wad(skew - size))
        entry = p.lens.entry_price(victim, ETH) / 1e18
        collateral = p.vault.collateral(victim) / 1e18
        # equity = collateral + size (P - entry) = equity_bps / 10,000 of size * P
        price = (size * entry - collateral) / (size * (1 - equity_bps / 10_000))
        p.set_price(ETH, round(price, 2))
        prices, valid, _ = p.oracle.try_prices(3)
        gate = p.engine.adl_gate(victim, prices)
        if not gate.state.notional or gate.state.equity >= gate.state.maintenance_req:
            return  # not liquidatable: nothing to check
        _seed_fund_to(p, gate.shortfall)
        gate = p.engine.adl_gate(victim, prices)
        with boa.env.prank(KEEPER):
            if gate.needs_adl:
                with boa.reverts("Clearinghouse: ADL required"):
                    p.engine.liquidate(victim)
                p.engine.liquidate_batch([victim, other])  # never reverts as a whole
            else:
                p.engine.liquidate(victim)
        assert p.vault.collateral(p.fund) >= 0
        assert_invariants(p, [victim, other, KEEPER])
