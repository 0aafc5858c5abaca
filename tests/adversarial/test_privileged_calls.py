"""Privileged calls: the attacker calls every owner-only and caller-checked function.

Attack: re-point the oracle at the attacker's own feed, raise margins until
everyone is liquidatable, set the penalty and keeper share to their maximum,
re-bind the vault's engine or the clearinghouse's pool and fund to an address
he controls, take or destroy ownership, call the vault's engine-only
`move` / `shift` / `withdraw_for` to move collateral straight to himself, write
packed parameters into the engine past the Configurator (`configure`), book
deleverage fills of his own choosing past the Deleverager (`settle_adl`), or
re-bind the Deleverager to an engine of his own (`bind`).

Why it must fail: every admin function starts with snekmate's
`ownable._check_owner()` ("ownable: caller is not the owner"), ownership moves
in two steps (only the pending owner can accept: "ownable_2step: caller is
not the new owner"), and the vault lets only its engine move collateral
("Vault: caller is not the engine"); the engine takes parameters only from its
Configurator and fills only from its Deleverager, and the Deleverager is bound
only by the Configurator (each a `# dev:` reason: no user can reach them
legitimately). Each refused call changes nothing: no
setting, no owner, no balance. Each case also shows the owner's own call gets
past the ownership check (it succeeds, or fails a later, named check), so the
refusal is the access control and not the arguments.

The completeness test reads every deployable's ABI and requires each
non-view function to be in the table below: owner-only (tested here),
pending-owner-only, engine-only, or permissionless with the reason it is
safe. A new admin function added to a contract fails it until it is
classified and, if owner-only, tested.
"""

import boa
import pytest
from vyper.compiler.output import build_abi_output

from backstop.protocol import harness
from backstop.protocol.harness import HEARTBEAT, actor, feed_answer
from backstop.units import WAD, wad
from tests.adversarial.helpers import BTC, ETH, ledger
from tests.invariants import assert_invariants

NOT_OWNER = "ownable: caller is not the owner"
NOT_PENDING_OWNER = "ownable_2step: caller is not the new owner"
NOT_ENGINE = "Vault: caller is not the engine"

# ------------------------------------------------------------------ the table

OWNER_ONLY = "owner-only"
PENDING_OWNER_ONLY = "pending-owner-only"
ENGINE_ONLY = "engine-only"
CONFIGURATOR_ONLY = "configurator-only"
DELEVERAGER_ONLY = "deleverager-only"

