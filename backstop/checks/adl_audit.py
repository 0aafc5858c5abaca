"""Audit of auto-deleveraging (SPEC 6.4 and invariant I7), from the chain's events.

Each `deleverage` call emits one `Deleverage` event per counterparty fill, with
the counterparty's `adl_score`. The engine checks, per call, that the listed
counterparties are eligible and ordered; it cannot know whom the keeper left
out. This audit closes that gap: given every ADL call's fills and the ranking
of every known account just before the call, it proves that

  - each filled counterparty was eligible (opposite side, unrealised PnL > 0),
  - the scores in the events are the scores the accounts had, in
    non-increasing order,
  - no eligible account ranked strictly above the call's last fill was skipped
    unseen: a counterparty the Deleverager passes over (nothing to give) is in
    the call's list with a `CounterpartySkipped` event, a fill of size 0 here,
    in its place;
  - on a pro-rata market (the deficit spread over the whole list), a list
    shorter than the Deleverager's bound named every eligible account.

Ties are not skips: accounts with equal scores may go in any order.

The pre-call ranking comes from the lens (`adl_ranking`) over every account
that ever traded, plus the pool: `RankingRecorder` captures it for a chain
without history (titanoboa, the simulator); on a node with history the same
view can be called at the block before the call.
"""

from dataclasses import dataclass, field

MAX_COUNTERPARTIES = 50  # the Deleverager's MAX_ADL_COUNTERPARTIES: a full list cannot name more


@dataclass
class AdlCall:
    """One `deleverage` call: its fills (keeper.AdlFill, from the events) and
    account -> lens AdlEntry (size, upnl, score, prices_valid) just before it."""

    account: str
    market: int
    fills: list
    ranking_before: dict = field(default_factory=dict)
    # A pro-rata market's call (Configurator.adl_pro_rata), and the list it was sent.
    pro_rata: bool = False
    listed: tuple = ()


def audit(calls: list[AdlCall], pool: str) -> list[str]:
    """Every violation of the ADL order found in `calls` (empty: proven)."""
    out = []
    for n, call in enumerate(calls):
        where = f"ADL call {n} ({call.account}, market {call.market})"
        ranking = {a.lower(): e for a, e in call.ranking_before.items()}
        bankrupt = ranking.get(call.account.lower())
        if bankrupt is None or bankrupt.size == 0:
            out.append(f"{where}: the account had no position before the call")
            continue
        is_long = bankrupt.size > 0

        def eligible(entry) -> bool:
            return entry.size != 0 and (entry.size > 0) != is_long and entry.upnl > 0 and entry.prices_valid

        previous = None
        for fill in call.fills:
            entry = ranking.get(fill.counterparty.lower())
            if entry is None:
                out.append(f"{where}: {fill.counterparty} is not a known account")
                continue
            if not eligible(entry):
                out.append(f"{where}: {fill.counterparty} was not eligible (size {entry.size}, upnl {entry.upnl})")
            if fill.score != entry.score:
                out.append(f"{where}: {fill.counterparty} filled with score {fill.score}, had {entry.score}")
            if previous is not None and fill.score > previous:
                out.append(f"{where}: score {fill.score} after {previous}: not in order")
            previous = fill.score
        if not call.fills:
            out.append(f"{where}: no fill and no counterparty passed over")
            continue
        if call.pro_rata and len(call.listed) < MAX_COUNTERPARTIES:
            # dev: pro rata spreads the deficit over the whole list, so a short list
            #      that leaves anyone out moves that one's share onto the rest
            #      (the Deleverager cannot see whom; the review of issue 19).
            listed = {a.lower() for a in call.listed}
            for account, entry in ranking.items():
                if account != call.account.lower() and eligible(entry) and account not in listed:
                    who = "the pool" if account == pool.lower() else account
                    out.append(f"{where}: pro rata left out eligible {who} from a list of {len(listed)}")
        floor = min(fill.score for fill in call.fills)
        filled = {fill.counterparty.lower() for fill in call.fills}
        for account, entry in ranking.items():
            if account == call.account.lower() or account in filled or not eligible(entry):
                continue
            if entry.score > floor:
                who = "the pool" if account == pool.lower() else account
                out.append(f"{where}: skipped {who} with score {entry.score} above the last fill's {floor}")
    return out


class RankingRecorder:
    """Wraps a keeper chain adapter (keeper.BoaChain or ApeChain) and records,
    before each `deleverage`, the lens's ranking of `accounts()` plus the pool,
    and after it the fills: the `AdlCall`s the audit needs."""

    def __init__(self, chain, accounts):
        self._chain = chain
        self._accounts = accounts
        self.calls: list[AdlCall] = []

    def __getattr__(self, name):
        return getattr(self._chain, name)

    def deleverage(self, account, market, counterparties):
        known = sorted({str(a) for a in self._accounts()} | {self._chain.pool})
        before = dict(zip(known, self._chain.adl_ranking(known, market)))
        pro_rata = self._chain.adl_pro_rata(market)
        fills = self._chain.deleverage(account, market, counterparties)
        self.calls.append(AdlCall(str(account), market, fills, before, pro_rata, tuple(map(str, counterparties))))
        return fills
