"""Assertions over backstop.invariants (SPEC section 8) for unit, integration and
stateful tests. Each takes the protocol and the traders the test knows."""

from backstop.invariants import custody_violations, zero_sum_violations


def assert_custody(p, accounts):
    assert not (v := custody_violations(p, accounts)), f"I1 custody: {v}"


def assert_zero_sum(p, accounts):
    assert not (v := zero_sum_violations(p, accounts)), f"I2 zero-sum: {v}"


def assert_invariants(p, accounts):
    assert_custody(p, accounts)
    assert_zero_sum(p, accounts)