CLASSIFICATION = {
    "Vault": {
        "set_engine": OWNER_ONLY,
        "transfer_ownership": OWNER_ONLY,
        "renounce_ownership": OWNER_ONLY,
        "accept_ownership": PENDING_OWNER_ONLY,
        "move": ENGINE_ONLY,
        "shift": ENGINE_ONLY,
        "withdraw_for": ENGINE_ONLY,
        "deposit": "pulls the caller's own tokens; crediting another account only gives it money",
    },
    "PriceOracle": {
        "set_feed": OWNER_ONLY,
        "set_guard": OWNER_ONLY,
        "set_stable_mark": OWNER_ONLY,
        "transfer_ownership": OWNER_ONLY,
        "renounce_ownership": OWNER_ONLY,
        "accept_ownership": PENDING_OWNER_ONLY,
        "refresh": "records the configured feed's latest round, only if it passes every check",
    },
    "Configurator": {
        "set_engine": OWNER_ONLY,
        "list_market": OWNER_ONLY,
        "set_market_params": OWNER_ONLY,
        "set_pool": OWNER_ONLY,
        "set_insurance_fund": OWNER_ONLY,
        "set_fee_pool_share": OWNER_ONLY,
        "set_min_position_notional": OWNER_ONLY,
        "set_liquidation_params": OWNER_ONLY,
        "set_adl_pro_rata": OWNER_ONLY,
        "set_margin_tiers": OWNER_ONLY,
        "set_volatility_margin": OWNER_ONLY,
        "update_margins": "permissionless keeper crank: folds the feed's rounds; the result depends on the rounds "
                          "and the time, not on who calls when",
        "transfer_ownership": OWNER_ONLY,
        "renounce_ownership": OWNER_ONLY,
        "accept_ownership": PENDING_OWNER_ONLY,
    },
    "Deleverager": {
        "bind": CONFIGURATOR_ONLY,
        "deleverage": "permissionless keeper (SPEC 6.4): only when the fund falls short, ranked counterparties",
    },
    "Clearinghouse": {
        "configure": CONFIGURATOR_ONLY,
        "settle_adl": DELEVERAGER_ONLY,
        "trade": "the caller's own position, margin-checked at the mark",
        "withdraw": "the caller's own collateral, margin-checked",
        "liquidate": "permissionless keeper (SPEC 5): only a liquidatable account, reward capped",
        "liquidate_batch": "permissionless keeper: skips every account liquidate would refuse",
    },
    "LiquidityPool": {
        "transfer": "ERC-20: the caller's own shares",
        "transferFrom": "ERC-20: within an allowance the owner gave",
        "approve": "ERC-20: the caller's own allowance",
        "permit": "ERC-20: an allowance the owner signed",
        "deposit": "ERC-4626: the caller's own tokens, shares rounded down",
        "mint": "ERC-4626: the caller's own tokens, assets rounded up",
        "withdraw": "ERC-4626: the owner's shares (or an allowance), within the pool's margin",
        "redeem": "ERC-4626: the owner's shares (or an allowance), within the pool's margin",
    },
    "InsuranceFund": {
        "set_cooldown": OWNER_ONLY,
        "transfer_ownership": OWNER_ONLY,
        "renounce_ownership": OWNER_ONLY,
        "accept_ownership": PENDING_OWNER_ONLY,
        "transfer": "ERC-20: the caller's own shares",
        "transferFrom": "ERC-20: within an allowance the owner gave",
        "approve": "ERC-20: the caller's own allowance",
        "stake": "the caller's own tokens, shares rounded down",
        "request_withdrawal": "the caller's own shares, locked for the cooldown",
        "cancel_withdrawal": "the caller's own request; gains made meanwhile are burned",
        "withdraw": "the caller's own matured request",
    },
    "ClearinghouseLens": {},
    "MockERC20": {
        "mint": "test double: an open mint by design, never deployed with real money",
        "burn": "the caller's own tokens",
        "transfer": "ERC-20: the caller's own tokens",
        "transferFrom": "ERC-20: within an allowance the owner gave",
        "approve": "ERC-20: the caller's own allowance",
    },
    "MockAggregator": {
        "set_answer": "test double: a settable feed by design, never deployed with real money",
        "set_round_data": "test double: a settable feed by design",
        "set_reverting": "test double: a settable feed by design",
    },
}


def non_view_functions(deployer) -> set[str]:
    abi = build_abi_output(deployer.compiler_data)
    return {f["name"] for f in abi if f["type"] == "function" and f["stateMutability"] not in ("view", "pure")}


# ------------------------------------------------------------------ owner-only cases

