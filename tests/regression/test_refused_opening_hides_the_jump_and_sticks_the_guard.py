"""A refused opening hides the jump that refused it, and the guard sticks
(found by running the protocol against a severe crash, as a new user would).

Attack (on liveness): the feed jumps 30%; a trader's opening calls
`PriceOracle.refresh`, which records the jump and raises the guard, and then
reverts "market guarded", taking the record with it. The jump is never
recorded, so every later round is compared with the pre-jump price: openings
were refused after 1, 2 and 3 rounds at the new level while
`oracle.guarded(0)` read False; in a -60% crash on a thin book the market
stayed guarded for 31 of 41 steps.

Why it must fail (SPEC 4): the guarded state is a function of the feed's
rounds, the same for every caller and path, and a refused call cannot hide
it; it lifts after the configured confirmation (one round at the new level
here, or 900 s) with no one having to trade.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, publish, reverts_with

TRADER = actor("regression trader")
ONE_ETH = 10**18


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_opening__after_a_refused_one__allowed_once_a_round_confirms_the_level(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 10_000)
    publish(p, ETH, 1_400)  # -30%
    assert p.oracle.guarded(ETH)
    assert reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, ONE_ETH, 0)
    publish(p, ETH, 1_410)  # one round at the new level: the configured confirmation
    assert not p.oracle.guarded(ETH), "the view says the guard is still up after its confirmation"
    assert not reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, ONE_ETH, 0), \
        "an opening was refused after a round at the new level, while the guard should have lifted"


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_opening__after_a_refused_one__allowed_once_the_confirm_seconds_pass(decimals, feed_decimals):
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 10_000)
    publish(p, ETH, 2_600)  # +30%
    assert reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, ONE_ETH, 0)
    p.env.time_travel(p.oracle.feeds(ETH).confirm_seconds)
    assert not p.oracle.guarded(ETH)
    assert not reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, ONE_ETH, 0), \
        "an opening was refused after the guard's confirmation time, with no round since the jump"


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_guard__every_path_agrees_with_the_view_round_by_round(decimals, feed_decimals):
    # dev: the jump, two refused openings, three calm rounds: at each step the
    #      trade's refusal is exactly what `oracle.guarded` says
    p = deploy(decimals, feed_decimals)
    p.fund_trader(TRADER, 10_000)
    for usd in (1_400, None, 1_390, 1_395, 1_401):
        if usd is not None:
            publish(p, ETH, usd)
        guarded = p.oracle.guarded(ETH)
        refused = reverts_with(p, TRADER, "market guarded", p.engine.trade, ETH, ONE_ETH, 0)
        assert refused == guarded, f"at {usd}: the view says guarded={guarded}, the trade was refused={refused}"
