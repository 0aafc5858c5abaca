# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title LiquidityPool
@notice LP capital as ERC-4626 shares. The pool's assets sit in the Vault as
        the pool's margin account, and the Clearinghouse makes the pool the
        other side of every trade, so the share price moves with the traders'
        losses (up) and profits (down), plus the pool's share of fees.
@dev A payout (withdraw, redeem, their previews, the max* limits and every
     other view) values shares at the pool's equity in the clearinghouse
     (collateral plus the unrealised PnL of its mirrored positions) less the
     fill premium held for every open skew, sum over its markets of
     P * s^2 / (2 * K) (mark P, price skew s, skew scale K), floored at zero
     (SPEC 8's note on LP shares, I8). A fill at `P * (1 + (s + d / 2) / K)`
     pays the pool exactly the growth of that premium,
     P * ((s + d)^2 - s^2) / (2 * K), which whoever closes the skew gets
     back: so at a fixed price no trade moves the payout value but by its fee
     and rounding, and a liquidation (filled at the mark, its size held in
     the price lag) not at all (GMX v2 keeps its position impact pool out of
     the pool value the same way).
     A deposit buys in at the pool's whole equity, the premium counted as the
     LPs' already: no later payout at the same prices reaches it but by
     others' fees, since the payout value is that equity less a premium that
     is never negative, and trades move the equity by the premium they pay
     plus their fees. The premium shrinks as the skew closes or as a
     liquidation's price lag releases (the price skew moving to the traders'
     net size), and those gains belong to whoever held shares when it was
     paid. Counting the premium out of deposits too let a deposit made
     before a liquidation, or after it and before its lag released, take a
     share of that release from the LPs who were there (tests/regression/
     test_lp_deposit_before_liquidation_takes_the_lag_release.py). The
     difference is a new LP's entry cost, its share of P * s^2 / (2 * K).
     Withdrawals are limited by the pool's own margin: the clearinghouse lets
     out only what keeps the pool above its initial margin. Deposits, mints,
     withdrawals and redemptions refuse while a market the pool holds (or
     whose price skew is open) is guarded (SPEC 4) or fails its price checks.
     Shares use a virtual offset (OpenZeppelin's defence against the
     first-depositor inflation attack). Every conversion rounds in the pool's
     favour, in two places:
       - the share value: a path that takes assets in (deposit, mint, their
         previews) values the pool at ceil(equity / unit), one that pays out
         (withdraw, redeem, their previews, the max* limits) and every other
         view at floor((equity - ceil(premium)) / unit): a depositor never
         buys below, a redeemer never sells above, the value;
       - the conversion: shares out and assets out round down, shares in and
         assets in round up.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

from snekmate.auth import ownable
from snekmate.tokens import erc20

from snekmate.utils import math

from .interfaces import IVault
from .interfaces import IClearinghouse
from .interfaces import IConfigurator
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

# @dev The engine's Configurator: the markets' skew scales.
CONFIGURATOR: immutable(IConfigurator)

MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS
WAD: constant(uint256) = constants.WAD


