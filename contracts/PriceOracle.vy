# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title PriceOracle
@notice One Chainlink-shaped feed per market, every answer validated, returned
        as a WAD price. Tracks the last good price of each market and guards a
        market whose price jumps more than its configured deviation in one round.
@dev A feed that fails any check never bricks exits: `try_prices` and `refresh`
     report it as invalid and hand back the last good price, so the engine can
     still let positions close; `price` reverts with the failed check's reason,
     which is what opening, withdrawing and liquidating use.
     Checks, in order: the call succeeds and returns 160 bytes; answer > 0;
     answer strictly inside the feed's (min, max) band (an aggregator pinned
     at its bound is not a real price); updatedAt != 0; answeredInRound >=
     roundId; updatedAt not in the future; updatedAt within the heartbeat.
"""

from snekmate.auth import ownable
from snekmate.auth import ownable_2step

from .modules import constants


interface AggregatorV3:
    def decimals() -> uint8: view

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


WAD: constant(uint256) = constants.WAD
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Highest WAD price a band may admit (10**18 USD). Bounding the band keeps
#      every in-band answer convertible to WAD and every product the engine
#      forms with it (size x price, change x WAD) far from overflow, so a wild
#      answer is a rejected read, never a revert that would brick exits.
MAX_PRICE: constant(uint256) = 10 ** 36

# @dev Longest heartbeat a packed feed word holds (136 years).
MAX_HEARTBEAT: constant(uint256) = 2 ** 32 - 1

ADDRESS_BITS: constant(uint256) = 2 ** 160 - 1
HALF_BITS: constant(uint256) = 2 ** 128 - 1

# Why a read failed; `price` turns each into its revert reason.
OK: constant(uint8) = 0
CALL_FAILED: constant(uint8) = 1
NON_POSITIVE: constant(uint8) = 2
OUT_OF_BAND: constant(uint8) = 3
INCOMPLETE_ROUND: constant(uint8) = 4
STALE_ROUND: constant(uint8) = 5
FUTURE_TIMESTAMP: constant(uint8) = 6
STALE_PRICE: constant(uint8) = 7


struct Feed:
    aggregator: address
    # Longest accepted age of an answer, seconds.
    heartbeat: uint256
    # Answers must lie strictly between these (feed units).
    min_answer: int256
    max_answer: int256
    # 10 ** (18 - feed decimals).
    scale: uint256
    # Largest move between two rounds (WAD fraction) before the market is guarded.
    max_deviation: uint256

struct LastPrice:
    price: uint256
    round_id: uint256
    updated_at: uint256

struct Read:
    price: uint256
    round_id: uint256
    updated_at: uint256
    status: uint8


# @dev Feed configuration per market id (the clearinghouse's market index),
#      packed so that a read touches two slots, not six (every priced call
#      reads it): aggregator (160 bits) | scale (64) | heartbeat (32).
feed_words: HashMap[uint256, uint256]

# @dev Per market: min_answer (128 bits) | max_answer (128), both positive
#      and below 10**36 (the band check in `set_feed`).
band_words: HashMap[uint256, uint256]

# @dev Per market: the largest move between two rounds (WAD) before the
#      market is guarded; only `refresh` reads it.
max_deviations: HashMap[uint256, uint256]

# @dev Last price that passed every check, per market, and its round.
last: public(HashMap[uint256, LastPrice])

# @dev Market guarded after a jump beyond its deviation: no new risk until
#      the next round confirms the level or the owner lifts the guard.
guarded: public(HashMap[uint256, bool])


event FeedSet:
    market: indexed(uint256)
    aggregator: indexed(address)
    heartbeat: uint256
    min_answer: int256
    max_answer: int256
    max_deviation: uint256

event PriceGuardRaised:
    market: indexed(uint256)
    previous_price: uint256
    price: uint256
    deviation: uint256

event PriceGuardLifted:
    market: indexed(uint256)
    price: uint256


@deploy
def __init__():
    ownable.__init__()
    ownable_2step.__init__()


@external
def set_feed(
    market: uint256,
    aggregator: address,
    heartbeat: uint256,
    min_answer: int256,
    max_answer: int256,
    max_deviation: uint256,
):
    """
    @notice Configure (or replace) the feed of `market`. The feed must answer a
            valid price now; that price becomes the market's last good price.
    @param market Market id, as listed by the clearinghouse.
    @param aggregator Chainlink-shaped feed (`latestRoundData`, `decimals`).
    @param heartbeat Longest accepted age of an answer, seconds.
    @param min_answer Answers at or below this (feed units) are rejected.
    @param max_answer Answers at or above this (feed units) are rejected;
           at most 10**18 USD in WAD ("Oracle: band too wide").
    @param max_deviation Largest accepted move between rounds, WAD fraction
           (0.2e18 = 20%); a larger jump guards the market.
    """
    ownable._check_owner()
    assert market < MAX_MARKETS, "Oracle: market id too large"
    assert aggregator != empty(address), "Oracle: zero address"
    assert heartbeat != 0, "Oracle: zero heartbeat"
    assert heartbeat <= MAX_HEARTBEAT, "Oracle: heartbeat too long"
    assert 0 < min_answer and min_answer < max_answer, "Oracle: bad band"
    assert max_deviation != 0 and max_deviation <= WAD, "Oracle: bad deviation"
    decimals: uint8 = staticcall AggregatorV3(aggregator).decimals()
    assert decimals <= 18, "Oracle: feed decimals > 18"
    scale: uint256 = 10 ** convert(18 - decimals, uint256)
    assert convert(max_answer, uint256) <= MAX_PRICE // scale, "Oracle: band too wide"
    # dev: every field is within its packed width: scale <= 10**18 < 2**64,
    #      heartbeat <= MAX_HEARTBEAT, 0 < min < max <= 10**36 < 2**128.
    self.feed_words[market] = convert(aggregator, uint256) | (scale << 160) | (heartbeat << 224)
    self.band_words[market] = convert(min_answer, uint256) | (convert(max_answer, uint256) << 128)
    self.max_deviations[market] = max_deviation
    r: Read = self._read(market)
    self._check(r.status)
    self.last[market] = LastPrice(price=r.price, round_id=r.round_id, updated_at=r.updated_at)
    self.guarded[market] = False
    log FeedSet(
        market=market,
        aggregator=aggregator,
        heartbeat=heartbeat,
        min_answer=min_answer,
        max_answer=max_answer,
        max_deviation=max_deviation,
    )


@external
def set_guard(market: uint256, guarded: bool):
    """
    @notice Raise or lift the guard of `market` by hand (owner).
    @dev A guard raised by hand follows the same rule as an automatic one: the
         next round within the deviation of the last good price lifts it.
    """
    ownable._check_owner()
    assert self._feed(market).aggregator != empty(address), "Oracle: unknown market"
    self.guarded[market] = guarded
    if guarded:
        log PriceGuardRaised(market=market, previous_price=self.last[market].price, price=self.last[market].price, deviation=0)
    else:
        log PriceGuardLifted(market=market, price=self.last[market].price)


@external
def refresh(market: uint256) -> (uint256, bool, bool):
    """
    @notice Read the feed of `market`, record a new valid round as the last good
            price, and raise or lift the deviation guard. Permissionless.
    @return (price, valid, guarded): the feed's price if it passed every check,
            else the last good price with `valid` False.
    """
    r: Read = self._read(market)
    guarded: bool = self.guarded[market]
    last: LastPrice = self.last[market]
    if r.status != OK:
        return (last.price, False, guarded)
    if r.updated_at > last.updated_at or (r.updated_at == last.updated_at and r.round_id != last.round_id):
        # dev: a newer round; compare it with the previous good one. An older
        #      round (a feed going backwards) is used but never recorded.
        deviation: uint256 = self._deviation(last.price, r.price)
        if deviation > self.max_deviations[market]:
            if not guarded:
                guarded = True
                self.guarded[market] = True
                log PriceGuardRaised(market=market, previous_price=last.price, price=r.price, deviation=deviation)
        elif guarded:
            guarded = False
            self.guarded[market] = False
            log PriceGuardLifted(market=market, price=r.price)
        self.last[market] = LastPrice(price=r.price, round_id=r.round_id, updated_at=r.updated_at)
    return (r.price, True, guarded)


@external
@view
def price(market: uint256) -> uint256:
    """
    @notice The validated WAD price of `market`; reverts with the failed check.
    """
    r: Read = self._read(market)
    self._check(r.status)
    return r.price


@external
@view
def try_price(market: uint256) -> (uint256, bool):
    """
    @notice The validated price of `market`, or its last good price and False.
    """
    r: Read = self._read(market)
    if r.status != OK:
        return (self.last[market].price, False)
    return (r.price, True)


@external
@view
def try_prices(mask: uint256) -> (uint256[MAX_MARKETS], uint256, uint256):
    """
    @notice Prices of every market whose bit is set in `mask`, in one call.
    @return (prices, valid_mask, guarded_mask): a market failing its checks
            gets its last good price and a clear bit in `valid_mask`; a set bit
            in `guarded_mask` marks a guarded market.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        r: Read = self._read(i)
        if r.status == OK:
            prices[i] = r.price
            valid |= 1 << i
        else:
            prices[i] = self.last[i].price
        if self.guarded[i]:
            guarded |= 1 << i
    return (prices, valid, guarded)


