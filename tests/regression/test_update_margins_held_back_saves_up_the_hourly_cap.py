"""Holding back the volatility crank saves up the maintenance cap.

Attack: with volatility-scaled margin on, the maintenance fraction may rise by
at most `mmr_rise_per_hour` of the base mmr an hour. A keeper (or anyone)
leaves `update_margins` uncalled through calm hours, then, right after a
volatile round, calls it: a cap measured from the last call to now would let
the whole idle time's allowance through at once (the mmr jumping to its
target), and the keeper liquidates, for its rewards, accounts the cap was
there to give time. Margin scaling itself would cause the cascade.

Why it must fail (issue 19: "existing positions feel it only through
maintenance, within a configured cap per hour"; I8: at fixed prices no actor
profits by choosing when to call): the maintenance scale walks towards the
target each round sets from that round's `updatedAt`, so the calm hours walk
it towards the calm target (1), and the volatile round's target only counts
from the time the round was published.

Found by hand while building it (the design's "seconds since the last update").
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import WAD, wad
from tests.regression.helpers import ETH, OWNER, deploy, publish

KEEPER = actor("regression keeper")
RISE = wad("0.5")  # base mmr an hour


@pytest.mark.parametrize("idle_hours", [0, 10])
def test_update_margins__after_idle_calm_hours__mmr_rises_only_from_the_volatile_round(idle_hours):
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), RISE)
    p.env.time_travel(idle_hours * 3600)
    publish(p, ETH, 2400)  # +20%: target scale 3, imr 0.30 at once
    p.env.time_travel(60)
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    state = p.configurator.volatility_states(ETH)
    assert state.imr_scale == wad(3)
    # One minute of the cap, however long the crank was held back before the round.
    assert state.mmr_scale == WAD + RISE * 60 // 3600
    assert tuple(p.configurator.effective_margins(ETH))[:2] == (wad("0.3"), -(-wad("0.05") * state.mmr_scale // WAD))
