# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title LiquidityPool
@notice LP capital as ERC-4626 shares. The pool's assets sit in the Vault as
        the pool's margin account, and the Clearinghouse makes the pool the
        other side of every trade, so the share price moves with the traders'
        losses (up) and profits (down), plus the pool's share of fees.
@dev `totalAssets` is the pool's equity in the clearinghouse (collateral plus
     the unrealised PnL of its mirrored positions), converted to token units
     rounding down. Withdrawals are limited by the pool's own margin: the
     clearinghouse lets out only what keeps the pool above its initial margin.
     Shares use a virtual offset (OpenZeppelin's defence against the
     first-depositor inflation attack). Every conversion rounds in the pool's
     favour: shares out and assets out round down, shares in and assets in round up.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

from snekmate.auth import ownable
from snekmate.tokens import erc20

from .interfaces import IVault
from .interfaces import IClearinghouse
from .interfaces import IPriceOracle
from .modules import constants

implements: IERC4626

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
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
)


# @dev Extra share decimals: virtual shares 10 ** OFFSET make an inflation
#      (donation) attack cost the attacker 10 ** OFFSET times what it steals.
DECIMALS_OFFSET: constant(uint8) = 3

# @dev The collateral token (ERC-4626 `asset`).
ASSET: immutable(IERC20)

# @dev Custody of the pool's margin.
VAULT: public(immutable(IVault))

# @dev The engine that trades against the pool and values its positions.
ENGINE: public(immutable(IClearinghouse))

# @dev One asset unit in WAD.
SCALE: immutable(uint256)

# @dev The engine's oracle: the pool's withdrawals answer to its guards.
ORACLE: immutable(IPriceOracle)

MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS


event Deposit:
    sender: indexed(address)
    owner: indexed(address)
    assets: uint256
    shares: uint256

event Withdraw:
    sender: indexed(address)
    receiver: indexed(address)
    owner: indexed(address)
    assets: uint256
    shares: uint256


@deploy
def __init__(asset_: IERC20, vault: IVault, engine: IClearinghouse, name_: String[25], symbol_: String[5]):
    """
    @param asset_ The collateral token (the vault's token).
    @param vault The Vault.
    @param engine The Clearinghouse (bind it with `set_pool` after deployment).
    @param name_ Share token name.
    @param symbol_ Share token symbol.
    """
    ASSET = asset_
    VAULT = vault
    ENGINE = engine
    SCALE = staticcall vault.SCALE()
    ORACLE = IPriceOracle(staticcall engine.ORACLE())
    decimals: uint8 = staticcall IERC20Detailed(asset_.address).decimals()
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals + DECIMALS_OFFSET, name_, "1")
    # dev: the pool only ever approves the vault, for its own deposits.
    assert extcall asset_.approve(vault.address, max_value(uint256), default_return_value=True), "Pool: approve failed"


# ---------------------------------------------------------------- ERC-4626 views

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
    @notice The pool's equity in token units (0 if negative), rounded down.
    @dev Never reverts (ERC-4626): a market whose feed fails is valued at its
         last good price. Deposits and withdrawals price shares strictly.
    """
    return self._total_assets()


@external
@view
def convertToShares(assets: uint256) -> uint256:
    return self._to_shares(assets, self._total_assets(), False)


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    return self._to_assets(shares, self._total_assets(), False)


@external
@view
def maxDeposit(receiver: address) -> uint256:
    """
    @notice No cap, except 0 while deposits are refused: the pool is insolvent,
            or a price it depends on fails its checks.
    """
    return 0 if self._deposits_refused() else max_value(uint256)


@external
@view
def maxMint(receiver: address) -> uint256:
    """
    @notice No cap, except 0 while deposits are refused (see `maxDeposit`).
    """
    return 0 if self._deposits_refused() else max_value(uint256)


@external
@view
def maxWithdraw(owner: address) -> uint256:
    """
    @notice The owner's assets, capped by what the pool's margin lets out now.
    """
    total: uint256 = self._total_assets()
    return min(self._to_assets(erc20.balanceOf[owner], total, False), self._free_assets())


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice The owner's shares, capped by what the pool's margin lets out now.
    """
    total: uint256 = self._total_assets()
    return min(erc20.balanceOf[owner], self._to_shares(self._free_assets(), total, False))


# dev: previews price shares exactly as the actions do, so they revert when
#      the action would (a failing price), as ERC-4626 allows.

@external
@view
def previewDeposit(assets: uint256) -> uint256:
    return self._to_shares(assets, self._priced_total_assets(), False)


@external
@view
def previewMint(shares: uint256) -> uint256:
    return self._to_assets(shares, self._priced_total_assets(), True)


@external
@view
def previewWithdraw(assets: uint256) -> uint256:
    return self._to_shares(assets, self._priced_total_assets(), True)


@external
@view
def previewRedeem(shares: uint256) -> uint256:
    return self._to_assets(shares, self._priced_total_assets(), False)


