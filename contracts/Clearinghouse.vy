# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title Clearinghouse
@notice The engine: markets, positions, cross-margin math and trading against
        the LiquidityPool, which is the counterparty of every trade.
@dev Positions are kept as (size, cost): `cost` is the signed cost basis
     (size x average entry, WAD USD), so `upnl = size * mark - cost`.
     The pool's position is never stored: it is the mirror of all traders,
     (-skew, -total_cost) per market, and every fill moves exactly the
     trader's realised PnL between the two in the vault. Hence, exactly:
       - per market, the sum of all sizes (pool included) is zero (I2);
       - the sum of all cost bases is zero, so the sum of all unrealised
         PnL is zero up to one wei of flooring per position (I2);
       - collateral only moves between accounts, never appears (I1).
     Rounding: fill cost and fees round up (against the trader), unrealised
     PnL rounds down, margin requirements round up.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable
from snekmate.auth import ownable_2step

from .interfaces import IVault
from .interfaces import IPriceOracle
from .modules import constants
from .modules import margin_math

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


# ---------------------------------------------------------------- constants

WAD: constant(uint256) = constants.WAD
IWAD: constant(int256) = 10 ** 18
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Longest account list one liquidation batch takes (bounded gas per call).
MAX_LIQUIDATION_BATCH: constant(uint256) = 500

# @dev Longest counterparty list one `deleverage` call takes.
MAX_ADL_COUNTERPARTIES: constant(uint256) = 50

# @dev Wei of rounding a full close may differ from its exact preview by.
ROUNDING_SLACK: constant(int256) = 16

# Outcomes of `_liquidate`; NEEDS_ADL: the account is for `deleverage`.
LIQUIDATED: constant(uint8) = 0
HEALTHY: constant(uint8) = 1
NEEDS_ADL: constant(uint8) = 2

# @dev Caps on parameters the owner can set, so a typo cannot brick a market.
MAX_FEE_RATE: constant(uint256) = 10 ** 17  # 10% of notional

# @dev Positions and market aggregates are two signed 128-bit halves of one
#      storage word (one SLOAD/SSTORE instead of two on every fill). 2**127 WAD
#      is 1.7e20 base units or USD: far beyond any real position.
LOW_HALF: constant(uint256) = 2 ** 128 - 1


# ---------------------------------------------------------------- structs

struct MarketParams:
    # Initial margin fraction (WAD): opening needs equity >= notional * imr.
    imr: uint256
    # Maintenance margin fraction (WAD), below imr: under it, liquidatable.
    mmr: uint256
    # Taker fee, fraction of the filled notional (WAD).
    fee_rate: uint256
    # Price impact scale, base units (WAD): a skew of skew_scale moves the fill price 100%.
    skew_scale: uint256
    # Largest |traders' net size| that a risk-adding trade may leave, base units (WAD).
    max_skew: uint256

struct MarketState:
    # Traders' net size; the pool holds -skew.
    skew: int256
    # Sum of the traders' cost bases; the pool holds -total_cost.
    total_cost: int256

struct Position:
    # Base units (WAD), positive long, negative short.
    size: int256
    # Signed cost basis, WAD USD: size x average entry price.
    cost: int256

struct AccountState:
    equity: int256
    notional: uint256
    initial_req: uint256
    maintenance_req: uint256

struct Health:
    equity: int256
    notional: uint256
    initial_req: uint256
    maintenance_req: uint256
    liquidatable: bool
    # False when a feed the account depends on fails its checks: the figures
    # then use that market's last good price.
    prices_valid: bool

struct Fill:
    exec_price: uint256
    fee: uint256
    realized_pnl: int256
    position: Position

struct LiquidationParams:
    # Penalty: fraction of the closed notional (WAD), paid from what the account has left.
    liq_fee: uint256
    # Share of the penalty paid to the keeper (WAD); the rest goes to the insurance fund.
    keeper_share: uint256
    # Keeper reward bounds (WAD USD); the fund tops a reward up to min_reward only
    # for an account that could not pay its whole penalty.
    min_reward: uint256
    max_reward: uint256
    # A partial liquidation restores equity >= maintenance * (1 + buffer) (WAD).
    buffer: uint256


# ---------------------------------------------------------------- immutables

# @dev Custody and collateral ledger.
VAULT: public(immutable(IVault))

# @dev Validated prices and deviation guards, one feed per market.
ORACLE: public(immutable(IPriceOracle))

# @dev One collateral token unit in WAD (10 ** (18 - decimals)), from the vault.
SCALE: immutable(uint256)


# ---------------------------------------------------------------- storage

# @dev Risk parameters per market id (ids are 0 .. market_count - 1).
markets: public(HashMap[uint256, MarketParams])

# @dev Aggregate open interest per market, packed (skew | total_cost): the
#      pool's mirrored position. Read it with `market_state`.
packed_market_state: HashMap[uint256, uint256]

# @dev Number of listed markets.
market_count: public(uint256)

# @dev Positions per account and market, packed (size | cost); never the
#      pool's (see `position`).
packed_positions: HashMap[address, HashMap[uint256, uint256]]

# @dev Bit i set when the account has an open position in market i, so margin
#      math reads only the markets it needs (one word for all of them).
open_markets: public(HashMap[address, uint256])

# @dev The LiquidityPool: counterparty of every trade. Set once.
pool: public(address)

# @dev Vault account that receives the fund's share of fees. Set once.
insurance_fund: public(address)

# @dev Share of each trading fee credited to the pool (WAD); the rest goes to the fund.
fee_pool_share: public(uint256)

