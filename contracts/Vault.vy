# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title Vault
@notice Custody of the collateral token and the per-account collateral ledger.
        Balances are kept in WAD (18 decimals) whatever the token's decimals.
@dev Only two functions change how much the vault owes in total: `deposit`
     (tokens in) and `withdraw_for` (tokens out). Everything the engine does
     between accounts goes through `move` or `shift`, which are zero-sum by construction,
     so the engine can never create collateral: custody invariant I1 is
     `TOKEN.balanceOf(self) * SCALE >= total_collateral`, with equality unless
     someone donated tokens (a surplus in the protocol's favour).
     Token amounts in and out are in token units and converted exactly
     (`amount * SCALE`), so no rounding dust is ever created here; conversions
     of WAD values into token units (`to_token`) round down.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from snekmate.auth import ownable
from snekmate.auth import ownable_2step

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


# @dev The collateral token.
TOKEN: public(immutable(IERC20))

# @dev 10 ** (18 - token decimals): one token unit in WAD.
SCALE: public(immutable(uint256))

# @dev Collateral per account, WAD. Signed: under cross margin an account may
#      realise a loss in one market beyond its cash while another market's
#      unrealised profit keeps its equity positive.
collateral: public(HashMap[address, int256])

# @dev Sum of `collateral` over every account (WAD).
total_collateral: public(int256)

# @dev The clearinghouse: the only address allowed to move collateral between
#      accounts and to pay out withdrawals. Set once by the owner.
engine: public(address)


event Deposit:
    payer: indexed(address)
    account: indexed(address)
    amount: uint256
    wad: uint256

event Withdraw:
    account: indexed(address)
    receiver: indexed(address)
    amount: uint256
    wad: uint256

event EngineSet:
    engine: indexed(address)


@deploy
def __init__(token: IERC20):
    """
    @param token The collateral token; any ERC-20 with 0..18 decimals.
    """
    decimals: uint8 = staticcall IERC20Detailed(token.address).decimals()
    assert decimals <= 18, "Vault: token decimals > 18"
    TOKEN = token
    SCALE = 10 ** convert(18 - decimals, uint256)
    ownable.__init__()
    ownable_2step.__init__()


@external
def set_engine(engine: address):
    """
    @notice Bind the vault to its clearinghouse. Can be done once.
    @param engine The clearinghouse address.
    """
    ownable._check_owner()
    assert self.engine == empty(address), "Vault: engine already set"
    assert engine != empty(address), "Vault: zero address"
    self.engine = engine
    log EngineSet(engine=engine)


@external
def deposit(amount: uint256, account: address = msg.sender):
    """
    @notice Deposit `amount` token units from the caller as collateral of `account`.
    @dev Works whatever the oracle says: adding margin never needs a price.
         Rejects tokens that deliver less than asked (fee-on-transfer), so the
         ledger never credits more than the vault received.
    @param amount Token units, pulled with `transferFrom` (approve the vault first).
    @param account The account credited; defaults to the caller.
    """
    assert amount != 0, "Vault: zero amount"
    assert account != empty(address), "Vault: zero address"
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "Vault: transfer failed"
    received: uint256 = staticcall TOKEN.balanceOf(self) - before
    assert received == amount, "Vault: token took a transfer fee"
    wad: uint256 = amount * SCALE
    self.collateral[account] += convert(wad, int256)
    self.total_collateral += convert(wad, int256)
    log Deposit(payer=msg.sender, account=account, amount=amount, wad=wad)


@external
def withdraw_for(account: address, amount: uint256, receiver: address):
    """
    @notice Pay out `amount` token units of `account`'s collateral to `receiver`.
    @dev Engine only: the engine has already checked the account's margin.
         The balance check here is a second line of defence.
    """
    assert msg.sender == self.engine, "Vault: caller is not the engine"
    assert amount != 0, "Vault: zero amount"
    assert receiver != empty(address), "Vault: zero address"
    wad: int256 = convert(amount * SCALE, int256)
    balance: int256 = self.collateral[account]
    assert balance >= wad, "Vault: insufficient collateral"
    self.collateral[account] = balance - wad
    self.total_collateral -= wad
    assert extcall TOKEN.transfer(receiver, amount, default_return_value=True), "Vault: transfer failed"
    log Withdraw(account=account, receiver=receiver, amount=amount, wad=convert(wad, uint256))


@external
def move(sender: address, receiver: address, wad: int256):
    """
    @notice Move `wad` of collateral from `sender` to `receiver` (negative: the
            other way). Zero-sum: `total_collateral` is unchanged.
    @dev Engine only. No event: the engine's events (Trade, Liquidation, ...)
         carry every amount it moves, and liquidation gas is budgeted.
    """
    assert msg.sender == self.engine, "Vault: caller is not the engine"
    self.collateral[sender] -= wad
    self.collateral[receiver] += wad


@external
def shift(accounts: address[4], deltas: int256[4]):
    """
    @notice Add `deltas[i]` to the collateral of `accounts[i]`; the deltas sum
            to zero, so `total_collateral` is unchanged. A zero delta is skipped.
    @dev Engine only. One call settles a whole liquidation (the closes' PnL,
         the penalty, the keeper's reward, the fund's cover) or a trade (PnL and
         fee split), where `move` would take three. An account may be listed
         twice; its deltas add up.
    """
    assert msg.sender == self.engine, "Vault: caller is not the engine"
    total: int256 = 0
    for i: uint256 in range(4):
        delta: int256 = deltas[i]
        if delta != 0:
            self.collateral[accounts[i]] += delta
            total += delta
    # dev: not reachable by a user: the engine's books always balance.
    assert total == 0  # dev: shift not zero-sum


@external
@view
def to_wad(amount: uint256) -> uint256:
    """
    @notice Token units to WAD (exact).
    """
    return amount * SCALE


@external
@view
def to_token(wad: uint256) -> uint256:
    """
    @notice WAD to token units, rounded down (in the protocol's favour when paying out).
    """
    return wad // SCALE
