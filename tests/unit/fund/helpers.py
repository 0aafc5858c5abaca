"""Constants and reference arithmetic shared by the InsuranceFund tests.

The fund's share maths (virtual offset of 3 decimals, both directions rounded down):
  shares = assets * (supply + 10**3) // (total_assets + 1)
  assets = shares * (total_assets + 1) // (supply + 10**3)
"""

import boa

# The fund's virtual shares, 10 ** DECIMALS_OFFSET.
VIRTUAL_SHARES = 10**3
DECIMALS_OFFSET = 3

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DAY = 86400

ETH = 0


def to_shares(assets, supply, total_assets):
    """Shares `stake(assets)` mints at `supply` shares over `total_assets` token units."""
    return assets * (supply + VIRTUAL_SHARES) // (total_assets + 1)


def to_assets(shares, supply, total_assets):
    """What `shares` are worth at `supply` shares over `total_assets` token units."""
    return shares * (total_assets + 1) // (supply + VIRTUAL_SHARES)


def own_events(contract, name):
    """Events `name` that `contract` itself emitted in its latest call (not the vault's,
    engine's or token's: the vault also has a `Withdraw` event)."""
    return [e for e in contract.get_logs(include_child_logs=False) if type(e).__name__ == name]


def travel_to(timestamp):
    """Move the chain's clock to `timestamp` (forward only)."""
    assert timestamp >= boa.env.timestamp
    boa.env.time_travel(seconds=timestamp - boa.env.timestamp)


def request_of(fund, staker):
    """The staker's pending request as a plain (shares, assets, unlocks_at) tuple."""
    r = fund.requests(staker)
    return (r.shares, r.assets, r.unlocks_at)
