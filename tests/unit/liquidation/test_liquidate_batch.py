"""Clearinghouse.liquidate_batch: healthy, unpriceable and uncoverable accounts are skipped."""

import boa
import pytest

from backstop.units import wad
from tests.invariants import assert_invariants
from backstop.protocol.harness import actor

ETH, BTC = 0, 1


def _open(protocol, account, usd, market, size):
    protocol.fund_trader(account, usd)
    with boa.env.prank(account):
        protocol.engine.trade(market, wad(size))


def test_liquidate_batch__mix__liquidates_only_the_unhealthy(protocol, keeper, events):
    risky = [actor(f"risky{i}") for i in range(3)]
    safe = [actor(f"safe{i}") for i in range(2)]
    for a in risky:
        _open(protocol, a, 2_000, ETH, 5)  # 5x
    for a in safe:
        _open(protocol, a, 10_000, ETH, 1)
    protocol.set_price(ETH, 1650)  # 5x longs: equity ~240 < maintenance ~412
    everyone = [safe[0], *risky, safe[1], actor("nobody")]
    assert [protocol.lens.is_liquidatable(a) for a in everyone] == [False, True, True, True, False, False]
    with boa.env.prank(keeper):
        count = protocol.engine.liquidate_batch(everyone)
    assert count == 3
    assert [s.account for s in events(protocol.engine, "LiquidationSettled")] == risky
    assert not any(protocol.lens.is_liquidatable(a) for a in everyone)
    assert_invariants(protocol, [*risky, *safe, keeper])


def test_liquidate_batch__already_liquidated__second_keeper_skips(protocol, keeper, other_trader):
    """A lost race costs the second keeper nothing: the account is skipped, not reverted."""
    victim = actor("victim")
    _open(protocol, victim, 2_000, ETH, 5)
    protocol.set_price(ETH, 1650)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([victim]) == 1
    with boa.env.prank(other_trader):
        assert protocol.engine.liquidate_batch([victim]) == 0


def test_liquidate_batch__failing_price__skips_accounts_in_that_market(protocol, keeper):
    eth_account, btc_account = actor("eth"), actor("btc")
    _open(protocol, eth_account, 2_000, ETH, 5)
    _open(protocol, btc_account, 2_000, BTC, "0.15")
    protocol.set_price(ETH, 1650)
    protocol.set_price(BTC, 40_000)
    protocol.feeds[BTC].set_reverting(True)
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([btc_account, eth_account]) == 1
    assert protocol.engine.position(btc_account, BTC).size == wad("0.15")
    assert protocol.lens.account_health(btc_account).prices_valid is False


def test_liquidate_batch__fund_short__skips_that_account(protocol, keeper):
    deep, shallow = actor("deep"), actor("shallow")
    _open(protocol, deep, 2_000, ETH, 9)
    _open(protocol, shallow, 2_000, ETH, 5)
    protocol.set_price(ETH, 1650)  # deep: equity ~ -1170, the fund holds ~14; shallow ~240
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([deep, shallow]) == 1
    assert protocol.engine.position(deep, ETH).size == wad(9)
    assert protocol.engine.position(shallow, ETH).size < wad(5)


def test_liquidate_batch__empty__does_nothing(protocol, keeper):
    with boa.env.prank(keeper):
        assert protocol.engine.liquidate_batch([]) == 0


def test_liquidate_batch__the_limit__500_settle_and_501_are_refused():
    """MAX_LIQUIDATION_BATCH: a full batch of 500 settles in one call; a longer
    list does not decode into the DynArray and reverts before anything moves
    (Vyper gives no reason string). On revm: 500 accounts take a second."""
    from backstop.protocol import harness
    from backstop.chain import revm_chain
    from backstop.chain.revm_chain import Reverted

    chain = revm_chain.Chain()
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=chain)
    p.fund_pool(str(harness.actor("lp")), 10_000_000)
    accounts = [str(harness.actor(f"batch-limit-{i}")) for i in range(501)]
    for a in accounts:
        # dev: 0.1 ETH each: the 500 close at most 50 ETH, inside one block's
        #      liquidation capacity (fee_rate * skew_scale = 100 ETH).
        p.fund_trader(a, 40)
        with chain.prank(a):
            p.engine.trade(0, 10**17)
    p.set_price(0, 1650)  # every one below maintenance
    keeper = str(harness.actor("keeper"))
    before = [tuple(x) for x in p.lens.positions(accounts, 0)]
    with chain.prank(keeper), pytest.raises(Reverted) as refused:
        p.engine.liquidate_batch(accounts)
    assert refused.value.reason == ""
    assert [tuple(x) for x in p.lens.positions(accounts, 0)] == before
    with chain.prank(keeper):
        p.engine.liquidate_batch(accounts[:500])
    settled = p.engine.events("LiquidationSettled")
    assert len(settled) == 500
    assert p.lens.health(accounts[500:])[0].liquidatable
