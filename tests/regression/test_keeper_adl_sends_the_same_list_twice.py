"""Once every eligible account was listed, the keeper's next ADL attempt sent
the identical list again: a transaction that could change nothing (found by
the independent review of issue 17)."""

from types import SimpleNamespace

from backstop.keeper import logic

_ENTRIES = {
    "bankrupt": SimpleNamespace(size=10, upnl=-1, score=0, prices_valid=True),
    "t1": SimpleNamespace(size=-10, upnl=5, score=9, prices_valid=True),
    "t2": SimpleNamespace(size=-10, upnl=5, score=8, prices_valid=True),
    "pool": SimpleNamespace(size=0, upnl=0, score=0, prices_valid=True),
}


class _PassingOverChain:
    """Every listed counterparty is passed over (CounterpartySkipped): nothing moves."""

    pool = "pool"

    def __init__(self):
        self.calls = []

    def adl_ranking(self, accounts, market):
        return [_ENTRIES[a] for a in accounts]

    def adl_pro_rata(self, market):
        return False

    def deleverage(self, account, market, counterparties):
        self.calls.append(list(counterparties))
        return [logic.AdlFill(account, c, market, 0, 0, 0) for c in counterparties]


def test_keeper_adl__every_eligible_listed_and_passed_over__no_second_identical_call():
    chain = _PassingOverChain()
    keeper = logic.Keeper(chain)
    for a in ("bankrupt", "t1", "t2"):
        keeper.track(a)
    entries = {a: e for a, e in keeper.adl_entries(0).items() if a != "bankrupt"}
    keeper._deleverage_market("bankrupt", 0, 10, entries, logic.RoundReport())
    assert chain.calls == [["t1"], ["t1", "t2"]]
