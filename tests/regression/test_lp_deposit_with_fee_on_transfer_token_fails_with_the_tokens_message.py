"""An LP deposit of a fee-on-transfer token fails with whatever the token says.

Attack: the collateral token burns a fee out of every transfer. The pool pulls
`assets` from the depositor, receives `assets - fee`, and deposits `assets`
into the vault: the pool's own balance falls short, and the call reverts with
the token's message (an underflow without a reason here), or, had the pool a
stray balance to cover the fee, the vault's "Vault: token took a transfer fee".
Nothing is stolen (the vault checks what it receives), but a depositor or an
integrator cannot tell what went wrong, and the pool trusts an amount it never
checked.

Why it must fail with a reason (SPEC 2, the vault's rule for hostile tokens):
the pool checks its own balance change and refuses a token that delivered
less than asked, "Pool: token took a transfer fee", moving nothing.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from tests.regression.helpers import deploy_with_fee_token

DEPOSITOR = actor("regression fee-token depositor")


@pytest.mark.parametrize("decimals", [6, 18])
@pytest.mark.parametrize("feed_decimals", [8, 18])
@pytest.mark.parametrize("action", ["deposit", "mint"])
def test_lp_deposit__fee_on_transfer_token__reverts_transfer_fee_and_moves_nothing(decimals, feed_decimals, action):
    p = deploy_with_fee_token(decimals, feed_decimals)
    amount = p.units(10_000)
    p.token.mint(DEPOSITOR, 2 * amount)
    with boa.env.prank(DEPOSITOR):
        p.token.approve(p.pool.address, 2 * amount)
    before = (p.token.balanceOf(DEPOSITOR), p.pool.totalSupply(), p.vault.collateral(p.pool.address),
              p.token.balanceOf(p.vault.address))
    arg = amount if action == "deposit" else p.pool.previewDeposit(amount)
    with boa.env.prank(DEPOSITOR), boa.reverts("Pool: token took a transfer fee"):
        getattr(p.pool, action)(arg)
    assert (p.token.balanceOf(DEPOSITOR), p.pool.totalSupply(), p.vault.collateral(p.pool.address),
            p.token.balanceOf(p.vault.address)) == before