# (contract, function) -> (arguments, given the protocol, the attacker and his
# feed; what the owner's own call meets: None = it succeeds, else its reason).
CASES = {
    ("Vault", "set_engine"): (lambda p, a, f: (a,), "Vault: engine already set"),
    ("Vault", "transfer_ownership"): (lambda p, a, f: (a,), None),
    ("Vault", "renounce_ownership"): (lambda p, a, f: (), None),
    ("PriceOracle", "set_feed"): (
        lambda p, a, f: (ETH, f.address, HEARTBEAT, 1, feed_answer(10**9), wad("0.25")), None,
    ),
    ("PriceOracle", "set_guard"): (lambda p, a, f: (ETH, True), None),
    ("PriceOracle", "set_stable_mark"): (lambda p, a, f: (ETH, 1, 1), None),
    ("PriceOracle", "transfer_ownership"): (lambda p, a, f: (a,), None),
    ("PriceOracle", "renounce_ownership"): (lambda p, a, f: (), None),
    ("Configurator", "set_engine"): (lambda p, a, f: (a,), "Configurator: engine already set"),
    ("Configurator", "list_market"): (
        lambda p, a, f: ((wad("0.1"), wad("0.05"), wad("0.001"), wad(1), wad("0.4")),), "Oracle: unknown market",
    ),
    ("Configurator", "set_market_params"): (
        lambda p, a, f: (ETH, (WAD, wad("0.99"), wad("0.1"), wad(1), wad("0.4"))), None,
    ),
    ("Configurator", "set_pool"): (lambda p, a, f: (a,), "Configurator: pool already set"),
    ("Configurator", "set_insurance_fund"): (lambda p, a, f: (a,), "Configurator: fund already set"),
    ("Configurator", "set_fee_pool_share"): (lambda p, a, f: (0,), None),
    ("Configurator", "set_min_position_notional"): (lambda p, a, f: (wad(10**6),), None),
    ("Configurator", "set_liquidation_params"): (
        lambda p, a, f: ((wad("0.1"), WAD, wad("0.1"), wad(10**6), 0),), None,
    ),
    ("Configurator", "set_adl_pro_rata"): (lambda p, a, f: (ETH, True), None),
    ("Configurator", "set_margin_tiers"): (lambda p, a, f: (ETH, wad(1)), None),
    ("Configurator", "set_volatility_margin"): (
        lambda p, a, f: (ETH, wad("0.9"), wad("0.01"), wad(3), wad("0.5")), None,
    ),
    ("Configurator", "transfer_ownership"): (lambda p, a, f: (a,), None),
    ("Configurator", "renounce_ownership"): (lambda p, a, f: (), None),
    ("InsuranceFund", "set_cooldown"): (lambda p, a, f: (3600, 3600), None),
    ("InsuranceFund", "transfer_ownership"): (lambda p, a, f: (a,), None),
    ("InsuranceFund", "renounce_ownership"): (lambda p, a, f: (), None),
}

OWNED = ("Vault", "PriceOracle", "Configurator", "InsuranceFund")


def contract_of(p, name):
    return {"Vault": p.vault, "PriceOracle": p.oracle, "Configurator": p.configurator, "InsuranceFund": p.insurance}[name]


def engine_words(p) -> dict:
    """The engine's parameter storage as titanoboa reads it (what `configure` writes)."""
    names = ("pool_word", "fund_word", "penalty_word", "reward_word", "margins_words", "skew_scales", "max_skews",
             "market_count")
    return {name: getattr(p.engine._storage, name).get() for name in names}


def configuration(p) -> dict:
    """Every setting an owner-only call can change, and every owner."""
    markets = range(p.engine.market_count() + 1)
    return {
        "owners": [(c.owner(), c.pending_owner()) for c in (contract_of(p, n) for n in OWNED)],
        "vault_engine": p.vault.engine(),
        "feeds": [tuple(p.oracle.feeds(m)) for m in markets],
        "held": [p.oracle.held(m) for m in markets],
        "last": [tuple(p.oracle.last(m)) for m in markets],
        "markets": [tuple(p.configurator.markets(m)) for m in markets],
        "volatility": [tuple(p.configurator.volatility_params(m)) for m in markets],
        "market_count": p.engine.market_count(),
        "pool": p.engine.pool(),
        "fund": p.engine.insurance_fund(),
        "fee_pool_share": p.configurator.fee_pool_share(),
        "min_position_notional": p.configurator.min_position_notional(),
        "liquidation_params": tuple(p.configurator.liquidation_params()),
        "cooldown": (p.insurance.cooldown(), p.insurance.withdraw_window()),
        "engine_words": engine_words(p),
        "deleverager": (p.deleverager.engine(), p.deleverager.oracle()),
        "configurator_engine": p.configurator.engine(),
    }


@pytest.fixture
def busy(protocol, trader, staker):
    """Something to lose: a trader long 1 ETH and a staker in the fund."""
    protocol.fund_trader(trader, 1_000)
    with boa.env.prank(trader):
        protocol.engine.trade(ETH, wad(1))
    protocol.stake(staker, 1_000)
    return protocol


@pytest.fixture
def attacker_feed(contracts):
    """The attacker's own feed, answering 1 USD."""
    return contracts["MockAggregator"].deploy(8, "ETH / USD", feed_answer(1))


