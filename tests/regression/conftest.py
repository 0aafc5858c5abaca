"""Regression tests: one file per attack or fuzzer find, named for it.

Each reproduces the attack as it was found and asserts the property that
must hold; the fix is what makes it pass. Fixtures come from tests/conftest.py
(`protocol` at token decimals 6 and 18, `deploy`, the actors) and
tests/adversarial/helpers.py.
"""
