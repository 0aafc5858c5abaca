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
        caller-checked `configure`.
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
    self.margin_tier_slopes[market] = slope
    self._push(market)
    log IConfigurator.MarginTiersSet(market=market, slope=slope)


# ---------------------------------------------------------------- views

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
    if market != NO_MARKET:
        p = self.markets[market]
    lp: IConfigurator.LiquidationParams = self.liquidation_params
    extcall engine.configure(
        market,
        # dev: the tier slope in the margins word's top 64 bits (MAX_TIER_SLOPE < 2**64).
        packing._pack_fractions(p.imr, p.mmr, p.fee_rate) | (self.margin_tier_slopes[market] << 192),
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