@pytest.mark.parametrize("case", CASES.keys(), ids=[f"{c}.{f}" for c, f in CASES])
def test_owner_only__called_by_attacker__reverts_and_changes_nothing(
    busy, owner, attacker, trader, staker, attacker_feed, case
):
    p = busy
    name, fn = case
    args, owner_outcome = CASES[case]
    call = getattr(contract_of(p, name), fn)
    # Control: the owner's call gets past the ownership check.
    with boa.env.anchor(), boa.env.prank(owner):
        if owner_outcome is None:
            call(*args(p, attacker, attacker_feed))
        else:
            with boa.reverts(owner_outcome):
                call(*args(p, attacker, attacker_feed))
    config, balances = configuration(p), ledger(p, [attacker, trader, staker])

    with boa.env.prank(attacker), boa.reverts(NOT_OWNER):
        call(*args(p, attacker, attacker_feed))

    assert configuration(p) == config
    assert ledger(p, [attacker, trader, staker]) == balances
    assert_invariants(p, [attacker, trader, staker])


@pytest.mark.parametrize("name", OWNED)
def test_accept_ownership__attacker_while_another_is_pending__reverts_and_changes_nothing(busy, owner, attacker, name):
    p = busy
    contract = contract_of(p, name)
    successor = actor("successor")
    with boa.env.prank(owner):
        contract.transfer_ownership(successor)
    config = configuration(p)
    with boa.env.prank(attacker), boa.reverts(NOT_PENDING_OWNER):
        contract.accept_ownership()
    assert configuration(p) == config
    # Control: the pending owner can.
    with boa.env.prank(successor):
        contract.accept_ownership()
    assert (contract.owner(), contract.pending_owner()) == (successor, "0x0000000000000000000000000000000000000000")


@pytest.mark.parametrize("name", OWNED)
def test_accept_ownership__attacker_with_nothing_pending__reverts(busy, owner, attacker, name):
    contract = contract_of(busy, name)
    with boa.env.prank(attacker), boa.reverts(NOT_PENDING_OWNER):
        contract.accept_ownership()
    assert contract.owner() == owner


# case -> (engine-only function, the call)
ENGINE_CASES = {
    # move the pool's or the fund's collateral to the attacker, or his debt to the pool
    "move_from_pool": ("move", lambda p, a: p.vault.move(p.pool.address, a, wad(1_000))),
    "move_negative": ("move", lambda p, a: p.vault.move(a, p.pool.address, -wad(1_000))),
    "move_from_fund": ("move", lambda p, a: p.vault.move(p.fund, a, wad(1))),
    # one zero-sum shift taking from the pool and the fund
    "shift_from_pool_and_fund": ("shift", lambda p, a: p.vault.shift(
        [p.pool.address, p.fund, a, ZERO], [-wad(1_000), -wad(1), wad(1_001), 0])),
    # pay the pool's or a trader's collateral out to the attacker
    "withdraw_for_pool": ("withdraw_for", lambda p, a: p.vault.withdraw_for(p.pool.address, p.units(1_000), a)),
    "withdraw_for_trader": ("withdraw_for", lambda p, a: p.vault.withdraw_for(actor("trader"), p.units(1), a)),
}

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.mark.parametrize("case", ENGINE_CASES.keys())
def test_engine_only__called_by_attacker__reverts_and_nothing_moved(busy, attacker, trader, staker, case):
    p = busy
    before = ledger(p, [attacker, trader, staker])
    with boa.env.prank(attacker), boa.reverts(NOT_ENGINE):
        ENGINE_CASES[case][1](p, attacker)
    assert ledger(p, [attacker, trader, staker]) == before
    assert_invariants(p, [attacker, trader, staker])


def test_engine_only__called_by_owner__reverts_too(busy, owner):
    """Ownership gives no power over collateral: only the engine moves it."""
    p = busy
    before = ledger(p, [owner])
    with boa.env.prank(owner), boa.reverts(NOT_ENGINE):
        p.vault.move(p.pool.address, owner, wad(1))
    with boa.env.prank(owner), boa.reverts(NOT_ENGINE):
        p.vault.shift([p.pool.address, owner, ZERO, ZERO], [-wad(1), wad(1), 0, 0])
    with boa.env.prank(owner), boa.reverts(NOT_ENGINE):
        p.vault.withdraw_for(p.pool.address, 1, owner)
    assert ledger(p, [owner]) == before


