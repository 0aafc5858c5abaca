"""Helpers shared by the adversarial tests (fixtures live in conftest.py)."""

from decimal import Decimal

import boa
import pytest

from tests.invariants import assert_invariants

ETH, BTC = 0, 1


def ledger(p, accounts) -> dict:
    """Everything an attack could move, for the given accounts plus the pool
    and the fund: tokens, collateral, positions, market aggregates, LP and fund
    shares and the fund's pending requests."""
    everyone = list(dict.fromkeys([*accounts, p.pool.address, p.fund]))
    markets = range(p.engine.market_count())
    return {
        "tokens": {a: p.token.balanceOf(a) for a in [*everyone, p.vault.address]},
        "collateral": {a: p.vault.collateral(a) for a in everyone},
        "total_collateral": p.vault.total_collateral(),
        "positions": {(a, m): tuple(p.engine.position(a, m)) for a in everyone for m in markets},
        "markets": [tuple(p.engine.market_state(m)) for m in markets],
        "lp_shares": {a: p.pool.balanceOf(a) for a in everyone},
        "lp_supply": p.pool.totalSupply(),
        "fund_shares": {a: p.insurance.balanceOf(a) for a in everyone},
        "fund_supply": p.insurance.totalSupply(),
        "fund_requests": {a: tuple(p.insurance.requests(a)) for a in everyone},
    }


def wealth(p, accounts) -> int:
    """What `accounts` own together, in WAD: tokens in hand plus equity in the
    clearinghouse (collateral plus unrealised PnL at the mark)."""
    scale = p.vault.SCALE()
    return sum(p.token.balanceOf(a) * scale + p.lens.equity(a) for a in accounts)


def step_price(p, market, target, max_step="0.2"):
    """Move `market`'s feed to `target` USD in rounds of at most `max_step`
    (below the 25% deviation guard), refreshing the oracle after each, so the
    market is never guarded on the way."""
    price = Decimal(str(p.oracle.last(market).price)) / 10**18
    target = Decimal(str(target))
    step = Decimal(max_step)
    while price != target:
        if target < price:
            price = max(target, price * (1 - step))
        else:
            price = min(target, price * (1 + step))
        price = price.quantize(Decimal("0.0001")) if price != target else price
        p.set_price(market, price)
        p.oracle.refresh(market)
    assert not p.oracle.guarded(market)


def trade(p, account, market, size, *args):
    with boa.env.prank(account):
        p.engine.trade(market, size, *args)


def require(condition, message: str):
    """A precondition of an xfail test: fails it with `pytest.fail`, not an
    AssertionError, so `xfail(raises=AssertionError)` cannot count a broken
    setup as the expected failure."""
    if not condition:
        pytest.fail(f"precondition: {message}")


def require_invariants(p, accounts):
    """I1 and I2 as a precondition (see `require`)."""
    try:
        assert_invariants(p, accounts)
    except AssertionError as e:
        require(False, str(e))
