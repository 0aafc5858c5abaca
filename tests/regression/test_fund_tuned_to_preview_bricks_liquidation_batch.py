"""A donation that tunes the insurance fund to a liquidation's preview bricks
the batch.

Attack: a trader's 1,000 ETH long is liquidatable with ~43,000 USD of equity,
more than its penalty, so it is closed in passes. The attacker sells 3,500 ETH:
closed at the impact price of that skew, the long would leave ~11,900 USD of
bad debt. The fund holds less, so the ADL gate would send it to ADL; the
attacker donates to the fund (anyone may credit a vault account) exactly what
the gate's preview asks. The liquidation now runs in several passes whose
fills round beyond the preview's 16 wei of slack, the min-reward top-up takes
whatever the fund had above the preview, and the bad-debt cover reverts
"insurance fund short": `liquidate` reverts, and `liquidate_batch` reverts as a
whole, for every account in the batch.

Why it must fail (SPEC 5.5 and liveness): one account can never make a batch
revert, and the gate that decides liquidation vs ADL uses the same
computation as the close; after a keeper round every liquidatable account is
liquidated or pending ADL with an event.

Found by hand while writing the attacker fuzzer's `brick_liquidation` rule
(tests/stateful/attacker_machine.py), which checks it as "liveness"; the
fuzzer has not hit it by itself within the deep profile yet (its victims are
rarely large and solvent enough for a close in passes behind a push).

Fixed: the gate now books every pass's worst rounding (|size| / 10**18 + 3 wei a market), so no fund top-up can sit between the preview and the close.
"""

import pytest

from backstop.protocol.harness import actor
from backstop.chain.revm_chain import Reverted
from backstop.units import WAD
from tests.regression.helpers import ETH, deploy, events, move_price, require, trade

ATTACKER, TRADER, OTHER = actor("regression attacker"), actor("regression trader"), actor("regression other trader")


def full_close_equity(p, account, market):
    """The engine's ADL-gate preview: equity after closing at the impact price of the current skew."""
    equity = p.lens.account_health(account).equity
    size, skew = p.engine.position(account, market).size, p.engine.market_state(market).skew
    mark, scale = p.oracle.last(market).price, p.configurator.markets(market).skew_scale
    impact = mark * (2 * skew - size)
    # dev: the engine's _exec_price for size_delta = -size (a sale: rounded down; a purchase: up).
    exec_price = mark + (impact // (2 * scale) if size > 0 else -((-impact) // (2 * scale)))
    # dev: the close pays cash = ceil(-size * exec) and drops floor(size * mark) from the equity.
    return equity + size * exec_price // WAD - size * mark // WAD


@pytest.mark.parametrize("decimals", [6, 18])
def test_liquidate_batch__fund_tuned_to_the_preview__never_reverts_as_a_whole(decimals):
    p = deploy(decimals, pool_usd=5_000_000)
    p.fund_trader(TRADER, 225_000)
    trade(p, TRADER, ETH, 1_000)
    p.fund_trader(OTHER, 25)
    trade(p, OTHER, ETH, "0.1")  # a small long, liquidatable too once ETH falls
    move_price(p, ETH, 1_830)
    p.fund_trader(ATTACKER, 2_000_000)
    trade(p, ATTACKER, ETH, -3_500)
    require(p.lens.account_health(OTHER).liquidatable, "the other trader should be liquidatable")
    victim = p.lens.account_health(TRADER)
    require(victim.liquidatable and victim.equity > victim.notional // 100,
            "the trader should be liquidatable with more equity than its penalty (a close in passes)")
    shortfall = 16 - full_close_equity(p, TRADER, ETH)
    fund = p.vault.collateral(p.fund)
    require(shortfall > fund, "the fund alone should not cover the preview (the gate would say ADL)")
    donation = -((fund - shortfall) // p.vault.SCALE())  # whole token units, rounded up
    p.token.mint(ATTACKER, donation)
    with p.env.prank(ATTACKER):
        p.token.approve(p.vault.address, donation)
        p.vault.deposit(donation, p.fund)

    batch = [TRADER, OTHER]
    try:
        with p.env.prank(ATTACKER):
            p.engine.liquidate_batch(batch)
    except Reverted as e:
        raise AssertionError(f"liquidate_batch({batch}) reverted as a whole: {e.reason!r}") from None
    require(events(p, "LiquidationSettled") or events(p, "AdlRequired"), "the trader should be settled or sent to ADL")
