"""A stake into an insurance fund that bad debt emptied overflowed the share
count (found by the attacker fuzzer: `stake` "reverted without a reason").

Once an ADL draw took the fund to zero with shares still out, a stake of A
units minted `A * (supply + virtual)` shares (the price per share ~0): the
new staker bought all of it, and after a few such rounds `supply * A`
overflowed. The fix: no stake while the fund is empty and shares are out
("Fund: wiped out"); its fee and penalty income refills it within blocks.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, trade


@pytest.mark.parametrize("decimals", [6, 18])
def test_stake__fund_emptied_by_bad_debt__refused_and_nothing_moves(deploy, decimals):
    p = deploy(decimals)
    p.fund_pool(actor("seed_lp"), 1_000_000)
    staker, newcomer = actor("wiped_staker"), actor("wiped_newcomer")
    p.stake(staker, 100)
    bankrupt = actor("wiped_bankrupt")
    p.fund_trader(bankrupt, 10_000)
    trade(p, bankrupt, ETH, wad(10))
    p.set_price(ETH, 900)  # ~1,021 USD under water, beyond the ~110 USD fund
    with boa.env.prank(actor("keeper")):
        p.deleverager.deleverage(bankrupt, ETH, [p.pool.address])  # the fund gives all it has first
    assert p.insurance.totalAssets() == 0 and p.insurance.totalSupply() != 0

    amount = p.units(1_000)
    p.token.mint(newcomer, amount)
    with boa.env.prank(newcomer):
        p.token.approve(p.insurance.address, amount)
        with boa.reverts("Fund: wiped out"):
            p.insurance.stake(amount)
    assert p.token.balanceOf(newcomer) == amount and p.insurance.balanceOf(newcomer) == 0
