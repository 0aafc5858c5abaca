"""PriceOracle fixtures: an oracle with one 8-decimal ETH feed, and feed factories.

Market ids: ETH = 0 is configured by the `oracle` fixture; other ids are free for
tests to configure with `add_market`. The ETH band is (1 USD, 1,000,000 USD) in
feed units and its max deviation 25%; tests read them back from `oracle.feeds(ETH)`.

`oracle.get_logs()` returns the logs of the oracle's last computation, and any
call (views included) replaces it: read logs straight after the transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass

import boa
import pytest

from backstop.protocol.harness import FEED_DECIMALS, HEARTBEAT, feed_answer
from backstop.units import wad
from backstop.protocol.harness import actor

ETH = 0
ETH_PRICE = 2_000

# A feed that answers `latestRoundData` with a valid round (mode 0), a 64-byte
# short answer (mode 1), or nothing at all (mode 2). Raw returns so that the
# oracle sees exactly these bytes.
MALFORMED_FEED = """
# pragma version 0.4.3
# pragma evm-version cancun

ANSWER: constant(int256) = 2000 * 10 ** 8

mode: public(uint8)

@external
@view
def decimals() -> uint8:
    return 8

@external
@view
@raw_return
def latestRoundData() -> Bytes[160]:
    if self.mode == 1:
        return abi_encode(convert(1, uint256), ANSWER)
    if self.mode == 2:
        return b""
    return abi_encode(
        convert(1, uint256), ANSWER, block.timestamp, block.timestamp, convert(1, uint256)
    )

@external
def set_mode(mode_: uint8):
    self.mode = mode_
"""


@pytest.fixture(scope="session")
def malformed_feed_deployer():
    return boa.loads_partial(MALFORMED_FEED, name="MalformedFeed")


@pytest.fixture
def new_feed(contracts):
    """Factory: a MockAggregator with `decimals` answering `answer` (feed units) now."""

    def _new_feed(decimals: int = FEED_DECIMALS, answer: int = feed_answer(ETH_PRICE), name: str = "ETH / USD"):
        return contracts["MockAggregator"].deploy(decimals, name, answer)

    return _new_feed


@pytest.fixture
def feed(new_feed):
    """The ETH feed: 8 decimals, answering 2,000 USD."""
    return new_feed()


@pytest.fixture
def oracle(contracts, owner, feed):
    """An oracle deployed by the owner, with the ETH feed on market 0.

    Deployed at its own address: titanoboa keeps storage-write traces per address
    across test snapshots and, on a revert, decodes them with the layout of the
    contract now at that address; a HashMap-heavy contract deployed at the same
    (owner, nonce) address by another test module breaks that decoding.
    """
    with boa.env.prank(owner):
        oracle = contracts["PriceOracle"].deploy(override_address=actor("price_oracle"))
        oracle.set_feed(ETH, feed.address, HEARTBEAT, feed_answer(1), feed_answer(1_000_000), wad("0.25"))
    return oracle


@pytest.fixture
def add_market(oracle, owner):
    """Factory: configure `aggregator` as the feed of `market` (owner), return it."""

    def _add_market(
        market: int,
        aggregator,
        heartbeat: int = HEARTBEAT,
        min_answer: int | None = None,
        max_answer: int | None = None,
        max_deviation: int = wad("0.25"),
    ):
        decimals = aggregator.decimals()
        min_answer = 1 if min_answer is None else min_answer
        max_answer = 10**6 * 10**decimals if max_answer is None else max_answer
        with boa.env.prank(owner):
            oracle.set_feed(market, aggregator.address, heartbeat, min_answer, max_answer, max_deviation)
        return aggregator

    return _add_market


@pytest.fixture
def malformed_feed(malformed_feed_deployer, add_market):
    """A feed on market 1 that answers well until told to return malformed data."""
    return add_market(1, malformed_feed_deployer.deploy())


# How the ETH feed can fail: (id, status code, revert reason of `price`, how to break it).
# Each break first publishes a new answer (2,100 USD) where it can, so that
# which answer the fallback takes is visible (`Failure.last_valid_usd`).
def _now() -> int:
    return boa.env.evm.patch.timestamp


FAILURES = [
    ("reverting", 1, "Oracle: feed call failed", lambda f, band: (f.set_answer(feed_answer(2_100)), f.set_reverting(True))),
    ("zero", 2, "Oracle: non-positive price", lambda f, band: f.set_answer(0)),
    ("negative", 2, "Oracle: non-positive price", lambda f, band: f.set_answer(-feed_answer(2_100))),
    ("at_min", 3, "Oracle: price outside band", lambda f, band: f.set_answer(band.min_answer)),
    ("at_max", 3, "Oracle: price outside band", lambda f, band: f.set_answer(band.max_answer)),
    ("below_min", 3, "Oracle: price outside band", lambda f, band: f.set_answer(band.min_answer - 1)),
    ("above_max", 3, "Oracle: price outside band", lambda f, band: f.set_answer(band.max_answer + 1)),
    ("incomplete", 4, "Oracle: incomplete round", lambda f, band: f.set_round_data(2, feed_answer(2_100), _now(), 0, 2)),
    ("stale_round", 5, "Oracle: stale round", lambda f, band: f.set_round_data(3, feed_answer(2_100), _now(), _now(), 2)),
    ("future", 6, "Oracle: future timestamp", lambda f, band: f.set_round_data(2, feed_answer(2_100), _now(), _now() + 1, 2)),
    (
        "stale_price",
        7,
        "Oracle: stale price",
        lambda f, band: (f.set_answer(feed_answer(2_100)), boa.env.time_travel(seconds=HEARTBEAT + 1)),
    ),
]


@dataclass(frozen=True)
class Failure:
    name: str
    status: int
    reason: str
    break_feed: Callable[[], object]

    def last_valid_usd(self, before_usd: int) -> int:
        """The feed's last valid answer after the break, in USD: a stale answer
        (2,100) as it stands; else the round before the break (`before_usd`):
        every other break leaves an invalid round on top of it, or a feed that
        cannot be read at all, whose fallback is the price recorded before."""
        return 2_100 if self.name == "stale_price" else before_usd


@pytest.fixture(params=FAILURES, ids=[f[0] for f in FAILURES])
def failure(request, oracle, feed):
    """Each way the ETH feed can fail; call `failure.break_feed()` to apply it."""
    name, status, reason, make = request.param
    band = oracle.feeds(ETH)
    return Failure(name, status, reason, lambda: make(feed, band))
