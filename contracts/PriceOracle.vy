# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title PriceOracle
@notice One Chainlink-shaped feed per market, every answer validated, returned
        as a WAD price, and a deviation guard per market that is a function of
        the feed's rounds alone: the same for every caller, every path and
        every view, whether or not anyone wrote to the oracle.
@dev A feed that fails any check never bricks exits: `try_prices` and
     `refresh` report it as invalid and hand back the feed's last valid
     answer (a stale answer as it stands, else the newest earlier round that
     passes the checks, else the last price recorded here), so the engine can
     still let positions close; `price` reverts with the failed check's
     reason, which is what opening, withdrawing and liquidating use.
     Checks, in order: the call succeeds and returns 160 bytes; answer > 0;
     answer strictly inside the feed's (min, max) band (an aggregator pinned
     at its bound is not a real price); updatedAt != 0; answeredInRound >=
     roundId; updatedAt not in the future; updatedAt within the heartbeat.

     The guard: a round more than `max_deviation` away from the round before
     it (read with `getRoundData(roundId - 1)`) guards the market until
     `confirm_rounds` rounds have followed it or `confirm_seconds` have passed
     since its `updatedAt`, whichever comes first. A round whose predecessor
     cannot be read as a valid price (a new phase, a feed without history)
     counts as a jump: the guard then lifts by the same confirmation. The
     round `set_feed` was configured at is the baseline: it is never a jump,
     and the rounds before it are never read. Nothing
     is stored for it, so a reverted call cannot hide a jump and no one has to
     trade for the guard to lift. The owner can also hold a market guarded by
     hand (`set_guard`), until the owner lifts it.

     The stable mark (issue 19, Mango v4's stable-price growth limit): what
     decides liquidatability follows the feed at most `stable_rate` (a
     fraction of itself) per second, so one bad or manipulated round cannot
     liquidate, while a real crash does within `stable_window` seconds at the
     latest. Like the guard it is a function of the feed's rounds alone: the
     tracker starts at the newest round that stood a whole window until the
     next one (the mark was exactly its answer then) or, with none among the
     STABLE_ROUNDS newest (nor before the baseline or an unreadable
     predecessor), at the median of those read, which no single bad round can
     be; and walks forward to now, moving towards each round's answer for as
     long as that answer stood. Trades, exits and the closes themselves use
     the oracle price.
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

# @dev Most rounds a guard may wait for: each is one `getRoundData` call on
#      every priced read within `confirm_seconds` of a round, so the bound
#      bounds the gas of every path.
MAX_CONFIRM_ROUNDS: constant(uint256) = 8

# @dev Earlier rounds searched for the feed's last valid answer when the
#      latest one fails a check other than its age.
FALLBACK_ROUNDS: constant(uint256) = 3

# @dev Most rounds the stable mark walks back (one `getRoundData` call each,
#      only while none of them stood a whole `stable_window`): a burst of more
#      rounds than this within the window starts at the median of them.
STABLE_ROUNDS: constant(uint256) = 8

# @dev `stable_rate` unit: a billionth of the price per second (32 bits: up to 4.29 a second).
RATE_UNIT: constant(uint256) = 10 ** 9
MAX_STABLE_RATE: constant(uint256) = 2 ** 32 - 1

ADDRESS_BITS: constant(uint256) = 2 ** 160 - 1
HALF_BITS: constant(uint256) = 2 ** 128 - 1
WORD_BITS: constant(uint256) = 2 ** 64 - 1
HELD_BIT: constant(uint256) = 1 << 255
# @dev The stable mark's two fields in a guard word: rate at bit 184, window at 216.
STABLE_BITS: constant(uint256) = (2 ** 64 - 1) << 184
# @dev Set in a feed word when the market's stable mark is on: a read of a
#      market without one never touches the guard word (a cold slot a liquidation
#      would pay for). The scale below it is at most 10**18 < 2**60.
STABLE_ON_BIT: constant(uint256) = 1 << 223
SCALE_BITS: constant(uint256) = 2 ** 60 - 1

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
    # A guard lifts after this many rounds follow the jump...
    confirm_rounds: uint256
    # ... or this many seconds after the jump round's updatedAt.
    confirm_seconds: uint256
    # The round the feed was configured at: never a jump.
    baseline_round: uint256
    # The stable mark follows the feed at most this many billionths of itself per second (0: off)...
    stable_rate: uint256
    # ... and any move in full once it has stood this many seconds.
    stable_window: uint256

struct LastPrice:
    price: uint256
    round_id: uint256
    updated_at: uint256

struct Read:
    price: uint256
    round_id: uint256
    updated_at: uint256
    status: uint8

struct Guard:
    guarded: bool
    # The jump that guards the market (0s when none, or held by hand).
    previous_price: uint256
    price: uint256
    deviation: uint256


# @dev Feed configuration per market id (the clearinghouse's market index),
#      packed so that a read touches two slots, not six (every priced call
#      reads it): aggregator (160 bits) | scale (63) | stable mark on (1) |
#      heartbeat (32).
feed_words: HashMap[uint256, uint256]

# @dev Per market: min_answer (128 bits) | max_answer (128), both positive
#      and below 10**36 (the band check in `set_feed`).
band_words: HashMap[uint256, uint256]

# @dev Per market: max_deviation (64 bits, WAD <= 10**18) | confirm_rounds
#      (8) | confirm_seconds (32) | baseline round (80) | stable_rate (32) |
#      stable_window (32) | ... | held by hand (the top bit): a guarded read
#      touches this one slot for all of them.
guard_words: HashMap[uint256, uint256]

# @dev Last valid price recorded by `refresh` (or `set_feed`), per market, and
#      its round: the fallback for exits when the feed cannot be read at all.
last: public(HashMap[uint256, LastPrice])

# @dev The guard as `refresh` last logged it: only to log each raise and lift
#      once; `guarded` never reads it.
logged_guard: HashMap[uint256, bool]


event FeedSet:
    market: indexed(uint256)
    aggregator: indexed(address)
    heartbeat: uint256
    min_answer: int256
    max_answer: int256
    max_deviation: uint256
    confirm_rounds: uint256
    confirm_seconds: uint256

event PriceGuardRaised:
    market: indexed(uint256)
    previous_price: uint256
    price: uint256
    deviation: uint256

event PriceGuardLifted:
    market: indexed(uint256)
    price: uint256

event StableMarkSet:
    market: indexed(uint256)
    rate: uint256
    window: uint256


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
    confirm_rounds: uint256 = 1,
    confirm_seconds: uint256 = 900,
):
    """
    @notice Configure (or replace) the feed of `market`. The feed must answer a
            valid price now; that price becomes the market's last good price.
    @param market Market id, as listed by the clearinghouse.
    @param aggregator Chainlink-shaped feed (`latestRoundData`,
           `getRoundData`, `decimals`).
    @param heartbeat Longest accepted age of an answer, seconds.
    @param min_answer Answers at or below this (feed units) are rejected.
    @param max_answer Answers at or above this (feed units) are rejected;
           at most 10**18 USD in WAD ("Oracle: band too wide").
    @param max_deviation Largest accepted move between rounds, WAD fraction
           (0.2e18 = 20%); a larger jump guards the market.
    @param confirm_rounds Rounds after a jump that lift its guard (1 to 8).
    @param confirm_seconds Seconds after a jump's round that lift its guard
           (at least 1, at most the heartbeat).
    """
    ownable._check_owner()
    assert market < MAX_MARKETS, "Oracle: market id too large"
    assert aggregator != empty(address), "Oracle: zero address"
    assert heartbeat != 0, "Oracle: zero heartbeat"
    assert heartbeat <= MAX_HEARTBEAT, "Oracle: heartbeat too long"
    assert 0 < min_answer and min_answer < max_answer, "Oracle: bad band"
    assert max_deviation != 0 and max_deviation <= WAD, "Oracle: bad deviation"
    assert confirm_rounds != 0 and confirm_rounds <= MAX_CONFIRM_ROUNDS, "Oracle: bad confirm rounds"
    # dev: a confirmation longer than the heartbeat would outlive the jump
    #      round itself; zero would never guard.
    assert confirm_seconds != 0 and confirm_seconds <= heartbeat, "Oracle: bad confirm seconds"
    # dev: the market's stable mark is kept, so its window must fit the new
    #      heartbeat as `set_stable_mark` requires (set it first, then the feed).
    assert (self.guard_words[market] >> 216) & (2 ** 32 - 1) <= heartbeat, "Oracle: bad stable window"
    decimals: uint8 = staticcall AggregatorV3(aggregator).decimals()
    assert decimals <= 18, "Oracle: feed decimals > 18"
    scale: uint256 = 10 ** convert(18 - decimals, uint256)
    assert convert(max_answer, uint256) <= MAX_PRICE // scale, "Oracle: band too wide"
    # dev: every field is within its packed width: scale <= 10**18 < 2**64,
    #      heartbeat <= MAX_HEARTBEAT, 0 < min < max <= 10**36 < 2**128,
    #      max_deviation <= 10**18 < 2**64, confirm_seconds <= heartbeat.
    self.feed_words[market] = (
        convert(aggregator, uint256) | (scale << 160) | (self.feed_words[market] & STABLE_ON_BIT) | (heartbeat << 224)
    )
    self.band_words[market] = convert(min_answer, uint256) | (convert(max_answer, uint256) << 128)
    r: Read = self._read(market)
    self._check(r.status)
    assert r.round_id <= convert(max_value(uint80), uint256), "Oracle: round id too large"
    # dev: the round read now is the baseline the guard never walks past.
    # dev: a new feed keeps the market's stable mark (set apart, by `set_stable_mark`).
    self.guard_words[market] = (
        max_deviation | (confirm_rounds << 64) | (confirm_seconds << 72) | (r.round_id << 104)
        | (self.guard_words[market] & STABLE_BITS)
    )
    self.last[market] = LastPrice(price=r.price, round_id=r.round_id, updated_at=r.updated_at)
    self.logged_guard[market] = self._guard(market, r).guarded
    log FeedSet(
        market=market,
        aggregator=aggregator,
        heartbeat=heartbeat,
        min_answer=min_answer,
        max_answer=max_answer,
        max_deviation=max_deviation,
        confirm_rounds=confirm_rounds,
        confirm_seconds=confirm_seconds,
    )


