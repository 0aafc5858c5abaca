"""Size-tiered margin (issue 19): a trader's initial margin fraction rises with
its position, imr + slope * |size| / skew_scale (at most 1), and its
maintenance fraction in proportion (Synthetix v3's shape), so a whale cannot
hold the small trader's leverage. ETH here: imr 0.10, mmr 0.05, skew scale
100,000 ETH; with slope 1 a 1,000 ETH position needs 11% and keeps 5.5%."""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import WAD, wad

ETH = 0


def _tiers(protocol, slope, market=ETH):
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_margin_tiers(market, wad(slope))


def _open(protocol, name, margin, size):
    account = actor(name)
    protocol.fund_trader(account, margin)
    with boa.env.prank(account):
        protocol.engine.trade(ETH, wad(size))
    return account


def _ceil(a, b):
    return -(-a // b)


def test_tiers__whale_at_the_small_traders_leverage__refused_insufficient_margin(protocol):
    with boa.env.anchor():
        _open(protocol, "flat_whale", 215_000, 1_000)  # ~9.3x: fine with flat margin
    _tiers(protocol, 1)
    _open(protocol, "small", 215, 1)  # the same leverage on 1 ETH: its tier is 10.001%
    whale = actor("tiered_whale")
    protocol.fund_trader(whale, 215_000)
    with boa.env.prank(whale), boa.reverts("Clearinghouse: insufficient margin"):
        protocol.engine.trade(ETH, wad(1_000))
    # Its leverage limit is 1 / 11%: with ~9x it opens.
    protocol.fund_trader(whale, 25_000)
    with boa.env.prank(whale):
        protocol.engine.trade(ETH, wad(1_000))


def test_tiers__requirements__tiered_for_traders_flat_for_the_pool(protocol):
    _tiers(protocol, 1)
    whale = _open(protocol, "whale", 240_000, 1_000)
    h = protocol.lens.health([whale])[0]
    imr, mmr = wad("0.11"), _ceil(wad("0.05") * wad("0.11"), wad("0.10"))
    assert h.initial_req == _ceil(h.notional * imr, WAD)
    assert h.maintenance_req == _ceil(h.notional * mmr, WAD)
    pool = protocol.lens.health([protocol.pool.address])[0]
    assert pool.maintenance_req == _ceil(pool.notional * wad("0.05"), WAD)


def test_tiers__liquidation_price__includes_the_tier_and_is_where_the_engine_flips(protocol):
    whale = _open(protocol, "whale", 240_000, 1_000)
    flat_price = protocol.lens.liquidation_price(whale, ETH)
    _tiers(protocol, 1)
    price = protocol.lens.liquidation_price(whale, ETH)
    assert price > flat_price  # a higher maintenance fraction: closer to the mark
    quantum = Decimal(10) ** -protocol.markets[ETH].feed_decimals
    above = (Decimal(price) / WAD).quantize(quantum, ROUND_CEILING) + quantum
    below = (Decimal(price) / WAD).quantize(quantum, ROUND_FLOOR) - quantum
    protocol.set_price(ETH, above)
    assert not protocol.lens.health([whale])[0].liquidatable
    protocol.set_price(ETH, below)
    assert protocol.lens.health([whale])[0].liquidatable


def test_tiers__raised_on_an_open_whale__liquidatable_at_once_and_partly_closed_back_above_maintenance(
    protocol, keeper
):
    whale = _open(protocol, "whale", 700_000, 3_000)
    assert not protocol.lens.health([whale])[0].liquidatable
    _tiers(protocol, 10)  # 40% initial, 20% maintenance at 3,000 ETH
    assert protocol.lens.health([whale])[0].liquidatable
    with boa.env.prank(keeper):
        protocol.engine.liquidate(whale)
    left = protocol.engine.position(whale, ETH).size
    assert 0 < left < wad(3_000)
    h = protocol.lens.health([whale])[0]
    assert not h.liquidatable and h.equity >= h.maintenance_req


def test_tiers__slope_zero__the_flat_requirements(protocol):
    whale = _open(protocol, "whale", 240_000, 1_000)
    before = protocol.lens.health([whale])[0]
    _tiers(protocol, 1)
    _tiers(protocol, 0)
    assert protocol.lens.health([whale])[0] == before
    assert before.maintenance_req == _ceil(before.notional * wad("0.05"), WAD)


def test_tiers__set_by_the_owner__event_view_and_bounds(protocol):
    _tiers(protocol, "0.5")
    (log,) = [e for e in protocol.configurator.get_logs() if type(e).__name__ == "MarginTiersSet"]
    assert (log.market, log.slope) == (ETH, wad("0.5"))
    assert protocol.configurator.margin_tier_slopes(ETH) == wad("0.5")
    with boa.env.prank(protocol.owner), boa.reverts("Configurator: tier slope too high"):
        protocol.configurator.set_margin_tiers(ETH, wad(10) + 1)
    with boa.env.prank(protocol.owner), boa.reverts("Configurator: unknown market"):
        protocol.configurator.set_margin_tiers(9, wad(1))
    with boa.env.prank(actor("not_owner")), boa.reverts("ownable: caller is not the owner"):
        protocol.configurator.set_margin_tiers(ETH, wad(1))


@pytest.mark.parametrize("size", [1, 1_000, 9_000])
def test_tiers__fraction_capped_at_one(protocol, size):
    # dev: slope 10 at 9,000 ETH asks 100% (not 100.9%): no leverage, never more than the notional.
    _tiers(protocol, 10)
    expected = min(Decimal("0.1") + Decimal(10) * size / 100_000, Decimal(1))
    account = actor(f"capped_{size}")
    protocol.fund_trader(account, int(2_100 * size * expected) + 50 * size)
    with boa.env.prank(account):
        protocol.engine.trade(ETH, wad(size))
    h = protocol.lens.health([account])[0]
    assert h.initial_req == _ceil(h.notional * wad(expected), WAD)
