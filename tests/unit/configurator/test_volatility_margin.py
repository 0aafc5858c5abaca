"""Volatility-scaled margin (issue 19): `update_margins` folds each new feed
round's squared return into a per-market EWMA and scales the base margins by
clamp(sqrt(ewma) / vol_ref, 1, max_scale): the initial fraction at once, the
maintenance fraction by at most `mmr_rise_per_hour` of the base mmr an hour.

ETH here: imr 0.10, mmr 0.05, price 2,000. Scaling: lambda 0.9, vol_ref 1% a
round, max scale 3, maintenance 0.5 base mmr an hour. One 20% round: ewma =
0.1 * 0.2^2 = 0.004, sqrt 6.3% -> scale 3 (clamped): imr 0.30 at once, mmr
0.05 + 0.025 an hour up to 0.15.
"""

from math import isqrt

import boa
import pytest
from eth_utils import keccak

from backstop.keeper.logic import BoaChain, Keeper
from backstop.protocol.harness import actor
from backstop.units import WAD, wad

ETH, BTC = 0, 1
LAMBDA, REF, MAX_SCALE, RISE = wad("0.9"), wad("0.01"), wad(3), wad("0.5")


def _on(p, market=ETH, vol_lambda=LAMBDA, vol_ref=REF, max_scale=MAX_SCALE, rise=RISE):
    with boa.env.prank(p.owner):
        p.configurator.set_volatility_margin(market, vol_lambda, vol_ref, max_scale, rise)


def _long_10_eth(p, margin_usd):
    """The trader, long 10 ETH at ~2,000 on `margin_usd` of collateral."""
    trader = actor("trader")
    p.fund_trader(trader, margin_usd)
    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(10))
    return trader


def _update(p, market=ETH):
    with boa.env.prank(actor("keeper")):
        p.configurator.update_margins(market)


def _margins(p, market=ETH):
    return tuple(p.configurator.effective_margins(market))[:2]


def _engine_margins(p, market=ETH):
    """(imr, mmr) in the engine's packed margins word (a private map: read from its slot)."""
    slot = p.engine.compiler_data.storage_layout["storage_layout"]["margins_words"]["slot"]
    key = keccak(slot.to_bytes(32, "big") + market.to_bytes(32, "big"))
    word = boa.env.evm.get_storage(p.engine.address, int.from_bytes(key, "big"))
    return word & (2**64 - 1), (word >> 64) & (2**64 - 1)


