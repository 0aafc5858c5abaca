# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title InsuranceFund
@notice First-loss capital of the protocol. The fund's money is its account
        in the Vault: the Clearinghouse credits it the fund's share of trading
        fees and the liquidation penalties' remainder, and draws on it (and
        only the Clearinghouse can) for keeper top-ups and bad debt. Stakers
        add capital for shares; the share price moves with that balance, so
        stakers absorb losses before auto-deleveraging touches any trader.
@dev Withdrawing takes a request and a cooldown, so a staker who sees a loss
     coming cannot leave ahead of it. Requested shares are locked in this
     contract and stay exposed to losses, but not to gains: a withdrawal pays
     min(value at request, value now), and a cancelled request gets back only
     the shares worth its value at request (the rest is burned, giving the
     gain to the other stakers). A matured request must be used within a
     window, else a staker could hold a free exit option. The vault balance is
     never negative (the engine never draws more than it holds), so shares are
     worth zero at worst. Share maths: a virtual offset as in the pool, every
     conversion rounding in the fund's favour. Income that arrives while no
     one has staked belongs to the virtual shares: it stays in the fund as
     capital no staker can withdraw.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.tokens import erc20

from .interfaces import IVault
from .interfaces import IClearinghouse

initializes: ownable
initializes: ownable_2step[ownable := ownable]
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
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


# ---------------------------------------------------------------- constants

# @dev Extra share decimals: virtual shares against the donation attack (see LiquidityPool).
DECIMALS_OFFSET: constant(uint8) = 3
VIRTUAL_SHARES: constant(uint256) = 10 ** 3

# @dev Bounds on the owner's settings, so a typo cannot lock stakers in or
#      make the cooldown meaningless.
MIN_COOLDOWN: constant(uint256) = 3600
MAX_COOLDOWN: constant(uint256) = 90 * 86400
MIN_WINDOW: constant(uint256) = 3600
MAX_WINDOW: constant(uint256) = 90 * 86400


# ---------------------------------------------------------------- structs

struct WithdrawalRequest:
    # Shares locked in this contract.
    shares: uint256
    # What they were worth when requested (token units): the most they pay.
    assets: uint256
    # Earliest time (unix seconds) the withdrawal can be made.
    unlocks_at: uint256


# ---------------------------------------------------------------- immutables

# @dev The collateral token.
ASSET: immutable(IERC20)

# @dev Custody: the fund's capital is its account in the vault.
VAULT: public(immutable(IVault))

# @dev The engine that credits and draws on the fund, and pays out withdrawals.
ENGINE: public(immutable(IClearinghouse))

# @dev One asset unit in WAD.
SCALE: immutable(uint256)


# ---------------------------------------------------------------- storage

# @dev Seconds between a withdrawal request and the earliest withdrawal.
cooldown: public(uint256)

# @dev Seconds after the cooldown during which a request can be withdrawn.
withdraw_window: public(uint256)

# @dev One pending request per staker.
requests: public(HashMap[address, WithdrawalRequest])


# ---------------------------------------------------------------- events

event Stake:
    sender: indexed(address)
    owner: indexed(address)
    assets: uint256
    shares: uint256

event WithdrawalRequested:
    staker: indexed(address)
    shares: uint256
    assets: uint256
    unlocks_at: uint256

event WithdrawalCancelled:
    staker: indexed(address)
    shares_returned: uint256
    # Shares burned so the staker keeps no gain made during the request.
    shares_burned: uint256

event Withdraw:
    staker: indexed(address)
    receiver: indexed(address)
    assets: uint256
    shares: uint256

event CooldownSet:
    cooldown: uint256
    withdraw_window: uint256


# ---------------------------------------------------------------- constructor

