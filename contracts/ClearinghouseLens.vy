# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title ClearinghouseLens
@notice Read-only views over a Clearinghouse for keepers, users and the
        tooling: margin figures, liquidation and bankruptcy prices, quotes,
        batch health and the auto-deleveraging ranking. It holds no state and
        moves nothing; the engine's own code-size budget goes to its actions.
@dev Every figure is computed from the engine's views with the engine's own
     rounding (`margin_math`), so a lens number is what the engine would use.
     Views marked strict revert, with the oracle's reason, while a price the
     account depends on fails its checks; batch views never revert and say
     `prices_valid` instead.
"""

from .interfaces import IClearinghouse
from .interfaces import IConfigurator
from .interfaces import IPriceOracle
from .interfaces import IVault
from .modules import constants
from .modules import margin_math

WAD: constant(uint256) = constants.WAD
IWAD: constant(int256) = 10 ** 18
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Longest account list a batch view takes in one call.
MAX_BATCH: constant(uint256) = 1000


struct AdlEntry:
    # The account's size in the market (WAD base units; the pool's is the mirror).
    size: int256
    # Unrealised PnL in the market at its current (or last good) price, WAD.
    upnl: int256
    # `adl_score`: 0 when not in profit (never deleveraged).
    score: uint256
    prices_valid: bool


struct Book:
    # Sum of the accounts' vault collateral (WAD).
    collateral: int256
    # Sum of max(0, equity) at the engine's prices (last good ones where a feed fails).
    positive_equity: uint256
    # How many accounts are below zero, and the lowest equity (0 if none is).
    below_zero: uint256
    lowest_equity: int256
    # Per market: sum of sizes, of cost bases, of unrealised PnL at `marks`
    # (each floored as the engine floors it), open positions, sums of the long
    # sizes and of the short sizes (positive).
    sizes: int256[MAX_MARKETS]
    costs: int256[MAX_MARKETS]
    upnl: int256[MAX_MARKETS]
    open_positions: uint256[MAX_MARKETS]
    longs: int256[MAX_MARKETS]
    shorts: int256[MAX_MARKETS]


# @dev The engine this lens reads.
ENGINE: public(immutable(IClearinghouse))

# @dev The engine's Configurator: the markets' risk parameters.
CONFIGURATOR: public(immutable(IConfigurator))

# @dev The engine's oracle.
ORACLE: public(immutable(IPriceOracle))

# @dev The engine's vault (collateral ledger).
VAULT: public(immutable(IVault))


@deploy
def __init__(engine: IClearinghouse):
    """
    @param engine The Clearinghouse to read.
    """
    ENGINE = engine
    CONFIGURATOR = IConfigurator(staticcall engine.CONFIGURATOR())
    ORACLE = IPriceOracle(staticcall engine.ORACLE())
    VAULT = IVault(staticcall engine.VAULT())


# ---------------------------------------------------------------- margin

@external
@view
def health(accounts: DynArray[address, MAX_BATCH]) -> DynArray[IClearinghouse.Health, MAX_BATCH]:
    """
    @notice Margin state of many accounts in one call, for keepers. Never
            reverts on a failing feed: it uses that market's last good price
            and says so in `prices_valid`.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    lagging: uint256 = 0
    prices, valid, stable, lagging = staticcall ORACLE.liquidation_prices((1 << staticcall ENGINE.market_count()) - 1)
    out: DynArray[IClearinghouse.Health, MAX_BATCH] = []
    for account: address in accounts:
        out.append(self._health(account, prices, valid, stable, lagging))
    return out


@external
@view
def account_health(account: address) -> IClearinghouse.Health:
    """
    @notice Margin state of one account; never reverts on a failing feed (that
            market's last good price, and `prices_valid` False). `liquidatable`
            is what `liquidate` decides: below maintenance at the oracle's
            prices and, where it holds a market whose stable mark lags, at the
            stable marks too.
    """
    return self._account_health(account)


@external
@view
def equity(account: address) -> int256:
    """
    @notice collateral + sum of unrealised PnL (WAD USD) at the oracle's
            prices; reverts with the oracle's reason while one the account
            depends on fails its checks (strict).
    """
    return self._strict_health(account).equity


@external
@view
def is_liquidatable(account: address) -> bool:
    """
    @notice True when the account has a position and equity < maintenance margin (strict).
    """
    return self._strict_health(account).liquidatable


@external
@view
def notional(account: address) -> uint256:
    """
    @notice Sum over markets of |size| * mark, WAD USD (strict).
    """
    return self._strict_health(account).notional


@external
@view
def initial_req(account: address) -> uint256:
    """
    @notice Sum over markets of notional * imr, WAD USD (strict).
    """
    return self._strict_health(account).initial_req


