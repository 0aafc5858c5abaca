"""Dust extraction: hundreds of one-token-unit operations, hoping rounding pays.

Attack: deposit and withdraw one token unit at a time, deposit into the LP
pool and redeem one unit at a time, mint single LP shares, stake one unit at
a time in the insurance fund, and open and close positions of the minimum
notional, 200 times over, at 6 and at 18 token decimals; any conversion that
rounds the attacker's way even once, repeated, is money out of the protocol.

Why it must fail (SPEC 1: every rounding goes in the protocol's favour):
the vault converts token units to WAD exactly (`amount * SCALE`) and pays out
whole units only; the pool and the fund price shares with a virtual offset and
round shares out and assets out down, shares burned and assets pulled up;
fills round the cash against the taker and fees up. So the attacker never
ends with more tokens than he put in, each round trip leaves assets per share
where they were or higher, and the vault always holds at least its ledger (I1).
"""

import boa
import pytest

from backstop.protocol.harness import FUND_COOLDOWN, actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, ledger, step_price, trade
from tests.invariants import assert_custody, assert_invariants

ROUNDS = 200
VIRTUAL = 10**3  # virtual shares of the pool and the fund (DECIMALS_OFFSET = 3)


@pytest.fixture
def odd_prices(protocol, trader, staker):
    """Share prices that are not round numbers: a staker in the fund, then a
    trader's 12.345 ETH long pays a fee (half to the pool, half to the fund)
    and the mark moves to 2011.11, so the pool owes him an unrealised profit."""
    protocol.stake(staker, 10_000)
    protocol.fund_trader(trader, 10_000)
    trade(protocol, trader, ETH, wad("12.345"))
    step_price(protocol, ETH, "2011.11")
    return protocol


def price_per_share(contract) -> tuple[int, int]:
    """(assets + 1, supply + virtual shares): what one share is worth, as the
    contracts' own conversions see it; compare two with a cross product."""
    return contract.totalAssets() + 1, contract.totalSupply() + VIRTUAL


def not_cheaper(after, before) -> bool:
    """Assets per share after >= before."""
    return after[0] * before[1] >= before[0] * after[1]


def test_vault__one_unit_deposit_and_withdraw_200_times__attacker_ends_with_exactly_his_tokens(protocol, attacker):
    p = protocol
    p.token.mint(attacker, ROUNDS)
    held, total = p.token.balanceOf(p.vault.address), p.vault.total_collateral()
    with boa.env.prank(attacker):
        p.token.approve(p.vault.address, ROUNDS)
        for _ in range(ROUNDS):
            p.vault.deposit(1)
            # one token unit is credited as exactly SCALE wei, never more
            assert p.vault.collateral(attacker) == p.vault.SCALE()
            p.engine.withdraw(1)
            assert p.vault.collateral(attacker) == 0
    assert p.token.balanceOf(attacker) == ROUNDS
    assert (p.token.balanceOf(p.vault.address), p.vault.total_collateral()) == (held, total)
    assert_custody(p, [attacker])


def test_vault__200_one_unit_deposits_then_one_withdrawal_each__exact(protocol, attacker):
    p = protocol
    p.token.mint(attacker, ROUNDS)
    with boa.env.prank(attacker):
        p.token.approve(p.vault.address, ROUNDS)
        for _ in range(ROUNDS):
            p.vault.deposit(1)
        assert p.vault.collateral(attacker) == ROUNDS * p.vault.SCALE()
        for _ in range(ROUNDS):
            p.engine.withdraw(1)
        with boa.reverts("Clearinghouse: insufficient collateral"):
            p.engine.withdraw(1)
    assert p.token.balanceOf(attacker) == ROUNDS
    assert p.vault.collateral(attacker) == 0
    assert_custody(p, [attacker])


def test_withdraw__collateral_with_sub_unit_dust__only_whole_units_leave(protocol, attacker):
    """Fills and fees are in wei, so after a round trip the attacker's collateral
    is no whole number of token units (at 6 decimals); he can withdraw the
    whole units, never the dust."""
    p = protocol
    scale = p.vault.SCALE()
    p.fund_trader(attacker, 1_000)
    trade(p, attacker, ETH, wad("0.0123457"))
    trade(p, attacker, ETH, -wad("0.0123457"))
    collateral = p.vault.collateral(attacker)
    whole, dust = divmod(collateral, scale)
    # 1,000 USD minus two fees of ~0.0247 USD and the impact, rounded up: below 1,000
    assert whole < p.units(1_000)
    with boa.env.prank(attacker):
        with boa.reverts("Clearinghouse: insufficient collateral"):
            p.engine.withdraw(whole + 1)
        p.engine.withdraw(whole)
    assert p.token.balanceOf(attacker) == whole
    assert p.vault.collateral(attacker) == dust < scale
    assert_invariants(p, [attacker])


