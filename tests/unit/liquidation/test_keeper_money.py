"""What a keeper round earns and costs (backstop.keeper.money): the reward
bound the minimum-profit gate uses, the gate holding back only batches whose
bound cannot pay their gas plus the minimum, and the round's line in USD."""

from decimal import Decimal
from types import SimpleNamespace

import boa

from backstop.keeper.logic import GAS_BASE, GAS_PER_ACCOUNT, BoaChain, Keeper, RoundReport
from backstop.keeper.money import ProfitGate, reward_bound_wad, round_line
from backstop.protocol.harness import actor
from backstop.units import WAD, wad

ETH = 0
GWEI = 10**9


def _liquidatable_long(protocol, name="money-long"):
    account = actor(name)
    protocol.fund_trader(account, 2_000)
    with boa.env.prank(account):
        protocol.engine.trade(ETH, wad(5))
    protocol.set_price(ETH, 1650)
    return str(account)


def test_reward_bound__keeper_share_of_the_whole_penalty__clamped(protocol):
    liq = protocol.params.liquidation  # liq_fee 1%, keeper share 20%, rewards 0.1 .. 1,000 USD
    assert reward_bound_wad(wad(10_000), liq) == wad(20)  # 10,000 x 1% x 20%
    assert reward_bound_wad(wad(10), liq) == wad("0.1")  # below: the fund tops it up to min_reward
    assert reward_bound_wad(wad(10**9), liq) == wad(1_000)  # above: capped at max_reward


def test_profit_gate__held_back_only_when_the_bound_cannot_pay_gas_and_the_minimum(protocol, keeper):
    account = _liquidatable_long(protocol)
    bot = Keeper(BoaChain(protocol, keeper))
    bot.track(account)
    rows = dict(bot.tracked_health())
    bound = Decimal(reward_bound_wad(rows[account].notional, protocol.params.liquidation)) / WAD  # 16.5 USD
    gas_usd = Decimal((GAS_BASE + GAS_PER_ACCOUNT) * 50 * GWEI) / 10**18 * 2_000  # 22 USD at 50 gwei, ETH 2,000
    expensive = ProfitGate(protocol.params.liquidation, Decimal(0), lambda: 50 * GWEI, lambda: Decimal(2_000))
    send, why = expensive([account], rows)
    assert not send and f"at most {bound:,.2f} USD" in why and f"~{gas_usd:,.2f} USD of gas" in why
    cheap = ProfitGate(protocol.params.liquidation, Decimal(5), lambda: 1 * GWEI, lambda: Decimal(2_000))
    assert cheap([account], rows)[0]
    assert not ProfitGate(protocol.params.liquidation, Decimal(100), lambda: 1 * GWEI, lambda: 2_000)([account], rows)[0]
    unknown = ProfitGate(protocol.params.liquidation, Decimal(100), lambda: 50 * GWEI, lambda: None)
    assert unknown([account], rows)[0]  # no price for gas: nothing held back


def test_keeper__gate_holds_a_batch_back__nothing_sent_and_the_report_says_so(protocol, keeper):
    account = _liquidatable_long(protocol, "money-held")
    held = Keeper(BoaChain(protocol, keeper), profit_gate=lambda batch, rows: (False, "test: never"))
    held.track(account)
    report = held.run_round()
    assert report.unprofitable == [account] and report.liquidated == [] and held.liquidatable() == [account]
    sent = Keeper(BoaChain(protocol, keeper), profit_gate=lambda batch, rows: (True, ""))
    sent.track(account)
    assert sent.run_round().liquidated == [account]


def test_round_line__usd_short_names_and_the_session_total():
    report = RoundReport(liquidatable=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
                         liquidated=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"], reward_wad=wad("12.5"),
                         gas_wei=2 * 10**15, unprofitable=["x", "y"])
    totals = {}
    line = round_line(7, report, Decimal(2_000), totals)
    assert line == ("block 7: 1 liquidatable, 1 liquidated (0x7099…79C8), reward 12.50 USD, gas 0.002000000 ETH "
                    "(4.00 USD), net +8.50 USD; session +8.50 USD; 2 held back below the minimum profit")
    assert "session +17.00 USD" in round_line(8, report, Decimal(2_000), totals)
    assert "net" not in round_line(9, SimpleNamespace(**{**vars(report)}), None, {})
