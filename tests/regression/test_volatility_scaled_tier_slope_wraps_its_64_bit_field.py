"""The volatility-scaled tier slope wraps its 64-bit field: stress lowers a whale's margin.

Attack: the Configurator pushes the tier slope scaled with the imr,
ceil(slope * imr_scale), in the margins word's top 64 bits
(`packing._pack_fractions(...) | (slope << 192)`), and its comment says "at
most 50 WAD < 2**64". But 2**64 is 18.45 WAD: any slope * scale above it
loses its high bits in the shift. With the owner's slope 10 (inside
MAX_TIER_SLOPE) and a volatility target of 2, the intended slope 20 WAD
reaches the engine as 20 - 18.45 = 1.55 WAD. After one volatile round trip
(2,000 -> 2,200 -> 2,000) and the keeper's crank, a whale opens 1,000 ETH
(2M notional) with 520k of collateral: the engine tiers it at 0.2 + 1.55 *
1000 / 100000 = 0.2155 (431k) instead of 0.2 + 20 * 0.01 = 0.40 (800k): the
volatility scaling meant to tighten margins in stress cuts a tiered whale's
initial (and maintenance) margin below even the calm, unscaled tier
(0.1 + 0.1 = 0.2 imr, 0.1 mmr; measured: initial 431k, maintenance 108k,
0.054 of notional, where the intended scaled tier asks 800k and 200k+). Near a scale of 1.85 (18.5 WAD -> 0.05 WAD) the tier vanishes
altogether. `effective_margins` (and the lens's liquidation price) report
20 WAD, so the lens and the engine disagree too.

Why it must fail: SPEC 3/I5 (no trade that adds risk leaves an account below
initial margin, at the margins the Configurator says the market has);
issue 19 (volatility scales margins up, never down; the tier slope scales
with imr so a tiered trader scales as a flat one).

Found by review (vol-review): a capped-tier probe read an initial
requirement of 0.762 where 1.0 was expected; 30 WAD mod 2**64 = 11.55 WAD.

Fixed: the Configurator refuses a slope and a largest scale whose product
would not fit the engine's 64 bits (`_check_scaled_slope`, "Configurator:
tier slope x vol scale too high"), from either setter, and the parameter
loader refuses the pair first; a pair that fits reaches the engine whole.
"""

import pytest

from backstop.chain.revm_chain import Reverted
from backstop.protocol.harness import actor
from backstop.units import wad
from tests.regression.helpers import ETH, OWNER, deploy, publish, require, trade

KEEPER, WHALE = actor("regression keeper"), actor("regression whale")


def test_volatility_scale_two__tier_slope_ten__refused_from_either_setter():
    p = deploy(18)
    with p.env.prank(OWNER):
        p.configurator.set_margin_tiers(ETH, wad(10))
        with pytest.raises(Reverted, match="Configurator: tier slope x vol scale too high"):
            p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(2), wad("0.5"))
        p.configurator.set_margin_tiers(ETH, 0)
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(2), wad("0.5"))
        with pytest.raises(Reverted, match="Configurator: tier slope x vol scale too high"):
            p.configurator.set_margin_tiers(ETH, wad(10))


def test_volatility_scale_two__tier_slope_nine__the_engine_holds_the_whole_scaled_slope():
    p = deploy(18, pool_usd=3_000_000)
    with p.env.prank(OWNER):
        p.configurator.set_margin_tiers(ETH, wad(9))
        p.configurator.set_volatility_margin(ETH, wad("0.9"), wad("0.01"), wad(2), wad(4))
    publish(p, ETH, 2200)
    publish(p, ETH, 2000)
    # dev: on a tiered market the imr follows the maintenance walk: an hour at 4 base mmr an hour.
    p.env.time_travel(3600)
    publish(p, ETH, 2000)
    with p.env.prank(KEEPER):
        p.configurator.update_margins(ETH)
    imr, mmr, slope = p.configurator.effective_margins(ETH)
    require((imr, slope) == (wad("0.2"), wad(18)), "scale 2: imr 0.2, slope 18 (18 < 18.45 WAD)")
    p.fund_trader(WHALE, 520_000)
    # dev: 1,000 ETH (2M notional) needs 0.2 + 18 * 1000 / 100000 = 0.38: 760k, not 520k.
    with pytest.raises(Reverted, match="Clearinghouse: insufficient margin"):
        trade(p, WHALE, ETH, 1000)
