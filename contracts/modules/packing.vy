# pragma version 0.4.3
"""
@title packing
@notice The engine's packed storage words, in one place: the Configurator
        packs parameters with these helpers, the Clearinghouse unpacks them on
        its hot paths (a stateless module: import, no `initializes`).
@dev A liquidation reads every risk parameter it needs in six words instead of
     twelve slots (2,100 gas each when cold): a market's margins and its skew
     scale in two, the pool, the fund, the penalty and the rewards in four
     globals. (The skew scale and the skew cap keep whole words: the
     extreme-price markets need scales beyond 128 bits.)
     Each field's bound is asserted where it is packed (the Configurator), so
     unpacking is a shift and a mask. Layouts, low bits first:
       margins word: imr (64) | mmr (64) | fee_rate (64)
       pool word:    pool address (160) | fee_pool_share (64)
       fund word:    insurance fund address (160) | liq_fee (64)
       penalty word: keeper_share (64) | buffer (64) | min_position_notional (128)
       reward word:  min_reward (128) | max_reward (128)
     Positions and market aggregates are two signed 128-bit halves of one word.
"""

# @dev Fractions (WAD) are at most 1.0 = 10**18 < 2**60, so 64 bits hold any of them.
MAX_FRACTION: constant(uint256) = 2 ** 64 - 1

# @dev USD amounts and base-unit scales (WAD) below 2**128 (3.4e20 units).
MAX_AMOUNT: constant(uint256) = 2 ** 128 - 1

ADDRESS_BITS: constant(uint256) = 2 ** 160 - 1


@internal
@pure
def _low(word: uint256) -> uint256:
    return word & MAX_FRACTION


@internal
@pure
def _mid(word: uint256) -> uint256:
    return (word >> 64) & MAX_FRACTION


@internal
@pure
def _high_fraction(word: uint256) -> uint256:
    return (word >> 128) & MAX_FRACTION


@internal
@pure
def _low_amount(word: uint256) -> uint256:
    return word & MAX_AMOUNT


@internal
@pure
def _high_amount(word: uint256) -> uint256:
    return word >> 128


@internal
@pure
def _address(word: uint256) -> address:
    return convert(convert(word & ADDRESS_BITS, uint160), address)


@internal
@pure
def _address_tail(word: uint256) -> uint256:
    # dev: the 64-bit fraction above an address.
    return (word >> 160) & MAX_FRACTION


@internal
@pure
def _pack_fractions(low: uint256, mid: uint256, high: uint256) -> uint256:
    # dev: two 64-bit fields, then a field from bit 128 (a fraction, or an amount below MAX_AMOUNT).
    return low | (mid << 64) | (high << 128)


@internal
@pure
def _pack_amounts(low: uint256, high: uint256) -> uint256:
    return low | (high << 128)


@internal
@pure
def _pack_address(account: address, tail: uint256) -> uint256:
    # dev: an address, and a 64-bit fraction above it.
    return convert(account, uint256) | (tail << 160)


@internal
@pure
def _pack_signed(high: int256, low: int256) -> uint256:
    # dev: two's-complement halves; the caller bounds both within int128.
    return (convert(convert(high, bytes32), uint256) << 128) | (convert(convert(low, bytes32), uint256) & MAX_AMOUNT)


@internal
@pure
def _signed_high(word: uint256) -> int256:
    # dev: arithmetic shift: the high half, sign-extended.
    return convert(convert(word, bytes32), int256) >> 128


@internal
@pure
def _signed_low(word: uint256) -> int256:
    return convert(convert(word << 128, bytes32), int256) >> 128
