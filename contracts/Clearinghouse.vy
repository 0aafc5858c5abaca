# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
# pragma optimize codesize
"""
@title Clearinghouse
@notice The engine: markets, positions, cross-margin math, trading against the
        LiquidityPool (the counterparty of every trade), withdrawals and
        liquidation (at the mark, behind a per-market price lag). It has no owner: its parameters are written by the
        Configurator, and auto-deleveraging fills are booked for the
        Deleverager, each through one caller-checked entry point.
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
     Parameters are packed words (modules/packing.vy): a liquidation reads its
     whole configuration in four storage slots and a market's in two.
     `optimize codesize`: measured on anvil, 217 bytes smaller for +0.00% to
     +0.35% gas per operation (the engine is the deployable short of room).
"""

from .interfaces import IClearinghouse
from .interfaces import IVault
from .interfaces import IPriceOracle
from .modules import constants
from .modules import margin_math
from .modules import packing

implements: IClearinghouse


# ---------------------------------------------------------------- constants

WAD: constant(uint256) = constants.WAD
IWAD: constant(int256) = 10 ** 18
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Longest account list one liquidation batch takes (bounded gas per call).
MAX_LIQUIDATION_BATCH: constant(uint256) = 500

# @dev Longest fill list one `settle_adl` books (the Deleverager's counterparty bound).
MAX_ADL_FILLS: constant(uint256) = 50

# @dev Wei of the pool's equity kept back when working out how much of a
#      book it can take within its margin (each fill rounds by a wei).
ROUNDING_SLACK: constant(int256) = 16

# @dev Seconds over which a market's price lag releases fee_rate * skew_scale
#      base units into its fill price (one Ethereum slot): see `_price_skew`.
LAG_RELEASE_SECONDS: constant(uint256) = 12

# @dev `configure` with this market id leaves every market as it is.
NO_MARKET: constant(uint256) = max_value(uint256)

# Outcomes of `_liquidate`; NEEDS_ADL: the account is for the Deleverager;
# DEFERRED: the pool has no margin left to take any of it, so it waits.
LIQUIDATED: constant(uint8) = 0
HEALTHY: constant(uint8) = 1
NEEDS_ADL: constant(uint8) = 2
DEFERRED: constant(uint8) = 3

# @dev Positions and market aggregates are two signed 128-bit halves of one
#      storage word (one SLOAD/SSTORE instead of two on every fill). 2**127 WAD
#      is 1.7e20 base units or USD: far beyond any real position.
MAX_HALF: constant(int256) = 2 ** 127


# ---------------------------------------------------------------- structs

# @dev The liquidation configuration, unpacked once per call (a batch reads it once).
struct Config:
    pool: address
    fund: address
    liq_fee: uint256
    keeper_share: uint256
    buffer: uint256
    min_notional: uint256
    min_reward: uint256
    max_reward: uint256

# @dev One look at an account for liquidation: its margin state and what
#      taking its book would ask of the pool, from one read of each position.
struct Scan:
    equity: int256
    notional: uint256
    maintenance_req: uint256
    # Rise of the pool's maintenance requirement if it takes the whole book,
    # summed over the markets where it rises. Each market's requirement is
    # convex in the closed fraction, so closing a fraction f of any of them
    # raises the pool's requirement by at most f times this.
    pool_extra_req: uint256

# @dev What one pass of a liquidation closed, and the account after it.
struct ClosePass:
    closed: uint256
    penalty: uint256
    realized: int256
    equity_change: int256
    notional: uint256
    maintenance_req: uint256
    mask: uint256
    # Whether anything was closed.
    filled: bool


# ---------------------------------------------------------------- immutables

# @dev Custody and collateral ledger.
VAULT: public(immutable(IVault))

# @dev Validated prices and deviation guards, one feed per market.
ORACLE: public(immutable(IPriceOracle))

# @dev The only caller of `configure`: owner setters and their bounds live there.
CONFIGURATOR: public(immutable(address))

# @dev The only caller of `settle_adl`: auto-deleveraging lives there.
DELEVERAGER: public(immutable(address))

# @dev One collateral token unit in WAD (10 ** (18 - decimals)), from the vault.
SCALE: immutable(uint256)


# ---------------------------------------------------------------- storage

# @dev Per market id (ids are 0 .. market_count - 1): imr | mmr | fee_rate.
margins_words: HashMap[uint256, uint256]

# @dev Per market id: the price impact scale (WAD base units), a whole word:
#      the extreme-price markets need scales beyond 128 bits.
skew_scales: HashMap[uint256, uint256]

# @dev Per market id: the largest |skew| a risk-adding trade may leave; read
#      only by trades that grow the skew.
max_skews: HashMap[uint256, uint256]

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

# @dev The LiquidityPool (counterparty of every trade) | the pool's fee share.
pool_word: uint256

# @dev The insurance fund's vault account | the liquidation penalty rate.
fund_word: uint256

# @dev keeper_share | buffer | min_position_notional.
penalty_word: uint256

# @dev min_reward | max_reward.
reward_word: uint256

# @dev Per market id, packed (lag | timestamp): the part of the skew that
#      liquidations added and fill prices do not count yet, as of that
#      timestamp. See `_price_skew`.
price_lags: HashMap[uint256, uint256]


