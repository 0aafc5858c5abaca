"""set_guard: the owner raises or lifts a market's guard by hand."""

import boa

from backstop.units import wad

ETH, BTC = 0, 1


def test_set_guard__raise_by_owner__guards_and_logs(oracle, owner):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    (log,) = oracle.get_logs()
    assert type(log).__name__ == "PriceGuardRaised"
    assert (log.market, log.previous_price, log.price, log.deviation) == (ETH, wad(2_000), wad(2_000), 0)
    assert oracle.guarded(ETH) is True


def test_set_guard__lift_by_owner__unguards_and_logs(oracle, owner):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
        oracle.set_guard(ETH, False)
    (log,) = oracle.get_logs()
    assert type(log).__name__ == "PriceGuardLifted"
    assert (log.market, log.price) == (ETH, wad(2_000))
    assert oracle.guarded(ETH) is False


def test_set_guard__raised__refresh_reports_guarded(oracle, owner):
    with boa.env.prank(owner):
        oracle.set_guard(ETH, True)
    assert oracle.refresh(ETH) == (wad(2_000), True, True)


def test_set_guard__unknown_market__reverts_unknown_market(oracle, owner):
    with boa.env.prank(owner), boa.reverts("Oracle: unknown market"):
        oracle.set_guard(BTC, True)


def test_set_guard__by_attacker__reverts_not_owner(oracle, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        oracle.set_guard(ETH, False)