@external
def set_guard(market: uint256, guarded: bool):
    """
    @notice Hold `market` guarded by hand (owner), or release that hold.
    @dev A hold lasts until the owner releases it; releasing it does not lift a
         guard the feed's rounds raise (no one can).
    """
    ownable._check_owner()
    assert self.feed_words[market] != 0, "Oracle: unknown market"
    word: uint256 = self.guard_words[market]
    self.guard_words[market] = word | HELD_BIT if guarded else word & ~HELD_BIT
    if guarded:
        log PriceGuardRaised(market=market, previous_price=self.last[market].price, price=self.last[market].price, deviation=0)
    else:
        log PriceGuardLifted(market=market, price=self.last[market].price)


@external
def set_stable_mark(market: uint256, rate: uint256, window: uint256):
    """
    @notice The stable mark of `market` (owner): what decides liquidatability
            follows the feed at most `rate` billionths of itself per second,
            and in full once a move has stood `window` seconds; rate 0 turns
            it off (liquidatability at the oracle price alone).
    @dev Takes effect at once, in both directions: raising the rate or
         shortening the window can make accounts liquidatable, as the
         oracle price already says they are.
    @param rate Billionths of the price per second (1 to 2**32 - 1), or 0.
    @param window Seconds, at most the heartbeat; at least 1 with a rate
           (without one it is kept but unused, so a sweep can vary the rate alone).
    """
    ownable._check_owner()
    word: uint256 = self.guard_words[market]
    assert self.feed_words[market] != 0, "Oracle: unknown market"
    assert rate <= MAX_STABLE_RATE, "Oracle: stable rate too high"
    # dev: a window beyond the heartbeat would outlive the answer it follows;
    #      no window would follow every move at once (the mark, unprotected).
    assert (rate == 0 or window != 0) and window <= self.feed_words[market] >> 224, "Oracle: bad stable window"
    self.guard_words[market] = (word & ~STABLE_BITS) | (rate << 184) | (window << 216)
    feed_word: uint256 = self.feed_words[market] & ~STABLE_ON_BIT
    self.feed_words[market] = feed_word | STABLE_ON_BIT if rate != 0 else feed_word
    log StableMarkSet(market=market, rate=rate, window=window)