# ---------------------------------------------------------------- constructor

@deploy
def __init__(vault: IVault, oracle: IPriceOracle, configurator: address, deleverager: address):
    """
    @param vault The Vault holding the collateral.
    @param oracle The PriceOracle with one feed per market.
    @param configurator The Configurator: the engine's parameters come from it.
    @param deleverager The Deleverager: the only caller of `settle_adl`.
    """
    VAULT = vault
    ORACLE = oracle
    CONFIGURATOR = configurator
    DELEVERAGER = deleverager
    SCALE = staticcall vault.SCALE()


# ---------------------------------------------------------------- configuration

@external
def configure(
    market: uint256, margins_word: uint256, skew_scale: uint256, max_skew: uint256, config: IClearinghouse.EngineConfig
):
    """
    @notice Write packed parameters (Configurator only): the global words, and
            market `market`'s margins word, skew scale and skew cap unless it
            is NO_MARKET. A market id equal to `market_count` lists a new market.
    @dev The Configurator owns every bound and event; the engine only stores.
    """
    # dev: not reachable by a user: the Configurator is the only caller, set at deployment.
    assert msg.sender == CONFIGURATOR  # dev: configurator only
    if market != NO_MARKET:
        count: uint256 = self.market_count
        # dev: the Configurator lists ids in order, below MAX_MARKETS.
        assert market <= count  # dev: market ids are dense
        if market == count:
            self.market_count = count + 1
            # dev: a non-zero word from the start, so no liquidation pays for a fresh slot.
            self.price_lags[market] = 1
        self.margins_words[market] = margins_word
        self.skew_scales[market] = skew_scale
        self.max_skews[market] = max_skew
    self.pool_word = config.pool_word
    self.fund_word = config.fund_word
    self.penalty_word = config.penalty_word
    self.reward_word = config.reward_word


# ---------------------------------------------------------------- trading

@external
def trade(market: uint256, size_delta: int256, acceptable_price: uint256 = 0):
    """
    @notice Buy (`size_delta` > 0) or sell base units of `market` against the pool.
    @dev Fills at `mark * (1 + (skew + size_delta / 2) / skew_scale)` and pays
         `fee_rate` of the filled notional; `skew` is the traders' net size
         less what recent liquidations added and the price does not count yet
         (`price_skew`). A trade that only reduces the
         position is an exit: it works on a failing feed (at the last good
         price) and on a guarded market, and only needs the account to stay
         solvent, as long as it shrinks |skew|. Any other trade needs a valid
         unguarded price and equity >= initial margin afterwards, and every
         trade but such an exit leaves |skew| within the cap and the pool
         within its own initial margin.
    @param market Market id.
    @param size_delta Base units (WAD) to buy (positive) or sell (negative).
    @param acceptable_price Worst fill price accepted (WAD); 0 for none.
    """
    pool_word: uint256 = self.pool_word
    pool: address = packing._address(pool_word)
    fund: address = packing._address(self.fund_word)
    assert pool != empty(address) and fund != empty(address), "Clearinghouse: not initialised"
    assert size_delta != 0, "Clearinghouse: zero size"
    assert market < self.market_count, "Clearinghouse: unknown market"
    assert msg.sender != pool and msg.sender != fund, "Clearinghouse: system account"

    old: IClearinghouse.Position = self._load_position(msg.sender, market)
    reduce_only: bool = self._is_reduce_only(old.size, size_delta)

    mark: uint256 = 0
    valid: bool = False
    guarded: bool = False
    mark, valid, guarded = extcall ORACLE.refresh(market)
    if not reduce_only:
        if not valid:
            self._require_valid(1 << market, 0)
        self._require_unguarded(guarded)

    margins: uint256 = self.margins_words[market]
    state: IClearinghouse.MarketState = self._load_state(market)
    skew_scale: uint256 = self.skew_scales[market]
    exec_price: uint256 = margin_math._exec_price(
        mark, self._price_skew(market, state.skew, margins, skew_scale), size_delta, skew_scale
    )
    # dev: the fill's cash amount, rounded up (a buyer pays more, a seller gets less).
    cash: int256 = margin_math._ceil_div(size_delta * convert(exec_price, int256), IWAD)
    fee: uint256 = margin_math._ceil_div_u(convert(abs(cash), uint256) * packing._high_fraction(margins), WAD)
    new: IClearinghouse.Position = empty(IClearinghouse.Position)
    realized: int256 = 0
    new, realized = self._book(msg.sender, market, old, size_delta, cash, state)
    fee_to_pool: uint256 = fee * packing._address_tail(pool_word) // WAD
    # dev: the pool is the exact mirror, so it pays the trader's realised PnL;
    #      the fee is split between the pool and the fund.
    extcall VAULT.shift(
        [msg.sender, pool, fund, empty(address)],
        [
            realized - convert(fee, int256),
            convert(fee_to_pool, int256) - realized,
            convert(fee - fee_to_pool, int256),
            0,
        ],
    )
    if acceptable_price != 0:
        # dev: a buyer's worst price is a ceiling, a seller's a floor.
        assert (exec_price <= acceptable_price) == (size_delta > 0) or exec_price == acceptable_price, "Clearinghouse: slippage"

    if new.size != 0:
        min_notional: uint256 = packing._high_amount(self.penalty_word)
        assert margin_math._notional(new.size, mark) >= min_notional, "Clearinghouse: position too small"

    # Margin after the fill, with every other market of the account at its own price.
    mask: uint256 = self.open_markets[msg.sender]
    # dev: a trade that adds risk needs every other market's price valid and
    #      unguarded too: a guarded gain elsewhere must not carry its margin.
    prices: uint256[MAX_MARKETS] = self._prices(mask & ~(1 << market), not reduce_only, not reduce_only)
    prices[market] = mark
    after: IClearinghouse.AccountState = self._state(msg.sender, mask, prices)
    if reduce_only:
        assert after.equity >= 0, "Clearinghouse: negative equity"
    else:
        self._require_margin(after.equity, after.initial_req)
    # dev: every trade but a pure exit that shrinks |skew| answers to the skew
    #      cap and the pool's margin: an exit that grows |skew| (after another
    #      trader flipped it) or a flip that keeps |skew| adds the pool's risk
    #      all the same.
    #      An exit in profit is paid by the pool: it needs the pool to stay
    #      at or above zero after paying, or a profitable trader exiting a
    #      bankrupt pool before its ADL is paid with other accounts'
    #      collateral (test_profitable_exit_front_runs_bankrupt_pool_adl.py);
    #      the keeper's ADL of the pool comes first, then the exit works.
    skew_after: int256 = state.skew + size_delta
    adds_pool_risk: bool = not reduce_only or abs(skew_after) >= abs(state.skew)
    if adds_pool_risk or realized > 0:
        if adds_pool_risk:
            assert convert(abs(skew_after), uint256) <= self.max_skews[market], "Clearinghouse: max skew"
        pool_mask: uint256 = self._pool_mask()
        pool_prices: uint256[MAX_MARKETS] = self._prices(pool_mask & ~(1 << market), not reduce_only, not reduce_only)
        pool_prices[market] = mark
        pool_state: IClearinghouse.AccountState = self._state(pool, pool_mask, pool_prices)
        pool_need: int256 = 0
        if adds_pool_risk:
            pool_need = convert(pool_state.initial_req, int256)
        self._require_pool_margin(pool_state.equity >= pool_need)

    log IClearinghouse.Trade(
        account=msg.sender,
        market=market,
        size_delta=size_delta,
        exec_price=exec_price,
        mark_price=mark,
        fee=fee,
        realized_pnl=realized,
        size=new.size,
    )


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
        st: IClearinghouse.AccountState = self._state(msg.sender, mask, self._prices(mask, True, True))
        self._require_margin(st.equity - convert(wad, int256), st.initial_req)
    extcall VAULT.withdraw_for(msg.sender, amount, receiver)


