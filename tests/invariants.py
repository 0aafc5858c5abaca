"""Assertions over backstop.checks.invariants (SPEC section 8) for unit, integration and
stateful tests. Each takes the protocol and the traders the test knows."""

from backstop.checks.adl_audit import audit
from backstop.checks.invariants import bad_debt_violations, custody_violations, solvency_violations, zero_sum_violations


def assert_custody(p, accounts):
    assert not (v := custody_violations(p, accounts)), f"I1 custody: {v}"


def assert_zero_sum(p, accounts):
    assert not (v := zero_sum_violations(p, accounts)), f"I2 zero-sum: {v}"


def assert_invariants(p, accounts):
    """I1 and I2: they hold after every call."""
    assert_custody(p, accounts)
    assert_zero_sum(p, accounts)


def assert_settled_invariants(p, accounts):
    """I1 to I4: once the keeper has processed every liquidatable account."""
    assert_invariants(p, accounts)
    assert not (v := solvency_violations(p, accounts)), f"I3 solvency: {v}"
    assert not (v := bad_debt_violations(p, accounts)), f"I4 no hidden bad debt: {v}"


def assert_adl_order(calls, pool):
    """I7 over recorded ADL calls (backstop.checks.adl_audit)."""
    assert not (v := audit(calls, pool)), f"I7 ADL order: {v}"
