"""A new feed with a shorter heartbeat keeps a stable window longer than it.

Attack (an owner's routine call, then every liquidation of the market):
`set_stable_mark` refuses a window beyond the feed's heartbeat ("a window
beyond the heartbeat would outlive the answer it follows"), but `set_feed`
keeps the market's stable mark as it was (issue 19: "a new feed keeps the
market's stable mark") without checking it against the new heartbeat. Set a
one-hour window on a one-hour feed, move the market to a feed with a
ten-minute heartbeat, and the market holds accounts on a mark that follows a
move in full only after an hour: six of the feed's heartbeats, a pair of
settings its own setter refuses.

Why it must fail (SPEC 4 and the Configurator's rule for its caps, as in
test_stable_window_beyond_chain_time_bricks_liquidation_batches.py): a bad
value fails in its setter; the window <= heartbeat bound that
`set_stable_mark` enforces must hold whichever setter ran last.

Found by the stable-mark review (stable-review): reading set_feed's carried
STABLE_BITS against set_stable_mark's asserts.

Fixed: `set_feed` refuses a heartbeat below the kept window ("Oracle: bad
stable window"): set the window first, then the feed.
"""

import pytest

from backstop.protocol.harness import HEARTBEAT
from backstop.chain.revm_chain import Reverted
from tests.regression.helpers import ETH, deploy, require

RATE = 10_000


def test_set_feed__shorter_heartbeat__stable_window_within_it():
    p = deploy(18)
    feed = p.oracle.feeds(ETH)
    require(feed.heartbeat == HEARTBEAT, "the harness feed's heartbeat")
    with p.env.prank(p.owner):
        p.oracle.set_stable_mark(ETH, RATE, HEARTBEAT)
    short = HEARTBEAT // 6
    with p.env.prank(p.owner), pytest.raises(Reverted, match="Oracle: bad stable window"):
        p.oracle.set_feed(ETH, feed.aggregator, short, feed.min_answer, feed.max_answer, feed.max_deviation,
                          feed.confirm_rounds, min(feed.confirm_seconds, short))
    after = p.oracle.feeds(ETH)
    assert after.heartbeat == HEARTBEAT and after.stable_window == HEARTBEAT
    # dev: the order that works: the window first, then the feed.
    with p.env.prank(p.owner):
        p.oracle.set_stable_mark(ETH, RATE, short)
        p.oracle.set_feed(ETH, feed.aggregator, short, feed.min_answer, feed.max_answer, feed.max_deviation,
                          feed.confirm_rounds, min(feed.confirm_seconds, short))
    assert p.oracle.feeds(ETH).stable_window == p.oracle.feeds(ETH).heartbeat == short