@deploy
def __init__(
    asset_: IERC20,
    vault: IVault,
    engine: IClearinghouse,
    cooldown: uint256,
    withdraw_window: uint256,
    name_: String[25],
    symbol_: String[5],
):
    """
    @param asset_ The collateral token (the vault's token).
    @param vault The Vault.
    @param engine The Clearinghouse (bind it with `set_insurance_fund` after deployment).
    @param cooldown Seconds from a withdrawal request to the withdrawal.
    @param withdraw_window Seconds after the cooldown during which it can be made.
    @param name_ Share token name.
    @param symbol_ Share token symbol.
    """
    ASSET = asset_
    VAULT = vault
    ENGINE = engine
    SCALE = staticcall vault.SCALE()
    decimals: uint8 = staticcall IERC20Detailed(asset_.address).decimals()
    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__(name_, symbol_, decimals + DECIMALS_OFFSET, name_, "1")
    self._set_cooldown(cooldown, withdraw_window)
    # dev: the fund only ever approves the vault, for stakers' deposits.
    assert extcall asset_.approve(vault.address, max_value(uint256), default_return_value=True), "Fund: approve failed"


# ---------------------------------------------------------------- admin

@external
def set_cooldown(cooldown: uint256, withdraw_window: uint256):
    """
    @notice Withdrawal cooldown and window, seconds (owner). Pending requests
            keep their unlock time; the new window applies to them.
    """
    ownable._check_owner()
    self._set_cooldown(cooldown, withdraw_window)


# ---------------------------------------------------------------- views

@external
@view
def asset() -> address:
    """
    @notice The collateral token.
    """
    return ASSET.address


@external
@view
def totalAssets() -> uint256:
    """
    @notice The fund's vault balance in token units, rounded down (locked
            requests included: they are still first-loss capital).
    """
    return self._total_assets()


@external
@view
def convertToShares(assets: uint256) -> uint256:
    """
    @notice Shares `stake(assets)` would mint now.
    """
    return self._to_shares(assets, self._total_assets())


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    """
    @notice What `shares` are worth now, token units, rounded down.
    """
    return self._to_assets(shares, self._total_assets())


@external
@view
def withdrawable(staker: address) -> uint256:
    """
    @notice What `withdraw` would pay `staker` now: 0 outside the request's window.
    """
    request: WithdrawalRequest = self.requests[staker]
    if request.shares == 0 or not self._in_window(request.unlocks_at):
        return 0
    return min(request.assets, self._to_assets(request.shares, self._total_assets()))


# ---------------------------------------------------------------- staking

