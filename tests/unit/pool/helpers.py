"""Constants and small helpers shared by the LiquidityPool tests."""

# The pool's virtual shares, 10 ** DECIMALS_OFFSET (its defence against inflation attacks).
VIRTUAL_SHARES = 10**3

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1

ETH, BTC = 0, 1


def own_events(contract, name):
    """Events `name` that `contract` itself emitted in its latest call (not the vault's or token's)."""
    return [e for e in contract.get_logs(include_child_logs=False) if type(e).__name__ == name]