# ---------------------------------------------------------------- liquidation

@external
def liquidate(account: address):
    """
    @notice Liquidate `account`: close, at the mark, the least fraction of
            its positions that restores equity >= maintenance * (1 + buffer)
            after the penalty, or all of them when it is near bankruptcy, the
            rest would be dust, or the partial close falls short; no more than
            the pool can take within its margin (the rest later). The caller's
            reward is credited in the vault. Permissionless.
    @dev Reverts on a healthy account (one is healthy too while a lagging
         stable mark of its markets says so: the oracle's
         `liquidation_prices`), on a price that fails its checks, when
         the pool's margin can take none of it, and when the account
         needs auto-deleveraging instead: negative equity at the mark that
         the insurance fund cannot cover, or that the pool cannot take at
         once (see the Deleverager).
    """
    mask: uint256 = self.open_markets[account]
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    lagging: uint256 = 0
    if mask != 0:
        prices, valid, stable, lagging = staticcall ORACLE.liquidation_prices(mask)
        self._require_valid(mask, valid)
    status: uint8 = self._liquidate(account, msg.sender, mask, prices, stable, lagging, self._config())
    assert status != HEALTHY, "Clearinghouse: account healthy"
    assert status != NEEDS_ADL, "Clearinghouse: ADL required"
    self._require_pool_margin(status != DEFERRED)