@external
def stake(assets: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Add `assets` token units of capital; mint shares to `receiver`.
    @return Shares minted.
    """
    assert assets != 0, "Fund: zero assets"
    assert receiver != empty(address), "Fund: zero address"
    # dev: the fund's own balance holds locked request shares only.
    assert receiver != self, "Fund: bad receiver"
    total: uint256 = self._total_assets()
    # dev: a fund that bad debt emptied while shares are out would sell a new
    #      stake (nearly) all of itself for `assets * supply` shares; a few
    #      such rounds overflow the share count. Its fee and penalty income
    #      refills it within blocks: stakes wait for that.
    assert total != 0 or erc20.totalSupply == 0, "Fund: wiped out"
    shares: uint256 = self._to_shares(assets, total)
    assert shares != 0, "Fund: zero shares"
    before: uint256 = staticcall ASSET.balanceOf(self)
    assert extcall ASSET.transferFrom(msg.sender, self, assets, default_return_value=True), "Fund: transfer failed"
    # dev: as the vault does: a token that delivers less than asked (a fee on
    #      transfer) is refused here with its reason, not by the vault's pull.
    assert staticcall ASSET.balanceOf(self) - before == assets, "Fund: token took a transfer fee"
    extcall VAULT.deposit(assets, self)
    erc20._mint(receiver, shares)
    log Stake(sender=msg.sender, owner=receiver, assets=assets, shares=shares)
    return shares


@external
def request_withdrawal(shares: uint256):
    """
    @notice Lock `shares` for withdrawal after the cooldown. They keep
            absorbing losses meanwhile but earn no gains.
    """
    assert shares != 0, "Fund: zero shares"
    assert self.requests[msg.sender].shares == 0, "Fund: request pending"
    assets: uint256 = self._to_assets(shares, self._total_assets())
    # dev: reverts on a balance below `shares`.
    erc20._transfer(msg.sender, self, shares)
    unlocks_at: uint256 = block.timestamp + self.cooldown
    self.requests[msg.sender] = WithdrawalRequest(shares=shares, assets=assets, unlocks_at=unlocks_at)
    log WithdrawalRequested(staker=msg.sender, shares=shares, assets=assets, unlocks_at=unlocks_at)


@external
def cancel_withdrawal() -> uint256:
    """
    @notice Cancel the caller's request: get back the shares worth what the
            request was worth (all of them if the value fell); shares standing
            for a gain made meanwhile are burned.
    @return Shares returned.
    """
    request: WithdrawalRequest = self.requests[msg.sender]
    assert request.shares != 0, "Fund: no request"
    total_assets: uint256 = self._total_assets()
    returned: uint256 = request.shares
    if self._to_assets(request.shares, total_assets) > request.assets:
        # dev: a gain: the most shares worth at most request.assets once the
        #      rest are burned: r * total / (supply - shares + r) <= assets.
        #      (Compared through `_to_assets`, which rounded request.assets,
        #      so an unchanged price burns nothing.)
        total: uint256 = total_assets + 1
        supply: uint256 = erc20.totalSupply + VIRTUAL_SHARES
        returned = min(returned, request.assets * (supply - request.shares) // (total - request.assets))
    self.requests[msg.sender] = empty(WithdrawalRequest)
    if returned < request.shares:
        erc20._burn(self, request.shares - returned)
    if returned != 0:
        erc20._transfer(self, msg.sender, returned)
    log WithdrawalCancelled(staker=msg.sender, shares_returned=returned, shares_burned=request.shares - returned)
    return returned


@external
def withdraw(receiver: address = msg.sender) -> uint256:
    """
    @notice Withdraw the caller's matured request to `receiver`: burns its
            shares and pays min(value at request, value now).
    @return Assets paid, token units.
    """
    assert receiver != empty(address), "Fund: zero address"
    # dev: tokens sent to this contract could never leave it.
    assert receiver != self, "Fund: bad receiver"
    request: WithdrawalRequest = self.requests[msg.sender]
    assert request.shares != 0, "Fund: no request"
    assert block.timestamp >= request.unlocks_at, "Fund: cooldown"
    assert self._in_window(request.unlocks_at), "Fund: request expired"
    assets: uint256 = min(request.assets, self._to_assets(request.shares, self._total_assets()))
    self.requests[msg.sender] = empty(WithdrawalRequest)
    erc20._burn(self, request.shares)
    if assets != 0:
        # dev: the fund has no position, so the engine pays out any amount up to its balance.
        extcall ENGINE.withdraw(assets, receiver)
    log Withdraw(staker=msg.sender, receiver=receiver, assets=assets, shares=request.shares)
    return assets


# ---------------------------------------------------------------- internal

@internal
def _set_cooldown(cooldown: uint256, withdraw_window: uint256):
    # dev: with no cooldown a staker could request and leave in the block
    #      before a known loss lands: the very front-run the cooldown prevents.
    assert cooldown >= MIN_COOLDOWN, "Fund: cooldown too short"
    assert cooldown <= MAX_COOLDOWN, "Fund: cooldown too long"
    assert withdraw_window >= MIN_WINDOW and withdraw_window <= MAX_WINDOW, "Fund: bad window"
    self.cooldown = cooldown
    self.withdraw_window = withdraw_window
    log CooldownSet(cooldown=cooldown, withdraw_window=withdraw_window)


@internal
@view
def _in_window(unlocks_at: uint256) -> bool:
    return block.timestamp >= unlocks_at and block.timestamp < unlocks_at + self.withdraw_window


@internal
@view
def _total_assets() -> uint256:
    # dev: the engine keeps the balance >= 0; max() makes a view safe regardless.
    return convert(max(staticcall VAULT.collateral(self), 0), uint256) // SCALE


@internal
@view
def _to_shares(assets: uint256, total_assets: uint256) -> uint256:
    # dev: rounded down: a staker never gets more shares than paid for.
    return assets * (erc20.totalSupply + VIRTUAL_SHARES) // (total_assets + 1)


@internal
@view
def _to_assets(shares: uint256, total_assets: uint256) -> uint256:
    # dev: rounded down: a withdrawal never takes more than the shares are worth.
    return shares * (total_assets + 1) // (erc20.totalSupply + VIRTUAL_SHARES)