# case -> (caller-checked function, its dev reason, the call)
CALLER_CHECKED_CASES = {
    # the attacker's own packed words: every margin at 100%, the pool and fund his
    "configure_markets": ("configure", "configurator only", lambda p, a: p.engine.configure(
        ETH, WAD | (wad("0.99") << 64), 1, 2**255, (int(a, 16), int(a, 16), 0, 0))),
    "configure_globals_only": ("configure", "configurator only", lambda p, a: p.engine.configure(
        2**256 - 1, 0, 0, 0, (int(a, 16), int(a, 16), 2**255, 2**255))),
    # close the trader's long against the attacker at a price of his choosing, and take the fund
    "settle_adl_fills": ("settle_adl", "deleverager only", lambda p, a: p.engine.settle_adl(
        actor("trader"), ETH, wad(1), [(a, -wad(1), -wad(10_000))])),
    "settle_adl_draw_only": ("settle_adl", "deleverager only", lambda p, a: p.engine.settle_adl(
        a, ETH, wad(1_000), [])),
    # point the Deleverager at an engine of his own
    "bind": ("bind", "configurator only", lambda p, a: p.deleverager.bind(a)),
}


@pytest.mark.parametrize("caller", ["attacker", "owner"])
@pytest.mark.parametrize("case", CALLER_CHECKED_CASES.keys())
def test_caller_checked__called_by_attacker_or_owner__reverts_and_changes_nothing(
    busy, owner, attacker, trader, staker, case, caller
):
    """Only the Configurator writes the engine's parameters, only the Deleverager
    books fills, only the Configurator binds the Deleverager: not an attacker,
    and not the owner either (ownership acts through the Configurator's setters)."""
    p = busy
    _, reason, call = CALLER_CHECKED_CASES[case]
    sender = attacker if caller == "attacker" else owner
    config, balances = configuration(p), ledger(p, [attacker, trader, staker])
    positions = [tuple(p.engine.position(a, m)) for a in (attacker, trader) for m in (ETH, BTC)]
    with boa.env.prank(sender), boa.reverts(dev=reason):
        call(p, attacker)
    assert configuration(p) == config
    assert ledger(p, [attacker, trader, staker]) == balances
    assert [tuple(p.engine.position(a, m)) for a in (attacker, trader) for m in (ETH, BTC)] == positions
    assert_invariants(p, [attacker, trader, staker])


# ------------------------------------------------------------------ completeness


@pytest.mark.parametrize("name", harness.DEPLOYABLES.keys())
def test_every_non_view_function__is_classified(name):
    assert name in CLASSIFICATION, f"{name} is deployable but not in the table"
    table = CLASSIFICATION[name]
    functions = non_view_functions(harness.deployers()[name])
    assert functions - table.keys() == set(), f"{name}: unclassified non-view functions"
    assert table.keys() - functions == set(), f"{name}: the table lists functions the ABI does not have"
    for fn, why in table.items():
        assert why in (OWNER_ONLY, PENDING_OWNER_ONLY, ENGINE_ONLY, CONFIGURATOR_ONLY, DELEVERAGER_ONLY) or len(why) > 10, \
            f"{name}.{fn}: say why"


def test_every_owner_only_function__has_an_attacker_case():
    owner_only = {(n, f) for n, table in CLASSIFICATION.items() for f, why in table.items() if why == OWNER_ONLY}
    assert owner_only == set(CASES)


def test_every_engine_only_function__has_an_attacker_case():
    engine_only = {f for table in CLASSIFICATION.values() for f, why in table.items() if why == ENGINE_ONLY}
    assert engine_only == {fn for fn, _ in ENGINE_CASES.values()}


def test_every_caller_checked_function__has_an_attacker_case():
    checked = {f for table in CLASSIFICATION.values() for f, why in table.items()
               if why in (CONFIGURATOR_ONLY, DELEVERAGER_ONLY)}
    assert checked == {fn for fn, _, _ in CALLER_CHECKED_CASES.values()}


def test_every_owned_contract__has_accept_ownership_cases():
    pending = {n for n, table in CLASSIFICATION.items() for f, why in table.items() if why == PENDING_OWNER_ONLY}
    assert pending == set(OWNED)
