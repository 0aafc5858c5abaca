"""Adversarial tests: an attacker with his own accounts, contracts and keeper
tries to take value out of the protocol; every attack must fail, and the
custody and zero-sum invariants (I1, I2) hold afterwards.

One attack per file:

- test_reentrant_token.py      a collateral token that calls back into the
                               protocol from `transfer` / `transferFrom`
- test_dust_extraction.py      one-token-unit deposits, withdrawals, LP and
                               fund round trips, hoping rounding pays
- test_self_liquidation.py     liquidating one's own account with one's own
                               keeper, dust positions against the min reward
- test_price_manipulation.py   moving the skew (fill price) with one's own
                               trades around a victim's liquidation or an LP
                               deposit / redemption
- test_extreme_prices.py       feeds at the edges of what the oracle admits
- test_privileged_calls.py     every owner-only and engine-only entry point,
                               and a table that classifies every non-view function

Where an attack succeeds, the test states the property that should hold and
is marked `xfail(strict=True, raises=AssertionError)` with the reason; its
set-up uses `helpers.require`, so a broken set-up fails instead of passing
as the expected failure.

Covered elsewhere, not repeated here:

- fee-on-transfer and `False`-returning tokens: tests/unit/vault/test_deposit.py
- reverting, malformed, stale, future-dated, pinned-at-bound feeds: tests/unit/oracle/
- the parameter guard against dust-position farming of the fund
  (min_reward <= liq_fee * min_position_notional):
  tests/unit/liquidation/test_liquidation_params.py
- the ERC-4626 first-depositor inflation attack: tests/unit/pool/test_inflation_attack.py

Fixtures come from tests/conftest.py (`protocol` for 6 and 18 decimals with a
1M USD pool, `owner`, `attacker`, `keeper`, ...); the ones below add the
victim and bystander roles, and tests/adversarial/helpers.py the shared helpers.
"""

import pytest

from backstop.protocol.harness import actor
from tests.adversarial.helpers import ledger


@pytest.fixture(scope="session")
def victim():
    return actor("victim")


@pytest.fixture(scope="session")
def bystander():
    return actor("bystander")


@pytest.fixture(scope="session")
def events():
    """Factory: the events called `name` of the last call on `contract`."""

    def _events(contract, name):
        return [e for e in contract.get_logs() if type(e).__name__ == name]

    return _events


@pytest.fixture(scope="session")
def snapshot():
    """`helpers.ledger` as a fixture: call it before and after a failed attack."""
    return ledger
