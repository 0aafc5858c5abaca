"""Vault.set_engine: owner only, once, never the zero address."""

import boa
import pytest

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def unwired(protocol, vault_for):
    """A fresh vault on the protocol's token with no engine set."""
    return vault_for(protocol.token, wire=False)


def test_set_engine__by_owner__binds_engine_and_emits(unwired, owner, engine, emitted):
    with boa.env.prank(owner):
        unwired.set_engine(engine)
    (event,) = emitted(unwired, "EngineSet")
    assert event.engine == engine
    assert unwired.engine() == engine


def test_set_engine__bound__engine_can_move(unwired, owner, engine, trader, lp):
    with boa.env.prank(owner):
        unwired.set_engine(engine)
    with boa.env.prank(engine):
        unwired.move(trader, lp, 1)
    assert unwired.collateral(lp) == 1


def test_set_engine__before_binding__nobody_can_move(unwired, owner, trader, lp):
    with boa.env.prank(owner), boa.reverts("Vault: caller is not the engine"):
        unwired.move(trader, lp, 1)


def test_set_engine__by_non_owner__reverts(unwired, attacker):
    with boa.env.prank(attacker), boa.reverts("ownable: caller is not the owner"):
        unwired.set_engine(attacker)
    assert unwired.engine() == ZERO


def test_set_engine__zero_address__reverts(unwired, owner):
    with boa.env.prank(owner), boa.reverts("Vault: zero address"):
        unwired.set_engine(ZERO)
    assert unwired.engine() == ZERO


def test_set_engine__already_set__reverts(protocol, owner, attacker):
    with boa.env.prank(owner), boa.reverts("Vault: engine already set"):
        protocol.vault.set_engine(attacker)
    assert protocol.vault.engine() == protocol.engine.address
