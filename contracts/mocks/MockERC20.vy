# pragma version 0.4.3
# pragma evm-version cancun
"""
@title MockERC20
@notice ERC-20 with configurable decimals and an open `mint`, for local chains
        and tests. Never deploy it where real money is at stake.
@dev Built on snekmate's `erc20` module (transfer, approve, permit, burn).
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.burn,
)


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mint `amount` to `to`. Open to anyone: this is a test token.
    """
    erc20._mint(to, amount)