@external
def refresh(market: uint256) -> (uint256, bool, bool):
    """
    @notice Read the feed of `market`, record a new valid round as the last good
            price, and log the guard's raises and lifts. Permissionless: a
            keeper may call it only for the events; the guard itself does not
            depend on it.
    @return (price, valid, guarded): the feed's price if it passed every check,
            else its last valid answer with `valid` False; and the guard.
    """
    r: Read = self._read(market)
    if r.status != OK:
        return (self._fallback(market, r), False, self._held(market))
    g: Guard = self._guard(market, r)
    if g.guarded != self.logged_guard[market]:
        self.logged_guard[market] = g.guarded
        if g.guarded:
            log PriceGuardRaised(market=market, previous_price=g.previous_price, price=g.price, deviation=g.deviation)
        else:
            log PriceGuardLifted(market=market, price=r.price)
    last: LastPrice = self.last[market]
    if r.updated_at > last.updated_at or (r.updated_at == last.updated_at and r.round_id != last.round_id):
        # dev: an older round (a feed going backwards) is used but never recorded.
        self.last[market] = LastPrice(price=r.price, round_id=r.round_id, updated_at=r.updated_at)
    return (r.price, True, g.guarded)


@external
@view
def guarded(market: uint256) -> bool:
    """
    @notice Whether `market` is guarded now: its latest valid round (or one of
            the `confirm_rounds - 1` before it) moved more than `max_deviation`
            from its predecessor less than `confirm_seconds` ago, or the owner
            holds it. A market whose feed fails its checks reports only the
            hold: its price is refused for risk anyway.
    """
    r: Read = self._read(market)
    if r.status != OK:
        return self._held(market)
    return self._guard(market, r).guarded


