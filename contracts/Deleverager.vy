# pragma version 0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title Deleverager
@notice Auto-deleveraging, the last stage of the loss waterfall: a deficit
        at the mark that the insurance fund cannot cover, or the pool cannot
        take, is closed at its bankruptcy price against profitable opposite
        positions, best-ranked first. Permissionless; the keeper ranks the counterparties
        off-chain and this contract checks them.
@dev The engine decides whether an account needs ADL (`adl_gate`, the same
     computation `liquidate` uses) and books the fills this contract works
     out (`settle_adl`, which only this contract may call). Every check is
     made on the state before the call: fills move nothing this contract
     reads again (the pool intermediates both legs of each fill and its
     equity does not change; a counterparty is filled once, and may not be
     listed twice), so the fills are booked together at the end.
"""

from .interfaces import IClearinghouse
from .interfaces import IConfigurator
from .interfaces import IDeleverager
from .interfaces import IPriceOracle
from .modules import constants
from .modules import margin_math

implements: IDeleverager


# ---------------------------------------------------------------- constants

WAD: constant(uint256) = constants.WAD
MAX_MARKETS: constant(uint256) = constants.MAX_MARKETS

# @dev Longest counterparty list one `deleverage` call takes.
MAX_ADL_COUNTERPARTIES: constant(uint256) = 50

# @dev Pro rata: rounds of re-splitting what capped counterparties cannot take.
SPREAD_ROUNDS: constant(uint256) = 8


# ---------------------------------------------------------------- immutables

# @dev The only caller of `bind`.
CONFIGURATOR: public(immutable(address))


# ---------------------------------------------------------------- storage

# @dev The engine whose accounts this contract deleverages. Bound once by the Configurator.
engine: public(IClearinghouse)

# @dev The engine's oracle, read once at binding.
oracle: public(IPriceOracle)


# ---------------------------------------------------------------- constructor

@deploy
def __init__(configurator: address):
    """
    @param configurator The Configurator, which binds the engine once it is deployed.
    """
    CONFIGURATOR = configurator


@external
def bind(engine: address):
    """
    @notice Bind the engine (Configurator only, once).
    """
    # dev: not reachable by a user: only the Configurator's `set_engine`, which runs once.
    assert msg.sender == CONFIGURATOR  # dev: configurator only
    assert self.engine.address == empty(address)  # dev: bound once
    self.engine = IClearinghouse(engine)
    self.oracle = IPriceOracle(staticcall IClearinghouse(engine).ORACLE())


# ---------------------------------------------------------------- deleveraging

@external
def deleverage(account: address, market: uint256, counterparties: DynArray[address, MAX_ADL_COUNTERPARTIES]) -> uint256:
    """
    @notice Close `account`'s position in `market` at its bankruptcy price
            against profitable opposite positions, best-ranked first (the
            queue), or spread over all of them by profit x leverage (a
            pro-rata market, Configurator.adl_pro_rata), so the loss the
            insurance fund cannot cover is taken from their unrealised profit.
    @dev Allowed only when the account is liquidatable (where a stable mark of
         its markets lags, at the marks too: `liquidate` holds it the same
         way, "account healthy") and `liquidate` would
         refuse it for ADL (the engine's `adl_gate`): a real deficit, negative
         equity at the mark that the fund cannot cover (or that the pool
         cannot take at once). The fund first gives everything it has
         towards it (`BadDebtCovered`). Each counterparty must be on the
         other side with positive unrealised PnL in `market`, and the scores
         (`adl_score`) must not increase along the list; the pool counts as
         an account. Counterparties are filled in order, each up to its whole
         position, until the position is closed; the rest of the list is
         ignored, and what is left of the position waits for another call.
         The deficit left after the fund is split across the account's
         markets by notional; every unit of this market's position closed
         carries the same part of this market's share (its bankruptcy price),
         taken from the counterparty, which loses at most its unrealised
         profit on that size and never ends below zero equity. A counterparty
         too thin for that pays what it can where the account keeps other
         markets (the rest passes to them); in the account's last market,
         where a position is never closed with a deficit left on it, it
         closes nothing and gives all it can of its profit (a haircut
         without a fill), so the units left carry less. A counterparty below
         zero equity is bankrupt itself and is
         skipped: closing it could leave its deficit on a flat account. What
         is not covered stays on the account (`DeficitPending`). No fee, no
         penalty.
    @param account The bankrupt account.
    @param market The market to deleverage.
    @param counterparties Accounts to close against, by non-increasing score.
    @return Base units of the account's position closed (WAD).
    """
    engine: IClearinghouse = self.engine
    assert engine.address != empty(address), "Deleverager: not bound"
    assert len(counterparties) != 0, "Deleverager: no counterparties"
    pool: address = staticcall engine.pool()
    prices: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    valid: uint256 = 0
    stable: uint256[MAX_MARKETS] = empty(uint256[MAX_MARKETS])
    lagging: uint256 = 0
    # dev: ADL never waits on the guard: the guard's round reads are skipped.
    prices, valid, stable, lagging = staticcall self.oracle.liquidation_prices(
        (1 << staticcall engine.market_count()) - 1
    )
    gate: IClearinghouse.AdlGate = staticcall engine.adl_gate(account, prices)
    assert gate.mask & (1 << market) != 0, "Deleverager: no position"
    self._require_valid(gate.mask, valid)
    st: IClearinghouse.AccountState = gate.state
    assert margin_math._is_liquidatable(st.notional, st.equity, st.maintenance_req), "Deleverager: account healthy"
    if lagging & gate.mask != 0:
        # dev: the stable mark holds it, as it holds `liquidate`: it must be
        #      liquidatable at the lagging markets' stable marks too.
        unused: IClearinghouse.Position = empty(IClearinghouse.Position)
        at_stable: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
        unused_mask: uint256 = 0
        unused, at_stable, unused_mask = staticcall engine.state_at(account, market, stable)
        assert margin_math._is_liquidatable(
            at_stable.notional, at_stable.equity, at_stable.maintenance_req
        ), "Deleverager: account healthy"
    assert gate.needs_adl, "Deleverager: ADL not required"

    # Stage 3 before 4: the fund covers what it can of the negative equity.
    equity: int256 = st.equity
    draw: int256 = 0
    if equity < 0 and gate.fund_balance > 0:
        draw = min(gate.fund_balance, -equity)
        equity += draw
        log IClearinghouse.BadDebtCovered(
            account=account, amount=convert(draw, uint256), fund_balance=gate.fund_balance - draw
        )

    # Stage 4: the deficit left after the fund is split across the account's
    # markets by notional, so each market's counterparties bear only that
    # market's share; within the market every unit closed carries the same
    # part of it. An account with no deficit is closed at mark: it gives its
    # position away for nothing and takes nothing from anyone.
    mark: uint256 = prices[market]
    size: int256 = (staticcall engine.position(account, market)).size
    held: int256 = abs(size)
    deficit: int256 = max(-equity, 0)
    market_notional: uint256 = margin_math._notional(size, mark)
    last_market: bool = market_notional >= st.notional
    if not last_market:
        # dev: rounded up: the last market's share is the whole deficit left.
        deficit = margin_math._ceil_div(deficit * convert(market_notional, int256), convert(st.notional, int256))
    fills: DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES] = []
    remaining: int256 = 0
    if staticcall IConfigurator(CONFIGURATOR).adl_pro_rata(market):
        fills, deficit, remaining = self._pro_rata(account, market, size, deficit, last_market, prices, valid, counterparties)
    else:
        fills, deficit, remaining = self._queue(account, market, size, deficit, last_market, prices, valid, counterparties)
    if deficit > 0:
        # dev: the listed counterparties' profit did not cover the whole
        #      share: what is left of it stays on the account, for its other
        #      markets, the rest of this position's next counterparties, or
        #      another call.
        log IDeleverager.DeficitPending(account=account, market=market, amount=convert(deficit, uint256))
    extcall engine.settle_adl(account, market, draw, fills)
    return convert(held - remaining, uint256)


# ---------------------------------------------------------------- the two modes

@internal
def _queue(
    account: address,
    market: uint256,
    size: int256,
    deficit: int256,
    last_market: bool,
    prices: uint256[MAX_MARKETS],
    valid: uint256,
    counterparties: DynArray[address, MAX_ADL_COUNTERPARTIES],
) -> (DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES], int256, int256):
    """
    @dev The queue: counterparties filled in list order, each up to its whole
         position, every unit closed carrying the same part of the deficit.
    @return (fills, deficit left, base units of the position left).
    """
    mark: uint256 = prices[market]
    held: int256 = abs(size)
    remaining: int256 = held
    last_score: uint256 = max_value(uint256)
    fills: DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES] = []
    filled: DynArray[address, MAX_ADL_COUNTERPARTIES] = []
    for counterparty: address in counterparties:
        if remaining == 0:
            break
        # dev: every check reads the state before the call: a second fill
        #      would count the same position twice.
        assert counterparty not in filled, "Deleverager: counterparty listed twice"
        other: IClearinghouse.Position = empty(IClearinghouse.Position)
        other_st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
        upnl: int256 = 0
        score: uint256 = 0
        other, other_st, upnl, score = self._counterparty(counterparty, market, size, prices, valid, last_score)
        last_score = score

        amount: int256 = min(remaining, abs(other.size))
        if other_st.equity < 0:
            # dev: a counterparty below zero is bankrupt itself: closing its
            #      position, even at the mark, could leave it flat with its
            #      deficit on it, owned by no one. It is skipped.
            amount = 0
        gain: int256 = 0
        if deficit > 0 and amount != 0:
            # dev: each unit closed carries the same part of the market's
            #      share, rounded up (the account never ends below the share's
            #      end, and the share is paid in full when the last unit
            #      closes), but never more than the counterparty's profit on
            #      what it gives, nor than its equity: it never loses beyond
            #      its profit in this market and never ends below zero. One
            #      wei is kept back from each bound: the two legs' flooring can
            #      differ by a wei.
            equity_room: int256 = max(other_st.equity - 1, 0)
            if last_market:
                amount = min(amount, equity_room * remaining // deficit)
            gain = margin_math._ceil_div(deficit * amount, remaining)
            bound: int256 = min(max(upnl * amount // abs(other.size) - 1, 0), equity_room)
            if gain > bound:
                # dev: a thin counterparty: in a market the account will keep
                #      others in, it pays what it can and the rest of the share
                #      passes to those markets (the split is made afresh each
                #      call); in its last market the position is never closed
                #      with a deficit left on it (no one would own it), so it
                #      closes nothing there and gives its profit below.
                gain = bound
                if last_market:
                    amount = 0
            if amount == 0 and last_market:
                # dev: a thin counterparty in the last market (its profit per
                #      unit, or its equity, below the deficit a unit carries)
                #      ranks above the rest, so it pays first: all it can of
                #      its profit, keeping its position, and the deficit per
                #      unit left falls. Skipping it instead let thin accounts
                #      at the top of the ranking shield every deeper one, the
                #      list being the ranking's prefix
                #      (test_adl_queue_shielded_by_thin_high_score_accounts.py).
                gain = min(min(max(upnl - 1, 0), equity_room), deficit)
        if amount == 0 and gain == 0:
            log IDeleverager.CounterpartySkipped(account=account, counterparty=counterparty, market=market, score=score)
            continue
        size_delta: int256 = -amount if size > 0 else amount
        # dev: cash such that the account's equity moves by exactly `gain`:
        #      equity changes by -cash + floor(new_size * mark) - floor(size * mark).
        #      A haircut without a fill (size_delta 0) is booked while the
        #      account still holds the position: the loop stops once it is closed.
        cash: int256 = margin_math._upnl(size + size_delta, 0, mark) - margin_math._upnl(size, 0, mark) - gain
        fills.append(IClearinghouse.AdlFill(counterparty=counterparty, size_delta=size_delta, cash=cash))
        filled.append(counterparty)
        # dev: the pool's own position is the mirror: the counterparty's leg moves it the same way.
        size += size_delta
        deficit -= gain
        remaining -= amount
        price: uint256 = 0
        if amount != 0:
            price = convert(abs(cash), uint256) * WAD // convert(amount, uint256)
        log IDeleverager.Deleverage(
            account=account,
            counterparty=counterparty,
            market=market,
            size_closed=size_delta,
            price=price,
            mark_price=mark,
            score=score,
            haircut=convert(gain, uint256),
            weight=0,
        )
    return fills, deficit, remaining


@internal
def _pro_rata(
    account: address,
    market: uint256,
    size: int256,
    deficit: int256,
    last_market: bool,
    prices: uint256[MAX_MARKETS],
    valid: uint256,
    counterparties: DynArray[address, MAX_ADL_COUNTERPARTIES],
) -> (DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES], int256, int256):
    """
    @dev Pro rata: the deficit is spread over every listed counterparty in
         proportion to its risk weight, profit x leverage (upnl * notional /
         equity), each capped at its unrealised profit in this market and
         its equity (a wei kept back from each, as in the queue); what the
         caps leave is split again by weight over those with room (`_spread`). The
         position is spread the same way, each taking at most its own size,
         at the mark moved by its haircut. In the account's last market a
         deficit the listed profit cannot cover closes only the part of the
         position it covers, so what stays open carries no more than its
         share. A counterparty below zero equity gives nothing and takes
         nothing. An entry that cannot pay is passed over, not a revert, and
         the order is not checked; the audit proves a list shorter than the
         bound named every eligible account.
    @return (fills, deficit left, base units of the position left).
    """
    mark: uint256 = prices[market]
    held: int256 = abs(size)
    # Pass 1: every counterparty checked, with what it can take and give.
    can_take: DynArray[int256, MAX_ADL_COUNTERPARTIES] = []
    can_give: DynArray[int256, MAX_ADL_COUNTERPARTIES] = []
    weights: DynArray[uint256, MAX_ADL_COUNTERPARTIES] = []
    scores: DynArray[uint256, MAX_ADL_COUNTERPARTIES] = []
    depth: int256 = 0
    room: int256 = 0
    seen: DynArray[address, MAX_ADL_COUNTERPARTIES] = []
    for counterparty: address in counterparties:
        assert counterparty not in seen, "Deleverager: counterparty listed twice"
        seen.append(counterparty)
        # dev: unlike the queue, an entry that cannot pay (flat, same side, not
        #      in profit, below zero equity, a price of its own failing) is
        #      passed over, not a revert, and the list's order is not checked:
        #      shares go by weight, so a listed account could otherwise revert
        #      the whole call (close, flip, or lower its score with a deposit)
        #      to dodge its haircut (the review of issue 19). Completeness is
        #      the audit's: a pro-rata list shorter than the bound must name
        #      every eligible account (backstop.checks.adl_audit).
        other: IClearinghouse.Position = empty(IClearinghouse.Position)
        other_st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
        other_mask: uint256 = 0
        other, other_st, other_mask = staticcall self.engine.state_at(counterparty, market, prices)
        upnl: int256 = margin_math._upnl(other.size, other.cost, mark)
        take: int256 = 0
        give: int256 = 0
        weight: uint256 = 0
        score: uint256 = 0
        if other.size != 0 and (other.size > 0) != (size > 0) and upnl > 0 and other_mask & ~valid == 0:
            score = margin_math._adl_score(upnl, other.cost, other_st.notional, other_st.equity)
            if other_st.equity > 0:
                take = abs(other.size)
                give = max(min(upnl - 1, other_st.equity - 1), 0)
                # dev: at least 1, so a counterparty with room is never left out by rounding.
                weight = max(convert(upnl, uint256) * other_st.notional // convert(other_st.equity, uint256), 1)
        can_take.append(take)
        can_give.append(give)
        weights.append(weight)
        scores.append(score)
        depth += take
        room += give

    # Pass 2: the haircuts, then the sizes, by weight under each cap; what
    # the caps leave is split again by weight over those with room (`_spread`).
    taken: int256 = min(deficit, room)
    close: int256 = held
    if last_market and taken < deficit:
        # dev: rounded down: each unit left open carries at most its share.
        close = held * taken // deficit
    haircuts: DynArray[int256, MAX_ADL_COUNTERPARTIES] = self._spread(taken, can_give, weights)
    sizes: DynArray[int256, MAX_ADL_COUNTERPARTIES] = self._spread(min(close, depth), can_take, weights)

    # Pass 3: the fills. A haircut without a fill is booked before any fill,
    # while the account still holds its position (a cash leg on a closed
    # position would leave a cost basis on no size).
    fills: DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES] = []
    sized: DynArray[IClearinghouse.AdlFill, MAX_ADL_COUNTERPARTIES] = []
    remaining: int256 = held
    for n: uint256 in range(MAX_ADL_COUNTERPARTIES):
        if n == len(counterparties):
            break
        counterparty: address = counterparties[n]
        amount: int256 = sizes[n]
        gain: int256 = haircuts[n]
        if amount == 0 and gain == 0:
            log IDeleverager.CounterpartySkipped(
                account=account, counterparty=counterparty, market=market, score=scores[n]
            )
            continue
        size_delta: int256 = -amount if size > 0 else amount
        # dev: as in the queue: the account's equity moves by exactly `gain`.
        cash: int256 = margin_math._upnl(size + size_delta, 0, mark) - margin_math._upnl(size, 0, mark) - gain
        fill: IClearinghouse.AdlFill = IClearinghouse.AdlFill(counterparty=counterparty, size_delta=size_delta, cash=cash)
        price: uint256 = 0
        if amount == 0:
            fills.append(fill)
        else:
            sized.append(fill)
            price = convert(abs(cash), uint256) * WAD // convert(amount, uint256)
        size += size_delta
        deficit -= gain
        remaining -= amount
        log IDeleverager.Deleverage(
            account=account,
            counterparty=counterparty,
            market=market,
            size_closed=size_delta,
            price=price,
            mark_price=mark,
            score=scores[n],
            haircut=convert(gain, uint256),
            weight=weights[n],
        )
    for fill: IClearinghouse.AdlFill in sized:
        fills.append(fill)
    return fills, deficit, remaining


@internal
@pure
def _spread(
    total: int256, caps: DynArray[int256, MAX_ADL_COUNTERPARTIES], weights: DynArray[uint256, MAX_ADL_COUNTERPARTIES]
) -> DynArray[int256, MAX_ADL_COUNTERPARTIES]:
    """
    @dev `total` (at most the sum of `caps`) split by `weights` under each
         cap, water-filling: what the capped ones cannot take is split again
         by weight over those with room, for up to SPREAD_ROUNDS rounds; what
         rounding leaves then goes to the first with room, in order. The
         parts sum to `total` exactly. (One split and a leftover in list
         order let a high-weight account with little to give, listed first,
         push nearly all of the rest on the next in the list: the review of
         issue 19.)
    """
    parts: DynArray[int256, MAX_ADL_COUNTERPARTIES] = []
    for n: uint256 in range(MAX_ADL_COUNTERPARTIES):
        if n == len(caps):
            break
        parts.append(0)
    left: int256 = total
    for r: uint256 in range(SPREAD_ROUNDS):
        if left == 0:
            break
        open_weight: uint256 = 0
        for n: uint256 in range(MAX_ADL_COUNTERPARTIES):
            if n == len(caps):
                break
            if parts[n] < caps[n]:
                open_weight += weights[n]
        if open_weight == 0:
            break
        given: int256 = 0
        for n: uint256 in range(MAX_ADL_COUNTERPARTIES):
            if n == len(caps):
                break
            if parts[n] < caps[n]:
                part: int256 = min(left * convert(weights[n], int256) // convert(open_weight, int256), caps[n] - parts[n])
                parts[n] += part
                given += part
        if given == 0:
            break
        left -= given
    for n: uint256 in range(MAX_ADL_COUNTERPARTIES):
        if left == 0 or n == len(caps):
            break
        extra: int256 = min(caps[n] - parts[n], left)
        parts[n] += extra
        left -= extra
    return parts


@internal
@view
def _counterparty(
    counterparty: address, market: uint256, size: int256, prices: uint256[MAX_MARKETS], valid: uint256, last_score: uint256
) -> (IClearinghouse.Position, IClearinghouse.AccountState, int256, uint256):
    """
    @dev One listed counterparty, checked as the queue needs it (pro rata
         passes such an entry over instead): a position on the other side, in
         profit at the mark, valid prices for every market it holds, and a
         score no higher than the one before it.
    @return (its position, its margin state, its unrealised PnL here, its score).
    """
    other: IClearinghouse.Position = empty(IClearinghouse.Position)
    other_st: IClearinghouse.AccountState = empty(IClearinghouse.AccountState)
    other_mask: uint256 = 0
    other, other_st, other_mask = staticcall self.engine.state_at(counterparty, market, prices)
    assert other.size != 0, "Deleverager: counterparty flat"
    assert (other.size > 0) != (size > 0), "Deleverager: counterparty same side"
    upnl: int256 = margin_math._upnl(other.size, other.cost, prices[market])
    assert upnl > 0, "Deleverager: counterparty not in profit"
    self._require_valid(other_mask, valid)
    score: uint256 = margin_math._adl_score(upnl, other.cost, other_st.notional, other_st.equity)
    assert score <= last_score, "Deleverager: scores not ordered"
    return other, other_st, upnl, score


# ---------------------------------------------------------------- internal

@internal
@view
def _require_valid(mask: uint256, valid: uint256):
    if valid & mask == mask:
        return
    for i: uint256 in range(MAX_MARKETS):
        if (mask & ~valid) & (1 << i) != 0:
            # dev: reverts with the failed check's reason.
            unreachable: uint256 = staticcall self.oracle.price(i)
    raise "Deleverager: invalid price"
