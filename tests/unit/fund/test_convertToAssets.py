"""InsuranceFund.convertToAssets / convertToShares: shares priced from the fund's
vault balance, so trading fees raise every staker's value and bad debt the fund
covers lowers it, in proportion to shares."""

import boa

from backstop.units import wad
from tests.unit.fund.helpers import ETH, VIRTUAL_SHARES, to_assets, to_shares


def test_convertToAssets__after_stakes__worth_what_was_staked(protocol, staker, other_staker, stakes):
    # One share = 10**-3 unit exactly after stakes into an empty fund.
    p = protocol
    assert p.insurance.convertToAssets(stakes[staker]) == p.units(10_000)
    assert p.insurance.convertToAssets(stakes[other_staker]) == p.units(5_000)


def test_convertToAssets__uneven_price__formula_rounded_down(protocol, stakes, seed_fund):
    p = protocol
    seed_fund("1234.567891")
    supply, total = p.insurance.totalSupply(), p.insurance.totalAssets()
    shares = 123_456_789_012_345
    assert (shares * (total + 1)) % (supply + VIRTUAL_SHARES) != 0  # dev: the case really has to round

    assert p.insurance.convertToAssets(shares) == to_assets(shares, supply, total)
    assert p.insurance.convertToShares(p.units(99)) == to_shares(p.units(99), supply, total)


def test_convertToAssets__trading_fees__every_staker_gains_pro_rata(protocol, staker, other_staker, stakes, open_long):
    p = protocol
    before = {a: p.insurance.convertToAssets(s) for a, s in stakes.items()}
    total_before = p.insurance.totalAssets()

    open_long()

    # Half the 20.001 USD fee goes to the fund (fee_pool_share 0.5).
    fee_to_fund = p.units("10.0005")
    assert p.insurance.totalAssets() == total_before + fee_to_fund
    supply, total = p.insurance.totalSupply(), p.insurance.totalAssets()
    for account, shares in stakes.items():
        after = p.insurance.convertToAssets(shares)
        assert after == to_assets(shares, supply, total)
        assert after > before[account]
    # staker holds two thirds of the shares, other_staker one third (less the virtual shares' sliver).
    gain_staker = p.insurance.convertToAssets(stakes[staker]) - before[staker]
    gain_other = p.insurance.convertToAssets(stakes[other_staker]) - before[other_staker]
    assert abs(gain_staker - fee_to_fund * 2 // 3) <= 1
    assert abs(gain_other - fee_to_fund // 3) <= 1


def test_convertToAssets__bad_debt_covered__every_staker_loses_pro_rata(
    protocol, staker, other_staker, stakes, bad_debt
):
    p = protocol
    total_before = p.insurance.totalAssets()
    value_before = {a: p.insurance.convertToAssets(s) for a, s in stakes.items()}

    change = bad_debt()

    # +10.0005 fee on the open, -1,021.001 bad debt at the mark, -0.10 keeper minimum reward (see conftest).
    assert change == wad("10.0005") - wad("1021.001") - wad("0.1")
    total_after = p.insurance.totalAssets()
    assert total_after == p.vault.collateral(p.fund) // p.vault.SCALE()
    assert total_after < total_before
    for account, shares in stakes.items():
        after = p.insurance.convertToAssets(shares)
        assert after < value_before[account]
        # Proportional: each stake keeps total_after / total_before of its value (to a unit of rounding).
        assert abs(after - value_before[account] * total_after // total_before) <= 1
    assert p.vault.collateral(p.fund) >= 0


def test_convertToAssets__bad_debt_beyond_fund__fund_not_drawn_value_unchanged(protocol, keeper, open_long, staker):
    # A fund of 500 USD cannot cover ~1,020 USD of bad debt: the liquidation needs ADL
    # instead, and the fund's balance is never drawn below zero.
    p = protocol
    shares = p.stake(staker, 500)
    trader = open_long()
    p.set_price(ETH, 900)
    balance_before = p.vault.collateral(p.fund)
    value_before = p.insurance.convertToAssets(shares)

    with boa.env.prank(keeper), boa.reverts("Clearinghouse: ADL required"):
        p.engine.liquidate(trader)

    assert p.vault.collateral(p.fund) == balance_before >= 0
    assert p.insurance.convertToAssets(shares) == value_before