@external
@view
def status(market: uint256) -> uint8:
    """
    @notice Why the feed of `market` fails (0: it does not). Codes: 1 call
            failed, 2 non-positive, 3 outside band, 4 incomplete round,
            5 stale round, 6 future timestamp, 7 stale price.
    """
    return self._read(market).status


@external
@view
def feeds(market: uint256) -> Feed:
    """
    @notice The feed configuration of `market` (an empty aggregator: none).
    """
    return self._feed(market)


@internal
@view
def _feed(market: uint256) -> Feed:
    word: uint256 = self.feed_words[market]
    band: uint256 = self.band_words[market]
    return Feed(
        aggregator=convert(convert(word & ADDRESS_BITS, uint160), address),
        heartbeat=word >> 224,
        min_answer=convert(band & HALF_BITS, int256),
        max_answer=convert(band >> 128, int256),
        scale=(word >> 160) & (2 ** 64 - 1),
        max_deviation=self.max_deviations[market],
    )


@internal
@view
def _read(market: uint256) -> Read:
    word: uint256 = self.feed_words[market]
    band: uint256 = self.band_words[market]
    feed: Feed = Feed(
        aggregator=convert(convert(word & ADDRESS_BITS, uint160), address),
        heartbeat=word >> 224,
        min_answer=convert(band & HALF_BITS, int256),
        max_answer=convert(band >> 128, int256),
        scale=(word >> 160) & (2 ** 64 - 1),
        max_deviation=0,
    )
    assert feed.aggregator != empty(address), "Oracle: unknown market"
    # dev: a reverting or malformed feed is a status, not a revert, so that
    #      callers can fall back to the last good price for exits.
    success: bool = False
    response: Bytes[160] = b""
    success, response = raw_call(
        feed.aggregator,
        method_id("latestRoundData()"),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != 160:
        return Read(price=0, round_id=0, updated_at=0, status=CALL_FAILED)
    # dev: decoded as full words so an out-of-range uint80 cannot revert here.
    round_id: uint256 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint256 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        response, (uint256, int256, uint256, uint256, uint256)
    )
    status: uint8 = OK
    if answer <= 0:
        status = NON_POSITIVE
    elif answer <= feed.min_answer or answer >= feed.max_answer:
        status = OUT_OF_BAND
    elif updated_at == 0:
        status = INCOMPLETE_ROUND
    elif answered_in_round < round_id:
        status = STALE_ROUND
    elif updated_at > block.timestamp:
        status = FUTURE_TIMESTAMP
    elif block.timestamp - updated_at > feed.heartbeat:
        status = STALE_PRICE
    if status != OK:
        return Read(price=0, round_id=round_id, updated_at=updated_at, status=status)
    return Read(
        price=convert(answer, uint256) * feed.scale,
        round_id=round_id,
        updated_at=updated_at,
        status=OK,
    )


@internal
@pure
def _check(status: uint8):
    assert status != CALL_FAILED, "Oracle: feed call failed"
    assert status != NON_POSITIVE, "Oracle: non-positive price"
    assert status != OUT_OF_BAND, "Oracle: price outside band"
    assert status != INCOMPLETE_ROUND, "Oracle: incomplete round"
    assert status != STALE_ROUND, "Oracle: stale round"
    assert status != FUTURE_TIMESTAMP, "Oracle: future timestamp"
    assert status != STALE_PRICE, "Oracle: stale price"


@internal
@pure
def _deviation(previous: uint256, current: uint256) -> uint256:
    # dev: previous > 0 always: only validated (positive) prices are recorded.
    change: uint256 = current - previous if current >= previous else previous - current
    return change * WAD // previous