# @dev Smallest notional (WAD USD) an open position may have after a trade, so
#      no dust position is left that costs a keeper more to liquidate than it pays.
min_position_notional: public(uint256)

# @dev Penalty, keeper reward and partial-liquidation target.
liquidation_params: public(LiquidationParams)


# ---------------------------------------------------------------- events

event MarketListed:
    market: indexed(uint256)
    imr: uint256
    mmr: uint256
    fee_rate: uint256
    skew_scale: uint256
    max_skew: uint256

event MarketParamsSet:
    market: indexed(uint256)
    imr: uint256
    mmr: uint256
    fee_rate: uint256
    skew_scale: uint256
    max_skew: uint256

event PoolSet:
    pool: indexed(address)

event InsuranceFundSet:
    fund: indexed(address)

event FeePoolShareSet:
    share: uint256

event MinPositionNotionalSet:
    notional: uint256

event LiquidationParamsSet:
    liq_fee: uint256
    keeper_share: uint256
    min_reward: uint256
    max_reward: uint256
    buffer: uint256

event Liquidation:
    account: indexed(address)
    keeper: indexed(address)
    market: indexed(uint256)
    size_closed: int256
    exec_price: uint256
    mark_price: uint256
    # Penalty assessed on this market's closed notional (what is paid: LiquidationSettled).
    penalty: uint256

event LiquidationSettled:
    account: indexed(address)
    keeper: indexed(address)
    closed_notional: uint256
    penalty: uint256
    keeper_reward: uint256
    # penalty - keeper_reward: what the fund gained (negative: it topped up a min reward).
    fund_share: int256
    bad_debt: uint256
    fully_closed: bool

event BadDebtCovered:
    account: indexed(address)
    amount: uint256
    fund_balance: int256

event AdlRequired:
    account: indexed(address)
    # Bad debt a full close against the pool would leave (WAD), and what the fund holds.
    shortfall: uint256
    fund_balance: uint256

event Deleverage:
    account: indexed(address)
    counterparty: indexed(address)
    market: indexed(uint256)
    # The bankrupt account's size change (the counterparty's is the opposite).
    size_closed: int256
    # Fill price: the account's bankruptcy price, to the wei of rounding (WAD).
    price: uint256
    mark_price: uint256
    # The counterparty's `adl_score` before the fill (WAD).
    score: uint256

event Trade:
    account: indexed(address)
    market: indexed(uint256)
    size_delta: int256
    exec_price: uint256
    mark_price: uint256
    fee: uint256
    realized_pnl: int256
    size: int256


# ---------------------------------------------------------------- constructor

@deploy
def __init__(vault: IVault, oracle: IPriceOracle, fee_pool_share: uint256, min_position_notional: uint256):
    """
    @param vault The Vault holding the collateral.
    @param oracle The PriceOracle with one feed per market.
    @param fee_pool_share Share of fees paid to the pool (WAD), the rest to the fund.
    @param min_position_notional Smallest open position notional (WAD USD).
    """
    assert fee_pool_share <= WAD, "Clearinghouse: share > 1"
    VAULT = vault
    ORACLE = oracle
    SCALE = staticcall vault.SCALE()
    self.fee_pool_share = fee_pool_share
    self.min_position_notional = min_position_notional
    ownable.__init__()
    ownable_2step.__init__()


# ---------------------------------------------------------------- admin

@external
def list_market(params: MarketParams) -> uint256:
    """
    @notice List a new market; its id is the current `market_count`. The oracle
            must already have a valid feed for that id.
    @return The new market's id.
    """
    ownable._check_owner()
    market: uint256 = self.market_count
    assert market < MAX_MARKETS, "Clearinghouse: too many markets"
    self._check_params(params)
    # dev: reverts with the oracle's reason if the feed is missing or failing.
    listing_price: uint256 = staticcall ORACLE.price(market)
    self.markets[market] = params
    self.market_count = market + 1
    log MarketListed(
        market=market,
        imr=params.imr,
        mmr=params.mmr,
        fee_rate=params.fee_rate,
        skew_scale=params.skew_scale,
        max_skew=params.max_skew,
    )
    return market


@external
def set_market_params(market: uint256, params: MarketParams):
    """
    @notice Change the risk parameters of a listed market (owner).
    @dev Raising a margin takes effect at once: accounts may become liquidatable.
    """
    ownable._check_owner()
    assert market < self.market_count, "Clearinghouse: unknown market"
    self._check_params(params)
    self.markets[market] = params
    log MarketParamsSet(
        market=market,
        imr=params.imr,
        mmr=params.mmr,
        fee_rate=params.fee_rate,
        skew_scale=params.skew_scale,
        max_skew=params.max_skew,
    )


@external
def set_pool(pool: address):
    """
    @notice Bind the LiquidityPool (once): it holds every trade's other side.
    """
    ownable._check_owner()
    assert self.pool == empty(address), "Clearinghouse: pool already set"
    assert pool != empty(address), "Clearinghouse: zero address"
    self.pool = pool
    log PoolSet(pool=pool)


@external
def set_insurance_fund(fund: address):
    """
    @notice Bind the insurance fund's vault account (once).
    """
    ownable._check_owner()
    assert self.insurance_fund == empty(address), "Clearinghouse: fund already set"
    assert fund != empty(address), "Clearinghouse: zero address"
    self.insurance_fund = fund
    log InsuranceFundSet(fund=fund)


@external
def set_fee_pool_share(share: uint256):
    """
    @notice Share of trading fees paid to the pool (WAD); the rest goes to the fund.
    """
    ownable._check_owner()
    assert share <= WAD, "Clearinghouse: share > 1"
    self.fee_pool_share = share
    log FeePoolShareSet(share=share)