# ---------------------------------------------------------------- ERC-4626 actions

@external
def deposit(assets: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Deposit `assets` token units; mint shares to `receiver`.
    @return Shares minted.
    """
    shares: uint256 = self._to_shares(assets, self._checked_total_assets(), False)
    self._deposit(assets, shares, receiver)
    return shares


@external
def mint(shares: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Mint exactly `shares` to `receiver`, pulling the assets they cost.
    @return Assets pulled.
    """
    assets: uint256 = self._to_assets(shares, self._checked_total_assets(), True)
    self._deposit(assets, shares, receiver)
    return assets


@external
def withdraw(assets: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn the shares worth `assets` from `owner`; pay `assets` to `receiver`.
    @return Shares burned.
    """
    shares: uint256 = self._to_shares(assets, self._priced_total_assets(), True)
    self._withdraw(assets, shares, receiver, owner)
    return shares


@external
def redeem(shares: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn `shares` from `owner`; pay what they are worth to `receiver`.
    @return Assets paid.
    """
    assets: uint256 = self._to_assets(shares, self._priced_total_assets(), False)
    self._withdraw(assets, shares, receiver, owner)
    return assets


# ---------------------------------------------------------------- internal

@internal
def _deposit(assets: uint256, shares: uint256, receiver: address):
    assert assets != 0, "Pool: zero assets"
    assert shares != 0, "Pool: zero shares"
    assert receiver != empty(address), "Pool: zero address"
    assert extcall ASSET.transferFrom(msg.sender, self, assets, default_return_value=True), "Pool: transfer failed"
    extcall VAULT.deposit(assets, self)
    erc20._mint(receiver, shares)
    log Deposit(sender=msg.sender, owner=receiver, assets=assets, shares=shares)


@internal
def _withdraw(assets: uint256, shares: uint256, receiver: address, owner: address):
    assert assets != 0, "Pool: zero assets"
    assert shares != 0, "Pool: zero shares"
    assert receiver != empty(address), "Pool: zero address"
    if msg.sender != owner:
        erc20._spend_allowance(owner, msg.sender, shares)
    # dev: burn first; the engine's margin check then pays out or reverts all.
    erc20._burn(owner, shares)
    extcall ENGINE.withdraw(assets, receiver)
    log Withdraw(sender=msg.sender, receiver=receiver, owner=owner, assets=assets, shares=shares)


@internal
@view
def _total_assets() -> uint256:
    # dev: for views that must not revert: last good prices where a feed fails.
    return self._to_units((staticcall ENGINE.account_health(self)).equity)


@internal
@view
def _priced_total_assets() -> uint256:
    # dev: for actions: reverts with the oracle's reason on a failing price.
    return self._to_units(staticcall ENGINE.equity(self))


@internal
@view
def _checked_total_assets() -> uint256:
    # dev: a pool whose equity is gone would hand new depositors' money to
    #      the traders it owes; refuse deposits until it is recapitalised.
    total: uint256 = self._priced_total_assets()
    assert total != 0 or erc20.totalSupply == 0, "Pool: insolvent"
    return total


@internal
@view
def _deposits_refused() -> bool:
    health: IClearinghouse.Health = staticcall ENGINE.account_health(self)
    if not health.prices_valid:
        return True
    return erc20.totalSupply != 0 and self._to_units(health.equity) == 0


@internal
@view
def _to_units(equity: int256) -> uint256:
    # dev: negative equity is worth nothing to shareholders; round down.
    if equity <= 0:
        return 0
    return convert(equity, uint256) // SCALE


@internal
@view
def _free_assets() -> uint256:
    # dev: what the engine's `withdraw` would pay the pool now:
    #      min(collateral, equity - initial margin); 0 while it would refuse
    #      (a failing price, a guarded market: any listed one, the pool is the
    #      other side of all of them). Never reverts.
    health: IClearinghouse.Health = staticcall ENGINE.account_health(self)
    collateral: int256 = staticcall VAULT.collateral(self)
    if health.notional == 0:
        return self._to_units(collateral)
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = staticcall ORACLE.try_prices((1 << staticcall ENGINE.market_count()) - 1)
    if not health.prices_valid or guarded != 0:
        return 0
    return self._to_units(min(collateral, health.equity - convert(health.initial_req, int256)))


@internal
@view
def _to_shares(assets: uint256, total_assets: uint256, round_up: bool) -> uint256:
    supply: uint256 = erc20.totalSupply + 10 ** convert(DECIMALS_OFFSET, uint256)
    if round_up:
        return (assets * supply + total_assets) // (total_assets + 1)
    return assets * supply // (total_assets + 1)


@internal
@view
def _to_assets(shares: uint256, total_assets: uint256, round_up: bool) -> uint256:
    supply: uint256 = erc20.totalSupply + 10 ** convert(DECIMALS_OFFSET, uint256)
    if round_up:
        return (shares * (total_assets + 1) + supply - 1) // supply
    return shares * (total_assets + 1) // supply
