"""Self-liquidation: the attacker liquidates his own account with his own keeper.

Attack: the attacker opens a leveraged position with one account, hedges it
with an opposite position in a second account (so the price move that makes
the first liquidatable is paid back by the second), and liquidates the first
with a third account acting as keeper, collecting the keeper reward. With
positions of dust size, the reward is the fund-topped `min_reward`, larger
than a 20% share of a tiny penalty: repeat, and the insurance fund pays.

Why it must fail (SPEC 5.3): the reward is `keeper_share` of the penalty the
account pays (20% here), so the pair hands the other 80% to the fund and
ends poorer. The fund tops a penalty up to `min_reward` (0.10 USD) only for
tiny penalties, and the owner cannot set `min_reward` above the penalty on
the smallest position allowed (`liq_fee * min_position_notional` = 1% of
10 USD), so a dust position's penalty pays for its own reward.

Two holes in that argument were found here (and fixed): a partial
liquidation may close much less than the minimum notional (only the rest is
checked against it), and a liquidated long's notional has shrunk below the
minimum by the price fall that made it liquidatable. Either way the penalty
was below `min_reward` and the fund paid the difference to the keeper; with
partial liquidations repeated down a falling price, a hedged attacker ended
richer than he started. The fund now tops a reward up only for an account
that cannot pay its whole penalty (near or past bankruptcy): the tests below
pin that.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import WAD, wad
from tests.adversarial.helpers import ETH, require, require_invariants, step_price, trade, wealth
from tests.invariants import assert_invariants

# backstop.protocol.harness.LIQUIDATION: 1% penalty, 20% of it to the keeper within 0.10..1,000 USD.
LIQ_FEE, KEEPER_SHARE, MIN_REWARD = wad("0.01"), wad("0.2"), wad("0.1")


@pytest.fixture(scope="session")
def hedge():
    """The attacker's second account, holding the opposite position."""
    return actor("attacker_hedge")


@pytest.fixture(scope="session")
def own_keeper():
    """The attacker's third account, liquidating the first."""
    return actor("attacker_keeper")


@pytest.fixture
def funded_fund(protocol, staker):
    """An insurance fund with 10,000 USD of staked capital to farm."""
    protocol.stake(staker, 10_000)
    return protocol


def settled(p, events):
    (s,) = events(p.engine, "LiquidationSettled")
    return s


def liquidate(p, keeper, account):
    with boa.env.prank(keeper):
        p.engine.liquidate(account)


def close(p, account, market=ETH):
    size = p.engine.position(account, market).size
    if size:
        trade(p, account, market, -size)


def test_liquidate__own_account_by_own_keeper__reward_is_keeper_share_of_penalty(
    funded_fund, attacker, own_keeper, events
):
    # Long 10 ETH with 2,200 USD: at 1,870 equity 878.999 < maintenance 935 (SPEC 3).
    p = funded_fund
    p.fund_trader(attacker, 2_200)
    trade(p, attacker, ETH, wad(10))
    step_price(p, ETH, 1_870)
    pair = [attacker, own_keeper]
    before = wealth(p, pair)
    fund_before = p.vault.collateral(p.fund)

    liquidate(p, own_keeper, attacker)

    s = settled(p, events)
    # reward = clamp(20% * paid, 0.10, 1,000): well inside the bounds here
    assert s.keeper_reward == s.penalty * KEEPER_SHARE // WAD > MIN_REWARD
    assert s.keeper_reward <= s.penalty
    # the fund keeps the other 80% ...
    assert p.vault.collateral(p.fund) - fund_before == s.penalty - s.keeper_reward
    # ... which the pair loses, less the impact premium of selling into a long skew
    # (the close sells ~1.77 ETH from skew +10: at most 10/100,000 of ~3,300 USD)
    loss = before - wealth(p, pair)
    assert loss > 0
    assert abs(loss - (s.penalty - s.keeper_reward)) < wad(1)
    assert_invariants(p, pair)


def test_liquidate__hedged_self_liquidation__three_accounts_end_poorer(
    funded_fund, attacker, hedge, own_keeper, events
):
    """The price fall that makes the long liquidatable is the hedge's profit;
    what is left is fees, the penalty and the reward, and the penalty wins."""
    p = funded_fund
    p.fund_trader(attacker, 2_200)
    p.fund_trader(hedge, 5_000)
    ring = [attacker, hedge, own_keeper]
    start = wealth(p, ring)
    trade(p, attacker, ETH, wad(10))
    trade(p, hedge, ETH, -wad(10))
    step_price(p, ETH, 1_870)

    liquidate(p, own_keeper, attacker)
    s = settled(p, events)
    close(p, attacker)
    close(p, hedge)

    assert s.keeper_reward <= s.penalty
    # Lower bound of the loss: the fund's 80% of the penalty (fees come on top).
    assert start - wealth(p, ring) >= s.penalty - s.keeper_reward
    assert_invariants(p, ring)


