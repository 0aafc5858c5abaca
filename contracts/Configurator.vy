# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title Configurator
@notice Every owner setter of the engine, with its bounds and its event: the
        markets and their risk parameters, the pool and the insurance fund
        (bound once), the fee split, the smallest position, and the
        liquidation penalty and rewards. The engine keeps no owner: it takes
        packed parameter words from this contract only, through one
        caller-checked `configure`. It also scales each market's margins
        with the volatility of its feed's rounds (`set_volatility_margin`,
        the keeper's `update_margins` crank): the base imr and mmr stay in
        `markets`, the engine gets `effective_margins`.
@dev The parameters are kept here in full (the views the tooling reads) and
     handed to the engine packed (modules/packing.vy), so that a liquidation
     reads its whole configuration in four slots. Each field's bound here also
     bounds its packed width, so unpacking never truncates.
"""

from snekmate.auth import ownable
from snekmate.auth import ownable_2step

from .interfaces import IClearinghouse
from .interfaces import IConfigurator
from .interfaces import IDeleverager
from .interfaces import IPriceOracle
from .modules import constants
from .modules import packing

implements: IConfigurator

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
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Caps on parameters the owner can set, so a typo cannot brick a market.
MAX_FEE_RATE: constant(uint256) = 10 ** 17  # 10% of notional
# @dev A tier slope of 10: a position of a tenth of the skew scale needs 100% margin.
MAX_TIER_SLOPE: constant(uint256) = 10 * 10 ** 18

# @dev Largest USD amount or base-unit scale a packed word holds (WAD).
MAX_AMOUNT: constant(uint256) = packing.MAX_AMOUNT

# @dev Volatility-scaled margin: the newest rounds one `update_margins` folds
#      (older unfolded ones are passed over: the first folded return is then
#      measured from the last price folded, so their move still counts, once).
VOL_ROUNDS: constant(uint256) = 16
# @dev Largest scale of the base margins (5x).
MAX_VOL_SCALE: constant(uint256) = 5 * 10 ** 18
# @dev Fastest maintenance move: 4 base mmr an hour (the whole range in an hour).
MAX_MMR_RISE: constant(uint256) = 4 * 10 ** 18
# @dev A return folded is capped at 100x, so its square stays far from overflow.
MAX_RETURN: constant(uint256) = 100 * 10 ** 18

# @dev `engine.configure` with this market id leaves the markets as they are.
NO_MARKET: constant(uint256) = max_value(uint256)


# ---------------------------------------------------------------- storage

# @dev The engine this contract configures. Set once.
engine: public(IClearinghouse)

# @dev Risk parameters per market id (ids are 0 .. market_count - 1).
markets: public(HashMap[uint256, IConfigurator.MarketParams])

# @dev Number of listed markets.
market_count: public(uint256)

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
liquidation_params: public(IConfigurator.LiquidationParams)

# @dev Per market id: auto-deleveraging spreads the deficit pro rata over
#      the listed counterparties (True) or takes it from them in rank order
#      (False, the default). Read by the Deleverager on each call.
adl_pro_rata: public(HashMap[uint256, bool])

# @dev Per market id: the size-tier slope (WAD): a trader's initial margin
#      fraction is imr + slope * |size| / skew_scale (at most 1), its
#      maintenance fraction keeps its ratio to it; 0 is flat margin.
margin_tier_slopes: public(HashMap[uint256, uint256])

# @dev Per market id: the volatility-scaled margin's parameters (all 0: off).
#      The base imr and mmr stay in `markets`; what the engine is pushed is
#      `effective_margins`.
volatility_params: public(HashMap[uint256, IConfigurator.VolatilityParams])

# @dev Per market id: the volatility EWMA and the margin scales it drives.
volatility_states: public(HashMap[uint256, IConfigurator.VolatilityState])


# ---------------------------------------------------------------- constructor

@deploy
def __init__(fee_pool_share: uint256, min_position_notional: uint256):
    """
    @param fee_pool_share Share of fees paid to the pool (WAD), the rest to the fund.
    @param min_position_notional Smallest open position notional (WAD USD).
    """
    assert fee_pool_share <= WAD, "Configurator: share > 1"
    assert min_position_notional <= MAX_AMOUNT, "Configurator: amount too large"
    self.fee_pool_share = fee_pool_share
    self.min_position_notional = min_position_notional
    ownable.__init__()
    ownable_2step.__init__()


# ---------------------------------------------------------------- binding

@external
def set_engine(engine: address):
    """
    @notice Bind the engine (once): it must name this contract as its
            configurator; its Deleverager is bound to it too. The parameters
            set so far are written to it.
    """
    ownable._check_owner()
    assert self.engine.address == empty(address), "Configurator: engine already set"
    assert engine != empty(address), "Configurator: zero address"
    assert staticcall IClearinghouse(engine).CONFIGURATOR() == self, "Configurator: not this engine's"
    self.engine = IClearinghouse(engine)
    extcall IDeleverager(staticcall IClearinghouse(engine).DELEVERAGER()).bind(engine)
    self._push(NO_MARKET)
    log IConfigurator.EngineSet(engine=engine)


@external
def set_pool(pool: address):
    """
    @notice Bind the LiquidityPool (once): it holds every trade's other side.
    """
    ownable._check_owner()
    assert self.pool == empty(address), "Configurator: pool already set"
    assert pool != empty(address), "Configurator: zero address"
    self.pool = pool
    self._push(NO_MARKET)
    log IConfigurator.PoolSet(pool=pool)


@external
def set_insurance_fund(fund: address):
    """
    @notice Bind the insurance fund's vault account (once).
    """
    ownable._check_owner()
    assert self.insurance_fund == empty(address), "Configurator: fund already set"
    assert fund != empty(address), "Configurator: zero address"
    self.insurance_fund = fund
    self._push(NO_MARKET)
    log IConfigurator.InsuranceFundSet(fund=fund)


# ---------------------------------------------------------------- markets

@external
def list_market(params: IConfigurator.MarketParams) -> uint256:
    """
    @notice List a new market; its id is the current `market_count`. The oracle
            must already have a valid feed for that id.
    @return The new market's id.
    """
    ownable._check_owner()
    engine: IClearinghouse = self._engine()
    market: uint256 = self.market_count
    assert market < MAX_MARKETS, "Configurator: too many markets"
    self._check_market(params)
    # dev: reverts with the oracle's reason if the feed is missing or failing.
    listing_price: uint256 = staticcall IPriceOracle(staticcall engine.ORACLE()).price(market)
    self.markets[market] = params
    self.market_count = market + 1
    self._push(market)
    log IConfigurator.MarketListed(
        market=market,
        imr=params.imr,
        mmr=params.mmr,
        fee_rate=params.fee_rate,
        skew_scale=params.skew_scale,
        max_skew=params.max_skew,
    )
    return market


@external
def set_market_params(market: uint256, params: IConfigurator.MarketParams):
    """
    @notice Change the risk parameters of a listed market (owner).
    @dev Raising a margin takes effect at once: accounts may become liquidatable.
    """
    ownable._check_owner()
    assert market < self.market_count, "Configurator: unknown market"
    self._check_market(params)
    self.markets[market] = params
    self._push(market)
    log IConfigurator.MarketParamsSet(
        market=market,
        imr=params.imr,
        mmr=params.mmr,
        fee_rate=params.fee_rate,
        skew_scale=params.skew_scale,
        max_skew=params.max_skew,
    )


# ---------------------------------------------------------------- fees and liquidation

@external
def set_fee_pool_share(share: uint256):
    """
    @notice Share of trading fees paid to the pool (WAD); the rest goes to the fund.
    """
    ownable._check_owner()
    assert share <= WAD, "Configurator: share > 1"
    self.fee_pool_share = share
    self._push(NO_MARKET)
    log IConfigurator.FeePoolShareSet(share=share)


@external
def set_min_position_notional(notional: uint256):
    """
    @notice Smallest notional (WAD USD) an open position may keep after a trade.
    """
    ownable._check_owner()
    assert notional <= MAX_AMOUNT, "Configurator: amount too large"
    self._check_dust_reward(self.liquidation_params, notional)
    self.min_position_notional = notional
    self._push(NO_MARKET)
    log IConfigurator.MinPositionNotionalSet(notional=notional)


@external
def set_liquidation_params(params: IConfigurator.LiquidationParams):
    """
    @notice Penalty, keeper reward bounds and partial-liquidation buffer (owner).
    """
    ownable._check_owner()
    assert params.liq_fee <= MAX_FEE_RATE, "Configurator: fee too high"
    assert params.keeper_share <= WAD, "Configurator: share > 1"
    assert params.min_reward <= params.max_reward, "Configurator: bad reward bounds"
    assert params.max_reward <= MAX_AMOUNT, "Configurator: amount too large"
    assert params.buffer <= WAD, "Configurator: bad buffer"
    self._check_dust_reward(params, self.min_position_notional)
    self.liquidation_params = params
    self._push(NO_MARKET)
    log IConfigurator.LiquidationParamsSet(
        liq_fee=params.liq_fee,
        keeper_share=params.keeper_share,
        min_reward=params.min_reward,
        max_reward=params.max_reward,
        buffer=params.buffer,
    )


@external
def set_adl_pro_rata(market: uint256, pro_rata: bool):
    """
    @notice Market `market`'s auto-deleveraging mode (owner): pro rata over
            the listed counterparties by profit x leverage, or the queue.
    @dev Takes effect on the next `deleverage` call; no position moves.
    """
    ownable._check_owner()
    assert market < self.market_count, "Configurator: unknown market"
    self.adl_pro_rata[market] = pro_rata
    log IConfigurator.AdlModeSet(market=market, pro_rata=pro_rata)


@external
def set_margin_tiers(market: uint256, slope: uint256):
    """
    @notice Market `market`'s size-tier slope (owner, WAD): a trader's initial
            margin fraction becomes imr + slope * |size| / skew_scale (at most
            1) and its maintenance fraction rises in proportion, so a whale
            cannot hold the small trader's leverage. 0 turns tiers off.
    @dev Like raising a margin, it takes effect at once: large accounts may
         become liquidatable. The pool is not tiered (its skew cap binds it).
    """
    ownable._check_owner()
    assert market < self.market_count, "Configurator: unknown market"
    assert slope <= MAX_TIER_SLOPE, "Configurator: tier slope too high"
    v: IConfigurator.VolatilityParams = self.volatility_params[market]
    self._check_scaled_slope(slope, v.max_scale)
    self.margin_tier_slopes[market] = slope
    if v.max_scale != 0:
        # dev: tiers on or off change how the imr scale moves (`_imr_scale`).
        st: IConfigurator.VolatilityState = self.volatility_states[market]
        st.imr_scale = self._imr_scale(market, self._target(st.ewma, v), st.mmr_scale)
        self.volatility_states[market] = st
    self._push(market)
    log IConfigurator.MarginTiersSet(market=market, slope=slope)


@external
def set_volatility_margin(
    market: uint256, vol_lambda: uint256, vol_ref: uint256, max_scale: uint256, mmr_rise_per_hour: uint256
):
    """
    @notice Market `market`'s volatility-scaled margin (owner). `update_margins`
            folds each new feed round's squared return r^2 into an EWMA,
            ewma = lambda * ewma + (1 - lambda) * r^2, and scales the base
            margins by clamp(sqrt(ewma) / vol_ref, 1, max_scale): the initial
            fraction (new risk) at once, the maintenance fraction (what open
            positions feel) by at most `mmr_rise_per_hour` of the base mmr an
            hour, up and down. A zero `max_scale` or `vol_ref` turns it off.
    @param vol_lambda EWMA weight of the past per round (WAD, below 1).
    @param vol_ref Per-round volatility (WAD, at most 1) where scaling starts.
    @param max_scale Largest scale (WAD, 1 to 5).
    @param mmr_rise_per_hour Fastest maintenance move, base mmr per hour (WAD, at most 4).
    @dev Turning on starts at scale 1 from the feed's latest round; changing
         the parameters first brings the EWMA and the maintenance scale up to
         now under the old ones; turning off restores the base margins at
         once (it can only lower them). No path here raises maintenance
         faster than the cap; `set_market_params` raising a base still does.
         The pool's fractions come from the same word: in stress it has less
         room to take trades and liquidations.
    """
    ownable._check_owner()
    assert market < self.market_count, "Configurator: unknown market"
    v: IConfigurator.VolatilityParams = IConfigurator.VolatilityParams(
        vol_lambda=vol_lambda, vol_ref=vol_ref, max_scale=max_scale, mmr_rise_per_hour=mmr_rise_per_hour
    )
    if max_scale == 0 or vol_ref == 0:
        v = empty(IConfigurator.VolatilityParams)
        self.volatility_states[market] = empty(IConfigurator.VolatilityState)
    else:
        assert vol_lambda < WAD, "Configurator: bad vol lambda"
        assert vol_ref <= WAD, "Configurator: bad vol ref"
        assert max_scale >= WAD and max_scale <= MAX_VOL_SCALE, "Configurator: bad vol scale"
        self._check_scaled_slope(self.margin_tier_slopes[market], max_scale)
        assert mmr_rise_per_hour <= MAX_MMR_RISE, "Configurator: bad mmr rise"
        if self.volatility_params[market].max_scale != 0:
            self._update(market)
        else:
            oracle: IPriceOracle = self._oracle()
            latest: uint256 = 0
            baseline: uint256 = 0
            latest, baseline = staticcall oracle.latest_round(market)
            latest = max(latest, baseline)
            price: uint256 = 0
            at: uint256 = 0
            ok: bool = False
            price, at, ok = staticcall oracle.round_price(market, latest)
            self.volatility_states[market] = IConfigurator.VolatilityState(
                ewma=0, round_id=latest, price=price, baseline=baseline, mmr_scale=WAD, updated_at=block.timestamp,
                imr_scale=WAD,
            )
        st: IConfigurator.VolatilityState = self.volatility_states[market]
        # dev: a lower max_scale lowers the scales at once (safe); the target is the new parameters'.
        st.mmr_scale = min(st.mmr_scale, max_scale)
        st.imr_scale = self._imr_scale(market, self._target(st.ewma, v), st.mmr_scale)
        self.volatility_states[market] = st
    self.volatility_params[market] = v
    self._push(market)
    log IConfigurator.VolatilityMarginSet(
        market=market,
        vol_lambda=v.vol_lambda,
        vol_ref=v.vol_ref,
        max_scale=v.max_scale,
        mmr_rise_per_hour=v.mmr_rise_per_hour,
    )


@external
def update_margins(market: uint256):
    """
    @notice Fold `market`'s new feed rounds into its volatility EWMA and push
            the margins it implies (permissionless: a keeper's crank, before
            it liquidates). A market with scaling off is left as it is.
    @dev The result is a function of the feed's rounds and the time alone,
         not of who calls when: the maintenance scale walks towards the
         target set by each round from that round's `updatedAt`, so a crank
         held back cannot save up the hourly cap. At most the VOL_ROUNDS
         newest rounds are folded one by one.
    """
    assert market < self.market_count, "Configurator: unknown market"
    if self.volatility_params[market].max_scale == 0:
        return
    imr: uint256 = 0
    mmr: uint256 = 0
    slope: uint256 = 0
    imr, mmr, slope = self._effective(market)
    self._update(market)
    new_imr: uint256 = 0
    new_mmr: uint256 = 0
    new_slope: uint256 = 0
    new_imr, new_mmr, new_slope = self._effective(market)
    if new_imr != imr or new_mmr != mmr or new_slope != slope:
        self._push(market)
        log IConfigurator.MarginsScaled(
            market=market, ewma=self.volatility_states[market].ewma, imr=new_imr, mmr=new_mmr
        )


# ---------------------------------------------------------------- views

@external
@view
def effective_margins(market: uint256) -> (uint256, uint256, uint256):
    """
    @notice Market `market`'s (imr, mmr, tier slope) as the engine has them
            (WAD): the base `markets` values and `margin_tier_slopes` scaled
            by volatility (the slope by the imr's scale).
    """
    return self._effective(market)


@external
@view
def skew_scale(market: uint256) -> uint256:
    """
    @notice Market `market`'s price impact scale (WAD base units).
    @dev One slot: what the LiquidityPool reads per market to leave the open
         skew's fill premium out of its share value (`markets` reads all five).
    """
    return self.markets[market].skew_scale


# ---------------------------------------------------------------- internal

@internal
@view
def _engine() -> IClearinghouse:
    engine: IClearinghouse = self.engine
    assert engine.address != empty(address), "Configurator: engine not set"
    return engine


@internal
@view
def _oracle() -> IPriceOracle:
    return IPriceOracle(staticcall self._engine().ORACLE())


@internal
def _update(market: uint256):
    # dev: fold the rounds after the last one folded (the VOL_ROUNDS newest at
    #      most), walking the maintenance scale towards each round's target
    #      from that round's time, then to now. Rounds never go before the
    #      feed's baseline; a new feed (a new baseline) restarts the walk there
    #      and keeps the EWMA and scales.
    v: IConfigurator.VolatilityParams = self.volatility_params[market]
    st: IConfigurator.VolatilityState = self.volatility_states[market]
    oracle: IPriceOracle = self._oracle()
    latest: uint256 = 0
    baseline: uint256 = 0
    latest, baseline = staticcall oracle.latest_round(market)
    price: uint256 = 0
    at: uint256 = 0
    ok: bool = False
    if baseline != st.baseline:
        # dev: a new feed: its baseline round is the next one folded, its move
        #      from the last price folded counted (a crash round just before
        #      the new feed is not dropped: the review's F5).
        price, at, ok = staticcall oracle.round_price(market, baseline)
        # dev: the same feed set again: its baseline is the round last folded.
        if baseline == st.round_id and price == st.price:
            ok = False
        st.baseline = baseline
        st.round_id = baseline
        if ok:
            st.ewma = self._fold(st.ewma, st.price, price, v.vol_lambda)
            st.price = price
    first: uint256 = st.round_id + 1
    if latest >= VOL_ROUNDS:
        first = max(first, latest + 1 - VOL_ROUNDS)
    for i: uint256 in range(VOL_ROUNDS):
        if first + i > latest:
            break
        price, at, ok = staticcall oracle.round_price(market, first + i)
        if not ok:
            continue
        if at > st.updated_at:
            st.mmr_scale = self._toward(st.mmr_scale, self._target(st.ewma, v), v.mmr_rise_per_hour, at - st.updated_at)
            st.updated_at = at
        st.ewma = self._fold(st.ewma, st.price, price, v.vol_lambda)
        st.price = price
    st.round_id = max(st.round_id, latest)
    target: uint256 = self._target(st.ewma, v)
    if block.timestamp > st.updated_at:
        st.mmr_scale = self._toward(st.mmr_scale, target, v.mmr_rise_per_hour, block.timestamp - st.updated_at)
        st.updated_at = block.timestamp
    st.imr_scale = self._imr_scale(market, target, st.mmr_scale)
    self.volatility_states[market] = st


@internal
@pure
def _fold(ewma: uint256, last: uint256, price: uint256, vol_lambda: uint256) -> uint256:
    # dev: one round's squared return into the EWMA (none before the first price folded).
    if last == 0:
        return ewma
    change: uint256 = price - last if price >= last else last - price
    r: uint256 = min(change * WAD // last, MAX_RETURN)
    # dev: r <= 100 WAD: r * r <= 10**40, the EWMA stays below 10**22.
    return (vol_lambda * ewma + (WAD - vol_lambda) * (r * r // WAD)) // WAD


@internal
@view
def _imr_scale(market: uint256, target: uint256, mmr_scale: uint256) -> uint256:
    # dev: the imr takes the target at once, and falls only as fast as the mmr.
    #      On a tiered market it follows the mmr's walk instead: the engine
    #      keeps a trader at the tier's cap (an initial fraction of 1) at
    #      mmr' / imr', so an imr moving at once would move that maintenance at
    #      once, up or down, past the hourly cap (the review's F2).
    if self.margin_tier_slopes[market] != 0:
        return mmr_scale
    return max(target, mmr_scale)


@internal
@pure
def _target(ewma: uint256, v: IConfigurator.VolatilityParams) -> uint256:
    # dev: clamp(sqrt(ewma) / vol_ref, 1, max_scale), WAD; sqrt(ewma * WAD) <= 10**20.
    return min(max(isqrt(ewma * WAD) * WAD // v.vol_ref, WAD), v.max_scale)


@internal
@pure
def _toward(scale: uint256, target: uint256, per_hour: uint256, elapsed: uint256) -> uint256:
    # dev: at most per_hour * elapsed / 3600 towards the target (rounded down:
    #      a crank every block loses at most 1 wei of scale a call).
    step: uint256 = per_hour * elapsed // 3600
    if target >= scale:
        return min(scale + step, target)
    return max(scale - min(step, scale), target)


@internal
@view
def _effective(market: uint256) -> (uint256, uint256, uint256):
    # dev: the base margins scaled (rounded up: against the account), imr at
    #      most 1 and mmr at most its base ratio to imr below that, so mmr <
    #      imr always (imr_scale >= mmr_scale and base mmr < base imr). With
    #      both scales 1 (or scaling off) this is the base exactly.
    #      The tier slope scales with imr: the engine tiers a trader at
    #      imr + slope * |size| / K and keeps mmr's ratio to imr, so with both
    #      scaled a tiered trader's fractions scale as a flat one's (imr at
    #      once, mmr by the cap). With the slope unscaled, an imr rise would
    #      lower a tiered trader's maintenance and its fall raise it at once.
    p: IConfigurator.MarketParams = self.markets[market]
    slope: uint256 = self.margin_tier_slopes[market]
    if self.volatility_params[market].max_scale == 0:
        return (p.imr, p.mmr, slope)
    st: IConfigurator.VolatilityState = self.volatility_states[market]
    imr: uint256 = min((p.imr * st.imr_scale + WAD - 1) // WAD, WAD)
    mmr: uint256 = min((p.mmr * st.mmr_scale + WAD - 1) // WAD, p.mmr * WAD // p.imr)
    # dev: imr_scale <= max_scale, and slope x max_scale fits 64 bits (`_check_scaled_slope`).
    return (imr, mmr, (slope * st.imr_scale + WAD - 1) // WAD)


@internal
def _push(market: uint256):
    """
    @dev Write the packed parameters to the engine: the globals, and market
         `market`'s words unless it is NO_MARKET. Before the engine is bound
         there is nothing to write: `set_engine` pushes what was set so far.
    """
    engine: IClearinghouse = self.engine
    if engine.address == empty(address):
        return
    p: IConfigurator.MarketParams = empty(IConfigurator.MarketParams)
    slope: uint256 = 0
    if market != NO_MARKET:
        p = self.markets[market]
        # dev: the volatility-scaled fractions and slope (the base ones when off), fractions at most 1.
        p.imr, p.mmr, slope = self._effective(market)
    lp: IConfigurator.LiquidationParams = self.liquidation_params
    extcall engine.configure(
        market,
        # dev: the tier slope in the margins word's top 64 bits (`_check_scaled_slope`).
        packing._pack_fractions(p.imr, p.mmr, p.fee_rate) | (slope << 192),
        p.skew_scale,
        p.max_skew,
        IClearinghouse.EngineConfig(
            pool_word=packing._pack_address(self.pool, self.fee_pool_share),
            fund_word=packing._pack_address(self.insurance_fund, lp.liq_fee),
            penalty_word=packing._pack_fractions(lp.keeper_share, lp.buffer, self.min_position_notional),
            reward_word=packing._pack_amounts(lp.min_reward, lp.max_reward),
        ),
    )


@internal
@pure
def _check_scaled_slope(slope: uint256, max_scale: uint256):
    # dev: the engine reads the scaled tier slope from the margins word's top
    #      64 bits: at its largest scale it must fit them, or it would wrap
    #      (slope 10 at scale 2 reached the engine as 1.55: the review's F1).
    assert (slope * max_scale + WAD - 1) // WAD < 2 ** 64, "Configurator: tier slope x vol scale too high"


@internal
@pure
def _check_dust_reward(params: IConfigurator.LiquidationParams, min_notional: uint256):
    # dev: the fund tops a reward up to min_reward for an account that cannot
    #      pay its penalty. If the penalty on the smallest position allowed were
    #      below min_reward, opening dust positions and letting them go
    #      bankrupt under one's own keeper would farm the insurance fund.
    assert params.min_reward * WAD <= params.liq_fee * min_notional, "Configurator: min reward above dust penalty"


@internal
@pure
def _check_market(params: IConfigurator.MarketParams):
    # dev: imr <= 1 and fee <= 0.1 fit their 64-bit fields (the scale and the cap have words of their own).
    assert params.mmr != 0 and params.mmr < params.imr and params.imr <= WAD, "Configurator: bad margins"
    assert params.fee_rate <= MAX_FEE_RATE, "Configurator: fee too high"
    # dev: the fee is what makes a liquidation sandwich cost: the engine lets
    #      liquidations move the skew by fee_rate * skew_scale in a block.
    assert params.fee_rate != 0, "Configurator: zero fee"
    assert params.skew_scale != 0, "Configurator: zero skew scale"
    # dev: a trade ahead of a block's liquidations (which move the skew by x <=
    #      fee * K) and its unwind after gain P * a * x / K and pay fees of
    #      fee * a * P * (2 - (2 * max_skew + x) / K) at least: more, so long
    #      as max_skew < K * (1 - fee) / 2 (SPEC 5.2, I8).
    assert params.max_skew != 0 and 2 * params.max_skew * WAD < params.skew_scale * (WAD - params.fee_rate), "Configurator: bad max skew"
