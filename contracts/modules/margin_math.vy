# pragma version 0.4.3
"""
@title margin_math
@notice Fixed-point helpers shared by the Clearinghouse and its lens, so a
        view and the action it previews round identically (a stateless module:
        import, no `initializes`).
@dev Every rounding is named: floor (toward minus infinity) or ceil (toward
     plus infinity); Vyper's `//` truncates toward zero, which is neither for
     signed numbers.
"""

from . import constants

WAD: constant(uint256) = constants.WAD
IWAD: constant(int256) = 10 ** 18


@internal
@pure
def _floor_div(numerator: int256, denominator: int256) -> int256:
    # dev: denominator > 0 at every call site.
    quotient: int256 = numerator // denominator
    if numerator < 0 and quotient * denominator != numerator:
        quotient -= 1
    return quotient


@internal
@pure
def _ceil_div(numerator: int256, denominator: int256) -> int256:
    # dev: denominator > 0 at every call site.
    quotient: int256 = numerator // denominator
    if numerator > 0 and quotient * denominator != numerator:
        quotient += 1
    return quotient


@internal
@pure
def _ceil_div_u(numerator: uint256, denominator: uint256) -> uint256:
    return (numerator + denominator - 1) // denominator


@internal
@pure
def _notional(size: int256, price: uint256) -> uint256:
    # dev: |size| * price, rounded up (requirements round against the account).
    return self._ceil_div_u(convert(abs(size), uint256) * price, WAD)


@internal
@pure
def _is_liquidatable(notional: uint256, equity: int256, maintenance_req: uint256) -> bool:
    # dev: SPEC 3: has a position and equity < maintenance requirement; the
    #      engine's liquidation, its stable-mark hold, the Deleverager and the
    #      lens's views all decide with this one predicate.
    return notional != 0 and equity < convert(maintenance_req, int256)


@internal
@pure
def _upnl(size: int256, cost: int256, price: uint256) -> int256:
    # dev: size * price - cost, rounded down (an account is never credited a
    #      fraction of a wei it could not realise).
    return self._floor_div(size * convert(price, int256), IWAD) - cost


@internal
@pure
def _exec_price(mark: uint256, skew: int256, size_delta: int256, skew_scale: uint256) -> uint256:
    """
    @dev mark * (1 + (skew + size_delta / 2) / skew_scale), with the halving
         folded into the denominator so it stays exact; rounded against the taker.
    """
    impact: int256 = convert(mark, int256) * (2 * skew + size_delta)
    denominator: int256 = 2 * convert(skew_scale, int256)
    price: int256 = convert(mark, int256)
    if size_delta > 0:
        price += self._ceil_div(impact, denominator)
    else:
        price += self._floor_div(impact, denominator)
    assert price > 0, "margin_math: price impact too large"
    return convert(price, uint256)


@internal
@pure
def _adl_score(upnl: int256, cost: int256, notional: uint256, equity: int256) -> uint256:
    """
    @dev The BitMEX auto-deleveraging rank (WAD): pnl_pct * effective_leverage,
         pnl_pct = upnl / |size * entry| = upnl / |cost|, leverage = notional / equity.
         0 for a position not in profit (it never pays), and 0 for an account
         whose equity is gone: it is bankrupt itself, its profit already owed
         to its own deficit, so it is never a counterparty worth ranking (the
         Deleverager skips one below zero). Both divisions round down, in
         this order, in the engine and the lens alike.
    """
    if upnl <= 0 or cost == 0 or equity <= 0:
        return 0
    pnl_pct: uint256 = convert(upnl, uint256) * WAD // convert(abs(cost), uint256)
    return pnl_pct * notional // convert(equity, uint256)


@internal
@pure
def _tiered(imr: uint256, mmr: uint256, slope: uint256, size: int256, skew_scale: uint256) -> (uint256, uint256):
    """
    @dev Size-tiered margin fractions (Synthetix v3's shape): the initial
         fraction rises with the position, imr + slope * |size| / skew_scale,
         at most 1 (no leverage), and the maintenance fraction keeps its
         ratio to it. Both round up (requirements round against the account).
         A slope of 0 is the flat imr and mmr.
    """
    if slope == 0:
        return imr, mmr
    tiered: uint256 = min(imr + self._ceil_div_u(slope * convert(abs(size), uint256), skew_scale), WAD)
    return tiered, self._ceil_div_u(mmr * tiered, imr)