# @dev The pool's value and limits at the oracle's prices (last good ones where
#      a feed fails), from one read of the prices and the pool's state.
struct Valuation:
    # Token units, for paths that pay out and for views: floor((equity - ceil(payout premium)) / SCALE), >= 0.
    down: uint256
    # Token units, for paths that take assets in: ceil(equity / SCALE), >= 0 (the premium counted the LPs').
    up: uint256
    # Token units the engine's `withdraw` lets the pool take out at these prices
    # (min(collateral, equity - initial margin)), its price and guard checks aside.
    free: uint256
    # Markets the value uses (the pool holds them, or their price skew is open)
    # whose feed fails its checks.
    invalid: uint256
    # Markets the value uses that are guarded.
    guarded: uint256


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
    CONFIGURATOR = IConfigurator(staticcall engine.CONFIGURATOR())
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
    @notice The shares' value in token units: the pool's equity less the open
            skews' fill premium (0 if negative), rounded down.
    @dev Never reverts (ERC-4626): a market whose feed fails is valued at its
         last good price. Deposits and withdrawals price shares strictly.
    """
    return self._valuation().down


@external
@view
def convertToShares(assets: uint256) -> uint256:
    return self._to_shares(assets, self._valuation().down, False)


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    return self._to_assets(shares, self._valuation().down, False)


@external
@view
def maxDeposit(receiver: address) -> uint256:
    """
    @notice No cap, except 0 while deposits are refused: the pool is insolvent,
            or a market it holds is guarded or fails its price checks.
    """
    return 0 if self._deposits_refused(self._valuation()) else max_value(uint256)


@external
@view
def maxMint(receiver: address) -> uint256:
    """
    @notice No cap, except 0 while deposits are refused (see `maxDeposit`).
    """
    return 0 if self._deposits_refused(self._valuation()) else max_value(uint256)


@external
@view
def maxWithdraw(owner: address) -> uint256:
    """
    @notice The owner's assets, capped by what the pool's margin lets out now;
            0 while a market the pool holds is guarded or fails its price checks.
    """
    v: Valuation = self._valuation()
    return min(self._to_assets(erc20.balanceOf[owner], v.down, False), self._free_assets(v))


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice The owner's shares, capped by what the pool's margin lets out now;
            0 while a market the pool holds is guarded or fails its price checks.
    """
    v: Valuation = self._valuation()
    return min(erc20.balanceOf[owner], self._to_shares(self._free_assets(v), v.down, False))


# dev: previews price shares exactly as the actions do, so they revert when
#      the action would on a failing price, as ERC-4626 allows; a guarded
#      market is a limit (the max* views say 0), not a reason for them to revert.

@external
@view
def previewDeposit(assets: uint256) -> uint256:
    return self._to_shares(assets, self._priced(False).up, False)


@external
@view
def previewMint(shares: uint256) -> uint256:
    return self._to_assets(shares, self._priced(False).up, True)


@external
@view
def previewWithdraw(assets: uint256) -> uint256:
    return self._to_shares(assets, self._priced(False).down, True)


@external
@view
def previewRedeem(shares: uint256) -> uint256:
    return self._to_assets(shares, self._priced(False).down, False)


# ---------------------------------------------------------------- ERC-4626 actions