@external
@view
def maintenance_req(account: address) -> uint256:
    """
    @notice Sum over markets of notional * mmr, WAD USD (strict).
    """
    return self._strict_health(account).maintenance_req


@external
@view
def margin_ratio(account: address) -> int256:
    """
    @notice equity / notional (WAD, rounded toward zero); max int256 for an
            account with no position (strict).
    """
    h: IClearinghouse.Health = self._strict_health(account)
    if h.notional == 0:
        return max_value(int256)
    return h.equity * IWAD // convert(h.notional, int256)


@external
@view
def free_collateral(account: address) -> uint256:
    """
    @notice Most WAD that the engine's `withdraw` would pay `account` now:
            min(collateral, equity - initial margin), at least 0; 0 while a
            price the account depends on fails its checks or one of its
            markets is guarded. Never reverts.
    """
    collateral: int256 = staticcall VAULT.collateral(account)
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    guarded: uint256 = 0
    prices, valid, guarded = staticcall ORACLE.try_prices((1 << staticcall ENGINE.market_count()) - 1)
    pos: IClearinghouse.Position = empty(IClearinghouse.Position)
    st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
    mask: uint256 = 0
    pos, st, mask = staticcall ENGINE.state_at(account, 0, prices)
    if st.notional == 0:
        return convert(max(collateral, 0), uint256)
    # dev: the engine's `withdraw`: every price of the account's markets valid, none guarded.
    if valid & mask != mask or guarded & mask != 0:
        return 0
    return convert(max(min(collateral, st.equity - convert(st.initial_req, int256)), 0), uint256)


# ---------------------------------------------------------------- positions

@external
@view
def entry_price(account: address, market: uint256) -> uint256:
    """
    @notice Average entry price (WAD, rounded down); 0 when flat.
    """
    pos: IClearinghouse.Position = staticcall ENGINE.position(account, market)
    if pos.size == 0:
        return 0
    return convert(abs(pos.cost), uint256) * WAD // convert(abs(pos.size), uint256)


@external
@view
def unrealized_pnl(account: address, market: uint256) -> int256:
    """
    @notice size * mark - cost, rounded down (WAD USD; strict).
    """
    pos: IClearinghouse.Position = staticcall ENGINE.position(account, market)
    if pos.size == 0 and pos.cost == 0:
        return 0
    return margin_math._upnl(pos.size, pos.cost, staticcall ORACLE.price(market))


@external
@view
def liquidation_price(account: address, market: uint256) -> uint256:
    """
    @notice Mark of `market` at which equity = maintenance margin, other marks
            fixed; 0 when flat or when no positive price gets there (strict).
    @dev equity(P) = E + s (P - P0) and maint(P) = M + |s| mmr (P - P0), so
         P = P0 + (M - E) / (s - |s| mmr), with mmr the position's tiered
         maintenance fraction (it depends on the size only).
    """
    return self._liquidation_price(account, market)


@external
@view
def liquidation_prices(accounts: DynArray[address, MAX_BATCH], market: uint256) -> DynArray[uint256, MAX_BATCH]:
    """
    @notice `liquidation_price(account, market)` of many accounts in one call,
            for the tooling's liquidation map. Strict like the single view: it
            reverts, with the oracle's reason, where that view would for any
            of the accounts.
    """
    out: DynArray[uint256, MAX_BATCH] = []
    for account: address in accounts:
        out.append(self._liquidation_price(account, market))
    return out


@external
@view
def bankruptcy_price(account: address, market: uint256) -> uint256:
    """
    @notice Mark of `market` at which equity = 0, other marks fixed; 0 when
            flat or when no positive price gets there (strict). `deleverage`
            closes a position at this price.
    """
    pos: IClearinghouse.Position = staticcall ENGINE.position(account, market)
    if pos.size == 0:
        return 0
    h: IClearinghouse.Health = self._strict_health(account)
    bankrupt: int256 = convert(staticcall ORACLE.price(market), int256) - h.equity * IWAD // pos.size
    return convert(max(bankrupt, 0), uint256)


@external
@view
def quote(market: uint256, size_delta: int256) -> (uint256, uint256):
    """
    @notice Fill price and fee a trade of `size_delta` would get now.
    @return (exec_price, fee), WAD.
    """
    assert market < staticcall ENGINE.market_count(), "Lens: unknown market"
    assert size_delta != 0, "Lens: zero size"
    mark: uint256 = staticcall ORACLE.price(market)
    params: IConfigurator.MarketParams = staticcall CONFIGURATOR.markets(market)
    # dev: the skew fills price at: less what recent liquidations added (their price lag).
    skew: int256 = staticcall ENGINE.price_skew(market)
    exec_price: uint256 = margin_math._exec_price(mark, skew, size_delta, params.skew_scale)
    # dev: the engine's fee is on the fill's cash rounded up as a signed amount
    #      (`Clearinghouse.trade`): a seller's |cash| rounds down, not its notional up.
    cash: int256 = margin_math._ceil_div(size_delta * convert(exec_price, int256), IWAD)
    return (exec_price, margin_math._ceil_div_u(convert(abs(cash), uint256) * params.fee_rate, WAD))


