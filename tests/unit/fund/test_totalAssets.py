"""InsuranceFund.totalAssets: the fund's vault balance in token units, rounded down,
locked withdrawal requests included (they are still first-loss capital)."""

import boa

from backstop.units import wad
from tests.unit.fund.helpers import ETH


def test_totalAssets__empty_fund__zero(protocol):
    assert protocol.insurance.totalAssets() == 0
    assert protocol.vault.collateral(protocol.fund) == 0


def test_totalAssets__fee_dust__vault_balance_rounded_down(protocol, stakes, trader):
    # A fee with sub-unit WAD dust: 10 ETH at 2000.0001 pays 0.1% of 20,001.001 = 20.001001 USD,
    # half of it to the fund: 10.0005005 USD, which has a sub-unit remainder at 6 decimals.
    p = protocol
    p.set_price(ETH, "2000.0001")
    p.fund_trader(trader, 10_000)
    with boa.env.prank(trader):
        p.engine.trade(ETH, wad(10))

    balance = p.vault.collateral(p.fund)
    assert p.insurance.totalAssets() == balance // p.vault.SCALE()
    if p.vault.SCALE() > 1:
        assert balance % p.vault.SCALE() != 0  # dev: the 6-decimal case really has to round


def test_totalAssets__pending_request__still_counted(protocol, staker, stakes, request_withdrawal):
    p = protocol
    total = p.insurance.totalAssets()

    request_withdrawal(staker, stakes[staker])

    assert p.insurance.totalAssets() == total == p.units(15_000)
