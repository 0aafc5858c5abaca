# pragma version 0.4.3
# pragma evm-version cancun
"""
@title HostileToken
@notice Test-only ERC-20 that misbehaves on demand: it can burn a fee out of
        every transfer (fee-on-transfer), or answer `False` to a transfer
        without moving anything. Anyone can mint and flip the switches.
"""

decimals: public(immutable(uint8))

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)

# @dev Fee burnt from every transfer, in basis points of the amount.
fee_bps: public(uint256)

# @dev When True, `transfer` and `transferFrom` return False and move nothing.
return_false: public(bool)


@deploy
def __init__(decimals_: uint8):
    decimals = decimals_


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount


@external
def set_fee_bps(fee_bps_: uint256):
    self.fee_bps = fee_bps_


@external
def set_return_false(return_false_: bool):
    self.return_false = return_false_


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    return self._transfer(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if self.return_false:
        return False
    self.allowance[owner][msg.sender] -= amount
    return self._transfer(owner, to, amount)


@internal
def _transfer(owner: address, to: address, amount: uint256) -> bool:
    if self.return_false:
        return False
    fee: uint256 = amount * self.fee_bps // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    return True
