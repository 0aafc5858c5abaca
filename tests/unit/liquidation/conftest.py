import boa
import pytest

from backstop.units import wad
from backstop.protocol.harness import actor

ETH = 0


@pytest.fixture(scope="session")
def keeper():
    return actor("keeper")


@pytest.fixture
def long_10_eth(protocol, trader):
    """The trader: 10,000 USD margin, long 10 ETH filled at 2000.1 (cost 20,001, fee 20.001).
    Liquidation price ~1054.84, bankruptcy price ~1002.10."""
    protocol.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(10))
    return trader


@pytest.fixture
def events():
    """Factory: the events of `name` emitted by the last call on `contract`."""

    def _events(contract, name):
        return [e for e in contract.get_logs() if type(e).__name__ == name]

    return _events


@pytest.fixture
def seed_fund(protocol):
    """Factory: deposit `usd` straight into the insurance fund's vault account."""

    def _seed(usd):
        amount = protocol.units(usd)
        protocol.token.mint(protocol.owner, amount)
        with boa.env.prank(protocol.owner):
            protocol.token.approve(protocol.vault.address, amount)
            protocol.vault.deposit(amount, protocol.fund)

    return _seed


def _open(protocol, name, margin, size, market=ETH):
    account = actor(name)
    protocol.fund_trader(account, margin)
    with boa.env.prank(account):
        protocol.engine.trade(market, wad(size))
    return account


@pytest.fixture
def short_book(protocol, long_10_eth):
    """Three shorts opened at ~2000 beside the 10 ETH long, by falling leverage:
    the largest short is the most leveraged. Net traders -2 ETH: the pool is long.
    After a crash to 900 their ADL scores rank high, mid, low; the long is bankrupt."""
    return {
        "high": _open(protocol, "short_high", 5_000, -4),
        "mid": _open(protocol, "short_mid", 5_000, -3),
        "low": _open(protocol, "short_low", 10_000, -5),
    }


@pytest.fixture
def open_position(protocol):
    """Factory: fund `name` with `margin` USD and open `size` ETH (negative: short)."""

    def _open_position(name, margin, size, market=ETH):
        return _open(protocol, name, margin, size, market)

    return _open_position