@external
@view
def held(market: uint256) -> bool:
    """
    @notice Whether the owner holds `market` guarded by hand (`set_guard`).
    """
    return self._held(market)


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
    @notice The validated price of `market`, or the feed's last valid answer and False.
    """
    r: Read = self._read(market)
    if r.status != OK:
        return (self._fallback(market, r), False)
    return (r.price, True)


@external
@view
def try_prices(mask: uint256) -> (uint256[MAX_MARKETS], uint256, uint256):
    """
    @notice Prices of every market whose bit is set in `mask`, in one call.
    @return (prices, valid_mask, guarded_mask): a market failing its checks
            gets the feed's last valid answer and a clear bit in `valid_mask`;
            a set bit in `guarded_mask` marks a guarded market (`guarded`).
    """
    return self._prices(mask, True)


@external
@view
def valid_prices(mask: uint256) -> (uint256[MAX_MARKETS], uint256):
    """
    @notice `try_prices` without the guard, for what never depends on it
            (liquidations, auto-deleveraging, valuations): it saves reading
            the rounds before the latest.
    @return (prices, valid_mask), as `try_prices`.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = self._prices(mask, False)
    return (prices, valid)


@external
@view
def liquidation_prices(mask: uint256) -> (uint256[MAX_MARKETS], uint256, uint256[MAX_MARKETS], uint256):
    """
    @notice What a liquidation needs of every market in `mask`, in one call:
            `valid_prices`, and the stable mark beside it.
    @return (prices, valid_mask, stable, lagging_mask): `stable` is each
            valid market's stable mark (`stable_price`) and, elsewhere, the
            same price as `prices`; a set bit in `lagging_mask` marks a market
            whose stable mark differs from its price now. An account is
            liquidatable only if it is so at `prices` and, where it holds a
            lagging market, at `stable` too.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    lagging: uint256 = 0
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        r: Read = self._read(i)
        if r.status == OK:
            prices[i] = r.price
            valid |= 1 << i
            stable[i] = self._stable(i, r)
            if stable[i] != r.price:
                lagging |= 1 << i
        else:
            prices[i] = self._fallback(i, r)
            stable[i] = prices[i]
    return (prices, valid, stable, lagging)


@external
@view
def stable_price(market: uint256) -> uint256:
    """
    @notice The stable mark of `market` now (its price when the mark is off);
            reverts with the failed check's reason, as `price`.
    """
    r: Read = self._read(market)
    self._check(r.status)
    return self._stable(market, r)


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
    feed: Feed = self._checks(market)
    guard: uint256 = self.guard_words[market]
    feed.max_deviation = guard & WORD_BITS
    feed.confirm_rounds = (guard >> 64) & 255
    feed.confirm_seconds = (guard >> 72) & (2 ** 32 - 1)
    feed.baseline_round = (guard >> 104) & (2 ** 80 - 1)
    feed.stable_rate = (guard >> 184) & (2 ** 32 - 1)
    feed.stable_window = (guard >> 216) & (2 ** 32 - 1)
    return feed


@internal
@view
def _held(market: uint256) -> bool:
    return self.guard_words[market] & HELD_BIT != 0


@internal
@view
def _checks(market: uint256) -> Feed:
    # dev: what a read checks an answer against: two slots, not the guard's
    #      third (a read that needs no guard, as liquidations, skips it).
    word: uint256 = self.feed_words[market]
    band: uint256 = self.band_words[market]
    return Feed(
        aggregator=convert(convert(word & ADDRESS_BITS, uint160), address),
        heartbeat=word >> 224,
        min_answer=convert(band & HALF_BITS, int256),
        max_answer=convert(band >> 128, int256),
        scale=(word >> 160) & SCALE_BITS,
        max_deviation=0,
        confirm_rounds=0,
        confirm_seconds=0,
        baseline_round=0,
        stable_rate=0,
        stable_window=0,
    )


@internal
@view
def _read(market: uint256) -> Read:
    feed: Feed = self._checks(market)
    assert feed.aggregator != empty(address), "Oracle: unknown market"
    return self._call_round(feed, method_id("latestRoundData()", output_type=Bytes[4]), True)


@internal
@view
def _read_round(feed: Feed, round_id: uint256) -> Read:
    # dev: a past round, checked as an answer but not for its age (history is
    #      old by nature). An id beyond uint80 is a call the feed cannot answer.
    if round_id == 0 or round_id > convert(max_value(uint80), uint256):
        return Read(price=0, round_id=round_id, updated_at=0, status=CALL_FAILED)
    return self._call_round(feed, abi_encode(round_id, method_id=method_id("getRoundData(uint80)")), False)


@internal
@view
def _call_round(feed: Feed, data: Bytes[36], check_age: bool) -> Read:
    # dev: a reverting or malformed feed is a status, not a revert, so that
    #      callers can fall back to the last valid answer for exits.
    success: bool = False
    response: Bytes[160] = b""
    success, response = raw_call(
        feed.aggregator,
        data,
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
    elif check_age and block.timestamp - updated_at > feed.heartbeat:
        status = STALE_PRICE
    # dev: the price is kept for every status but the answer checks, so that a
    #      stale answer can serve as the feed's last valid one.
    price: uint256 = 0
    if status == OK or status == STALE_PRICE:
        price = convert(answer, uint256) * feed.scale
    return Read(price=price, round_id=round_id, updated_at=updated_at, status=status)


@internal
@view
def _prices(mask: uint256, with_guard: bool) -> (uint256[MAX_MARKETS], uint256, uint256):
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
            if with_guard and self._guard(i, r).guarded:
                guarded |= 1 << i
        else:
            prices[i] = self._fallback(i, r)
            if with_guard and self._held(i):
                guarded |= 1 << i
    return (prices, valid, guarded)


@internal
@view
def _guard(market: uint256, latest: Read) -> Guard:
    # dev: `latest` passed every check. Walk back from it while the round is
    #      younger than the confirmation time and fewer rounds than the
    #      confirmation count have followed it; any such round that jumped from
    #      its predecessor (or whose predecessor is unreadable) guards.
    if self._held(market):
        return Guard(guarded=True, previous_price=0, price=0, deviation=0)
    feed: Feed = self._feed(market)
    current: Read = latest
    for followed: uint256 in range(MAX_CONFIRM_ROUNDS):
        if followed == feed.confirm_rounds or block.timestamp - current.updated_at >= feed.confirm_seconds:
            break
        if current.round_id == feed.baseline_round:
            break
        previous: Read = self._read_round(feed, current.round_id - 1)
        if previous.status != OK or previous.updated_at > current.updated_at:
            return Guard(guarded=True, previous_price=0, price=current.price, deviation=WAD)
        deviation: uint256 = self._deviation(previous.price, current.price)
        if deviation > feed.max_deviation:
            return Guard(guarded=True, previous_price=previous.price, price=current.price, deviation=deviation)
        current = previous
    return empty(Guard)


@internal
@view
def _stable(market: uint256, latest: Read) -> uint256:
    # dev: `latest` passed every check. A round that stood a whole window
    #      until the next one was followed in full: the mark was its answer
    #      when the next round came. So walk back from the latest round to the
    #      newest round that stood a window, and start there, exactly. Within
    #      STABLE_ROUNDS rounds (or before the baseline, an unreadable or
    #      out-of-order predecessor) there may be none: then start at the
    #      median of the answers read (of two middle ones, the farther from the
    #      latest), which no single bad round can be, so a bad round, however
    #      old, is never a start. Then walk forward: each newer round's answer
    #      stood from its updatedAt until the next round's (or now), and the
    #      mark moves towards it by at most rate x that time, as a fraction of
    #      the mark. Rounded towards the start (the mark follows a wei later,
    #      never earlier).
    if self.feed_words[market] & STABLE_ON_BIT == 0:
        return latest.price
    feed: Feed = self._feed(market)
    rate: uint256 = feed.stable_rate
    window: uint256 = feed.stable_window
    if rate == 0 or block.timestamp - latest.updated_at >= window:
        return latest.price
    answers: uint256[STABLE_ROUNDS] = empty(uint256[STABLE_ROUNDS])
    times: uint256[STABLE_ROUNDS] = empty(uint256[STABLE_ROUNDS])
    answers[0] = latest.price
    times[0] = latest.updated_at
    current: Read = latest
    count: uint256 = 1
    start: uint256 = STABLE_ROUNDS
    for k: uint256 in range(1, STABLE_ROUNDS):
        if current.round_id <= feed.baseline_round:
            break
        previous: Read = self._read_round(feed, current.round_id - 1)
        if previous.status != OK or previous.updated_at > current.updated_at:
            break
        answers[k] = previous.price
        times[k] = previous.updated_at
        count = k + 1
        if current.updated_at - previous.updated_at >= window:
            start = k
            break
        current = previous
    if start == STABLE_ROUNDS:
        start = self._median_round(answers, count, latest.price)
    mark: uint256 = answers[start]
    for j: uint256 in range(STABLE_ROUNDS - 1):
        if j == start:
            break
        # dev: round k is newer than the start; it stood from times[k] to the next round, or now.
        k: uint256 = start - 1 - j
        until: uint256 = block.timestamp
        if k != 0:
            until = times[k - 1]
        step: uint256 = mark * rate * (until - times[k]) // RATE_UNIT
        if answers[k] > mark:
            mark = min(answers[k], mark + step)
        else:
            mark = max(answers[k], mark - min(step, mark))
    return mark


@internal
@pure
def _median_round(answers: uint256[STABLE_ROUNDS], count: uint256, latest: uint256) -> uint256:
    # dev: the index of the median of answers[0:count], newest first on equal
    #      answers (a stable insertion sort of the indices); of the two middle
    #      ones of an even count, the one farther from `latest` (the lower
    #      position on a tie).
    order: uint256[STABLE_ROUNDS] = empty(uint256[STABLE_ROUNDS])
    for i: uint256 in range(STABLE_ROUNDS):
        if i == count:
            break
        position: uint256 = i
        for unused: uint256 in range(STABLE_ROUNDS):
            if position == 0 or answers[order[position - 1]] <= answers[i]:
                break
            order[position] = order[position - 1]
            position -= 1
        order[position] = i
    low: uint256 = order[(count - 1) // 2]
    high: uint256 = order[count // 2]
    if self._distance(answers[high], latest) > self._distance(answers[low], latest):
        return high
    return low


@internal
@pure
def _distance(a: uint256, b: uint256) -> uint256:
    return a - b if a >= b else b - a


@internal
@view
def _fallback(market: uint256, latest: Read) -> uint256:
    # dev: the feed's last valid answer, for exits on a failing feed: a stale
    #      answer passed every other check; else the newest of the rounds just
    #      before that passes them, unless the price recorded here is newer;
    #      else (a feed that cannot be read at all) the price recorded here.
    if latest.status == STALE_PRICE:
        return latest.price
    last: LastPrice = self.last[market]
    if latest.status != CALL_FAILED:
        feed: Feed = self._checks(market)
        round_id: uint256 = latest.round_id
        for i: uint256 in range(FALLBACK_ROUNDS):
            if round_id <= 1:
                break
            round_id -= 1
            r: Read = self._read_round(feed, round_id)
            if r.status == OK:
                if r.updated_at > last.updated_at or (r.updated_at == last.updated_at and r.round_id > last.round_id):
                    return r.price
                break
    return last.price


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
    # dev: previous > 0 always: only validated (positive) prices are compared.
    return self._distance(previous, current) * WAD // previous


# ---------------------------------------------------------------- rounds (volatility-scaled margin)

@external
@view
def latest_round(market: uint256) -> (uint256, uint256):
    """
    @notice The feed's latest round id (0 when the call fails) and the round
            `set_feed` was configured at, which no reader of history goes
            before. For the Configurator's volatility EWMA.
    @return (latest_round, baseline_round).
    """
    r: Read = self._read(market)
    # dev: the guard word's baseline field alone (`_feed` would read two more slots for the crank).
    return (r.round_id if r.status != CALL_FAILED else 0, (self.guard_words[market] >> 104) & (2 ** 80 - 1))


@external
@view
def round_price(market: uint256, round_id: uint256) -> (uint256, uint256, bool):
    """
    @notice A past round of `market`'s feed, validated as the guard reads
            history (`_read_round`: every answer check, not its age).
    @return (price WAD, updated_at, ok); price and time are 0 when not ok.
    """
    feed: Feed = self._checks(market)
    assert feed.aggregator != empty(address), "Oracle: unknown market"
    r: Read = self._read_round(feed, round_id)
    if r.status != OK:
        return (0, 0, False)
    return (r.price, r.updated_at, True)
