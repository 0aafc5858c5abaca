"""The Configurator: owner-only parameters (listing markets, risk parameters,
wiring, fee split), their bounds, and what reaches the engine."""

import boa
import pytest

from backstop.units import wad
from backstop.protocol.harness import FEED_DECIMALS, HEARTBEAT, feed_answer

ETH, BTC = 0, 1
ZERO = "0x0000000000000000000000000000000000000000"
GOOD = (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(10_000))


def _with_feed(contracts, protocol, owner, market_id):
    feed = contracts["MockAggregator"].deploy(FEED_DECIMALS, "SOL / USD", feed_answer(100))
    with boa.env.prank(owner):
        protocol.oracle.set_feed(market_id, feed.address, HEARTBEAT, 1, feed_answer(10**6), wad("0.25"))
    return feed


def test_list_market__by_owner__lists_with_next_id(contracts, protocol, owner):
    _with_feed(contracts, protocol, owner, 2)
    with boa.env.prank(owner):
        market = protocol.configurator.list_market(GOOD)
    assert market == 2
    assert protocol.engine.market_count() == 3
    assert tuple(protocol.configurator.markets(2)) == GOOD


def test_list_market__without_feed__reverts_unknown_market(protocol, owner):
    with boa.env.prank(owner), boa.reverts("Oracle: unknown market"):
        protocol.configurator.list_market(GOOD)


def test_list_market__stale_feed__reverts_stale(contracts, protocol, owner):
    _with_feed(contracts, protocol, owner, 2)
    boa.env.time_travel(seconds=HEARTBEAT + 1)
    with boa.env.prank(owner), boa.reverts("Oracle: stale price"):
        protocol.configurator.list_market(GOOD)


def test_list_market__seventeenth__reverts_too_many(contracts, protocol, owner):
    for market_id in range(2, 16):
        _with_feed(contracts, protocol, owner, market_id)
        with boa.env.prank(owner):
            protocol.configurator.list_market(GOOD)
    assert protocol.engine.market_count() == 16
    with boa.env.prank(owner), boa.reverts("Configurator: too many markets"):
        protocol.configurator.list_market(GOOD)


def test_set_market_params__max_skew_just_under_the_sandwich_bound__accepted(protocol, owner):
    with boa.env.prank(owner):
        protocol.configurator.set_market_params(ETH, (wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(49_949)))
    assert protocol.configurator.markets(ETH).max_skew == wad(49_949)


@pytest.mark.parametrize(
    "params, reason",
    [
        ((wad("0.1"), 0, wad("0.001"), wad(100_000), wad(10_000)), "Configurator: bad margins"),
        ((wad("0.1"), wad("0.1"), wad("0.001"), wad(100_000), wad(10_000)), "Configurator: bad margins"),
        ((wad("1.1"), wad("0.5"), wad("0.001"), wad(100_000), wad(10_000)), "Configurator: bad margins"),
        ((wad("0.1"), wad("0.05"), wad("0.11"), wad(100_000), wad(10_000)), "Configurator: fee too high"),
        ((wad("0.1"), wad("0.05"), wad("0.001"), 0, 0), "Configurator: zero skew scale"),
        ((wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), 0), "Configurator: bad max skew"),
        ((wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(100_000)), "Configurator: bad max skew"),
        # No fee, no cost to a sandwich: the price lag's release is fee_rate * skew_scale a slot.
        ((wad("0.1"), wad("0.05"), 0, wad(100_000), wad(10_000)), "Configurator: zero fee"),
        # max_skew < skew_scale * (1 - fee) / 2: 49,950 ETH at a 0.1% fee is the first refused.
        ((wad("0.1"), wad("0.05"), wad("0.001"), wad(100_000), wad(49_950)), "Configurator: bad max skew"),
    ],
)
def test_set_market_params__invalid__reverts_and_keeps_old(protocol, owner, params, reason):
    before = tuple(protocol.configurator.markets(ETH))
    with boa.env.prank(owner), boa.reverts(reason):
        protocol.configurator.set_market_params(ETH, params)
    assert tuple(protocol.configurator.markets(ETH)) == before