@external
def liquidate_batch(accounts: DynArray[address, MAX_LIQUIDATION_BATCH]) -> uint256:
    """
    @notice Liquidate every liquidatable account of `accounts`; healthy ones,
            ones with a failing price and ones the pool's margin cannot take
            yet are skipped, not reverted, so a keeper racing another
            never wastes a batch. An account that needs auto-deleveraging is
            skipped with an `AdlRequired` event.
    @return How many accounts were liquidated.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    lagging: uint256 = 0
    # dev: every market's price and stable mark once a batch, not once an account.
    prices, valid, stable, lagging = staticcall ORACLE.liquidation_prices((1 << self.market_count) - 1)
    config: Config = self._config()
    liquidated: uint256 = 0
    for account: address in accounts:
        mask: uint256 = self.open_markets[account]
        if mask & ~valid != 0:
            continue
        if self._liquidate(account, msg.sender, mask, prices, stable, lagging, config) == LIQUIDATED:
            liquidated += 1
    return liquidated


@external
def settle_adl(account: address, market: uint256, draw: int256, fills: DynArray[IClearinghouse.AdlFill, MAX_ADL_FILLS]):
    """
    @notice Book auto-deleveraging fills (Deleverager only): `draw` of the
            insurance fund's collateral to `account`, then each fill closes
            `size_delta` of `account`'s position in `market` for `cash`, and
            the counterparty takes the other side for the same cash. The pool
            intermediates both legs and ends where it started.
    @dev The Deleverager has checked the account, the gate, the prices, each
         counterparty and its rank; the engine books exactly what it is given.
    """
    # dev: not reachable by a user: the Deleverager is the only caller, set at deployment.
    assert msg.sender == DELEVERAGER  # dev: deleverager only
    pool: address = packing._address(self.pool_word)
    fund: address = packing._address(self.fund_word)
    pos: IClearinghouse.Position = self._position(account, market, pool)
    account_pnl: int256 = draw
    unused: int256 = 0
    for fill: IClearinghouse.AdlFill in fills:
        if account != pool:
            realized: int256 = 0
            pos, realized = self._book(account, market, pos, fill.size_delta, fill.cash, self._load_state(market))
            account_pnl += realized
        if fill.counterparty != pool:
            other: IClearinghouse.Position = self._load_position(fill.counterparty, market)
            realized_other: int256 = 0
            other, realized_other = self._book(
                fill.counterparty, market, other, -fill.size_delta, -fill.cash, self._load_state(market)
            )
            extcall VAULT.move(pool, fill.counterparty, realized_other)
    if account == pool:
        # dev: the pool's own legs are its mirror: only the fund's draw moves.
        extcall VAULT.move(fund, pool, draw)
    else:
        extcall VAULT.shift([account, pool, fund, empty(address)], [account_pnl, draw - account_pnl, -draw, 0])


# ---------------------------------------------------------------- views

@external
@view
def pool() -> address:
    """
    @notice The LiquidityPool: counterparty of every trade.
    """
    return packing._address(self.pool_word)


@external
@view
def insurance_fund() -> address:
    """
    @notice The insurance fund's vault account (the InsuranceFund contract).
    """
    return packing._address(self.fund_word)


@external
@view
def market_state(market: uint256) -> IClearinghouse.MarketState:
    """
    @notice Traders' net size (skew) and summed cost basis in `market`; the pool holds the negative of both.
    """
    return self._load_state(market)


@external
@view
def price_skew(market: uint256) -> int256:
    """
    @notice The skew `trade` prices at now: traders' net size less what recent
            liquidations added and the price does not count yet.
    """
    return self._price_skew(
        market, self._load_state(market).skew, self.margins_words[market], self.skew_scales[market]
    )


@external
@view
def position(account: address, market: uint256) -> IClearinghouse.Position:
    """
    @notice Size and cost basis of `account` in `market` (the pool's is the mirror of all traders).
    """
    return self._position(account, market, packing._address(self.pool_word))


@external
@view
def state_at(
    account: address, market: uint256, prices: uint256[MAX_MARKETS]
) -> (IClearinghouse.Position, IClearinghouse.AccountState, uint256):
    """
    @notice `account`'s position in `market`, its margin state at the given
            prices and the markets it holds: what the Deleverager checks of a
            counterparty, in one call (it prices every market once a call).
    """
    pool: address = packing._address(self.pool_word)
    mask: uint256 = self._mask(account)
    return self._position(account, market, pool), self._state(account, mask, prices), mask


@external
@view
def adl_gate(account: address, prices: uint256[MAX_MARKETS]) -> IClearinghouse.AdlGate:
    """
    @notice Stage 4's condition at the given prices, exactly as `liquidate`
            decides it: negative equity at the mark that the fund cannot
            cover, or that the pool cannot take within its maintenance margin
            at once. The pool itself always needs ADL once it is liquidatable:
            no one else can take its book.
    """
    config: Config = self._config()
    mask: uint256 = self._mask(account)
    gate: IClearinghouse.AdlGate = IClearinghouse.AdlGate(
        state=self._state(account, mask, prices), mask=mask, shortfall=0, fund_balance=0, needs_adl=True
    )
    if account == config.pool:
        gate.fund_balance = max(staticcall VAULT.collateral(config.fund), 0)
        return gate
    fund_raw: int256 = 0
    pool_limit: uint256 = 0
    gate.shortfall, gate.fund_balance, fund_raw, gate.needs_adl, pool_limit = self._gate(
        config, mask, prices, self._scan(account, mask, prices)
    )
    return gate


# ---------------------------------------------------------------- internal: fills

@internal
def _book(
    account: address,
    market: uint256,
    old: IClearinghouse.Position,
    size_delta: int256,
    cash: int256,
    state: IClearinghouse.MarketState,
) -> (IClearinghouse.Position, int256):
    """
    @dev Book a fill of `size_delta` for `cash` (what the account pays,
         signed) against the pool: the position, the market aggregate and the
         account's market bit. The caller moves the realised PnL (and any fee)
         in the vault. Whatever `cash` is, the pool's mirror stays exact: the
         account's collateral - cost changes by -cash and the pool's by +cash.
    @return (new position, realised PnL).
    """
    new: IClearinghouse.Position = empty(IClearinghouse.Position)
    realized: int256 = 0
    new, realized = self._apply(old, size_delta, cash)
    self.packed_positions[account][market] = self._pack(new.size, new.cost)
    if new.size == 0:
        self.open_markets[account] &= ~(1 << market)
    elif old.size == 0:
        self.open_markets[account] |= 1 << market
    self.packed_market_state[market] = self._pack(state.skew + size_delta, state.total_cost + new.cost - old.cost)
    return new, realized


@internal
@pure
def _apply(old: IClearinghouse.Position, size_delta: int256, cash: int256) -> (IClearinghouse.Position, int256):
    """
    @dev New position and realised PnL after filling `size_delta` for `cash`.
         Whatever the case, collateral - cost changes by exactly -cash, which
         is what keeps the pool's mirror exact.
    """
    if old.size == 0 or (old.size > 0) == (size_delta > 0):
        return IClearinghouse.Position(size=old.size + size_delta, cost=old.cost + cash), 0
    closed: int256 = abs(size_delta)
    held: int256 = abs(old.size)
    if closed < held:
        # dev: the closed fraction of the cost basis; truncation only shifts
        #      value between this account's realised and unrealised PnL.
        closed_cost: int256 = old.cost * closed // held
        return IClearinghouse.Position(size=old.size + size_delta, cost=old.cost - closed_cost), -cash - closed_cost
    if closed == held:
        return IClearinghouse.Position(size=0, cost=0), -cash - old.cost
    # dev: flip: close all of the old position, open the rest at the same price.
    close_cash: int256 = cash * held // closed
    return IClearinghouse.Position(size=old.size + size_delta, cost=cash - close_cash), -close_cash - old.cost


@internal
@pure
def _is_reduce_only(size: int256, size_delta: int256) -> bool:
    return size != 0 and (size > 0) != (size_delta > 0) and abs(size_delta) <= abs(size)


# ---------------------------------------------------------------- internal: liquidation

@internal
def _liquidate(
    account: address,
    keeper: address,
    mask: uint256,
    prices: uint256[MAX_MARKETS],
    stable: uint256[MAX_MARKETS],
    lagging: uint256,
    config: Config,
) -> uint8:
    """
    @dev The whole liquidation of one account, at `prices` (valid for its
         markets). The loss waterfall's first three stages: the account's
         collateral absorbs its loss, its remaining margin pays the penalty,
         the insurance fund covers any bad debt. Every close fills at the
         mark, so the account's state after it is its state before it less
         the penalty (and a wei of rounding a fill), whatever the skew: no
         trader's skew can make a partial liquidation a full one, nor an
         account with positive equity an ADL case. Every position is read
         once for the margin state and the gate together; each close pass
         works out the account's state after it from its own fills; the
         vault is moved once at the end.
    """
    if mask == 0:
        return HEALTHY
    scan: Scan = self._scan(account, mask, prices)
    if not margin_math._is_liquidatable(scan.notional, scan.equity, scan.maintenance_req) or self._held(
        account, mask, stable, lagging
    ):
        return HEALTHY

    # Stage 4 gate: a deficit at the mark the fund cannot cover, or one the
    # pool cannot take at once, is for the Deleverager.
    shortfall: int256 = 0
    fund_balance: int256 = 0
    fund_raw: int256 = 0
    needs_adl: bool = False
    pool_limit: uint256 = 0
    shortfall, fund_balance, fund_raw, needs_adl, pool_limit = self._gate(config, mask, prices, scan)
    if needs_adl:
        log IClearinghouse.AdlRequired(
            account=account, shortfall=convert(shortfall, uint256), fund_balance=convert(fund_balance, uint256)
        )
        return NEEDS_ADL

    # Fraction f (WAD) of every position to close, at mark: after it,
    # E - f * full_penalty >= (1 - f) * target  =>  f >= (target - E) / (target - full_penalty).
    # dev: exact up to the rounding of the closed sizes and the penalty; a
    #      second pass closes what a wei of rounding left short, and a third
    #      closes everything if that is still short. A pass cut short by the
    #      pool's room is the last: the rest waits for the pool's margin.
    equity: int256 = scan.equity
    notional: uint256 = scan.notional
    maintenance_req: uint256 = scan.maintenance_req
    open_mask: uint256 = mask
    closed: uint256 = 0
    penalty: uint256 = 0
    realized: int256 = 0
    capped: bool = False
    filled: bool = False
    for attempt: uint256 in range(3):
        equity_left: int256 = equity - convert(penalty, int256)
        # dev: the equity a partial liquidation restores: maintenance * (1 + buffer), rounded up.
        target: int256 = convert(margin_math._ceil_div_u(maintenance_req * (WAD + config.buffer), WAD), int256)
        if attempt != 0 and (open_mask == 0 or equity_left >= target or capped):
            break
        full_penalty: int256 = convert(margin_math._ceil_div_u(notional * config.liq_fee, WAD), int256)
        fraction: uint256 = WAD
        if attempt < 2 and equity_left > full_penalty and target > full_penalty:
            fraction = min(convert(margin_math._ceil_div(
                (target - equity_left) * IWAD, target - full_penalty), uint256), WAD)
        if pool_limit < WAD:
            # dev: the pool takes what its margin allows, the rest later.
            fraction = min(fraction, pool_limit)
            capped = True
        step: ClosePass = self._close_fraction(account, keeper, open_mask, prices, fraction, config)
        filled = filled or step.filled
        closed += step.closed
        penalty += step.penalty
        realized += step.realized
        equity += step.equity_change
        notional = step.notional
        maintenance_req = step.maintenance_req
        open_mask = step.mask
    if not filled:
        log IClearinghouse.LiquidationDeferred(account=account)
        return DEFERRED

    # Stage 2: the penalty, from what the account has left.
    paid: uint256 = min(penalty, convert(max(equity, 0), uint256))
    reward: uint256 = min(max(paid * config.keeper_share // WAD, config.min_reward), config.max_reward)
    if paid == penalty or open_mask != 0:
        # dev: an account that pays its whole penalty gets no top-up from the
        #      fund, or closing dust (a partial close, or a minimum-size
        #      position a fall shrank) with one's own keeper would farm it;
        #      nor does a close that leaves positions open, or closing a
        #      bankrupt account a part at a time would.
        reward = min(reward, paid)
    else:
        # dev: a full close near or past bankruptcy: the fund tops up to
        #      min_reward, so keepers are paid to clear bad debt, but never
        #      with what it needs for this account's bad debt (the gate left
        #      fund_balance >= shortfall).
        reward = min(reward, paid + convert(fund_balance - shortfall, uint256))

    # Stage 3: bad debt after a full close is covered by the insurance fund.
    paid_int: int256 = convert(paid, int256)
    reward_int: int256 = convert(reward, int256)
    cover: int256 = 0
    if open_mask == 0 and equity < 0:
        cover = -equity
    fund_change: int256 = paid_int - reward_int - cover
    # dev: the gate left the fund the account's deficit at the mark; the
    #      closes' rounding beyond it (a wei or two a fill) is the pool's, so
    #      the fund never goes negative and no account can revert a batch.
    pool_cover: int256 = max(-(fund_raw + fund_change), 0)
    if cover != 0:
        log IClearinghouse.BadDebtCovered(
            account=account, amount=convert(cover, uint256), fund_balance=fund_raw + fund_change + pool_cover
        )

    # dev: one vault call for the whole waterfall: the closes' realised PnL
    #      from the pool, the penalty to the fund, its reward to the keeper,
    #      and the fund's cover of any bad debt.
    extcall VAULT.shift(
        [account, config.pool, config.fund, keeper],
        [realized - paid_int + cover, -realized - pool_cover, fund_change + pool_cover, reward_int],
    )

    log IClearinghouse.LiquidationSettled(
        account=account,
        keeper=keeper,
        closed_notional=closed,
        penalty=paid,
        keeper_reward=reward,
        fund_share=paid_int - reward_int,
        bad_debt=convert(cover, uint256),
        fully_closed=open_mask == 0,
    )
    return LIQUIDATED


@internal
@view
def _scan(account: address, mask: uint256, prices: uint256[MAX_MARKETS]) -> Scan:
    """
    @dev Margin state of a (non-pool) account and what taking its book asks
         of the pool, from one read of each of its positions.
    """
    scan: Scan = empty(Scan)
    scan.equity = staticcall VAULT.collateral(account)
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: IClearinghouse.Position = self._load_position(account, i)
        margins: uint256 = self.margins_words[i]
        mmr: uint256 = packing._mid(margins)
        price: uint256 = prices[i]
        scan.equity += margin_math._floor_div(pos.size * convert(price, int256), IWAD) - pos.cost
        notional: uint256 = margin_math._notional(pos.size, price)
        scan.notional += notional
        scan.maintenance_req += margin_math._ceil_div_u(notional * self._fractions(i, margins, pos.size)[1], WAD)
        # dev: the pool holds -skew now and -(skew - size) then; same rounding as `_state`.
        skew: int256 = self._load_state(i).skew
        now_req: uint256 = margin_math._ceil_div_u(margin_math._notional(skew, price) * mmr, WAD)
        then_req: uint256 = margin_math._ceil_div_u(margin_math._notional(skew - pos.size, price) * mmr, WAD)
        if then_req > now_req:
            scan.pool_extra_req += then_req - now_req
    return scan


@internal
@view
def _gate(
    config: Config, mask: uint256, prices: uint256[MAX_MARKETS], scan: Scan
) -> (int256, int256, int256, bool, uint256):
    """
    @dev Stage 4's condition, shared by `liquidate` and the Deleverager
         (`adl_gate`): only a real deficit is deleveraged, negative equity
         at the mark that the insurance fund cannot cover, or that the pool
         cannot take within its maintenance margin at once (a deficit is
         settled only by a full close). Closes fill at the mark, so no skew
         enters it. Also the most of the book (a WAD fraction) the pool can
         take now: its whole book is valued only when taking the account's
         raises its requirement.
    @return (shortfall, fund balance (at least 0), fund collateral, needs ADL, pool limit), WAD.
    """
    fund_raw: int256 = staticcall VAULT.collateral(config.fund)
    fund_balance: int256 = max(fund_raw, 0)
    shortfall: int256 = max(-scan.equity, 0)
    pool_limit: uint256 = WAD
    if scan.pool_extra_req != 0:
        # dev: the rare case: value the pool's whole book (the caller priced only the account's markets).
        pool_mask: uint256 = self._pool_mask() | mask
        pool_st: IClearinghouse.AccountState = self._state(config.pool, pool_mask, self._prices(pool_mask, False, False))
        room: int256 = pool_st.equity - convert(pool_st.maintenance_req, int256) - ROUNDING_SLACK
        pool_limit = convert(min(max(room, 0) * IWAD // convert(scan.pool_extra_req, int256), IWAD), uint256)
    return shortfall, fund_balance, fund_raw, shortfall > fund_balance or (shortfall > 0 and pool_limit < WAD), pool_limit


@internal
def _close_fraction(
    account: address,
    keeper: address,
    mask: uint256,
    prices: uint256[MAX_MARKETS],
    fraction: uint256,
    config: Config,
) -> ClosePass:
    """
    @dev Close `fraction` (WAD) of every position in `mask` against the pool
         at the mark, without trading fee (the penalty replaces it). A
         remainder below the minimum notional is closed too. The size closed
         joins the market's price lag: fill prices do not count it at once
         (`_price_skew`), so a trade ahead of a liquidation and its unwind
         after, in the same block, fill at the same skew and pay two fees
         for nothing (I8). The vault is not moved here: the caller moves the
         realised PnL once.
    @return What was closed and the account's state after it (equity as a change).
    """
    out: ClosePass = empty(ClosePass)
    out.mask = mask
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: IClearinghouse.Position = self._load_position(account, i)
        margins: uint256 = self.margins_words[i]
        price: uint256 = prices[i]
        # dev: round the closed size up in magnitude (in favour of safety).
        amount: int256 = margin_math._ceil_div(abs(pos.size) * convert(fraction, int256), IWAD)
        if fraction >= WAD or margin_math._notional(abs(pos.size) - amount, price) < config.min_notional:
            amount = abs(pos.size)
        new: IClearinghouse.Position = pos
        if amount != 0:
            out.filled = True
            size_delta: int256 = -amount if pos.size > 0 else amount
            cash: int256 = margin_math._ceil_div(size_delta * convert(price, int256), IWAD)
            realized: int256 = 0
            state: IClearinghouse.MarketState = self._load_state(i)
            new, realized = self._book(account, i, pos, size_delta, cash, state)
            lag: int256 = state.skew - self._price_skew(i, state.skew, margins, self.skew_scales[i]) + size_delta
            self.price_lags[i] = packing._pack_signed(lag, convert(block.timestamp, int256))
            out.realized += realized
            out.equity_change += (
                margin_math._floor_div(new.size * convert(price, int256), IWAD)
                - margin_math._floor_div(pos.size * convert(price, int256), IWAD)
                - cash
            )
            closed: uint256 = margin_math._notional(amount, price)
            market_penalty: uint256 = margin_math._ceil_div_u(closed * config.liq_fee, WAD)
            out.closed += closed
            out.penalty += market_penalty
            log IClearinghouse.Liquidation(
                account=account,
                keeper=keeper,
                market=i,
                size_closed=size_delta,
                exec_price=price,
                mark_price=price,
                penalty=market_penalty,
            )
        if new.size == 0:
            out.mask &= ~(1 << i)
        else:
            left: uint256 = margin_math._notional(new.size, price)
            out.notional += left
            out.maintenance_req += margin_math._ceil_div_u(left * self._fractions(i, margins, new.size)[1], WAD)
    return out


@internal
@view
def _price_skew(market: uint256, skew: int256, margins: uint256, skew_scale: uint256) -> int256:
    """
    @dev The skew fill prices count: the traders' net size less the market's
         price lag, what liquidations added to it (they fill at the mark), of
         which fee_rate * skew_scale base units are released into prices every
         LAG_RELEASE_SECONDS. A liquidation moves no price in its own block,
         and what it moves later moves at a block's worth of fees at most:
         half what a round trip through that skew pays (see the
         Configurator's max-skew bound), so that no sandwich around
         liquidations pays within a block (SPEC 5.2, I8), while the pool's
         margin and skew cap count the whole skew at once.
    """
    word: uint256 = self.price_lags[market]
    lag: int256 = packing._signed_high(word)
    if lag == 0:
        return skew
    elapsed: uint256 = block.timestamp - convert(packing._signed_low(word), uint256)
    released: uint256 = elapsed * packing._high_fraction(margins) * skew_scale // (WAD * LAG_RELEASE_SECONDS)
    if released >= convert(abs(lag), uint256):
        return skew
    if lag > 0:
        return skew - lag + convert(released, int256)
    return skew - lag - convert(released, int256)


@internal
@view
def _config() -> Config:
    pool_word: uint256 = self.pool_word
    fund_word: uint256 = self.fund_word
    penalty_word: uint256 = self.penalty_word
    reward_word: uint256 = self.reward_word
    return Config(
        pool=packing._address(pool_word),
        fund=packing._address(fund_word),
        liq_fee=packing._address_tail(fund_word),
        keeper_share=packing._low(penalty_word),
        buffer=packing._mid(penalty_word),
        min_notional=packing._high_amount(penalty_word),
        min_reward=packing._low_amount(reward_word),
        max_reward=packing._high_amount(reward_word),
    )


# ---------------------------------------------------------------- internal: margin

@internal
@view
def _state(account: address, mask: uint256, prices: uint256[MAX_MARKETS]) -> IClearinghouse.AccountState:
    """
    @dev Equity and requirements of `account` over the markets in `mask`.
    """
    pool: address = packing._address(self.pool_word)
    st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
    st.equity = staticcall VAULT.collateral(account)
    for i: uint256 in range(MAX_MARKETS):
        if mask >> i == 0:
            break
        if mask & (1 << i) == 0:
            continue
        pos: IClearinghouse.Position = self._position(account, i, pool)
        price: uint256 = prices[i]
        margins: uint256 = self.margins_words[i]
        st.equity += margin_math._upnl(pos.size, pos.cost, price)
        notional: uint256 = margin_math._notional(pos.size, price)
        st.notional += notional
        imr: uint256 = packing._low(margins)
        mmr: uint256 = packing._mid(margins)
        if account != pool:
            # dev: the pool, the other side of every trade, is bound by its skew cap instead of tiers.
            imr, mmr = self._fractions(i, margins, pos.size)
        st.initial_req += margin_math._ceil_div_u(notional * imr, WAD)
        st.maintenance_req += margin_math._ceil_div_u(notional * mmr, WAD)
    return st


@internal
@view
def _fractions(market: uint256, margins: uint256, size: int256) -> (uint256, uint256):
    # dev: a trader's (imr, mmr) for a position of `size`: the margins word's
    #      top 64 bits are the market's tier slope (0: flat, no extra read).
    slope: uint256 = margins >> 192
    if slope == 0:
        return packing._low(margins), packing._mid(margins)
    return margin_math._tiered(packing._low(margins), packing._mid(margins), slope, size, self.skew_scales[market])


@internal
@view
def _held(account: address, mask: uint256, stable: uint256[MAX_MARKETS], lagging: uint256) -> bool:
    # dev: the stable mark (the oracle's `liquidation_prices`): an account
    #      liquidatable at the oracle's prices is held while it is not
    #      liquidatable at the stable marks of the markets it holds too, so
    #      one bad round cannot liquidate it; closes still fill at the
    #      oracle's price (at the stable mark a long would exit above it).
    if lagging & mask == 0:
        return False
    st: IClearinghouse.AccountState = self._state(account, mask, stable)
    return not margin_math._is_liquidatable(st.notional, st.equity, st.maintenance_req)


@internal
@view
def _position(account: address, market: uint256, pool: address) -> IClearinghouse.Position:
    if account == pool:
        state: IClearinghouse.MarketState = self._load_state(market)
        return IClearinghouse.Position(size=-state.skew, cost=-state.total_cost)
    return self._load_position(account, market)


@internal
@view
def _load_position(account: address, market: uint256) -> IClearinghouse.Position:
    word: uint256 = self.packed_positions[account][market]
    return IClearinghouse.Position(size=packing._signed_high(word), cost=packing._signed_low(word))


@internal
@view
def _load_state(market: uint256) -> IClearinghouse.MarketState:
    word: uint256 = self.packed_market_state[market]
    return IClearinghouse.MarketState(skew=packing._signed_high(word), total_cost=packing._signed_low(word))


@internal
@pure
def _pack(high: int256, low: int256) -> uint256:
    assert -MAX_HALF <= high and high < MAX_HALF and -MAX_HALF <= low and low < MAX_HALF, "Clearinghouse: position too large"
    return packing._pack_signed(high, low)


@internal
@view
def _mask(account: address) -> uint256:
    if account == packing._address(self.pool_word):
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
def _prices(mask: uint256, strict: bool, unguarded: bool) -> uint256[MAX_MARKETS]:
    # dev: `strict` requires every price valid, `unguarded` none guarded
    #      (only then is the guard read: it costs a call per recent round).
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    if mask == 0:
        return prices
    valid: uint256 = 0
    guarded: uint256 = 0
    if unguarded:
        prices, valid, guarded = staticcall ORACLE.try_prices(mask)
    else:
        prices, valid = staticcall ORACLE.valid_prices(mask)
    if strict:
        self._require_valid(mask, valid)
    self._require_unguarded(guarded & mask != 0)
    return prices


@internal
@pure
def _require_unguarded(guarded: bool):
    # dev: one copy of the reason for `trade` and `withdraw`.
    assert not guarded, "Clearinghouse: market guarded"


@internal
@pure
def _require_pool_margin(ok: bool):
    # dev: one copy of the reason for `trade` (the pool's initial margin) and
    #      `liquidate` (no room in its maintenance margin to take any of the book).
    assert ok, "Clearinghouse: pool margin"


@internal
@pure
def _require_margin(equity: int256, initial_req: uint256):
    # dev: one copy of the reason for `trade` and `withdraw`.
    assert equity >= convert(initial_req, int256), "Clearinghouse: insufficient margin"


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
