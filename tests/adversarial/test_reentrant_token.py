"""Re-entrancy through the collateral token.

Attack: the collateral token calls back into the protocol from `transfer` /
`transferFrom` (an ERC-777-style hook; here `ReentrantToken`, whose address
plays the attacker's contract: it holds collateral, LP shares and a matured
insurance-fund withdrawal request, and makes both the outer call and the
re-entrant one). Half-way through a deposit, a withdrawal, an LP deposit or
redemption, a stake or a fund withdrawal, the hook deposits, withdraws,
redeems, stakes, trades or liquidates again, hoping to act on a state that
is half updated: a balance read before it is credited, shares priced before
the assets arrive, a ledger debited twice.

Why it must fail: every deployable is compiled with `# pragma nonreentrancy on`,
which puts one lock per contract on every external function, views included
(read-only re-entrancy). A re-entrant call that reaches any contract that is
mid-call reverts at that contract's entry with empty revert data. The hook
runs inside `Vault.deposit` (vault locked), `Vault.withdraw_for` (engine and
vault locked, plus the pool or the fund when they are the caller), or the
first `transferFrom` of `LiquidityPool.deposit` / `InsuranceFund.stake` (only
that contract locked). So:

- blocked by the lock: every inner call that touches a locked contract, which
  is every inner call but the ones listed below;
- failing its own check: `Vault.withdraw_for` while the vault is not locked
  ("Vault: caller is not the engine");
- allowed: from the first `transferFrom` of a pool deposit or a stake, calls
  into the contracts that are not mid-call (vault, engine, the other of pool
  and fund). They see a consistent state: the outer call has computed its
  shares but changed nothing yet, so the result is exactly "outer call, then
  inner call" (`test_reentry__into_contract_not_mid_call__same_as_outer_then_inner`).
"""

from pathlib import Path

import boa
import pytest
from eth_abi import decode

from backstop.protocol import harness
from backstop.protocol.harness import FUND_COOLDOWN, actor
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, ledger
from tests.invariants import assert_invariants

BEFORE, AFTER = 1, 2
ERROR_SELECTOR = bytes.fromhex("08c379a0")


@pytest.fixture(scope="module")
def reentrant_token_deployer():
    return boa.load_partial(str(Path(__file__).parent / "ReentrantToken.vy"))


@pytest.fixture(scope="module")
def rp(owner, decimals, reentrant_token_deployer):
    """A full protocol whose collateral is a ReentrantToken, pool seeded with 1M USD."""
    p = harness.deploy(owner, decimals, replace={"MockERC20": reentrant_token_deployer.deploy})
    p.fund_pool(actor("seed_lp"), 1_000_000)
    return p