def test_trade__200_min_notional_round_trips__every_one_costs_the_attacker(protocol, attacker):
    """Open and close the smallest position allowed (10 USD at 2000: 0.005 ETH),
    200 times. Each round trip pays two fees (0.1% of ~10 USD each) and the
    cash rounded against the taker twice, so collateral strictly falls."""
    p = protocol
    p.fund_trader(attacker, 100)
    size = wad("0.005")
    last = p.vault.collateral(attacker)
    for _ in range(ROUNDS):
        trade(p, attacker, ETH, size)
        trade(p, attacker, ETH, -size)
        now = p.vault.collateral(attacker)
        # at least the two fees: 2 * 0.001 * 10 USD = 0.02 USD
        assert last - now >= wad("0.02") - 10
        last = now
    # and one wei less than the minimum is refused outright, moving nothing
    before = ledger(p, [attacker])
    with boa.reverts("Clearinghouse: position too small"), boa.env.prank(attacker):
        p.engine.trade(ETH, size - 1)
    assert ledger(p, [attacker]) == before
    assert_invariants(p, [attacker])


def test_pool__one_unit_deposit_and_redeem_200_times__attacker_never_gains(odd_prices, attacker, trader):
    p = odd_prices
    p.token.mint(attacker, ROUNDS)
    tokens = ROUNDS
    with boa.env.prank(attacker):
        p.token.approve(p.pool.address, ROUNDS)
        before = price_per_share(p.pool)
        for _ in range(ROUNDS):
            shares = p.pool.deposit(1)
            # shares out round down: never more than the unit is worth
            assert 0 < shares and shares * before[0] <= 1 * before[1]
            mid = price_per_share(p.pool)
            # assets out round down: floor(shares * (assets + 1) / (supply + virtual))
            owed = shares * mid[0] // mid[1]
            if owed:
                assert p.pool.redeem(shares) == owed
            else:
                with boa.reverts("Pool: zero assets"):
                    p.pool.redeem(shares)
            tokens += owed - 1
            after = price_per_share(p.pool)
            assert owed <= 1 and not_cheaper(after, before)
            before = after
    assert p.token.balanceOf(attacker) == tokens <= ROUNDS
    assert_invariants(p, [attacker, trader])


def test_pool__one_unit_withdrawals__burn_at_least_fair_shares(odd_prices, attacker, trader):
    """Deposit 200 units at once, then take them out one unit at a time with
    `withdraw`, which burns the shares rounded up: he gets at most 200 back."""
    p = odd_prices
    p.token.mint(attacker, ROUNDS)
    with boa.env.prank(attacker):
        p.token.approve(p.pool.address, ROUNDS)
        held = p.pool.deposit(ROUNDS)
        before = price_per_share(p.pool)
        # shares in round up: ceil((supply + virtual) / (assets + 1)) per unit
        while held >= -(-before[1] // before[0]):
            burned = p.pool.withdraw(1)
            assert burned == -(-before[1] // before[0])
            held -= burned
            after = price_per_share(p.pool)
            assert not_cheaper(after, before)
            before = after
        assert p.pool.balanceOf(attacker) == held
    assert p.token.balanceOf(attacker) <= ROUNDS
    assert_invariants(p, [attacker, trader])


def test_pool_mint__one_share__costs_a_whole_unit_and_cannot_be_redeemed(odd_prices, attacker, trader, snapshot):
    """A share is worth ~1/1000 of a unit: `mint(1)` pulls a whole unit (assets
    in round up), and redeeming that one share pays 0, which is refused."""
    p = odd_prices
    p.token.mint(attacker, 1)
    with boa.env.prank(attacker):
        p.token.approve(p.pool.address, 1)
        assert p.pool.mint(1) == 1
    assert p.pool.balanceOf(attacker) == 1 and p.token.balanceOf(attacker) == 0
    before = snapshot(p, [attacker, trader])
    with boa.env.prank(attacker), boa.reverts("Pool: zero assets"):
        p.pool.redeem(1)
    assert snapshot(p, [attacker, trader]) == before
    assert_invariants(p, [attacker, trader])


def test_fund__200_one_unit_stakes__withdrawal_pays_at_most_what_was_staked(odd_prices, attacker, trader, staker):
    p = odd_prices
    p.token.mint(attacker, ROUNDS)
    shares = 0
    with boa.env.prank(attacker):
        p.token.approve(p.insurance.address, ROUNDS)
        for _ in range(ROUNDS):
            before = price_per_share(p.insurance)
            minted = p.insurance.stake(1)
            # shares out round down
            assert minted * before[0] <= 1 * before[1]
            assert not_cheaper(price_per_share(p.insurance), before)
            shares += minted
        assert p.insurance.balanceOf(attacker) == shares
        p.insurance.request_withdrawal(shares)
    boa.env.time_travel(seconds=FUND_COOLDOWN)
    with boa.env.prank(attacker):
        paid = p.insurance.withdraw()
    assert paid == p.token.balanceOf(attacker) <= ROUNDS
    assert_invariants(p, [attacker, trader, staker])


def test_fund__request_and_cancel_one_share_at_a_time__no_shares_gained(odd_prices, attacker, trader, staker):
    """Cancelling a request returns at most the shares requested, whatever the
    rounding; 200 request/cancel rounds of a single share never grow the stake."""
    p = odd_prices
    p.stake(attacker, 1)
    shares = p.insurance.balanceOf(attacker)
    with boa.env.prank(attacker):
        for _ in range(ROUNDS):
            p.insurance.request_withdrawal(1)
            p.insurance.cancel_withdrawal()
            assert p.insurance.balanceOf(attacker) <= shares
            shares = p.insurance.balanceOf(attacker)
    assert_invariants(p, [attacker, trader, staker])
