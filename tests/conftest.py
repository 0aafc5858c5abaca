"""Shared fixtures: the whole protocol on titanoboa's in-process EVM.

Unit tests run on titanoboa directly (thousands of calls per second, see the
README's harness table); titanoboa's pytest plugin snapshots the chain around
every fixture and test, so each test starts from the fixtures' state.
"""

import os

import boa
import pytest
from hypothesis import Phase, settings

from backstop.protocol import harness
from backstop.protocol.harness import FEED_DECIMALS, HEARTBEAT, Protocol, actor, feed_answer  # noqa: F401  (re-exported for tests)
from backstop.units import WAD, wad  # noqa: F401


@pytest.fixture(scope="session")
def contracts():
    """Compiled deployers, compiled once per test session."""
    return harness.deployers()


@pytest.fixture(scope="session")
def owner():
    return actor("owner")


@pytest.fixture(scope="session")
def trader():
    return actor("trader")


@pytest.fixture(scope="session")
def other_trader():
    return actor("other_trader")


@pytest.fixture(scope="session")
def lp():
    return actor("lp")


@pytest.fixture(scope="session")
def attacker():
    return actor("attacker")


@pytest.fixture(scope="session")
def staker():
    return actor("staker")


@pytest.fixture(scope="session")
def keeper():
    return actor("keeper")


@pytest.fixture(scope="session")
def deploy(owner):
    """Factory: a fully wired protocol with two markets (ETH, BTC) for a token of `decimals`."""

    def _deploy(decimals: int = 18, **kwargs) -> Protocol:
        return harness.deploy(owner, decimals, **kwargs)

    return _deploy


@pytest.fixture(scope="module", params=[6, 18], ids=["usd6", "usd18"])
def decimals(request):
    return request.param


@pytest.fixture(scope="module")
def protocol(deploy, decimals):
    """The protocol for both token decimals (6 and 18), pool funded with 1M USD."""
    p = deploy(decimals)
    p.fund_pool(actor("seed_lp"), 1_000_000)
    return p



# Hypothesis profiles: `quick` locally, `ci` in CI (CI=true), `deep` for `make fuzz`.
settings.register_profile("quick", max_examples=10, stateful_step_count=20, deadline=None)
settings.register_profile("ci", max_examples=40, stateful_step_count=50, deadline=None, print_blob=True)
settings.register_profile("deep", max_examples=1_000, stateful_step_count=50, deadline=None, print_blob=True)
# `hunt`: deep's examples without shrinking, for a first look at what the attacker fuzzer finds (its
# failing example as generated, and the calls it took); shrink a find with `deep`.
settings.register_profile("hunt", parent=settings.get_profile("deep"), phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "quick"))