def test_liquidate__dust_position_at_min_notional__hedged_ring_ends_poorer(
    funded_fund, attacker, hedge, own_keeper, events
):
    """Smallest position: 10 USD (0.005 ETH at 2,000) with 1.02 USD of margin,
    hedged. Liquidatable below ~1,892.6 (1.01 - 0.005 * (2000 - P) < 0.05 * 0.005 * P);
    the rest would be dust, so it is closed fully. It pays its whole ~0.0945
    penalty, so the fund adds nothing: the keeper gets the penalty, and the
    ring has paid four fees (0.01 USD each)."""
    p = funded_fund
    p.fund_trader(attacker, "1.02")
    p.fund_trader(hedge, 10)
    ring = [attacker, hedge, own_keeper]
    start = wealth(p, ring)
    trade(p, attacker, ETH, wad("0.005"))
    trade(p, hedge, ETH, -wad("0.005"))
    step_price(p, ETH, 1_890)

    liquidate(p, own_keeper, attacker)
    s = settled(p, events)
    close(p, hedge)

    assert s.fully_closed
    assert s.keeper_reward == s.penalty < MIN_REWARD
    assert wealth(p, ring) < start
    assert_invariants(p, ring)


def _partial_dust_liquidation(p, attacker, bystander):
    """A 50 USD long (0.025 ETH) with 6 USD of margin, beside a bystander's
    100 ETH long (so the partial close sells into a long skew and is not
    topped up to a full close). Liquidatable a little above 1,855: the
    partial close takes ~11% of it, ~5.5 USD of notional, far below the
    10 USD minimum; the rest, ~44 USD, stays open."""
    p.fund_trader(bystander, 100_000)
    trade(p, bystander, ETH, wad(100))
    p.fund_trader(attacker, 6)
    trade(p, attacker, ETH, wad("0.025"))
    step_price(p, ETH, "1855.4")
    require(p.lens.is_liquidatable(attacker), "liquidatable")


def _min_notional_long(p, attacker, bystander):
    """The smallest long (10 USD at 2,000), liquidated at 1,890: its notional
    is 9.45 USD by then, so the full-close penalty is 0.0945 < 0.10."""
    p.fund_trader(attacker, "1.02")
    trade(p, attacker, ETH, wad("0.005"))
    step_price(p, ETH, 1_890)
    require(p.lens.is_liquidatable(attacker), "liquidatable")


@pytest.mark.parametrize(
    "setup", [_partial_dust_liquidation, _min_notional_long], ids=["partial_50usd", "full_10usd_long"]
)
def test_liquidate__dust_penalty__reward_does_not_exceed_penalty(
    funded_fund, attacker, own_keeper, bystander, events, setup
):
    p = funded_fund
    setup(p, attacker, bystander)
    liquidate(p, own_keeper, attacker)
    s = settled(p, events)
    require_invariants(p, [attacker, own_keeper, bystander])
    assert s.keeper_reward <= s.penalty


def test_liquidate__repeated_partial_dust_liquidations__hedged_ring_ends_poorer(
    funded_fund, attacker, hedge, own_keeper, bystander, events
):
    p = funded_fund
    p.fund_trader(bystander, 100_000)
    trade(p, bystander, ETH, wad(100))
    p.fund_trader(attacker, 6)
    p.fund_trader(hedge, 60)
    ring = [attacker, hedge, own_keeper]
    start = wealth(p, ring)
    fund_start = p.vault.collateral(p.fund)
    trade(p, attacker, ETH, wad("0.025"))
    trade(p, hedge, ETH, -wad("0.025"))

    # The price falls 0.1% a round; the keeper liquidates whenever it can, and
    # the hedge follows the long down so the ring holds no net position.
    price, liquidations = 2_000.0, 0
    while p.engine.position(attacker, ETH).size != 0:
        price = round(price * 0.999, 4)
        p.set_price(ETH, price)
        if p.lens.is_liquidatable(attacker):
            liquidate(p, own_keeper, attacker)
            liquidations += 1
            rest = p.engine.position(attacker, ETH).size
            if rest:
                trade(p, hedge, ETH, -rest - p.engine.position(hedge, ETH).size)
    close(p, hedge)

    require(liquidations > 5, f"only {liquidations} liquidations")
    require_invariants(p, [*ring, bystander])
    # the ring's gain is the fund's loss: its fees and penalties do not cover the top-ups
    assert wealth(p, ring) < start, (
        f"ring gained {(wealth(p, ring) - start) / WAD} USD, the fund "
        f"{(p.vault.collateral(p.fund) - fund_start) / WAD} USD over {liquidations} liquidations"
    )