def events(contract, name):
    """The events of `name` emitted by the last call on `contract`."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def _ewma(prices, vol_lambda=LAMBDA, ewma=0):
    """The contract's fold, in integers: ewma = lambda * ewma + (1 - lambda) * r^2."""
    for previous, price in zip(prices, prices[1:]):
        r = min(abs(price - previous) * WAD // previous, 100 * WAD)
        ewma = (vol_lambda * ewma + (WAD - vol_lambda) * (r * r // WAD)) // WAD
    return ewma


def _target(ewma, vol_ref=REF, max_scale=MAX_SCALE):
    return min(max(isqrt(ewma * WAD) * WAD // vol_ref, WAD), max_scale)


def test_update_margins__one_volatile_round__imr_at_once_mmr_capped_per_hour(protocol):
    _on(protocol)
    boa.env.time_travel(seconds=60)
    protocol.set_price(ETH, 2400)
    _update(protocol)
    assert protocol.configurator.volatility_states(ETH).ewma == wad("0.004")
    assert _margins(protocol) == (wad("0.30"), wad("0.05"))
    assert _engine_margins(protocol) == _margins(protocol)
    for hours, mmr in ((1, "0.075"), (2, "0.125"), (1, "0.15"), (5, "0.15")):
        boa.env.time_travel(seconds=3600 * hours)
        protocol.set_price(ETH, 2400)  # calm rounds: the EWMA decays 10% each, its target stays 3 for 14
        _update(protocol)
        assert _margins(protocol) == (wad("0.30"), wad(mmr)), hours
        assert _engine_margins(protocol) == _margins(protocol)


def test_update_margins__huge_spike__mmr_still_moves_only_the_hourly_cap(protocol):
    _on(protocol, max_scale=wad(5))
    protocol.set_price(ETH, 1500)  # -25%: the deepest one round takes without the guard
    _update(protocol)
    assert _margins(protocol) == (wad("0.5"), wad("0.05"))
    boa.env.time_travel(seconds=600)
    _update(protocol)
    # 10 minutes at 0.5 base mmr an hour: 0.05 * (1 + 0.5 / 6), rounded up.
    assert _margins(protocol)[1] == -(-wad("0.05") * (WAD + wad("0.5") * 600 // 3600) // WAD)


def test_update_margins__calm_rounds__margins_and_engine_untouched(protocol):
    _on(protocol)
    word = _engine_margins(protocol)
    for _ in range(5):
        boa.env.time_travel(seconds=600)
        protocol.set_price(ETH, 2000)
        _update(protocol)
        assert events(protocol.configurator, "MarginsScaled") == []
    assert protocol.configurator.volatility_states(ETH).ewma == 0
    assert _margins(protocol) == (wad("0.10"), wad("0.05"))
    assert _engine_margins(protocol) == word


def test_update_margins__volatility_below_ref__base_margins(protocol):
    _on(protocol)
    for price in (2010, 2000, 2010):  # 0.5% rounds: sqrt(ewma) < 1%
        protocol.set_price(ETH, price)
    _update(protocol)
    assert 0 < protocol.configurator.volatility_states(ETH).ewma < REF**2 // WAD
    assert _margins(protocol) == (wad("0.10"), wad("0.05"))


def test_update_margins__calm_returns__falls_back_no_faster_than_it_rose(protocol):
    _on(protocol, vol_lambda=wad("0.5"))
    protocol.set_price(ETH, 2200)
    _update(protocol)
    boa.env.time_travel(seconds=4 * 3600)  # mmr at 3x
    _update(protocol)
    assert _margins(protocol) == (wad("0.30"), wad("0.15"))
    for _ in range(6):  # ewma 0.005 halves each calm round: below 1%^2 after 6
        boa.env.time_travel(seconds=60)
        protocol.set_price(ETH, 2200)
    _update(protocol)
    state = protocol.configurator.volatility_states(ETH)
    assert _target(state.ewma) == WAD
    # Six minutes of calm so far: mmr fell 0.5 an hour from the last round's time on
    # (before it the target stayed 3), and imr falls with it (imr scale = max(target, mmr scale)).
    assert state.mmr_scale == state.imr_scale
    boa.env.time_travel(seconds=3600)
    _update(protocol)
    imr, mmr = _margins(protocol)
    assert protocol.configurator.volatility_states(ETH).mmr_scale == state.mmr_scale - wad("0.5")
    assert imr == -(-wad("0.10") * (state.mmr_scale - wad("0.5")) // WAD) and imr > mmr
    boa.env.time_travel(seconds=5 * 3600)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    assert _margins(protocol) == (wad("0.10"), wad("0.05"))


def test_update_margins__rounds_beyond_the_bound__only_the_newest_sixteen_folded(protocol):
    _on(protocol)
    prices = [2000]
    for i in range(20):
        prices.append(2000 + 20 * (i % 2 == 0))
        protocol.set_price(ETH, prices[-1])
    _update(protocol)
    # The first folded return (round 5 of 20) is measured from the last price folded (the baseline's).
    expected = _ewma([prices[0]] + prices[5:])
    assert protocol.configurator.volatility_states(ETH).ewma == expected != _ewma(prices)
    assert protocol.configurator.volatility_states(ETH).round_id == protocol.feeds[ETH].round_id()


def test_update_margins__once_or_after_every_round__same_state(protocol):
    path = [2100, 1900, 2050, 2050, 1800, 1850, 2000]
    with boa.env.anchor():
        _on(protocol)
        for price in path:
            boa.env.time_travel(seconds=900)
            protocol.set_price(ETH, price)
            _update(protocol)
        boa.env.time_travel(seconds=900)
        _update(protocol)
        every = tuple(protocol.configurator.volatility_states(ETH))
    _on(protocol)
    for price in path:
        boa.env.time_travel(seconds=900)
        protocol.set_price(ETH, price)
    boa.env.time_travel(seconds=900)
    _update(protocol)
    once = tuple(protocol.configurator.volatility_states(ETH))
    assert once == every
    assert once[0] == _ewma([2000] + path)


def test_update_margins__scaling_off__no_op(protocol):
    protocol.set_price(ETH, 2400)
    _update(protocol)
    assert _margins(protocol) == (wad("0.10"), wad("0.05"))
    assert events(protocol.configurator, "MarginsScaled") == []


def test_update_margins__unknown_market__reverts(protocol):
    with boa.reverts("Configurator: unknown market"):
        protocol.configurator.update_margins(7)


@pytest.mark.parametrize("args, reason", [
    ((WAD, REF, MAX_SCALE, RISE), "Configurator: bad vol lambda"),
    ((LAMBDA, WAD + 1, MAX_SCALE, RISE), "Configurator: bad vol ref"),
    ((LAMBDA, REF, WAD - 1, RISE), "Configurator: bad vol scale"),
    ((LAMBDA, REF, wad(5) + 1, RISE), "Configurator: bad vol scale"),
    ((LAMBDA, REF, MAX_SCALE, wad(4) + 1), "Configurator: bad mmr rise"),
])
def test_set_volatility_margin__out_of_bounds__reverts(protocol, args, reason):
    with boa.env.prank(protocol.owner), boa.reverts(reason):
        protocol.configurator.set_volatility_margin(ETH, *args)


def test_set_volatility_margin__unknown_market__reverts(protocol):
    with boa.env.prank(protocol.owner), boa.reverts("Configurator: unknown market"):
        protocol.configurator.set_volatility_margin(7, LAMBDA, REF, MAX_SCALE, RISE)


def test_set_volatility_margin__by_attacker__reverts_not_owner(protocol):
    with boa.env.prank(actor("attacker")), boa.reverts("ownable: caller is not the owner"):
        protocol.configurator.set_volatility_margin(ETH, LAMBDA, REF, MAX_SCALE, RISE)


def test_set_volatility_margin__on__event_and_base_margins(protocol):
    _on(protocol)
    (log,) = events(protocol.configurator, "VolatilityMarginSet")
    fields = (log.market, log.vol_lambda, log.vol_ref, log.max_scale, log.mmr_rise_per_hour)
    assert fields == (ETH, LAMBDA, REF, MAX_SCALE, RISE)
    assert _margins(protocol) == (wad("0.10"), wad("0.05"))
    assert tuple(protocol.configurator.volatility_params(ETH)) == (LAMBDA, REF, MAX_SCALE, RISE)


def test_set_volatility_margin__off__base_margins_at_once(protocol):
    _on(protocol)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    boa.env.time_travel(seconds=3600)
    _update(protocol)
    assert _margins(protocol) == (wad("0.30"), wad("0.075"))
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_volatility_margin(ETH, LAMBDA, 0, MAX_SCALE, RISE)
    assert _margins(protocol) == _engine_margins(protocol) == (wad("0.10"), wad("0.05"))
    assert tuple(protocol.configurator.volatility_params(ETH)) == (0, 0, 0, 0)


def test_set_volatility_margin__lower_max_scale__lowers_at_once_never_raises(protocol):
    _on(protocol)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    boa.env.time_travel(seconds=4 * 3600)
    _update(protocol)
    _on(protocol, max_scale=wad(2))
    assert _margins(protocol) == (wad("0.20"), wad("0.10"))
    _on(protocol, max_scale=wad(3))  # raising the bound: imr at once, mmr by the hourly cap
    assert _margins(protocol) == (wad("0.30"), wad("0.10"))


def test_set_market_params__scaling_on__new_base_scale_kept(protocol):
    _on(protocol)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    boa.env.time_travel(seconds=3600)
    _update(protocol)
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_market_params(ETH, (wad("0.2"), wad("0.04"), wad("0.001"), wad(100_000), wad(10_000)))
    assert _margins(protocol) == _engine_margins(protocol) == (wad("0.6"), wad("0.06"))
    assert tuple(protocol.configurator.markets(ETH))[:2] == (wad("0.2"), wad("0.04"))


def test_effective_margins__imr_capped_at_one__mmr_keeps_its_base_ratio_below(protocol):
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_market_params(BTC, (wad("0.5"), wad("0.4"), wad("0.002"), wad(10_000), wad(1_000)))
    _on(protocol, market=BTC, max_scale=wad(5), rise=wad(4))
    protocol.set_price(BTC, 55_000)
    _update(protocol, BTC)
    boa.env.time_travel(seconds=3600)
    _update(protocol, BTC)
    imr, mmr = _margins(protocol, BTC)
    assert imr == WAD and mmr == wad("0.8") and mmr < imr


def test_liquidation_price__scaled__uses_the_effective_mmr(protocol):
    trader = _long_10_eth(protocol, 5_000)
    _on(protocol)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    boa.env.time_travel(seconds=3 * 3600)
    protocol.set_price(ETH, 2200)
    _update(protocol)
    assert _margins(protocol)[1] == wad("0.125")
    h = protocol.lens.health([trader])[0]
    liquidation = protocol.lens.liquidation_price(trader, ETH)
    # equity(P) = maintenance(P): E + s (P - P0) = M + s mmr (P - P0), with the effective mmr.
    size, mark = 10, 2200
    expected = mark + (h.maintenance_req - h.equity) / WAD / (size - size * 0.125)
    assert liquidation / WAD == pytest.approx(expected, rel=1e-12)
    assert liquidation / WAD != pytest.approx(mark + (h.maintenance_req - h.equity) / WAD / (size - size * 0.05))


def test_scaling__existing_account__liquidatable_only_as_fast_as_the_cap(protocol):
    trader = _long_10_eth(protocol, 2_200)
    _on(protocol)
    boa.env.time_travel(seconds=60)
    protocol.set_price(ETH, 2200)
    boa.env.time_travel(seconds=60)
    protocol.set_price(ETH, 2000)  # back where it opened: the trader's equity is as before
    _update(protocol)
    h = protocol.lens.health([trader])[0]
    ratio = h.equity * WAD // h.notional  # ~10.9%: liquidatable once mmr passes it
    # mmr = 0.05 * (1 + 0.5 * hours): the hour it passes the ratio.
    hours = (ratio / 0.05 / WAD - 1) / 0.5
    assert 2 < hours < 3 and not protocol.lens.is_liquidatable(trader)
    elapsed = 0
    for at, liquidatable in ((hours - 0.05, False), (hours + 0.05, True)):
        boa.env.time_travel(seconds=int(at * 3600) - elapsed)
        elapsed = int(at * 3600)
        protocol.set_price(ETH, 2000)
        _update(protocol)
        assert protocol.lens.is_liquidatable(trader) == liquidatable, at


def test_scaling__tiered_trader__fractions_scale_as_a_flat_traders(protocol):
    # Slope 1 on ETH: a 1,000 ETH position's base tier is imr 0.11, mmr 0.055 (test_margin_tiers).
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_margin_tiers(ETH, WAD)
    whale = actor("whale")
    protocol.fund_trader(whale, 300_000)
    with boa.env.prank(whale):
        protocol.engine.trade(ETH, wad(1_000))
    _on(protocol)
    protocol.set_price(ETH, 2400)
    _update(protocol)
    boa.env.time_travel(seconds=3600)
    protocol.set_price(ETH, 2400)
    _update(protocol)
    imr, mmr, slope = protocol.configurator.effective_margins(ETH)
    # dev: on a tiered market the imr scale follows the maintenance walk (1.5 after an hour at the
    #      cap), not the target (3) at once: a trader at the tier's cap would otherwise feel the
    #      imr's jumps in its maintenance (test_update_margins_calm_rounds_raise_a_capped_tier_...).
    assert (imr, mmr, slope) == (wad("0.15"), wad("0.075"), wad("1.5"))
    h = protocol.lens.health([whale])[0]
    # Tiered: both fractions 1.5 x the base tier's: imr 0.15 + 1.5 x 0.01 = 1.5 x 0.11, and mmr
    # keeps its ratio to it: 0.075 x 0.165 / 0.15 = 1.5 x 0.055.
    assert h.initial_req == -(-h.notional * wad("0.165") // WAD)
    assert h.maintenance_req == -(-h.notional * wad("0.0825") // WAD)


class _CountingChain(BoaChain):
    def __init__(self, contracts, sender):
        super().__init__(contracts, sender)
        self.cranks = []

    def update_margins(self, market):
        self.cranks.append(market)
        return super().update_margins(market)


def test_keeper_round__scaled_market__cranks_first_then_liquidates_what_the_walk_made_liquidatable(protocol):
    trader = _long_10_eth(protocol, 2_200)
    _on(protocol)
    protocol.set_price(ETH, 2200)
    protocol.set_price(ETH, 2000)  # a volatile round trip: the trader's equity as before
    boa.env.time_travel(seconds=3 * 3600)  # mmr's walk passed the trader's ~10.9% ratio; nobody cranked
    protocol.set_price(ETH, 2000)
    assert not protocol.lens.is_liquidatable(trader)  # the engine still holds the last push
    chain = _CountingChain(protocol, actor("keeper"))
    keeper = Keeper(chain)
    keeper.track(trader)
    report = keeper.run_round()
    assert chain.cranks == [ETH]  # BTC's scaling is off: never cranked
    assert str(trader) in report.liquidated
    keeper.run_round()  # the walk under way (scale 2.5 of 3): sent each round, moving it by the time passed
    assert chain.cranks == [ETH, ETH]
    boa.env.time_travel(seconds=3600)
    protocol.set_price(ETH, 2000)
    keeper.run_round()
    assert protocol.configurator.volatility_states(ETH).mmr_scale == wad(3)
    keeper.run_round()
    assert chain.cranks == [ETH] * 3  # nothing new to fold, the walk at its target: not sent again


def test_keeper_round__scaling_off__sends_no_crank(protocol):
    chain = _CountingChain(protocol, actor("keeper"))
    protocol.set_price(ETH, 2400)
    Keeper(chain).run_round()
    assert chain.cranks == []
