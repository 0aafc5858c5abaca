"""Shared by the regression tests (one file per attack the fuzzers found):
the protocol on revm, the fuzzers' chain, and the few moves the attacks replay.

Preconditions use `require` (tests/adversarial/helpers.py): a broken setup
fails with `pytest.fail`, never with the AssertionError that an
`xfail(raises=AssertionError)` expects from the bug itself.
"""

from decimal import Decimal
from pathlib import Path

import boa

from backstop.protocol import harness

from backstop.chain import revm_chain
from backstop.protocol.harness import HEARTBEAT, actor
from backstop.chain.revm_chain import Reverted
from backstop.units import wad
from tests.adversarial.helpers import require  # noqa: F401  (re-exported)

ETH, BTC = 0, 1
OWNER = actor("regression owner")


def deploy(decimals: int, feed_decimals: int = 8, pool_usd: int = 1_000_000, **kwargs):
    """A full protocol on a fresh revm chain (two markets, ETH 2,000 and BTC
    50,000 USD), its feeds answering with `feed_decimals`, the pool funded."""
    p = revm_chain.deploy(OWNER, decimals, **kwargs)
    if feed_decimals != 8:
        for market in range(len(p.feeds)):
            replace_feed(p, market, feed_decimals)
    if pool_usd:
        p.fund_pool(actor("regression seed lp"), pool_usd)
    return p


def deploy_with_fee_token(decimals: int, feed_decimals: int = 8, fee_bps: int = 10, pool_usd: int = 1_000_000):
    """A full protocol on titanoboa whose collateral is tests/unit/vault's
    HostileToken, the pool funded (and an ETH position open against it) while
    the token took no fee, then its fee switched on: `fee_bps` of every transfer."""
    hostile = boa.load_partial(str(Path(__file__).parents[1] / "unit" / "vault" / "HostileToken.vy"))
    # dev: MockERC20(name, symbol, decimals) -> HostileToken(decimals).
    p = harness.deploy(OWNER, decimals, replace={"MockERC20": lambda name, symbol, decimals: hostile.deploy(decimals)})
    if feed_decimals != 8:
        for market in range(len(p.feeds)):
            replace_feed(p, market, feed_decimals)
    p.fund_pool(actor("regression seed lp"), pool_usd)
    trader = actor("regression fee-token trader")
    p.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(10), 0)
    p.token.set_fee_bps(fee_bps)
    return p


def replace_feed(p, market: int, feed_decimals: int):
    """Owner: point `market` at a new mock feed with `feed_decimals`, same price, band and deviation."""
    old = p.oracle.feeds(market)
    price = p.oracle.last(market).price
    with p.env.prank(OWNER):
        answer = price * 10**feed_decimals // 10**18
        if isinstance(p.env, revm_chain.Chain):
            feed = p.env.deploy("MockAggregator", feed_decimals, f"feed {market}", answer)
        else:  # titanoboa
            feed = harness.deployers()["MockAggregator"].deploy(feed_decimals, f"feed {market}", answer)
        p.oracle.set_feed(market, feed.address, HEARTBEAT, 1, 10 ** (9 + feed_decimals), old.max_deviation,
                          old.confirm_rounds, old.confirm_seconds)
    p.feeds[market] = feed


def publish(p, market: int, usd):
    """A new feed round at `usd`, nobody refreshing the oracle."""
    feed = p.feeds[market]
    feed.set_answer(int(Decimal(str(usd)) * 10 ** feed.decimals()))


def move_price(p, market: int, usd, max_step: str = "0.2"):
    """Move `market` to `usd` in rounds of at most `max_step` (inside the 25%
    deviation guard), refreshing after each, so the market is never guarded."""
    price = Decimal(p.oracle.last(market).price) / 10**18
    target, step = Decimal(str(usd)), Decimal(max_step)
    while price != target:
        price = max(target, price * (1 - step)) if target < price else min(target, price * (1 + step))
        price = price.quantize(Decimal("0.0001")) if price != target else price
        publish(p, market, price)
        p.oracle.refresh(market)
    require(not p.oracle.guarded(market), f"market {market} guarded on the way to {usd}")


def trade(p, account, market: int, size):
    with p.env.prank(account):
        p.engine.trade(market, wad(size), 0)


def deleverage(p, sender, account, market: int, counterparties):
    """`deleverage`, wherever it lives (the Deleverager once the engine is split)."""
    with p.env.prank(sender):
        getattr(p, "deleverager", p.engine).deleverage(account, market, counterparties)
    return p.env.last_logs


def events(p, name: str) -> list:
    """The last call's events called `name`, from the engine (and the Deleverager, once split)."""
    out = []
    for contract in (p.engine, getattr(p, "deleverager", None)):
        if contract is not None:
            out += contract.events(name)
    return out


def reverts_with(p, account, tail: str, fn, *args) -> bool:
    """Whether `fn(*args)` sent by `account` reverts with a reason ending in `tail`
    (any other revert is re-raised: it is not the refusal being tested)."""
    try:
        with p.env.prank(account):
            fn(*args)
    except Reverted as e:
        if e.reason.split(": ", 1)[-1] == tail:
            return True
        raise
    return False


def wealth_with_lp_shares(p, account) -> int:
    """What `account` owns, in WAD: tokens in hand, equity in the clearinghouse
    at the mark, and its LP shares at what they redeem for (I8's wealth)."""
    scale = p.vault.SCALE()
    return (p.token.balanceOf(account) * scale + p.lens.account_health(account).equity
            + p.pool.convertToAssets(p.pool.balanceOf(account)) * scale)
