"""A lost liquidation batch (never mined) was taken for a failed one: the
second loss of the same batch split it and left its account as stuck until
its figures changed, so on a flat price the keeper never sent it again (found
by the independent review of issue 17; the README says a lost transaction is
sent again at the next round)."""

from types import SimpleNamespace

from backstop.keeper import logic


class _LosingChain:
    pool = "pool"
    can_send = True

    def __init__(self):
        self.sent = []

    def health(self, accounts):
        return [SimpleNamespace(liquidatable=a != "pool", prices_valid=True, equity=1, notional=100,
                                maintenance_req=5) for a in accounts]

    def market_counts(self, accounts):
        return {a: 1 for a in accounts}

    def stable_marks(self):
        return 0

    def liquidate_batch(self, batch):
        self.sent.append(list(batch))
        raise logic.LostTransaction("transaction lost (never mined)")


def test_keeper__batch_lost_every_round__sent_again_each_round_unsplit():
    chain = _LosingChain()
    keeper = logic.Keeper(chain)
    keeper.track("a")
    for _ in range(4):
        chain.sent.clear()
        report = keeper.run_round()
        assert chain.sent == [["a"]] and report.failed_batches == 1