def test_set_market_params__unknown_market__reverts(protocol, owner):
    with boa.env.prank(owner), boa.reverts("Configurator: unknown market"):
        protocol.configurator.set_market_params(5, GOOD)


def test_set_market_params__by_owner__applies_and_logs(protocol, owner):
    with boa.env.prank(owner):
        protocol.configurator.set_market_params(ETH, GOOD)
    (log,) = protocol.configurator.get_logs()
    assert tuple(protocol.configurator.markets(ETH)) == GOOD
    assert log.market == ETH and log.imr == GOOD[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.list_market(GOOD),
        lambda e: e.set_market_params(0, GOOD),
        lambda e: e.set_pool(ZERO),
        lambda e: e.set_insurance_fund(ZERO),
        lambda e: e.set_fee_pool_share(0),
        lambda e: e.set_min_position_notional(0),
        lambda e: e.transfer_ownership(ZERO),
        lambda e: e.renounce_ownership(),
    ],
    ids=["list_market", "set_market_params", "set_pool", "set_insurance_fund", "set_fee_pool_share",
         "set_min_position_notional", "transfer_ownership", "renounce_ownership"],
)
def test_admin__by_non_owner__reverts_not_owner(protocol, attacker, call):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        call(protocol.configurator)


def test_set_pool__second_time__reverts_already_set(protocol, owner, attacker):
    with boa.env.prank(owner), boa.reverts("Configurator: pool already set"):
        protocol.configurator.set_pool(attacker)


def test_set_insurance_fund__second_time__reverts_already_set(protocol, owner, attacker):
    with boa.env.prank(owner), boa.reverts("Configurator: fund already set"):
        protocol.configurator.set_insurance_fund(attacker)


def test_set_pool__zero_address__reverts(contracts, owner):
    with boa.env.prank(owner):
        configurator = contracts["Configurator"].deploy(wad("0.5"), wad(10))
        with boa.reverts("Configurator: zero address"):
            configurator.set_pool(ZERO)
        with boa.reverts("Configurator: zero address"):
            configurator.set_insurance_fund(ZERO)
        with boa.reverts("Configurator: zero address"):
            configurator.set_engine(ZERO)


def test_constructor__fee_share_above_one__reverts(contracts, owner):
    with boa.env.prank(owner), boa.reverts("Configurator: share > 1"):
        contracts["Configurator"].deploy(wad("1.01"), wad(10))


def test_set_fee_pool_share__above_one__reverts(protocol, owner):
    with boa.env.prank(owner), boa.reverts("Configurator: share > 1"):
        protocol.configurator.set_fee_pool_share(wad("1.01"))


def test_set_fee_pool_share__all_to_pool__fund_gets_nothing(protocol, owner, trader):
    with boa.env.prank(owner):
        protocol.configurator.set_fee_pool_share(wad(1))
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    assert protocol.vault.collateral(protocol.fund) == 0


def test_set_min_position_notional__raised__blocks_small_positions(protocol, owner, trader):
    with boa.env.prank(owner):
        protocol.configurator.set_min_position_notional(wad(5_000))
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader), boa.reverts("Clearinghouse: position too small"):
        protocol.engine.trade(ETH, wad(2))


def test_two_step_ownership__pending_owner_accepts__becomes_owner(protocol, owner, attacker):
    with boa.env.prank(owner):
        protocol.configurator.transfer_ownership(attacker)
    assert protocol.configurator.owner() == owner
    with boa.env.prank(owner), boa.reverts("ownable_2step: caller is not the new owner"):
        protocol.configurator.accept_ownership()
    with boa.env.prank(attacker):
        protocol.configurator.accept_ownership()
    assert protocol.configurator.owner() == attacker
