import boa
import pytest

from backstop.units import wad

@pytest.fixture
def funded_trader(protocol, trader):
    """The trader with 10,000 USD of collateral and no position."""
    protocol.fund_trader(trader, 10_000)
    return trader


@pytest.fixture
def trade(protocol):
    """Factory: trade as `account`; returns the fill's Trade event."""

    def _trade(account, market, size, acceptable_price=0):
        with boa.env.prank(account):
            protocol.engine.trade(market, wad(size), acceptable_price)
        (fill,) = [e for e in protocol.engine.get_logs() if type(e).__name__ == "Trade"]
        return fill

    return _trade
