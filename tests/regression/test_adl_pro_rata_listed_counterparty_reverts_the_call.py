"""A listed counterparty could revert a whole pro-rata ADL call to dodge its
haircut (found by the independent review of issue 19): pro rata lists every
eligible account, and any one of them, ahead of the keeper's transaction,
could close its position ("counterparty flat") or deposit collateral so its
score fell below the next one's ("scores not ordered"), and do it again every
block while the deficit waited. Pro rata now passes such an entry over
(`CounterpartySkipped`) and does not check the order, since shares go by
weight; a deposit only lowers the depositor's weight (its leverage), it does
not take it out of the split."""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import ETH, step_price, trade
from tests.invariants import assert_settled_invariants


@pytest.fixture
def book(protocol):
    with boa.env.prank(protocol.owner):
        protocol.configurator.set_adl_pro_rata(ETH, True)
    accounts = {}
    for name, margin, size in (("bankrupt_long", 10_000, 10), ("high", 5_000, -4), ("mid", 5_000, -3),
                               ("low", 10_000, -5)):
        accounts[name] = actor(name)
        protocol.fund_trader(accounts[name], margin)
        trade(protocol, accounts[name], ETH, wad(size))
    step_price(protocol, ETH, 900)
    return accounts


def _deleverage(protocol, book):
    order = [book["high"], book["mid"], book["low"]]
    with boa.env.prank(actor("keeper")):
        protocol.deleverager.deleverage(book["bankrupt_long"], ETH, order)
    return {type(e).__name__ + ":" + str(e.counterparty): e for e in protocol.deleverager.get_logs()
            if hasattr(e, "counterparty")}


def test_pro_rata__listed_counterparty_closes_first__passed_over_and_the_rest_pay(protocol, book):
    trade(protocol, book["low"], ETH, wad(5))  # the front-run: flat before the keeper's call
    logs = _deleverage(protocol, book)
    assert f"CounterpartySkipped:{book['low']}" in logs
    # The other two pay the whole deficit and take what they can of the size (3 + 4 of its 10 ETH);
    # the 3 ETH left carry no deficit: a plain liquidation's, against the pool.
    assert protocol.lens.equity(book["bankrupt_long"]) == 0
    assert protocol.engine.position(book["bankrupt_long"], ETH).size == wad(3)
    assert_settled_invariants(protocol, list(book.values()))


def test_pro_rata__listed_counterparty_deposits_to_fall_out_of_order__still_pays_by_its_weight(protocol, book):
    protocol.fund_trader(book["high"], 20_000)
    scores = [e.score for e in protocol.lens.adl_ranking([book["high"], book["mid"]], ETH)]
    assert scores[0] < scores[1], "the deposit no longer reorders the list: the test lost its case"
    logs = _deleverage(protocol, book)
    assert logs[f"Deleverage:{book['high']}"].haircut > 0
    assert protocol.lens.equity(book["bankrupt_long"]) == 0
    assert_settled_invariants(protocol, list(book.values()))