@external
def set_min_position_notional(notional: uint256):
    """
    @notice Smallest notional (WAD USD) an open position may keep after a trade.
    """
    ownable._check_owner()
    self._check_dust_reward(self.liquidation_params, notional)
    self.min_position_notional = notional
    log MinPositionNotionalSet(notional=notional)


@external
def set_liquidation_params(params: LiquidationParams):
    """
    @notice Penalty, keeper reward bounds and partial-liquidation buffer (owner).
    """
    ownable._check_owner()
    assert params.liq_fee <= MAX_FEE_RATE, "Clearinghouse: fee too high"
    assert params.keeper_share <= WAD, "Clearinghouse: share > 1"
    assert params.min_reward <= params.max_reward, "Clearinghouse: bad reward bounds"
    assert params.buffer <= WAD, "Clearinghouse: bad buffer"
    self._check_dust_reward(params, self.min_position_notional)
    self.liquidation_params = params
    log LiquidationParamsSet(
        liq_fee=params.liq_fee,
        keeper_share=params.keeper_share,
        min_reward=params.min_reward,
        max_reward=params.max_reward,
        buffer=params.buffer,
    )


# ---------------------------------------------------------------- trading

@external
def trade(market: uint256, size_delta: int256, acceptable_price: uint256 = 0):
    """
    @notice Buy (`size_delta` > 0) or sell base units of `market` against the pool.
    @dev Fills at `mark * (1 + (skew + size_delta / 2) / skew_scale)` and pays
         `fee_rate` of the filled notional. A trade that only reduces the
         position is an exit: it works on a failing feed (at the last good
         price) and on a guarded market, and only needs the account to stay
         solvent. Any other trade needs a valid unguarded price, equity >=
         initial margin afterwards, and the pool within its skew cap and its
         own initial margin when the pool's exposure grows.
    @param market Market id.
    @param size_delta Base units (WAD) to buy (positive) or sell (negative).
    @param acceptable_price Worst fill price accepted (WAD); 0 for none.
    """
    pool: address = self.pool
    assert pool != empty(address) and self.insurance_fund != empty(address), "Clearinghouse: not initialised"
    assert size_delta != 0, "Clearinghouse: zero size"
    assert market < self.market_count, "Clearinghouse: unknown market"
    assert msg.sender != pool and msg.sender != self.insurance_fund, "Clearinghouse: system account"

    old: Position = self._load_position(msg.sender, market)
    reduce_only: bool = self._is_reduce_only(old.size, size_delta)

    mark: uint256 = 0
    valid: bool = False
    guarded: bool = False
    mark, valid, guarded = extcall ORACLE.refresh(market)
    if not reduce_only:
        if not valid:
            self._require_valid(1 << market, 0)
        assert not guarded, "Clearinghouse: market guarded"

    skew_before: int256 = self._load_state(market).skew
    fill: Fill = self._fill(msg.sender, pool, market, old, size_delta, mark, self.markets[market].fee_rate)
    if acceptable_price != 0:
        if size_delta > 0:
            assert fill.exec_price <= acceptable_price, "Clearinghouse: slippage"
        else:
            assert fill.exec_price >= acceptable_price, "Clearinghouse: slippage"

    if fill.position.size != 0:
        assert margin_math._notional(fill.position.size, mark) >= self.min_position_notional, "Clearinghouse: position too small"

    # Margin after the fill, with every other market of the account at its own price.
    mask: uint256 = self.open_markets[msg.sender]
    prices: uint256[MAX_MARKETS] = self._prices(mask & ~(1 << market), not reduce_only)
    prices[market] = mark
    after: AccountState = self._state(msg.sender, mask, prices)
    if reduce_only:
        assert after.equity >= 0, "Clearinghouse: negative equity"
    else:
        assert after.equity >= convert(after.initial_req, int256), "Clearinghouse: insufficient margin"
        skew_after: int256 = skew_before + size_delta
        if abs(skew_after) > abs(skew_before):
            assert convert(abs(skew_after), uint256) <= self.markets[market].max_skew, "Clearinghouse: max skew"
            pool_mask: uint256 = self._pool_mask()
            pool_prices: uint256[MAX_MARKETS] = self._prices(pool_mask & ~(1 << market), False)
            pool_prices[market] = mark
            pool_state: AccountState = self._state(pool, pool_mask, pool_prices)
            assert pool_state.equity >= convert(pool_state.initial_req, int256), "Clearinghouse: pool margin"

    log Trade(
        account=msg.sender,
        market=market,
        size_delta=size_delta,
        exec_price=fill.exec_price,
        mark_price=mark,
        fee=fill.fee,
        realized_pnl=fill.realized_pnl,
        size=fill.position.size,
    )


# ---------------------------------------------------------------- liquidation

@external
def liquidate(account: address):
    """
    @notice Liquidate `account`: close the least fraction of its positions that
            restores equity >= maintenance * (1 + buffer) after the penalty, or
            all of them when it is near bankruptcy, the rest would be dust, or
            the partial close falls short. The caller's reward is credited in
            the vault. Permissionless.
    @dev Reverts on a healthy account, on a price that fails its checks, and
         when the account needs auto-deleveraging instead: a full close would
         leave bad debt the insurance fund cannot cover, or the pool could not
         take the position within its maintenance margin (see `deleverage`).
    """
    mask: uint256 = self.open_markets[account]
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    if mask != 0:
        prices, valid, guarded = staticcall ORACLE.try_prices(mask)
        self._require_valid(mask, valid)
    status: uint8 = self._liquidate(account, msg.sender, prices)
    assert status != HEALTHY, "Clearinghouse: account healthy"
    assert status != NEEDS_ADL, "Clearinghouse: ADL required"


