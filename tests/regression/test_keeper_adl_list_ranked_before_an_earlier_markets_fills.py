"""The keeper deleverages a second market with a list ranked before the first
market's fills, and leaves out an account now ranked above its last fill.

Find: the randomised attacker fuzzer (`TestAttacker`, after 917,349 protocol
calls), invariant I7: the keeper deleveraged the bankrupt pool in two markets
in one round; the first market's fills took profit from a counterparty that
also held the second market, lowering its equity and so raising its ADL score
there (profit % times effective leverage) from below the list's cut to
0.3655, above the last fill's 0.3365. The keeper had ranked both markets
before either call, so the second list skipped it: an off-chain audit shows
a higher-ranked account passed over (SPEC 6.4's ranking, I7).

The rule: each `deleverage` call's list is ranked from the state just before
it. Fixed in Keeper._deleverage (each market after the first is ranked
afresh). The fuzzer's state is 230 steps long; this test plays the same
order of reads and calls against a chain whose ranking changes with the
first market's fills, as the contracts' does.
"""

from dataclasses import dataclass

from backstop.keeper.logic import AdlFill, Keeper, RoundReport

BANKRUPT, THIN, SHIFTED, DEEP = "0xb0", "0xa1", "0xa2", "0xa3"


@dataclass
class Entry:
    size: int
    upnl: int
    score: int
    prices_valid: bool = True


class TwoMarketChain:
    """The keeper's chain interface, two markets: the bankrupt is long in both.
    Market 0 (least profit against it, so the keeper does it first) fills
    against SHIFTED; that raises SHIFTED's score in market 1 above DEEP's."""

    pool = "0xpool"

    def __init__(self):
        self.calls = []
        self.ranking = {
            0: {BANKRUPT: Entry(10, -5, 0), SHIFTED: Entry(-10, 5, 90)},
            1: {BANKRUPT: Entry(10, -50, 0), DEEP: Entry(-10, 100, 50), SHIFTED: Entry(-10, 100, 40),
                THIN: Entry(-1, 1, 10)},
        }

    def market_count(self):
        return 2

    def adl_pro_rata(self, market):
        return False

    def adl_ranking(self, accounts, market):
        return [self.ranking[market].get(a, Entry(0, 0, 0)) for a in accounts]

    def deleverage(self, account, market, counterparties):
        self.calls.append((market, list(counterparties)))
        # dev: the fill closes the bankrupt's position in the market (the keeper reads it again after a call).
        self.ranking[market][BANKRUPT] = Entry(0, 0, 0)
        if market == 0:
            # dev: SHIFTED paid part of the deficit: less equity, more leverage, a higher score in market 1.
            self.ranking[1][SHIFTED] = Entry(-10, 100, 60)
        return [AdlFill(account, counterparties[0], market, -10, 1, self.ranking[market].get(counterparties[0]).score)]


def test_keeper_adl__second_market__ranked_after_the_first_markets_fills():
    chain = TwoMarketChain()
    keeper = Keeper(chain)
    for account in (BANKRUPT, THIN, SHIFTED, DEEP):
        keeper.track(account)

    keeper._deleverage(BANKRUPT, RoundReport())

    assert [market for market, _ in chain.calls] == [0, 1]
    second = chain.calls[1][1]
    assert second[0] == SHIFTED, (
        f"market 1 deleveraged against {second} ranked before market 0's fills: {SHIFTED} now scores 60, above "
        f"{DEEP}'s 50"
    )
