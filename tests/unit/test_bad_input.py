"""Bad input of every kind: a clear revert, and nothing moved.

Each case snapshots every balance, position and aggregate the protocol has,
makes the bad call, checks its reason, and checks the snapshot again.
"""

import boa
import pytest

from backstop.units import wad

ETH, BTC = 0, 1


def snapshot(p, accounts):
    everyone = [*accounts, p.pool.address, p.fund]
    return {
        "tokens": [p.token.balanceOf(a) for a in [*everyone, p.vault.address]],
        "collateral": [p.vault.collateral(a) for a in everyone],
        "total": p.vault.total_collateral(),
        "positions": [tuple(p.engine.position(a, m)) for a in everyone for m in range(2)],
        "markets": [tuple(p.engine.market_state(m)) for m in range(2)],
        "shares": [p.pool.balanceOf(a) for a in everyone],
    }


@pytest.fixture
def busy(protocol, trader, other_trader):
    """A trader with positions in both markets and another with only collateral."""
    protocol.fund_trader(trader, 10_000)
    protocol.fund_trader(other_trader, 500)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(2))
        protocol.engine.trade(BTC, -wad("0.05"))
    return protocol


CASES = {
    "deposit zero": (lambda p, t: p.vault.deposit(0), "Vault: zero amount"),
    "withdraw zero": (lambda p, t: p.engine.withdraw(0), "Clearinghouse: zero amount"),
    "trade zero": (lambda p, t: p.engine.trade(ETH, 0), "Clearinghouse: zero size"),
    "trade unknown market": (lambda p, t: p.engine.trade(9, wad(1)), "Clearinghouse: unknown market"),
    "quote unknown market": (lambda p, t: p.lens.quote(9, wad(1)), "Lens: unknown market"),
    "withdraw beyond collateral": (
        lambda p, t: p.engine.withdraw(p.vault.collateral(t) // p.vault.SCALE() + 1),
        "Clearinghouse: insufficient collateral",
    ),
    "withdraw beyond free collateral": (
        lambda p, t: p.engine.withdraw(p.lens.free_collateral(t) // p.vault.SCALE() + 1),
        "Clearinghouse: insufficient margin",
    ),
    "open beyond margin": (lambda p, t: p.engine.trade(ETH, wad(60)), "Clearinghouse: insufficient margin"),
    "pool deposit zero": (lambda p, t: p.pool.deposit(0), "Pool: zero assets"),
    "vault engine call": (lambda p, t: p.vault.move(t, p.pool.address, wad(1)), "Vault: caller is not the engine"),
    "vault payout call": (lambda p, t: p.vault.withdraw_for(p.pool.address, 1, t), "Vault: caller is not the engine"),
    "set market params": (
        lambda p, t: p.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), 0, wad(10), wad(1))),
        "ownable: caller is not the owner",
    ),
    "set fee split": (lambda p, t: p.configurator.set_fee_pool_share(0), "ownable: caller is not the owner"),
    "set feed": (lambda p, t: p.oracle.set_feed(ETH, t, 1, 1, 2, 1), "ownable: caller is not the owner"),
    "set guard": (lambda p, t: p.oracle.set_guard(ETH, True), "ownable: caller is not the owner"),
    "set engine": (lambda p, t: p.vault.set_engine(t), "ownable: caller is not the owner"),
}


@pytest.mark.parametrize("case", CASES.keys())
def test_bad_input__reverts_with_reason__nothing_moved(busy, trader, other_trader, case):
    call, reason = CASES[case]
    before = snapshot(busy, [trader, other_trader])
    with boa.env.prank(trader), boa.reverts(reason):
        call(busy, trader)
    assert snapshot(busy, [trader, other_trader]) == before


@pytest.mark.parametrize(
    "break_feed, reason",
    [
        (lambda f: boa.env.time_travel(seconds=3601), "Oracle: stale price"),
        (lambda f: f.set_answer(-5), "Oracle: non-positive price"),
        (lambda f: f.set_answer(0), "Oracle: non-positive price"),
        (lambda f: f.set_reverting(True), "Oracle: feed call failed"),
    ],
    ids=["stale", "negative", "zero", "reverting"],
)
def test_bad_price__opening_and_withdrawing_revert__nothing_moved(busy, trader, break_feed, reason):
    break_feed(busy.feeds[ETH])
    before = snapshot(busy, [trader])
    with boa.env.prank(trader):
        with boa.reverts(reason):
            busy.engine.trade(ETH, wad(1))
        with boa.reverts(reason):
            busy.engine.withdraw(busy.units(1))
    assert snapshot(busy, [trader]) == before


def test_bad_price__deposit_and_close_still_work(busy, trader):
    busy.feeds[ETH].set_reverting(True)
    busy.fund_trader(trader, 100)
    with boa.env.prank(trader):
        busy.engine.trade(ETH, -wad(2))
    assert busy.engine.position(trader, ETH).size == 0
