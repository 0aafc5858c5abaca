import boa
import pytest

from backstop.units import wad


def test_set_liquidation_params__owner__stored_and_logged(protocol, owner):
    params = (wad("0.02"), wad("0.5"), wad("0.2"), wad(50), wad("0.2"))
    with boa.env.prank(owner):
        protocol.configurator.set_liquidation_params(params)
    (log,) = protocol.configurator.get_logs()
    assert tuple(protocol.configurator.liquidation_params()) == params
    assert log.liq_fee == wad("0.02") and log.buffer == wad("0.2")


@pytest.mark.parametrize(
    "params, reason",
    [
        ((wad("0.11"), 0, 0, 0, 0), "Configurator: fee too high"),
        ((0, wad("1.01"), 0, 0, 0), "Configurator: share > 1"),
        ((0, 0, wad(2), wad(1), 0), "Configurator: bad reward bounds"),
        ((0, 0, 0, 0, wad("1.01")), "Configurator: bad buffer"),
    ],
)
def test_set_liquidation_params__invalid__reverts(protocol, owner, params, reason):
    before = tuple(protocol.configurator.liquidation_params())
    with boa.env.prank(owner), boa.reverts(reason):
        protocol.configurator.set_liquidation_params(params)
    assert tuple(protocol.configurator.liquidation_params()) == before


def test_set_liquidation_params__non_owner__reverts(protocol, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        protocol.configurator.set_liquidation_params((0, 0, 0, 0, 0))


def test_set_liquidation_params__min_reward_above_dust_penalty__reverts(protocol, owner):
    """min_reward above liq_fee x min_position_notional would let dust positions farm the fund."""
    with boa.env.prank(owner), boa.reverts("Configurator: min reward above dust penalty"):
        protocol.configurator.set_liquidation_params((wad("0.01"), wad("0.2"), wad("0.11"), wad(1_000), wad("0.1")))
    with boa.env.prank(owner):
        protocol.configurator.set_liquidation_params((wad("0.01"), wad("0.2"), wad("0.1"), wad(1_000), wad("0.1")))


def test_set_min_position_notional__below_dust_penalty_floor__reverts(protocol, owner):
    with boa.env.prank(owner), boa.reverts("Configurator: min reward above dust penalty"):
        protocol.configurator.set_min_position_notional(wad(9))
    with boa.env.prank(owner):
        protocol.configurator.set_min_position_notional(wad(10))
