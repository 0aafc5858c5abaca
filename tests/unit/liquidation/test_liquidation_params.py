import boa
import pytest

from backstop.units import wad


def test_set_liquidation_params__owner__stored_and_logged(protocol, owner):
    params = (wad("0.02"), wad("0.5"), wad(1), wad(50), wad("0.2"))
    with boa.env.prank(owner):
        protocol.engine.set_liquidation_params(params)
    (log,) = protocol.engine.get_logs()
    assert tuple(protocol.engine.liquidation_params()) == params
    assert log.liq_fee == wad("0.02") and log.buffer == wad("0.2")


@pytest.mark.parametrize(
    "params, reason",
    [
        ((wad("0.11"), 0, 0, 0, 0), "Clearinghouse: fee too high"),
        ((0, wad("1.01"), 0, 0, 0), "Clearinghouse: share > 1"),
        ((0, 0, wad(2), wad(1), 0), "Clearinghouse: bad reward bounds"),
        ((0, 0, 0, 0, wad("1.01")), "Clearinghouse: bad buffer"),
    ],
)
def test_set_liquidation_params__invalid__reverts(protocol, owner, params, reason):
    before = tuple(protocol.engine.liquidation_params())
    with boa.env.prank(owner), boa.reverts(reason):
        protocol.engine.set_liquidation_params(params)
    assert tuple(protocol.engine.liquidation_params()) == before


def test_set_liquidation_params__non_owner__reverts(protocol, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        protocol.engine.set_liquidation_params((0, 0, 0, 0, 0))
