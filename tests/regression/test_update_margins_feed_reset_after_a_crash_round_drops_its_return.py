"""A feed reset between a crash round and the crank drops the crash's return.

Attack: `_update`, on a new baseline (any `set_feed` on the market: a new
aggregator, or the same one with a new heartbeat or band), restarts the walk
at the baseline round and takes the baseline's own price as the last price
folded (`st.price = price`). The move from the last price folded to the
baseline is never folded. A crash round (2,000 -> 1,600, -20%, inside the
25% deviation guard) followed, before the next crank, by a routine `set_feed`
(here the same aggregator and parameters; a Chainlink aggregator migration
does the same) makes the crash round the baseline: the crank then folds
nothing, the EWMA stays 0 and the margins stay at the base (target 1) where a
crank a block earlier scales them to the cap (target 3, imr 0.30). Whoever
sees the reset in the mempool opens at 0.10 imr into the crash, and the
maintenance walk that should start from the crash round never starts.

Why it must fail (issue 19, DESIGN 3: "the first folded return then measured
from the last price folded, so a skipped move still counts, as one return";
"the result is a function of the rounds and the time, not of who calls when"):
the margins after the reset depend on whether a crank landed between the
crash round and the owner's call.

Found by review (vol-review), reading `_update`'s baseline branch.

Fixed: on a baseline change the new feed's baseline round is folded as the
next return from the last price folded (`Configurator._update`, `_fold`).
"""

import pytest

from backstop.protocol.harness import HEARTBEAT, actor
from backstop.units import wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, require

KEEPER = actor("regression keeper")


def _run(crank_first: bool):
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    publish(p, ETH, 1600)  # -20%: one return of 0.2, ewma 0.004, target 3
    p.env.time_travel(12)
    if crank_first:
        with p.env.prank(KEEPER):
            p.configurator.update_margins(ETH)
    feed = p.oracle.feeds(ETH)
    with p.env.prank(OWNER):  # a routine reset of the same feed
        p.oracle.set_feed(ETH, feed.aggregator, HEARTBEAT, feed.min_answer, feed.max_answer, feed.max_deviation,
                          feed.confirm_rounds, feed.confirm_seconds)
    p.env.time_travel(12)
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    return p.configurator.volatility_states(ETH), tuple(p.configurator.effective_margins(ETH))


def test_update_margins__set_feed_between_crash_round_and_crank__the_crash_still_scales_the_margins():
    cranked, cranked_margins = _run(crank_first=True)
    require(cranked.imr_scale == wad(3) and cranked_margins[0] == wad("0.3"), "a crank before the reset scales")
    reset, reset_margins = _run(crank_first=False)
    assert reset.ewma == cranked.ewma, (reset.ewma, cranked.ewma)
    assert reset_margins[0] == cranked_margins[0], (reset_margins, cranked_margins)