@pytest.fixture(scope="module")
def attacker_contract(rp, victim):
    """The attacker's contract (the token's address): 10,000 USD of collateral,
    10,000 USD of LP shares, 1,000 USD staked with half of it in a matured
    withdrawal request. A victim long 10 ETH with 2,200 USD is liquidatable at
    1,870: equity 2200 - 20.001 - 10 * (2000.1 - 1870) = 878.999 < 935 maintenance."""
    attacker_contract = rp.token.address
    rp.token.mint(attacker_contract, rp.units(1_000_000))
    with boa.env.prank(attacker_contract):
        for spender in (rp.vault, rp.pool, rp.insurance):
            rp.token.approve(spender.address, 2**256 - 1)
        shares = rp.insurance.stake(rp.units(1_000))
        rp.insurance.request_withdrawal(shares // 2)
    boa.env.time_travel(seconds=FUND_COOLDOWN)
    rp.set_price(ETH, 2_000)
    rp.set_price(BTC, 50_000)
    with boa.env.prank(attacker_contract):
        rp.vault.deposit(rp.units(10_000))
        rp.pool.deposit(rp.units(10_000))
    rp.fund_trader(victim, 2_200)
    with boa.env.prank(victim):
        rp.engine.trade(ETH, wad(10))
    rp.set_price(ETH, 1_870)
    rp.oracle.refresh(ETH)
    assert rp.lens.is_liquidatable(victim)
    assert rp.insurance.withdrawable(attacker_contract) > 0
    return attacker_contract


# The outer calls the attacker's contract makes, and which contracts are
# mid-call (locked) when the token's hook fires: (call, hook's skip, locked).
# `skip=1` lets the pool's / fund's own `transferFrom` pass and fires inside
# the `Vault.deposit` that follows it.
OUTER = {
    "Vault.deposit": (lambda p: p.vault.deposit(p.units(100)), 0, {"vault"}),
    "Clearinghouse.withdraw": (lambda p: p.engine.withdraw(p.units(100)), 0, {"engine", "vault"}),
    "LiquidityPool.deposit": (lambda p: p.pool.deposit(p.units(100)), 0, {"pool"}),
    "LiquidityPool.deposit/Vault.deposit": (lambda p: p.pool.deposit(p.units(100)), 1, {"pool", "vault"}),
    "LiquidityPool.redeem": (
        lambda p: p.pool.redeem(p.pool.convertToShares(p.units(100))), 0, {"pool", "engine", "vault"},
    ),
    "InsuranceFund.stake": (lambda p: p.insurance.stake(p.units(100)), 0, {"fund"}),
    "InsuranceFund.stake/Vault.deposit": (lambda p: p.insurance.stake(p.units(100)), 1, {"fund", "vault"}),
    "InsuranceFund.withdraw": (lambda p: p.insurance.withdraw(), 0, {"fund", "engine", "vault"}),
}

# The re-entrant calls, made by the attacker's contract `m` (`v`: the victim):
# (target, function, arguments), and the contracts the call enters on its way.
INNER = {
    "Vault.deposit": (lambda p, m, v: (p.vault, "deposit", (p.units(1),)), {"vault"}),
    "Clearinghouse.withdraw": (lambda p, m, v: (p.engine, "withdraw", (p.units(1),)), {"engine", "vault"}),
    "Vault.withdraw_for": (lambda p, m, v: (p.vault, "withdraw_for", (m, p.units(1), m)), {"vault"}),
    "LiquidityPool.deposit": (lambda p, m, v: (p.pool, "deposit", (p.units(1),)), {"pool", "engine", "vault"}),
    "LiquidityPool.redeem": (
        lambda p, m, v: (p.pool, "redeem", (p.pool.convertToShares(p.units(2)),)), {"pool", "engine", "vault"},
    ),
    "InsuranceFund.stake": (lambda p, m, v: (p.insurance, "stake", (p.units(1),)), {"fund", "vault"}),
    "InsuranceFund.withdraw": (lambda p, m, v: (p.insurance, "withdraw", ()), {"fund", "engine", "vault"}),
    "Clearinghouse.trade": (lambda p, m, v: (p.engine, "trade", (BTC, wad("0.001"))), {"engine", "vault"}),
    "Clearinghouse.liquidate": (lambda p, m, v: (p.engine, "liquidate", (v,)), {"engine", "vault"}),
}

LOCK = "blocked by the reentrancy lock"


def expected_inner(outer, inner):
    """What the re-entrant call meets first: a lock, its own check, or nothing."""
    locked, touched = OUTER[outer][2], INNER[inner][1]
    if locked & touched:
        return LOCK
    if inner == "Vault.withdraw_for":
        return "Vault: caller is not the engine"
    return None


CASES = [(o, i) for o in OUTER for i in INNER]
REFUSED = [c for c in CASES if expected_inner(*c) is not None]
ALLOWED = [c for c in CASES if expected_inner(*c) is None]
PHASES = {"before": BEFORE, "after": AFTER}


def revert_reason(data: bytes) -> str:
    assert data[:4] == ERROR_SELECTOR, f"not an Error(string): {data.hex()}"
    return decode(["string"], data[4:])[0]


def arm(p, victim, inner, phase, skip):
    """Arm the token's hook with the inner call, made by the token itself."""
    target, fn, args = INNER[inner][0](p, p.token.address, victim)
    p.token.arm(target.address, getattr(target, fn).prepare_calldata(*args), phase, skip)


def call_inner_directly(p, attacker_contract, victim, inner):
    """The inner call on its own, outside any hook."""
    target, fn, args = INNER[inner][0](p, attacker_contract, victim)
    with boa.env.prank(attacker_contract):
        getattr(target, fn)(*args)


def accounts(p, attacker_contract, victim):
    return [attacker_contract, victim, actor("seed_lp")]


@pytest.mark.parametrize("phase", PHASES.keys())
@pytest.mark.parametrize("outer, inner", REFUSED, ids=[f"{o}->{i}" for o, i in REFUSED])
def test_reentry__into_contract_mid_call__refused_and_accounting_exact(
    rp, attacker_contract, victim, outer, inner, phase
):
    call, skip, _ = OUTER[outer]
    expected = expected_inner(outer, inner)
    who = accounts(rp, attacker_contract, victim)
    if expected == LOCK:
        # Control: on its own, from the same state, the inner call goes through
        # (or, for the engine-only payout, fails its own named check), so only
        # the lock can refuse it with empty data inside the hook.
        with boa.env.anchor():
            if inner == "Vault.withdraw_for":
                with boa.reverts("Vault: caller is not the engine"):
                    call_inner_directly(rp, attacker_contract, victim, inner)
            else:
                call_inner_directly(rp, attacker_contract, victim, inner)
    # What the outer call alone leaves behind: the attack must not change it.
    with boa.env.anchor():
        with boa.env.prank(attacker_contract):
            call(rp)
        outer_alone = ledger(rp, who)

    arm(rp, victim, inner, PHASES[phase], skip)
    with boa.env.prank(attacker_contract):
        call(rp)

    assert rp.token.fired() == 1
    assert not rp.token.inner_success()
    if expected == LOCK:
        # Vyper's lock reverts with no data; every named check carries Error(string).
        assert rp.token.inner_return() == b""
    else:
        assert revert_reason(rp.token.inner_return()) == expected
    assert ledger(rp, who) == outer_alone
    assert_invariants(rp, who)


@pytest.mark.parametrize("phase", PHASES.keys())
@pytest.mark.parametrize("outer, inner", ALLOWED, ids=[f"{o}->{i}" for o, i in ALLOWED])
def test_reentry__into_contract_not_mid_call__same_as_outer_then_inner(
    rp, attacker_contract, victim, outer, inner, phase
):
    """From the first transferFrom of a pool deposit or a stake, only that
    contract is locked, and it has changed nothing yet (its shares are priced,
    not minted). The inner call succeeds and the end state is exactly the outer
    call followed by the inner one: no half-updated state was seen."""
    call, skip, _ = OUTER[outer]
    who = accounts(rp, attacker_contract, victim)
    with boa.env.anchor():
        with boa.env.prank(attacker_contract):
            call(rp)
        call_inner_directly(rp, attacker_contract, victim, inner)
        sequential = ledger(rp, who)

    arm(rp, victim, inner, PHASES[phase], skip)
    with boa.env.prank(attacker_contract):
        call(rp)

    assert rp.token.fired() == 1
    assert rp.token.inner_success(), rp.token.inner_return()
    assert ledger(rp, who) == sequential
    assert_invariants(rp, who)

