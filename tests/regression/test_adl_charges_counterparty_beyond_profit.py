"""ADL took more than a counterparty's profit (loss-waterfall review, finding 1).

Attack (or plain bad luck): `deleverage` checked only that the counterparty's
unrealised PnL in the market was positive, then moved
`ceil(-equity * amount / remaining)` from it, with `equity` the bankrupt
account's whole cross-margin equity and `remaining` its size in the one market
named. A late, thin profit could be charged a deficit many times its size:
the counterparty ended flat with negative equity, a hole no one can liquidate.

The rule (SPEC 6.4): a counterparty loses at most its unrealised profit in
that market and never ends below zero equity; a cross-margin deficit is split
across the bankrupt account's markets, and what one market's counterparties
cannot cover stays pending, with an event.
"""

import boa
import pytest

from backstop.protocol.harness import actor
from backstop.units import wad
from tests.adversarial.helpers import BTC, ETH, step_price, trade
from tests.invariants import assert_invariants


def _open(p, name, usd, market, size):
    account = actor(name)
    p.fund_trader(account, usd)
    trade(p, account, market, wad(size))
    return account


def _upnl(p, account, market) -> int:
    return p.lens.unrealized_pnl(account, market)


def _deleverage(p, account, market, counterparties):
    with boa.env.prank(actor("keeper")):
        p.deleverager.deleverage(account, market, counterparties)
    return {type(e).__name__: e for e in p.deleverager.get_logs()}


def test_deleverage__late_thin_short__loses_at_most_its_profit_and_stays_solvent(protocol):
    p = protocol
    bankrupt = _open(p, "bankrupt_long", 10_000, ETH, 40)  # 8x at 2,000
    step_price(p, ETH, 950)
    late_short = _open(p, "late_short", 3_900, ETH, -40)  # ~9.7x at 950
    p.set_price(ETH, 900)
    profit = _upnl(p, late_short, ETH)
    equity_before = p.lens.equity(late_short)
    assert 1_900 * 10**18 < profit < 2_100 * 10**18  # ~2,000 USD of profit
    assert p.lens.equity(bankrupt) < -wad(30_000)  # ~34,000 USD under water, far beyond the fund

    events = _deleverage(p, bankrupt, ETH, [late_short])

    loss = equity_before - p.lens.equity(late_short)
    assert loss <= profit, f"charged {loss / 1e18:,.2f} USD on {profit / 1e18:,.2f} of profit"
    assert p.lens.equity(late_short) >= 0
    # ~50 USD of profit per ETH cannot pay a ~850 USD-per-ETH share in the
    # bankrupt's last market: the short closes nothing and gives its profit
    # (ranked first, it pays first; less the wei kept back), and the rest of
    # the deficit stays on the bankrupt's open position, visibly, for the next
    # counterparties (test_adl_deficit_beyond_counterparties_profit_left_unowned).
    assert profit - 3 <= loss <= profit and p.engine.position(late_short, ETH).size == -wad(40)
    pending = events["DeficitPending"]
    assert pending.account == bankrupt and pending.market == ETH
    assert p.engine.position(bankrupt, ETH).size == wad(40)
    assert p.lens.equity(bankrupt) == -pending.amount
    assert_invariants(p, [bankrupt, late_short])


def test_deleverage__cross_margin_deficit__a_market_bears_only_its_share(protocol):
    """A BTC deficit charged through a tiny ETH position: the ETH market's
    counterparties bear at most ETH's notional share of the deficit, and each
    at most its profit on what it gives."""
    p = protocol
    bankrupt = actor("cross_margin_long")
    p.fund_trader(bankrupt, 12_000)
    trade(p, bankrupt, BTC, wad(1))  # 50,000 notional at 20% initial margin
    trade(p, bankrupt, ETH, wad("0.01"))  # 20 USD: a tiny ETH position
    step_price(p, ETH, "2010")
    eth_short = _open(p, "eth_short", 2_000, ETH, -1)
    step_price(p, ETH, 2_000)
    p.set_price(BTC, 30_000)  # BTC -40%: the account is ~8,000 USD under water
    deficit = -p.lens.equity(bankrupt)
    assert deficit > wad(7_000)
    profit = _upnl(p, eth_short, ETH)
    assert 0 < profit < wad(20)  # ~10 USD of profit on 1 ETH
    equity_before = p.lens.equity(eth_short)
    fund = p.vault.collateral(p.fund)  # fees only: drawn first
    health = p.lens.account_health(bankrupt)
    eth_share = deficit * (10**16 * 2_000) // health.notional + 1  # ETH's notional share (0.01 ETH at 2,000)

    events = _deleverage(p, bankrupt, ETH, [eth_short])

    loss = equity_before - p.lens.equity(eth_short)
    # It gave 0.01 of its 1 ETH: at most that part of its profit, and at most ETH's share.
    assert loss <= profit // 100 + 1
    assert loss <= eth_share
    assert p.lens.equity(eth_short) > 0
    assert p.engine.position(bankrupt, ETH).size == 0
    assert events["DeficitPending"].market == ETH
    # The BTC position and the rest of the deficit wait for BTC's counterparties.
    assert p.engine.position(bankrupt, BTC).size == wad(1)
    assert p.lens.equity(bankrupt) <= -(deficit - fund - eth_share)
    assert_invariants(p, [bankrupt, eth_short])


@pytest.mark.parametrize("margin", [600, 5_000], ids=["thin", "thick"])
def test_deleverage__every_fill__loss_within_profit_and_equity_stays_non_negative(protocol, margin):
    """Several counterparties, thin and thick: whatever the bankrupt's deficit,
    no fill takes more than the counterparty's profit on the size it gives, and
    a haircut without a fill (a thin one in the last market) no more than its
    profit in the market."""
    p = protocol
    bankrupt = _open(p, "bankrupt_long", 10_000, ETH, 40)
    shorts = [_open(p, f"early_short_{i}", 5_000, ETH, -3) for i in range(2)]
    step_price(p, ETH, 1_000)
    shorts.append(_open(p, "late_short", margin, ETH, -5))
    p.set_price(ETH, 900)
    before = {s: (p.lens.equity(s), _upnl(p, s, ETH), p.engine.position(s, ETH).size) for s in shorts}
    ranked = sorted(shorts, key=lambda s: -p.lens.adl_score(s, ETH))

    _deleverage(p, bankrupt, ETH, ranked)

    for s, (equity, profit, size) in before.items():
        given = size - p.engine.position(s, ETH).size
        loss = equity - p.lens.equity(s)
        assert loss <= (profit * abs(given) // abs(size) if given else profit) + 1, s
        assert p.lens.equity(s) >= 0, s
    assert_invariants(p, [bankrupt, *shorts])
