"""An insurance fund stake of a fee-on-transfer token fails with whatever the
token says.

Attack: the collateral token burns a fee out of every transfer. The fund pulls
`assets` from the staker, receives `assets - fee`, and deposits `assets` into
the vault: its own balance falls short and the call reverts with the token's
message (an underflow without a reason here), or, had the fund a stray balance
to cover the fee, the vault's "Vault: token took a transfer fee". Nothing is
stolen (the vault checks what it receives), but a staker cannot tell what went
wrong, and the fund trusts an amount it never checked.

Why it must fail with a reason (SPEC 2, the vault's rule for hostile tokens):
the fund checks its own balance change and refuses a token that delivered
less than asked, "Fund: token took a transfer fee", moving nothing.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import deploy_with_fee_token

STAKER = actor("regression fee-token staker")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
def test_fund_stake__fee_on_transfer_token__reverts_transfer_fee_and_moves_nothing(decimals, feed_decimals):
    p = deploy_with_fee_token(decimals, feed_decimals)
    amount = p.units(10_000)
    p.token.mint(STAKER, amount)
    with boa.env.prank(STAKER):
        p.token.approve(p.insurance.address, amount)
    before = (p.token.balanceOf(STAKER), p.insurance.totalSupply(), p.vault.collateral(p.fund),
              p.token.balanceOf(p.vault.address))
    with boa.env.prank(STAKER), boa.reverts("Fund: token took a transfer fee"):
        p.insurance.stake(amount)
    assert (p.token.balanceOf(STAKER), p.insurance.totalSupply(), p.vault.collateral(p.fund),
            p.token.balanceOf(p.vault.address)) == before
