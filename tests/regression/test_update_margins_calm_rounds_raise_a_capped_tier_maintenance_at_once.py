"""Calm rounds raise a whale's maintenance at once, past the hourly cap.

Attack: with size tiers and volatility-scaled margin on, a large trader's
initial fraction imr'(s) = min(imr' + slope' * |s| / K, 1) sits at the cap 1,
and the engine keeps its maintenance at mmr'(s) = mmr' * imr'(s) / imr' =
mmr' / imr'. After a volatile stretch the imr scale (the target, 3) is above
the maintenance scale (walked to 2.25 by the cap). Calm rounds then drop the
target below the maintenance scale, and `_update` drops imr_scale to
max(target, mmr_scale) at once: imr' falls from 0.30 to 0.225 while mmr'
stays at 0.1125, so the capped whale's maintenance fraction jumps from
0.1125 / 0.30 = 0.375 to 0.1125 / 0.225 = 0.5 in one crank, seconds after the
last one. A keeper (anyone) publishes nothing and waits for the calm rounds,
cranks `update_margins`, and liquidates the whale for its reward: the margin
scaling, not the price (fixed at 1,900 across the crank), made it
liquidatable. Here (slope 6, 6,000 ETH long, 11.4M notional) the whale's
maintenance requirement goes from 4.275M to 5.7M USD (+33%) in a crank
16 s after the last, while the flat maintenance scale moved by 0.1%
(2.25 -> 2.2522): equity 5.03M, healthy before, liquidatable after.

Why it must fail (issue 19, DESIGN 3: "existing positions feel it only
through maintenance, within a configured cap per hour"; 4f5f1e8: "scaled, a
tiered trader's fractions scale as a flat one's (imr at once, mmr by the
cap)"): across the crank the flat maintenance scale moves by a few seconds'
worth of the cap, so a tiered trader's maintenance may rise by at most that
ratio. The slope scaling keeps the ratio only while imr'(s) < 1; at the cap
the ratio 1 / imr' moves with imr' itself, at once.

Found by review (vol-review), reading `_effective` against
`margin_math._tiered`.

Fixed (Configurator only, the engine as it was): on a market with tiers the
imr scale follows the maintenance walk instead of taking the target at once
(`_imr_scale`), so a trader at the tier's cap keeps mmr' / imr' = mmr / imr
and every other trader's fractions scale by the walk. The price of it: on a
tiered market the initial fraction rises no faster than the maintenance one.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import WAD, wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, require, trade

KEEPER, WHALE = actor("regression keeper"), actor("regression whale")
RISE = wad("0.5")  # base mmr an hour


def _crank(p):
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)


def test_update_margins__calm_rounds_drop_the_imr__capped_whale_maintenance_rises_past_the_cap():
    p = deploy(18, pool_usd=3_000_000)
    with p.env.prank(OWNER):
        p.configurator.set_margin_tiers(ETH, wad(6))
    # dev: margin for the capped tier's 0.5 of notional (5.7M) once the walk reaches 2.25.
    p.fund_trader(WHALE, 7_000_000)
    trade(p, WHALE, ETH, 6000)  # tiered imr 0.1 + 6 * 6000 / 100000 = 0.46
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), RISE)
    publish(p, ETH, 2200)
    publish(p, ETH, 1900)  # target scale 3: imr 0.30 at once
    _crank(p)
    p.env.time_travel(9000)  # 2.5 h: the maintenance scale walks to 2.25
    publish(p, ETH, 1900)
    _crank(p)
    before = p.configurator.volatility_states(ETH)
    # dev: on a tiered market the imr scale follows the maintenance walk (the fix), both at 2.25 now.
    require(before.imr_scale == before.mmr_scale == wad("2.25"), "a volatile stretch behind")
    health = p.lens.account_health(WHALE)
    require(not p.lens.is_liquidatable(WHALE), "the whale is healthy before the calm rounds")

    for _ in range(16):  # calm rounds, one second apart, the price fixed at 1,900
        p.env.time_travel(1)
        publish(p, ETH, 1900)
    _crank(p)
    after = p.configurator.volatility_states(ETH)
    require(after.imr_scale == after.mmr_scale, "the imr scale follows the maintenance walk")
    require(after.mmr_scale - before.mmr_scale <= RISE * 20 // 3600, "the flat scale moves by seconds of the cap")
    maintenance = p.lens.account_health(WHALE).maintenance_req
    # Price and size fixed: the whale's maintenance may move only as the flat scale does.
    assert maintenance * before.mmr_scale <= health.maintenance_req * after.mmr_scale + WAD * WAD, (
        health.maintenance_req, maintenance)
    assert not p.lens.is_liquidatable(WHALE)


def test_update_margins__volatile_rounds_raise_the_imr__capped_whale_maintenance_falls():
    """The same ratio the other way: a volatility spike lowers the whale's
    maintenance. Base tier 0.46 / 0.23 (slope 6, 6,000 ETH); one volatile
    round trip and a crank put imr' at 0.30 (target 3) and mmr' at 0.05
    (the walk has not started), imr'(s) capped at 1: maintenance
    0.05 / 0.30 = 0.167 of notional, 2.76M -> 2.0M at the same price. Scaling
    must never lower a margin (issue 19); a whale gains room to withdraw or
    survive exactly when the market is most volatile."""
    p = deploy(18, pool_usd=3_000_000)
    with p.env.prank(OWNER):
        p.configurator.set_margin_tiers(ETH, wad(6))
    p.fund_trader(WHALE, 6_000_000)
    trade(p, WHALE, ETH, 6000)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), RISE)
    before = p.lens.account_health(WHALE).maintenance_req
    publish(p, ETH, 2200)
    publish(p, ETH, 2000)  # back at the same price: equity and notional as before
    _crank(p)
    st = p.configurator.volatility_states(ETH)
    # dev: the target is 3, but on a tiered market the imr follows the maintenance walk (the fix).
    require(st.imr_scale == st.mmr_scale < wad(3), "target 3, the imr scale on the walk")
    after = p.lens.account_health(WHALE).maintenance_req
    assert after >= before, (before, after)
