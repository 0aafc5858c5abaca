# pragma version 0.4.3
"""
@title constants
@notice Constants shared by the deployables (a stateless module: import, no `initializes`).
"""

# @dev Fixed-point unit: 1.0 in 18 decimals.
WAD: constant(uint256) = 10 ** 18

# @dev Most markets one clearinghouse can list. Per-account open markets are a
#      bitmask in one storage word, and price arrays are fixed at this length.
MAX_MARKETS: constant(uint256) = 16
