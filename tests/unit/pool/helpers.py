"""Constants and small helpers shared by the LiquidityPool tests."""

# The pool's virtual shares, 10 ** DECIMALS_OFFSET (its defence against inflation attacks).
VIRTUAL_SHARES = 10**3

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1

ETH, BTC = 0, 1
WAD = 10**18


def fill_premium(p) -> int:
    """The fill premium the open skews hold (WAD), as the pool's payout value
    takes it: sum over markets of P * s^2 / (2 * K), rounded up, P the
    oracle's price (`try_prices`: the last good one where a feed fails), s the
    engine's price skew (a liquidation's lag apart from the net size), K the
    skew scale. A deposit counts none of it (it buys in at the whole equity)."""
    total = 0
    count = p.engine.market_count()
    prices = p.oracle.try_prices((1 << count) - 1)[0]
    for m in range(count):
        skew = abs(p.engine.price_skew(m))
        numerator = prices[m] * skew * skew
        denominator = 2 * p.configurator.markets(m).skew_scale * WAD
        total += -(-numerator // denominator)
    return total


def share_value_units(p, equity: int) -> int:
    """What the pool's views (and redemptions) value it at, in token units:
    floor((equity - ceil(premium)) / unit), 0 if negative."""
    return max(0, (equity - fill_premium(p)) // p.vault.SCALE())


def own_events(contract, name):
    """Events `name` that `contract` itself emitted in its latest call (not the vault's or token's)."""
    return [e for e in contract.get_logs(include_child_logs=False) if type(e).__name__ == name]
