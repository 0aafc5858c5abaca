# pragma version 0.4.3
# pragma evm-version cancun
"""
@title ReentrantToken
@notice Test-only ERC-20 whose `transfer` and `transferFrom` call back into a
        configured target with configured calldata, like an ERC-777 hook or a
        token with a transfer callback. It stands in for an attacker's
        contract: the callback's `msg.sender` is this token, so the tests give
        the token's own address collateral, LP shares and fund shares, and
        drive the outer call as that address too.
@dev The hook is one-shot: arming it lets `skip` transfers pass, fires on the
     next one (before or after the balances move), then disarms itself before
     the callback, so a callback that moves tokens cannot recurse. The inner
     call never reverts the outer one (`revert_on_failure=False`); whether it
     succeeded and the bytes it returned (the revert data on failure: empty for
     Vyper's reentrancy lock, `Error(string)` for a named check) are recorded.
     Anyone can mint and arm it.
"""

# @dev When the hook fires relative to the balance update.
BEFORE: constant(uint8) = 1
AFTER: constant(uint8) = 2

MAX_PAYLOAD: constant(uint256) = 1024


# @dev Token metadata, as MockERC20's constructor takes it.
name: public(String[25])
symbol: public(String[5])
decimals: public(immutable(uint8))

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)

# @dev The callback: target, calldata, phase (BEFORE or AFTER; 0 = off).
target: public(address)
payload: public(Bytes[MAX_PAYLOAD])
phase: public(uint8)

# @dev Transfers still to let through before the hook fires.
skip: public(uint256)

# @dev True while the hook waits for its transfer.
armed: public(bool)

# @dev How many times the hook fired (at most once per arming).
fired: public(uint256)

# @dev The last callback: did it succeed, and what did it return.
inner_success: public(bool)
inner_return: public(Bytes[MAX_PAYLOAD])


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    self.name = name_
    self.symbol = symbol_
    decimals = decimals_


@external
def arm(target: address, payload: Bytes[MAX_PAYLOAD], phase: uint8, skip: uint256):
    """
    @notice Fire `payload` at `target` on a transfer, `phase` BEFORE (1) or
            AFTER (2) the balances move, after letting `skip` transfers pass.
    """
    assert phase == BEFORE or phase == AFTER, "ReentrantToken: bad phase"
    self.target = target
    self.payload = payload
    self.phase = phase
    self.skip = skip
    self.armed = True
    self.inner_success = False
    self.inner_return = b""


@external
def disarm():
    self.armed = False


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "ReentrantToken: insufficient allowance"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, to, amount)
    return True


@internal
def _transfer(owner: address, to: address, amount: uint256):
    fire: bool = False
    if self.armed:
        if self.skip == 0:
            fire = True
            self.armed = False
        else:
            self.skip -= 1
    if fire and self.phase == BEFORE:
        self._callback()
    assert self.balanceOf[owner] >= amount, "ReentrantToken: insufficient balance"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    if fire and self.phase == AFTER:
        self._callback()


@internal
def _callback():
    success: bool = False
    response: Bytes[MAX_PAYLOAD] = b""
    success, response = raw_call(self.target, self.payload, max_outsize=MAX_PAYLOAD, revert_on_failure=False)
    self.fired += 1
    self.inner_success = success
    self.inner_return = response
