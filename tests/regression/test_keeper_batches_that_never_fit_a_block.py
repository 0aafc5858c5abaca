"""Keeper batches that never fit a block (loss-waterfall review, finding 4).

What happened: the keeper sized batches at 60,000 gas an account, but an
account costs about 22,000 more for each further market it holds; a cascade of
cross-margin accounts made 447-account batches of 31-43M gas, and `run_round`
resent the same failing batch every round: nothing was liquidated.

The rule (SPEC 8, liveness): batches are sized from the accounts' market
counts; a batch that runs out of gas, or fails twice the same way, is split
and its halves sent; a batch is never resent whole after failing the same way,
and one account that cannot be liquidated does not hold up the others.
"""

import boa

from backstop.protocol.harness import actor
from backstop.keeper.logic import GAS_BASE, GAS_PER_ACCOUNT, GAS_PER_EXTRA_MARKET, BoaChain, Keeper
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, trade
from tests.invariants import assert_invariants


def _cross_margin_book(p, n):
    """n accounts long 5 ETH and 0.1 BTC on 3,200 USD: liquidatable, solvent, at ETH 1,650 and BTC 41,000."""
    accounts = [actor(f"cross-{i}") for i in range(n)]
    for a in accounts:
        p.fund_trader(a, 3_200)
        trade(p, a, ETH, wad(5))
        trade(p, a, BTC, wad("0.1"))
    p.set_price(ETH, 1_650)
    p.set_price(BTC, 41_000)
    return accounts


class GasMeteredChain(BoaChain):
    """A node with a block gas limit: a batch whose cost is beyond it runs out of gas
    (the cost as measured on anvil: 42,507 a one-market account, +22,248 a further market)."""

    def __init__(self, contracts, sender, block_gas):
        super().__init__(contracts, sender)
        self.block_gas, self.sent = block_gas, []

    def liquidate_batch(self, accounts):
        self.sent.append(list(accounts))
        counts = self.market_counts(accounts)
        cost = 160_000 + sum(42_507 + 22_248 * (counts[a] - 1) for a in accounts)
        if cost > self.block_gas:
            raise RuntimeError("out of gas")
        return super().liquidate_batch(accounts)


def test_batches__cross_margin_accounts__sized_from_their_market_counts(protocol, keeper):
    accounts = _cross_margin_book(protocol, 6)
    bot = Keeper(BoaChain(protocol, keeper), block_gas_limit=500_000)
    for a in accounts:
        bot.track(a)
    counts = bot.chain.market_counts(accounts)
    assert set(counts.values()) == {2}
    batches = bot.batches(bot.liquidatable())
    assert [len(b) for b in batches] == [3, 3]  # one-market sizing would have put 4 and 2
    for b in batches:
        assert GAS_BASE + len(b) * (GAS_PER_ACCOUNT + GAS_PER_EXTRA_MARKET) <= bot.gas_budget + GAS_BASE
    report = bot.run_round()
    assert sorted(report.liquidated) == sorted(map(str, accounts)) and report.failed_batches == 0
    assert_invariants(protocol, [*accounts, keeper])


def test_run_round__batch_out_of_gas__split_until_every_account_is_liquidated(protocol, keeper):
    accounts = _cross_margin_book(protocol, 5)
    chain = GasMeteredChain(protocol, keeper, block_gas=330_000)  # two of these accounts at most
    bot = Keeper(chain, block_gas_limit=30_000_000)  # the keeper believes in a 30M block
    for a in accounts:
        bot.track(a)
    report = bot.run_round()
    assert sorted(report.liquidated) == sorted(map(str, accounts))
    assert report.failed_batches >= 1
    assert chain.sent[0] == sorted(map(str, accounts))  # the first, too big, sent once
    assert chain.sent.count(chain.sent[0]) == 1
    assert bot.liquidatable() == []


def test_run_round__one_account_always_fails__the_rest_liquidated_and_it_is_not_resent(protocol, keeper):
    accounts = _cross_margin_book(protocol, 4)
    poisoned = str(accounts[2])

    class PoisonedChain(BoaChain):
        sent = []

        def liquidate_batch(self, batch):
            self.sent.append(list(batch))
            if poisoned in batch:
                raise RuntimeError("execution reverted: a node's own trouble")
            return super().liquidate_batch(batch)

    chain = PoisonedChain(protocol, keeper)
    bot = Keeper(chain)
    for a in accounts:
        bot.track(a)
    first = bot.run_round()  # a failure once may be the node's: sent again next round
    assert first.liquidated == [] and first.failed_batches == 1
    second = bot.run_round()  # the same batch, the same failure: split down to the poisoned account
    assert sorted(second.liquidated) == sorted(str(a) for a in accounts if str(a) != poisoned)
    sent = len(chain.sent)
    third = bot.run_round()  # the poisoned account, unchanged, is left alone
    assert len(chain.sent) == sent and third.liquidated == [] and third.liquidatable == [poisoned]
    protocol.set_price(ETH, 1_640)  # its figures change: it is tried again
    bot.run_round()
    assert len(chain.sent) == sent + 1 and chain.sent[-1] == [poisoned]
