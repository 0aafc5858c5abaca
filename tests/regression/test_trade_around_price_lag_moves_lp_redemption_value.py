"""A trade around a liquidation cascade's price lag moves the LP redemption
value (the residual of issue 14's fix; the attacker fuzzer's LP-premium family).

Attack: a whale's 3,000 ETH long and ten 100 ETH shorts against it; ETH rises
to 2,250 and the keeper liquidates the shorts (a cascade): they are bought
back from the pool at the mark and the ~993 ETH they add to the skew sits in
the market's price lag, so fills still price at a 2,000 ETH skew (`price_skew`)
while the traders' net skew is ~2,993 ETH. The attacker holds 80% of the pool
(4,000,000 of 5,000,000 USD). It sells 2,500 ETH, redeems all its shares and
buys the 2,500 ETH back, all at the same fixed oracle price and in one block.
While the net skew is the larger, the pool's payout value took the premium
at the net skew (P * ns^2 / (2K)), but the fill moved the pool's equity by the
premium at the price skew: the sale raised the redemption value by about
P * d * lag / K (2,250 * 2,500 * 993 / 100,000 = 55,900 USD), of which the
attacker's 80% is more than the two fees its trades pay.

Why it must fail (I8, SPEC 8's note on LP shares): at fixed oracle prices no
coalition (here one actor, LP and trader) ends richer; no trade moves the LP
share value but by its fee. Measured on the code before the fix: 35,542.09 USD
gained at token decimals 6 and 18 (lag 992.76 ETH).

Fixed: payouts (redeem, withdraw, the views) value the pool at its equity
less the premium at the price skew alone, which a fill moves by exactly what
it pays the pool (so the sale moves the redemption value by its fee only,
and a liquidation, which moves no price skew, not at all); deposits buy in at
the pool's whole equity, which no later payout at the same prices reaches but
by others' fees.
"""

import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import ETH, deploy, move_price, require, trade, wealth_with_lp_shares

ATTACKER, WHALE, KEEPER = actor("regression attacker"), actor("regression whale"), actor("regression keeper")
SHORTS = [actor(f"regression short {i}") for i in range(10)]
SOLD = 2_500  # ETH


@pytest.mark.parametrize("decimals", [6, 18])
def test_trade_redeem_and_trade_back__around_a_cascade_price_lag__gains_nothing(decimals):
    p = deploy(decimals)  # a seed LP's 1,000,000 USD in the pool
    scale = p.vault.SCALE()
    p.fund_pool(ATTACKER, 4_000_000)  # the attacker: 80% of the pool
    p.fund_trader(WHALE, 1_000_000)
    trade(p, WHALE, ETH, 3_000)
    for short in SHORTS:
        p.fund_trader(short, 22_000)
        trade(p, short, ETH, -100)
    move_price(p, ETH, 2_250)
    require(all(p.lens.account_health(s).liquidatable for s in SHORTS), "the shorts should be liquidatable")
    with p.env.prank(KEEPER):
        p.engine.liquidate_batch(SHORTS)
    lag = p.engine.market_state(ETH).skew - p.engine.price_skew(ETH)
    require(lag > 900 * 10**18, f"the cascade should leave a ~1,000 ETH price lag, not {lag / 1e18:,.2f}")
    require(abs(p.engine.market_state(ETH).skew) > abs(p.engine.price_skew(ETH)),
            "the net skew should be the larger (the payout premium's net-skew branch)")
    p.fund_trader(ATTACKER, 1_000_000)  # margin for the sale
    before = wealth_with_lp_shares(p, ATTACKER)
    trade(p, ATTACKER, ETH, -SOLD)
    with p.env.prank(ATTACKER):
        shares = p.pool.balanceOf(ATTACKER)
        require(p.pool.maxRedeem(ATTACKER) == shares, "the pool's margin should let all the shares out")
        p.pool.redeem(shares)
    trade(p, ATTACKER, ETH, SOLD)
    require(p.engine.position(ATTACKER, ETH).size == 0, "the attacker should end flat")
    gain = wealth_with_lp_shares(p, ATTACKER) - before
    assert gain <= 4 * scale, (
        f"at a fixed price, selling {SOLD:,} ETH around a {lag / 1e18:,.2f} ETH price lag, redeeming and buying "
        f"back gained {gain / 1e18:,.2f} USD"
    )
