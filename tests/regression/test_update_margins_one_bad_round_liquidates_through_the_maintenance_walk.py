"""One bad round liquidates healthy accounts through the volatility scaling.

Attack: the stable mark is there so that "one bad or manipulated round
liquidates nobody" (README, the stable mark). With volatility-scaled margin
on the same market, `update_margins` folds every round that passes the
answer checks, the bad one too: a single misprint at 1,000 (-50%, the
issue's wording) and the round after it back at 2,000 fold returns of 0.5
and 1.0, the EWMA jumps to 0.12 (sqrt 0.35, 35x vol_ref), and the target
sits at the max scale (3) for some 50 rounds. The maintenance scale then
walks up by the hourly cap at the true, unchanged price, and in three hours
maintenance is 12.5% of notional (EWMA still 0.089): a trader at 11.85%
equity (healthy at 5%, held by the stable mark through the bad round
itself) is liquidatable at 2,000 three hours later, for the keeper's reward. Anyone who can get one bad
round into a feed (or a feed that misprints once) triggers, hours later,
what the stable mark was built to refuse; the keeper just cranks.

Why it must fail (README, the stable mark: "one bad or manipulated round
liquidates nobody, while a fall that stands is liquidated"; issue 19's
bad-round scenario; SPEC 4: a price that fails the deviation check is not a
price to act on): the bad round never stood, the price never moved, and the
account is liquidated only through the margin scaling's reading of that round.

Found by review (vol-review): the EWMA folds `round_price`, which checks an
answer but not its deviation.

Suggested fix: fold a jump round's return only once it is confirmed (the
next round stays within max_deviation of it): a jump-and-back (p, q, p with
|q/p - 1| > max_deviation) folds as one return p -> p, i.e. pass over a round
whose return beyond max_deviation is undone by the next; at least cap each
folded return at the feed's max_deviation (MAX_RETURN = 100x lets one
misprint count as 10,000 calm rounds).
Open (xfail, strict): folding only confirmed rounds (or measuring the
returns on the stable mark) changes the EWMA's definition and its exact
figures; left for the next change. Until then the hourly cap bounds how fast a
bad round's volatility reaches maintenance, and an operator with a stable mark
can lower `vol_mmr_rise_per_hour`.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, require, trade

KEEPER, TRADER = actor("regression keeper"), actor("regression trader")


def _crank(p):
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)


@pytest.mark.xfail(strict=True, reason="the EWMA folds a bad round's returns: the maintenance walk liquidates later")
def test_one_misprinted_round__stable_mark_on__no_liquidation_hours_later_at_the_same_price():
    p = deploy(18)
    p.fund_trader(TRADER, 24_000)
    trade(p, TRADER, ETH, 100)  # 200k notional at 2,000: equity ~23.7k, 11.85%
    with p.env.prank(OWNER):
        p.oracle.set_stable_mark(ETH, 1_000_000, 600)  # 0.1%/s, in full after 10 min
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5"))
    p.env.time_travel(60)
    publish(p, ETH, 1000)  # one bad round
    _crank(p)
    require(not p.lens.is_liquidatable(TRADER), "the stable mark holds the trader through the bad round")
    p.env.time_travel(12)
    publish(p, ETH, 2000)  # back at once
    _crank(p)
    liquidatable_after = None
    for hour in range(1, 7):
        p.env.time_travel(3600 - 12 if hour == 1 else 3600)
        publish(p, ETH, 2000)  # the feed's hourly heartbeat: the price never moved
        _crank(p)
        if p.lens.is_liquidatable(TRADER):
            liquidatable_after = hour
            break
    assert liquidatable_after is None, (
        f"liquidatable {liquidatable_after} h after one bad round, at the same price: "
        f"{p.lens.account_health(TRADER)} {p.configurator.volatility_states(ETH)}")