# ---------------------------------------------------------------- auto-deleveraging

@external
@view
def adl_score(account: address, market: uint256) -> uint256:
    """
    @notice The account's auto-deleveraging rank in `market` (WAD), the score
            `deleverage` checks: pnl_pct * effective_leverage, with pnl_pct =
            upnl / |size * entry| and effective_leverage = notional / equity.
            0 when the position is not in profit (it is never deleveraged);
            higher is deleveraged first (strict).
    """
    pos: IClearinghouse.Position = staticcall ENGINE.position(account, market)
    if pos.size == 0:
        return 0
    h: IClearinghouse.Health = self._strict_health(account)
    upnl: int256 = margin_math._upnl(pos.size, pos.cost, staticcall ORACLE.price(market))
    return margin_math._adl_score(upnl, pos.cost, h.notional, h.equity)


@external
@view
def adl_ranking(accounts: DynArray[address, MAX_BATCH], market: uint256) -> DynArray[AdlEntry, MAX_BATCH]:
    """
    @notice Size, unrealised PnL and `adl_score` in `market` of many accounts,
            for the keeper to rank `deleverage` counterparties. Never reverts
            on a failing feed: it uses last good prices and says so.
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    prices, valid = self._all_prices()
    out: DynArray[AdlEntry, MAX_BATCH] = []
    for account: address in accounts:
        pos: IClearinghouse.Position = empty(IClearinghouse.Position)
        h: IClearinghouse.Health = empty(IClearinghouse.Health)
        pos, h = self._at(account, market, prices, valid)
        entry: AdlEntry = AdlEntry(size=pos.size, upnl=0, score=0, prices_valid=h.prices_valid)
        if pos.size != 0:
            entry.upnl = margin_math._upnl(pos.size, pos.cost, prices[market])
            entry.score = margin_math._adl_score(entry.upnl, pos.cost, h.notional, h.equity)
        out.append(entry)
    return out


@external
@view
def positions(accounts: DynArray[address, MAX_BATCH], market: uint256) -> DynArray[IClearinghouse.Position, MAX_BATCH]:
    """
    @notice Many accounts' positions in `market` in one call: what the
            tooling needs to check zero-sum (I2) over a whole book on a node,
            where one call per account would dominate a simulation's time.
    """
    out: DynArray[IClearinghouse.Position, MAX_BATCH] = []
    for account: address in accounts:
        out.append(staticcall ENGINE.position(account, market))
    return out


@external
@view
def collaterals(accounts: DynArray[address, MAX_BATCH]) -> DynArray[int256, MAX_BATCH]:
    """
    @notice Many accounts' collateral balances (WAD) in one call, for the
            custody check (I1) over a whole book.
    """
    out: DynArray[int256, MAX_BATCH] = []
    for account: address in accounts:
        out.append(staticcall VAULT.collateral(account))
    return out


@external
@view
def book(accounts: DynArray[address, MAX_BATCH], marks: uint256[MAX_MARKETS]) -> Book:
    """
    @notice Totals over many accounts in one call, for the tooling's
            invariant checks over a whole book each step (custody, zero-sum,
            solvency, no hidden bad debt): what `collaterals`, `positions`
            per market and `health` would give, summed on-chain, so a
            simulation step decodes a few words, not every account's rows.
            Never reverts on a failing feed (last good prices, as `health`).
    @param marks The price per market to value unrealised PnL at (the
           zero-sum check uses the oracle's last refreshed prices).
    """
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    prices, valid = self._all_prices()
    out: Book = empty(Book)
    for account: address in accounts:
        pos: IClearinghouse.Position = empty(IClearinghouse.Position)
        st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
        mask: uint256 = 0
        pos, st, mask = staticcall ENGINE.state_at(account, 0, prices)
        # dev: the engine's equity is the vault's collateral plus each held
        #      position's `_upnl` at `prices`, summed exactly: collateral is
        #      the equity less those terms (one vault call an account saved).
        collateral: int256 = st.equity
        if st.equity > 0:
            out.positive_equity += convert(st.equity, uint256)
        elif st.equity < 0:
            out.below_zero += 1
            out.lowest_equity = min(out.lowest_equity, st.equity)
        for i: uint256 in range(MAX_MARKETS):
            if mask >> i == 0:
                break
            if mask & (1 << i) == 0:
                continue
            # dev: market 0's position came with the state.
            if i != 0:
                pos = staticcall ENGINE.position(account, i)
            collateral -= margin_math._upnl(pos.size, pos.cost, prices[i])
            out.sizes[i] += pos.size
            out.costs[i] += pos.cost
            out.upnl[i] += margin_math._upnl(pos.size, pos.cost, marks[i])
            if pos.size != 0:
                out.open_positions[i] += 1
            if pos.size > 0:
                out.longs[i] += pos.size
            else:
                out.shorts[i] -= pos.size
        out.collateral += collateral
    return out


# ---------------------------------------------------------------- internal

@internal
@view
def _all_prices() -> (uint256[MAX_MARKETS], uint256):
    # dev: a batch reads every market's price once (last good price where a
    #      feed fails, as `account_health` does), not once per account: the
    #      feeds' reads were most of a batch view's gas.
    return staticcall ORACLE.valid_prices((1 << staticcall ENGINE.market_count()) - 1)


@internal
@view
def _at(
    account: address, market: uint256, prices: uint256[MAX_MARKETS], valid: uint256
) -> (IClearinghouse.Position, IClearinghouse.Health):
    # dev: `account`'s position in `market` and `account_health` at `prices`,
    #      in one engine call: the same state and rounding, the same figures.
    pos: IClearinghouse.Position = empty(IClearinghouse.Position)
    st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
    mask: uint256 = 0
    pos, st, mask = staticcall ENGINE.state_at(account, market, prices)
    return pos, IClearinghouse.Health(
        equity=st.equity,
        notional=st.notional,
        initial_req=st.initial_req,
        maintenance_req=st.maintenance_req,
        liquidatable=margin_math._is_liquidatable(st.notional, st.equity, st.maintenance_req),
        prices_valid=valid & mask == mask,
    )

@internal
@view
def _liquidation_price(account: address, market: uint256) -> uint256:
    # dev: the body of `liquidation_price`, shared with `liquidation_prices`
    #      so the batch can never differ from the single view.
    pos: IClearinghouse.Position = staticcall ENGINE.position(account, market)
    if pos.size == 0:
        return 0
    h: IClearinghouse.Health = self._strict_health(account)
    mark: int256 = convert(staticcall ORACLE.price(market), int256)
    params: IConfigurator.MarketParams = staticcall CONFIGURATOR.markets(market)
    # dev: the fractions and slope the engine holds (volatility-scaled), not the base ones in `markets`.
    imr: uint256 = 0
    mmr: uint256 = 0
    slope: uint256 = 0
    imr, mmr, slope = staticcall CONFIGURATOR.effective_margins(market)
    if account != staticcall ENGINE.pool():
        # dev: the trader's tiered fraction, as the engine prices it: it depends on the size, not the mark.
        unused: uint256 = 0
        unused, mmr = margin_math._tiered(imr, mmr, slope, pos.size, params.skew_scale)
    denominator: int256 = pos.size * IWAD - abs(pos.size) * convert(mmr, int256)
    liquidation: int256 = mark + (convert(h.maintenance_req, int256) - h.equity) * IWAD * IWAD // denominator
    return convert(max(liquidation, 0), uint256)


@internal
@view
def _health(
    account: address, prices: uint256[MAX_MARKETS], valid: uint256, stable: uint256[MAX_MARKETS], lagging: uint256
) -> IClearinghouse.Health:
    # dev: `account_health` at the given prices: the engine's `_state`, and
    #      its `_held` (the stable mark) for an account liquidatable at the
    #      oracle's prices: the same state, rounding and decision.
    pos: IClearinghouse.Position = empty(IClearinghouse.Position)
    h: IClearinghouse.Health = empty(IClearinghouse.Health)
    pos, h = self._at(account, 0, prices, valid)
    if h.liquidatable and lagging != 0:
        st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
        mask: uint256 = 0
        pos, st, mask = staticcall ENGINE.state_at(account, 0, stable)
        if lagging & mask != 0:
            h.liquidatable = margin_math._is_liquidatable(st.notional, st.equity, st.maintenance_req)
    return h


@internal
@view
def _account_health(account: address) -> IClearinghouse.Health:
    # dev: `health` for one account: every market's price and stable mark in one oracle call.
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    lagging: uint256 = 0
    prices, valid, stable, lagging = staticcall ORACLE.liquidation_prices((1 << staticcall ENGINE.market_count()) - 1)
    return self._health(account, prices, valid, stable, lagging)


@internal
@view
def _strict_health(account: address) -> IClearinghouse.Health:
    # dev: `account_health`, refused while a price it uses fails its checks.
    h: IClearinghouse.Health = self._account_health(account)
    if h.prices_valid:
        return h
    for i: uint256 in range(MAX_MARKETS):
        if i == staticcall ENGINE.market_count():
            break
        if (staticcall ENGINE.position(account, i)).size != 0:
            # dev: reverts with the failed check's reason.
            unreachable: uint256 = staticcall ORACLE.price(i)
    raise "Lens: invalid price"
