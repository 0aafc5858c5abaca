"""Integration tests: the ape scripts against a real local node."""


def pytest_configure(config):
    # Registered here, next to the only tests that use it (pyproject runs --strict-markers).
    config.addinivalue_line(
        "markers",
        "anvil: runs `ape run ...` in a subprocess against its own anvil node (seconds per test; "
        "needs node_modules/.bin/anvil from `make install`)",
    )
