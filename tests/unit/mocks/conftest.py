import pytest


@pytest.fixture(scope="session")
def emitted():
    """Events called `name` that `contract` emitted in its last call."""

    def _emitted(contract, name):
        return [e for e in contract.get_logs() if type(e).__name__ == name and e.address == contract.address]

    return _emitted