@external
def deposit(assets: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Deposit `assets` token units; mint shares to `receiver`.
    @return Shares minted.
    """
    shares: uint256 = self._to_shares(assets, self._deposit_value(), False)
    self._deposit(assets, shares, receiver)
    return shares


@external
def mint(shares: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Mint exactly `shares` to `receiver`, pulling the assets they cost.
    @return Assets pulled.
    """
    assets: uint256 = self._to_assets(shares, self._deposit_value(), True)
    self._deposit(assets, shares, receiver)
    return assets


@external
def withdraw(assets: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn the shares worth `assets` from `owner`; pay `assets` to `receiver`.
    @return Shares burned.
    """
    shares: uint256 = self._to_shares(assets, self._priced(True).down, True)
    self._withdraw(assets, shares, receiver, owner)
    return shares


@external
def redeem(shares: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn `shares` from `owner`; pay what they are worth to `receiver`.
    @return Assets paid.
    """
    assets: uint256 = self._to_assets(shares, self._priced(True).down, False)
    self._withdraw(assets, shares, receiver, owner)
    return assets


# ---------------------------------------------------------------- internal

@internal
def _deposit(assets: uint256, shares: uint256, receiver: address):
    assert assets != 0, "Pool: zero assets"
    assert shares != 0, "Pool: zero shares"
    assert receiver != empty(address), "Pool: zero address"
    before: uint256 = staticcall ASSET.balanceOf(self)
    assert extcall ASSET.transferFrom(msg.sender, self, assets, default_return_value=True), "Pool: transfer failed"
    # dev: as the vault does: a token that delivers less than asked (a fee on
    #      transfer) is refused here with its reason, not by the vault's pull.
    assert staticcall ASSET.balanceOf(self) - before == assets, "Pool: token took a transfer fee"
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
def _valuation() -> Valuation:
    """
    @dev The pool's value at the oracle's prices, never reverting (a failing
         feed: its last good price, flagged in `invalid`). One price read for
         every listed market (the guard and validity masks are then cut to the
         markets the value depends on), one read of the pool's state at those
         prices, and per market its price skew (and where it is open, the
         skew scale).
    """
    count: uint256 = staticcall ENGINE.market_count()
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = staticcall ORACLE.try_prices((1 << count) - 1)
    position: IClearinghouse.Position = empty(IClearinghouse.Position)
    st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
    mask: uint256 = 0
    position, st, mask = staticcall ENGINE.state_at(self, 0, prices)
    # dev: the premium for payouts, rounded up (deposits count none), over
    #      every market with a price skew, held or not: with a liquidation's
    #      lag still open on an empty book the next trader would still take
    #      it from the pool, and counting held markets only lifted the payout
    #      value by it as the last position closed
    #      (test_trade_flattening_the_pool_drops_the_lag_premium_from_lp_value.py).
    #      Such a market's price is then checked as a held one's.
    premium: uint256 = 0
    priced: uint256 = mask  # dev: the markets whose price the value uses
    for i: uint256 in range(MAX_MARKETS):
        if i == count:
            break
        # dev: at the price skew (what fills price at), not the traders' net
        #      size: they differ by a liquidation's price lag. At the net size
        #      a fill of d moved the payout value by an extra P*d*(ps-ns)/K: a
        #      sale around a cascade's lag, a redemption and the buy-back paid
        #      a large LP (test_trade_around_price_lag_moves_lp_redemption_value.py).
        #      At the price skew a fill moves the pool's equity by exactly the
        #      premium's growth; the lag's release moves the premium with no
        #      trade, but never lifts the payout value above a deposit's price.
        s: uint256 = convert(abs(staticcall ENGINE.price_skew(i)), uint256)
        if s == 0:
            continue
        priced |= 1 << i
        # dev: P * s^2 / (2 * K), in WAD: P * s / WAD * s / (2 * K) in one
        #      512-bit product. P * s fits: P <= the oracle's 10**36 cap, |s| < 2**127.
        denominator: uint256 = 2 * staticcall CONFIGURATOR.skew_scale(i) * WAD
        premium += math._mul_div(prices[i] * s, s, denominator, True)
    v: Valuation = Valuation(
        down=0, up=0, free=0, invalid=priced & ~valid, guarded=priced & guarded
    )
    # dev: a negative value is worth nothing to shareholders.
    low: int256 = st.equity - convert(premium, int256)
    if low > 0:
        v.down = convert(low, uint256) // SCALE
    if st.equity > 0:
        v.up = math._ceil_div(convert(st.equity, uint256), SCALE)
    collateral: int256 = staticcall VAULT.collateral(self)
    if mask != 0:
        collateral = min(collateral, st.equity - convert(st.initial_req, int256))
    if collateral > 0:
        v.free = convert(collateral, uint256) // SCALE
    return v


@internal
@view
def _priced(action: bool) -> Valuation:
    """
    @dev For previews and actions: reverts with the oracle's reason when a
         market the pool holds fails its price checks; for actions, with
         "Pool: market guarded" when one of them is guarded (SPEC 4: no LP
         deposit or redemption uses a guarded price).
    """
    v: Valuation = self._valuation()
    if v.invalid != 0:
        for i: uint256 in range(MAX_MARKETS):
            if v.invalid & (1 << i) != 0:
                # dev: reverts with the failed check's reason.
                unreachable: uint256 = staticcall ORACLE.price(i)
        raise "Pool: invalid price"
    if action:
        assert v.guarded == 0, "Pool: market guarded"
    return v


@internal
@view
def _deposit_value() -> uint256:
    # dev: a pool whose value is gone would hand new depositors' money to
    #      the traders it owes; refuse deposits until it is recapitalised.
    v: Valuation = self._priced(True)
    assert v.down != 0 or erc20.totalSupply == 0, "Pool: insolvent"
    return v.up


@internal
@view
def _deposits_refused(v: Valuation) -> bool:
    if v.invalid != 0 or v.guarded != 0:
        return True
    return erc20.totalSupply != 0 and v.down == 0


@internal
@pure
def _free_assets(v: Valuation) -> uint256:
    # dev: what the engine's `withdraw` would pay the pool now; 0 while it
    #      would refuse (a failing price or a guarded market the pool holds).
    #      Never reverts.
    if v.invalid != 0 or v.guarded != 0:
        return 0
    return v.free


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