@external
def liquidate_batch(accounts: DynArray[address, MAX_LIQUIDATION_BATCH]) -> uint256:
    """
    @notice Liquidate every liquidatable account of `accounts`; healthy ones,
            ones with a failing price and ones the fund cannot cover are
            skipped, not reverted, so a keeper racing another never wastes a
            batch. An account that needs auto-deleveraging is skipped with an
            `AdlRequired` event.
    @return How many accounts were liquidated.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    prices, valid = self._all_prices()
    liquidated: uint256 = 0
    for account: address in accounts:
        if self.open_markets[account] & ~valid != 0:
            continue
        if self._liquidate(account, msg.sender, prices) == LIQUIDATED:
            liquidated += 1
    return liquidated


@external
def deleverage(account: address, market: uint256, counterparties: DynArray[address, MAX_ADL_COUNTERPARTIES]) -> uint256:
    """
    @notice Auto-deleveraging, the last stage of the loss waterfall: close
            `account`'s position in `market` at its bankruptcy price against
            profitable opposite positions, best-ranked first, so the loss the
            insurance fund cannot cover is taken from their unrealised profit.
            Permissionless; the keeper ranks the counterparties off-chain.
    @dev Allowed only when the account is liquidatable and `liquidate` would
         refuse it for ADL (see `_adl_gate`). The fund first gives everything
         it has towards the account's negative equity (`BadDebtCovered`). Each
         counterparty must be on the other side with positive unrealised PnL
         in `market`, and the scores (`adl_score`) must not increase along the
         list; the pool counts as an account. Counterparties are filled in
         order, each up to its whole position, until the position is closed;
         the rest of the list is ignored, and what is left of the position
         waits for another call. The account's equity moves to 0 in proportion
         to the size closed, rounded in its favour, and is exactly 0 once the
         position is closed: never below. No fee, no penalty.
    @param account The bankrupt account.
    @param market The market to deleverage.
    @param counterparties Accounts to close against, by non-increasing score.
    @return Base units of the account's position closed (WAD).
    """
    pool: address = self.pool
    assert len(counterparties) != 0, "Clearinghouse: no counterparties"
    mask: uint256 = self._mask(account)
    assert mask & (1 << market) != 0, "Clearinghouse: no position"
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    prices, valid = self._all_prices()
    self._require_valid(mask, valid)
    st: AccountState = self._state(account, mask, prices)
    assert self._is_liquidatable(st), "Clearinghouse: account healthy"
    shortfall: int256 = 0
    fund_balance: int256 = max(staticcall VAULT.collateral(self.insurance_fund), 0)
    needs_adl: bool = True
    if account != pool:
        shortfall, fund_balance, needs_adl = self._adl_gate(account, pool, mask, prices, st.equity)
    assert needs_adl, "Clearinghouse: ADL not required"

    # Stage 3 before 4: the fund covers what it can of the negative equity.
    equity: int256 = st.equity
    if equity < 0 and fund_balance > 0:
        draw: int256 = min(fund_balance, -equity)
        extcall VAULT.move(self.insurance_fund, account, draw)
        equity += draw
        log BadDebtCovered(account=account, amount=convert(draw, uint256), fund_balance=fund_balance - draw)

    # Stage 4: at the bankruptcy price, every unit closed moves the account's
    # equity by the same amount: -equity / |size|.
    if account == pool:
        # dev: the pool below its maintenance margin has no one to take its
        #      book: it is closed at mark while its equity is positive, and at
        #      its bankruptcy price only for what the fund could not cover.
        equity = min(equity, 0)
    mark: uint256 = prices[market]
    pos: Position = self._position(account, market, pool)
    held: int256 = abs(pos.size)
    remaining: int256 = held
    last_score: uint256 = max_value(uint256)
    # dev: the pool's mirrored cost basis shifts as other fills pass realised
    #      PnL through it (its equity does not): rank it as it was before the call.
    pool_position: Position = self._position(pool, market, pool)
    for counterparty: address in counterparties:
        if remaining == 0:
            break
        other: Position = pool_position
        if counterparty != pool:
            other = self._load_position(counterparty, market)
        assert other.size != 0, "Clearinghouse: counterparty flat"
        assert (other.size > 0) != (pos.size > 0), "Clearinghouse: counterparty same side"
        upnl: int256 = margin_math._upnl(other.size, other.cost, mark)
        assert upnl > 0, "Clearinghouse: counterparty not in profit"
        other_mask: uint256 = self._mask(counterparty)
        self._require_valid(other_mask, valid)
        other_st: AccountState = self._state(counterparty, other_mask, prices)
        score: uint256 = margin_math._adl_score(upnl, other.cost, other_st.notional, other_st.equity)
        assert score <= last_score, "Clearinghouse: scores not ordered"
        last_score = score

        amount: int256 = min(remaining, abs(other.size))
        size_delta: int256 = -amount if pos.size > 0 else amount
        # dev: the account's equity change for `amount`, rounded up (in its
        #      favour: it never ends below 0), exact when closing all that is left.
        gain: int256 = margin_math._ceil_div(-equity * amount, remaining)
        # dev: cash such that the account's equity moves by exactly `gain`:
        #      equity changes by -cash + floor(new_size * mark) - floor(size * mark).
        cash: int256 = margin_math._upnl(pos.size + size_delta, 0, mark) - margin_math._upnl(pos.size, 0, mark) - gain
        unused: int256 = 0
        if account != pool:
            pos, unused = self._settle(account, pool, market, pos, size_delta, cash, 0)
        if counterparty != pool:
            # dev: the counterparty takes the other side for the same cash; the
            #      pool, which intermediates both legs, ends where it started.
            other, unused = self._settle(counterparty, pool, market, other, -size_delta, -cash, 0)
        else:
            # dev: the pool fills once per call: listed again, it is flat.
            pool_position = empty(Position)
        if account == pool:
            # dev: the pool's position is the mirror: the counterparty's leg moved it.
            pos = self._position(pool, market, pool)
        equity += gain
        remaining -= amount
        log Deleverage(
            account=account,
            counterparty=counterparty,
            market=market,
            size_closed=size_delta,
            price=convert(abs(cash), uint256) * WAD // convert(amount, uint256),
            mark_price=mark,
            score=score,
        )
    return convert(held - remaining, uint256)


@external
def withdraw(amount: uint256, receiver: address = msg.sender):
    """
    @notice Withdraw `amount` token units of the caller's collateral to `receiver`.
    @dev Needs amount <= collateral and equity - amount >= initial margin, at
         valid prices, with none of the account's markets guarded. An account
         without positions needs no price at all.
    """
    assert amount != 0, "Clearinghouse: zero amount"
    wad: uint256 = amount * SCALE
    assert convert(wad, int256) <= staticcall VAULT.collateral(msg.sender), "Clearinghouse: insufficient collateral"
    mask: uint256 = self._mask(msg.sender)
    if mask != 0:
        prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
        valid: uint256 = 0
        guarded: uint256 = 0
        prices, valid, guarded = staticcall ORACLE.try_prices(mask)
        self._require_valid(mask, valid)
        assert guarded & mask == 0, "Clearinghouse: market guarded"
        st: AccountState = self._state(msg.sender, mask, prices)
        assert st.equity - convert(wad, int256) >= convert(st.initial_req, int256), "Clearinghouse: insufficient margin"
    extcall VAULT.withdraw_for(msg.sender, amount, receiver)


# ---------------------------------------------------------------- views

@external
@view
def market_state(market: uint256) -> MarketState:
    """
    @notice Traders' net size (skew) and summed cost basis in `market`; the pool holds the negative of both.
    """
    return self._load_state(market)


@external
@view
def position(account: address, market: uint256) -> Position:
    """
    @notice Size and cost basis of `account` in `market` (the pool's is the mirror of all traders).
    """
    return self._position(account, market, self.pool)


@external
@view
def equity(account: address) -> int256:
    """
    @notice collateral + sum of unrealised PnL (WAD USD).
    """
    return self._strict_state(account).equity


@external
@view
def free_collateral(account: address) -> uint256:
    """
    @notice Most WAD that `withdraw` would pay out now: min(collateral, equity -
            initial margin), at least 0; 0 while a price the account depends
            on fails its checks or its market is guarded. Never reverts.
    """
    collateral: int256 = staticcall VAULT.collateral(account)
    free: int256 = collateral
    mask: uint256 = self._mask(account)
    if mask != 0:
        prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
        valid: uint256 = 0
        guarded: uint256 = 0
        prices, valid, guarded = staticcall ORACLE.try_prices(mask)
        if valid & mask != mask or guarded & mask != 0:
            return 0
        st: AccountState = self._state(account, mask, prices)
        free = min(collateral, st.equity - convert(st.initial_req, int256))
    return convert(max(free, 0), uint256)


@external
@view
def account_health(account: address) -> Health:
    """
    @notice `health` of one account; never reverts on a failing feed.
    """
    mask: uint256 = self._mask(account)
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    if mask != 0:
        prices, valid, guarded = staticcall ORACLE.try_prices(mask)
    return self._health(account, prices, valid)


# ---------------------------------------------------------------- internal: fills

@internal
def _fill(
    account: address, pool: address, market: uint256, old: Position, size_delta: int256, mark: uint256, fee_rate: uint256
) -> Fill:
    """
    @dev Fill `size_delta` for `account` against the pool at the impact price.
    """
    exec_price: uint256 = margin_math._exec_price(mark, self._load_state(market).skew, size_delta, self.markets[market].skew_scale)
    # dev: the fill's cash amount, rounded up (a buyer pays more, a seller gets less).
    cash: int256 = margin_math._ceil_div(size_delta * convert(exec_price, int256), IWAD)
    fee: uint256 = margin_math._ceil_div_u(convert(abs(cash), uint256) * fee_rate, WAD)
    new: Position = empty(Position)
    realized: int256 = 0
    new, realized = self._settle(account, pool, market, old, size_delta, cash, fee)
    return Fill(exec_price=exec_price, fee=fee, realized_pnl=realized, position=new)


@internal
def _settle(
    account: address, pool: address, market: uint256, old: Position, size_delta: int256, cash: int256, fee: uint256
) -> (Position, int256):
    """
    @dev Book a fill of `size_delta` for `cash` (what the account pays, signed)
         against the pool: update the position, the market aggregate and the
         account's market bit, and move the realised PnL and the fee in the
         vault. Whatever `cash` is, the pool's mirror stays exact: the account's
         collateral - cost changes by -cash and the pool's by +cash.
    @return (new position, realised PnL).
    """
    new: Position = empty(Position)
    realized: int256 = 0
    new, realized = self._apply(old, size_delta, cash)
    fee_to_pool: uint256 = fee * self.fee_pool_share // WAD

    self.packed_positions[account][market] = self._pack(new.size, new.cost)
    if new.size == 0:
        self.open_markets[account] &= ~(1 << market)
    else:
        self.open_markets[account] |= 1 << market
    state: MarketState = self._load_state(market)
    state.skew += size_delta
    state.total_cost += new.cost - old.cost
    self.packed_market_state[market] = self._pack(state.skew, state.total_cost)

    # dev: the pool is the exact mirror, so it pays the trader's realised PnL.
    extcall VAULT.move(pool, account, realized - convert(fee_to_pool, int256))
    if fee > fee_to_pool:
        extcall VAULT.move(account, self.insurance_fund, convert(fee - fee_to_pool, int256))
    return new, realized


@internal
@pure
def _apply(old: Position, size_delta: int256, cash: int256) -> (Position, int256):
    """
    @dev New position and realised PnL after filling `size_delta` for `cash`.
         Whatever the case, collateral - cost changes by exactly -cash, which
         is what keeps the pool's mirror exact.
    """
    if old.size == 0 or (old.size > 0) == (size_delta > 0):
        return Position(size=old.size + size_delta, cost=old.cost + cash), 0
    closed: int256 = abs(size_delta)
    held: int256 = abs(old.size)
    if closed < held:
        # dev: the closed fraction of the cost basis; truncation only shifts
        #      value between this account's realised and unrealised PnL.
        closed_cost: int256 = old.cost * closed // held
        return Position(size=old.size + size_delta, cost=old.cost - closed_cost), -cash - closed_cost
    if closed == held:
        return Position(size=0, cost=0), -cash - old.cost
    # dev: flip: close all of the old position, open the rest at the same price.
    close_cash: int256 = cash * held // closed
    return Position(size=old.size + size_delta, cost=cash - close_cash), -close_cash - old.cost


@internal
@pure
def _is_reduce_only(size: int256, size_delta: int256) -> bool:
    return size != 0 and (size > 0) != (size_delta > 0) and abs(size_delta) <= abs(size)


# ---------------------------------------------------------------- internal: liquidation

@internal
def _liquidate(account: address, keeper: address, prices: uint256[MAX_MARKETS]) -> uint8:
    """
    @dev The whole liquidation of one account, at `prices` (valid for its markets).
         The loss waterfall's first three stages: the account's collateral
         absorbs its loss, its remaining margin pays the penalty, the
         insurance fund covers any bad debt.
    """
    mask: uint256 = self.open_markets[account]
    if mask == 0:
        return HEALTHY
    st: AccountState = self._state(account, mask, prices)
    if not self._is_liquidatable(st):
        return HEALTHY
    pool: address = self.pool
    fund: address = self.insurance_fund
    lp: LiquidationParams = self.liquidation_params

    # Stage 4 gate: bad debt the fund cannot cover, or a position the pool
    # cannot take within its margin, is not closed against the pool: that
    # account is for `deleverage`.
    shortfall: int256 = 0
    fund_balance: int256 = 0
    needs_adl: bool = False
    shortfall, fund_balance, needs_adl = self._adl_gate(account, pool, mask, prices, st.equity)
    if needs_adl:
        log AdlRequired(account=account, shortfall=convert(shortfall, uint256), fund_balance=convert(fund_balance, uint256))
        return NEEDS_ADL

    # Fraction f (WAD) of every position to close, at mark: after it,
    # E - f * full_penalty >= (1 - f) * target  =>  f >= (target - E) / (target - full_penalty).
    # dev: solved at mark, a close's own price impact can leave it a little
    #      short: a second pass closes what is missing the same way (the gap
    #      is small), and a third closes everything if that is still short.
    closed: uint256 = 0
    penalty: uint256 = 0
    after: AccountState = st
    for attempt: uint256 in range(3):
        equity_left: int256 = after.equity - convert(penalty, int256)
        target: int256 = self._liquidation_target(after.maintenance_req, lp.buffer)
        if attempt != 0 and (mask == 0 or equity_left >= target):
            break
        full_penalty: int256 = convert(margin_math._ceil_div_u(after.notional * lp.liq_fee, WAD), int256)
        fraction: uint256 = WAD
        if attempt < 2 and equity_left > full_penalty and target > full_penalty:
            fraction = min(convert(margin_math._ceil_div(
                (target - equity_left) * IWAD, target - full_penalty), uint256), WAD)
        pass_closed: uint256 = 0
        pass_penalty: uint256 = 0
        pass_closed, pass_penalty = self._close_fraction(account, keeper, pool, mask, prices, fraction, lp.liq_fee)
        closed += pass_closed
        penalty += pass_penalty
        mask = self.open_markets[account]
        after = self._state(account, mask, prices)

    # Stage 2: the penalty, from what the account has left.
    paid: uint256 = min(penalty, convert(max(after.equity, 0), uint256))
    reward: uint256 = min(max(paid * lp.keeper_share // WAD, lp.min_reward), lp.max_reward)
    if paid == penalty:
        # dev: an account that pays its whole penalty gets no top-up from the
        #      fund, or closing dust (a partial close, or a minimum-size
        #      position a fall shrank) with one's own keeper would farm it.
        reward = min(reward, paid)
    else:
        # dev: near or past bankruptcy the fund tops up to min_reward, so
        #      keepers are paid to clear bad debt, but never with what it
        #      needs for this account's bad debt.
        reward = min(reward, paid + convert(fund_balance - shortfall, uint256))
    if paid != 0:
        extcall VAULT.move(account, fund, convert(paid, int256))
    if reward != 0:
        extcall VAULT.move(fund, keeper, convert(reward, int256))

    # Stage 3: bad debt after a full close is covered by the insurance fund.
    bad_debt: uint256 = 0
    if mask == 0 and after.equity < 0:
        bad_debt = convert(-after.equity, uint256)
        remaining: int256 = staticcall VAULT.collateral(fund) + after.equity
        # dev: guaranteed by the ADL gate above; the fund never goes negative.
        assert remaining >= 0, "Clearinghouse: insurance fund short"
        extcall VAULT.move(fund, account, -after.equity)
        log BadDebtCovered(account=account, amount=bad_debt, fund_balance=remaining)

    log LiquidationSettled(
        account=account,
        keeper=keeper,
        closed_notional=closed,
        penalty=paid,
        keeper_reward=reward,
        fund_share=convert(paid, int256) - convert(reward, int256),
        bad_debt=bad_debt,
        fully_closed=mask == 0,
    )
    return LIQUIDATED


@internal
@view
def _adl_gate(
    account: address, pool: address, mask: uint256, prices: uint256[MAX_MARKETS], equity: int256
) -> (int256, int256, bool):
    """
    @dev Stage 4's condition, shared by `liquidate` and `deleverage`: a full
         close against the pool would leave bad debt the insurance fund cannot
         cover, or would push the pool below its maintenance margin. The
         full-close equity is exact up to a wei of rounding per fill (impact
         cost does not depend on how a close is split), hence the slack.
    @return (shortfall, fund balance, whether the account needs ADL), WAD.
    """
    fund_balance: int256 = max(staticcall VAULT.collateral(self.insurance_fund), 0)
    full_close: int256 = self._full_close_equity(account, mask, prices, equity)
    shortfall: int256 = max(ROUNDING_SLACK - full_close, 0)
    if shortfall > fund_balance:
        return shortfall, fund_balance, True
    return shortfall, fund_balance, not self._pool_absorbs(account, pool, mask, prices, equity - full_close)


@internal
@view
def _pool_absorbs(
    account: address, pool: address, mask: uint256, prices: uint256[MAX_MARKETS], impact_gain: int256
) -> bool:
    """
    @dev Whether the pool, taking over every position of `account` (and the
         impact cost it pays), stays at or above its maintenance margin. Only
         a market where the close leaves the pool more exposed can lower it,
         so the pool's book is valued only then.
    """
    grows: bool = False
    extra: int256 = 0
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        skew: int256 = self._load_state(i).skew
        after: int256 = skew - self._load_position(account, i).size
        grows = grows or abs(after) > abs(skew)
        mmr: uint256 = self.markets[i].mmr
        # dev: the pool holds -skew now and -after then; same rounding as `_state`.
        extra += convert(margin_math._ceil_div_u(margin_math._notional(after, prices[i]) * mmr, WAD), int256)
        extra -= convert(margin_math._ceil_div_u(margin_math._notional(skew, prices[i]) * mmr, WAD), int256)
    if not grows:
        return True
    # dev: the rare case: value the pool's whole book (the caller priced only the account's markets).
    pool_mask: uint256 = self._pool_mask() | mask
    pool_st: AccountState = self._state(pool, pool_mask, self._prices(pool_mask, False))
    return pool_st.equity + impact_gain >= convert(pool_st.maintenance_req, int256) + extra


@internal
@pure
def _liquidation_target(maintenance_req: uint256, buffer: uint256) -> int256:
    # dev: the equity a partial liquidation restores: maintenance * (1 + buffer), rounded up.
    return convert(margin_math._ceil_div_u(maintenance_req * (WAD + buffer), WAD), int256)


@internal
def _close_fraction(
    account: address,
    keeper: address,
    pool: address,
    mask: uint256,
    prices: uint256[MAX_MARKETS],
    fraction: uint256,
    liq_fee: uint256,
) -> (uint256, uint256):
    """
    @dev Close `fraction` (WAD) of every position in `mask` against the pool
         at the impact price, without trading fee (the penalty replaces it).
         A remainder below the minimum notional is closed too.
    @return (closed notional at mark, penalty assessed), WAD.
    """
    closed: uint256 = 0
    penalty: uint256 = 0
    min_notional: uint256 = self.min_position_notional
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: Position = self._load_position(account, i)
        # dev: round the closed size up in magnitude (in favour of safety).
        amount: int256 = margin_math._ceil_div(abs(pos.size) * convert(fraction, int256), IWAD)
        if fraction >= WAD or margin_math._notional(abs(pos.size) - amount, prices[i]) < min_notional:
            amount = abs(pos.size)
        size_delta: int256 = -amount if pos.size > 0 else amount
        fill: Fill = self._fill(account, pool, i, pos, size_delta, prices[i], 0)
        notional: uint256 = margin_math._notional(amount, prices[i])
        market_penalty: uint256 = margin_math._ceil_div_u(notional * liq_fee, WAD)
        closed += notional
        penalty += market_penalty
        log Liquidation(
            account=account,
            keeper=keeper,
            market=i,
            size_closed=size_delta,
            exec_price=fill.exec_price,
            mark_price=prices[i],
            penalty=market_penalty,
        )
    return (closed, penalty)


@internal
@view
def _full_close_equity(account: address, mask: uint256, prices: uint256[MAX_MARKETS], equity: int256) -> int256:
    """
    @dev Equity left after closing every position at its impact price, exactly
         as `_fill` would: each fill changes equity by size_delta * mark - cash.
    """
    out: int256 = equity
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: Position = self._load_position(account, i)
        exec_price: uint256 = margin_math._exec_price(prices[i], self._load_state(i).skew, -pos.size, self.markets[i].skew_scale)
        cash: int256 = margin_math._ceil_div(-pos.size * convert(exec_price, int256), IWAD)
        # dev: equity counted this position as floor(size * mark) - cost; after
        #      the close it is collateral + realised = ... - cash - cost.
        out += -cash - margin_math._floor_div(pos.size * convert(prices[i], int256), IWAD)
    return out


# ---------------------------------------------------------------- internal: margin

@internal
@view
def _strict_state(account: address) -> AccountState:
    mask: uint256 = self._mask(account)
    return self._state(account, mask, self._prices(mask, True))


@internal
@view
def _state(account: address, mask: uint256, prices: uint256[MAX_MARKETS]) -> AccountState:
    """
    @dev Equity and requirements of `account` over the markets in `mask`.
    """
    pool: address = self.pool
    st: AccountState = empty(AccountState)
    st.equity = staticcall VAULT.collateral(account)
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: Position = self._position(account, i, pool)
        price: uint256 = prices[i]
        st.equity += margin_math._upnl(pos.size, pos.cost, price)
        notional: uint256 = margin_math._notional(pos.size, price)
        st.notional += notional
        st.initial_req += margin_math._ceil_div_u(notional * self.markets[i].imr, WAD)
        st.maintenance_req += margin_math._ceil_div_u(notional * self.markets[i].mmr, WAD)
    return st


@internal
@pure
def _is_liquidatable(st: AccountState) -> bool:
    # dev: SPEC 3: has a position and equity < maintenance requirement.
    return st.notional != 0 and st.equity < convert(st.maintenance_req, int256)


@internal
@view
def _health(account: address, prices: uint256[MAX_MARKETS], valid: uint256) -> Health:
    mask: uint256 = self._mask(account)
    st: AccountState = self._state(account, mask, prices)
    return Health(
        equity=st.equity,
        notional=st.notional,
        initial_req=st.initial_req,
        maintenance_req=st.maintenance_req,
        liquidatable=self._is_liquidatable(st),
        prices_valid=valid & mask == mask,
    )


@internal
@view
def _position(account: address, market: uint256, pool: address) -> Position:
    if account == pool:
        state: MarketState = self._load_state(market)
        return Position(size=-state.skew, cost=-state.total_cost)
    return self._load_position(account, market)


@internal
@view
def _load_position(account: address, market: uint256) -> Position:
    size: int256 = 0
    cost: int256 = 0
    size, cost = self._unpack(self.packed_positions[account][market])
    return Position(size=size, cost=cost)


@internal
@view
def _load_state(market: uint256) -> MarketState:
    skew: int256 = 0
    total_cost: int256 = 0
    skew, total_cost = self._unpack(self.packed_market_state[market])
    return MarketState(skew=skew, total_cost=total_cost)


@internal
@pure
def _pack(high: int256, low: int256) -> uint256:
    # dev: two's-complement halves, each within the int128 range.
    assert -2 ** 127 <= high and high < 2 ** 127, "Clearinghouse: position too large"
    assert -2 ** 127 <= low and low < 2 ** 127, "Clearinghouse: position too large"
    return ((convert(convert(high, bytes32), uint256) & LOW_HALF) << 128) | (
        convert(convert(low, bytes32), uint256) & LOW_HALF
    )


@internal
@pure
def _unpack(word: uint256) -> (int256, int256):
    return (self._signed_half(word >> 128), self._signed_half(word & LOW_HALF))


@internal
@pure
def _signed_half(half: uint256) -> int256:
    # dev: half < 2**128, so the conversion and the subtraction cannot overflow.
    if half >= 2 ** 127:
        return convert(half, int256) - 2 ** 128
    return convert(half, int256)


@internal
@view
def _mask(account: address) -> uint256:
    if account == self.pool:
        return self._pool_mask()
    return self.open_markets[account]


@internal
@view
def _pool_mask() -> uint256:
    # dev: markets where the pool's mirrored position is not empty.
    mask: uint256 = 0
    for i: uint256 in range(MAX_MARKETS):
        if i == self.market_count:
            break
        if self.packed_market_state[i] != 0:
            mask |= 1 << i
    return mask


@internal
@view
def _prices(mask: uint256, strict: bool) -> uint256[MAX_MARKETS]:
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    if mask == 0:
        return prices
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = staticcall ORACLE.try_prices(mask)
    if strict:
        self._require_valid(mask, valid)
    return prices


@internal
@view
def _all_prices() -> (uint256[MAX_MARKETS], uint256):
    # dev: every listed market's price (last good one where a feed fails) and the valid mask.
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = staticcall ORACLE.try_prices((1 << self.market_count) - 1)
    return prices, valid


@internal
@view
def _require_valid(mask: uint256, valid: uint256):
    if valid & mask == mask:
        return
    for i: uint256 in range(MAX_MARKETS):
        if (mask & ~valid) & (1 << i) != 0:
            # dev: reverts with the failed check's reason.
            unreachable: uint256 = staticcall ORACLE.price(i)
    raise "Clearinghouse: invalid price"


@internal
@pure
def _check_dust_reward(params: LiquidationParams, min_notional: uint256):
    # dev: the fund tops a reward up to min_reward for an account that cannot
    #      pay its penalty. If the penalty on the smallest position allowed were
    #      below min_reward, opening dust positions and letting them go
    #      bankrupt under one's own keeper would farm the insurance fund.
    assert params.min_reward * WAD <= params.liq_fee * min_notional, "Clearinghouse: min reward above dust penalty"


@internal
@view
def _check_params(params: MarketParams):
    assert params.mmr != 0 and params.mmr < params.imr and params.imr <= WAD, "Clearinghouse: bad margins"
    assert params.fee_rate <= MAX_FEE_RATE, "Clearinghouse: fee too high"
    assert params.skew_scale != 0, "Clearinghouse: zero skew scale"
    assert params.max_skew != 0 and params.max_skew < params.skew_scale, "Clearinghouse: bad max skew"
