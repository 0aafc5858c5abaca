"""InsuranceFund constructor: wiring, share decimals (token + 3), the cooldown
bounds also apply at deployment, and the fund approves only the vault."""

import boa
import pytest

from backstop.protocol.harness import FUND_COOLDOWN, FUND_WINDOW, deployers
from tests.unit.fund.helpers import DAY, DECIMALS_OFFSET


def test_init__wired__asset_vault_engine_owner_and_settings(protocol, owner):
    f = protocol.insurance
    assert f.asset() == protocol.token.address
    assert f.VAULT() == protocol.vault.address
    assert f.ENGINE() == protocol.engine.address
    assert f.owner() == owner
    assert (f.cooldown(), f.withdraw_window()) == (FUND_COOLDOWN, FUND_WINDOW)
    assert protocol.engine.insurance_fund() == protocol.fund == str(f.address)
    assert (f.totalSupply(), f.totalAssets()) == (0, 0)


def test_init__any_token__share_decimals_are_token_plus_offset(protocol, decimals):
    assert protocol.insurance.decimals() == decimals + DECIMALS_OFFSET


def test_init__approvals__only_the_vault(protocol, attacker):
    token, fund = protocol.token, protocol.insurance.address
    assert token.allowance(fund, protocol.vault.address) == 2**256 - 1
    assert token.allowance(fund, protocol.engine.address) == 0
    assert token.allowance(fund, attacker) == 0


@pytest.mark.parametrize(
    "cooldown, window, reason",
    [(90 * DAY + 1, FUND_WINDOW, "Fund: cooldown too long"), (FUND_COOLDOWN, 3599, "Fund: bad window")],
    ids=["cooldown_too_long", "window_too_short"],
)
def test_init__settings_out_of_bounds__reverts(protocol, owner, cooldown, window, reason):
    p = protocol
    with boa.env.prank(owner), boa.reverts(reason):
        deployers()["InsuranceFund"].deploy(
            p.token.address, p.vault.address, p.engine.address, cooldown, window, "Backstop Insurance", "bINS"
        )
