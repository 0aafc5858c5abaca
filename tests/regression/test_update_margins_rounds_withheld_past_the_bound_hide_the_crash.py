"""Rounds withheld past the crank's bound hide a crash.

Attack: `update_margins` folds at most the 16 newest rounds a call. Nobody
calls it through a slow crash of 30 rounds of -1.5% each (every round inside
the oracle's deviation guard); the first call then folds only the last 16.
Had it folded only round-to-round returns of those 16, the 14 skipped
rounds' fall (-19%) would be lost, and the margins would not tighten as the
crash starts, which is the feature's point.

Why it must fail: the first folded return is measured from the last price
folded (the price when the crank last ran), so the skipped rounds' move
counts, as one return: the margins tighten at least as much as a crank after
every round would have made them (here: to the cap at once for imr).
"""

from backstop.protocol.harness import actor
from backstop.units import WAD, wad
from tests.regression.helpers import ETH, OWNER, deploy, publish

KEEPER = actor("regression keeper")


def test_update_margins__thirty_rounds_unfolded__the_skipped_fall_still_scales_the_margins():
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    price = 2000.0
    for _ in range(30):
        price = round(price * 0.985, 4)
        publish(p, ETH, price)
        p.env.time_travel(30)
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    state = p.configurator.volatility_states(ETH)
    assert state.round_id == p.feeds[ETH].round_id()
    assert state.imr_scale == wad(3)  # a crank after every round: 1.5% returns only, scale ~1.47 by now
    assert p.configurator.effective_margins(ETH)[0] == wad("0.3")
    assert state.mmr_scale <= WAD + wad("0.5") * 30 * 30 // 3600  # maintenance still by the hourly cap
