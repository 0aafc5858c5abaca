"""The simulator's realism on revm: several markets and cross-margin
contagion, traders who react, and keepers who are late, lose transactions,
weigh gas and compete (backstop/sim/keepers.py, backstop/sim/traders.py)."""

import copy
from types import SimpleNamespace

import pytest

from backstop.chain.revm_chain import Chain
from backstop.sim.simulator import Simulation

from .test_simulator import SMALL

FLAT = {"kind": "keyframes", "keyframes": [{"step": 0, "change": 0}, {"step": 20, "change": 0}]}
CRASH = {"kind": "keyframes", "keyframes": [{"step": 0, "change": 0}, {"step": 2, "change": 0},
                                           {"step": 8, "change": -0.35}, {"step": 20, "change": -0.3}]}
TWO = {
    "name": "btc-crash", "description": "BTC falls 35%, ETH stays", "sources": ["synthetic"],
    "steps": 20, "step_seconds": 60,
    "assets": [
        {"market": "ETH", "start_price": 2000, "path": FLAT,
         "market_depth": {"usd_per_pct": "infinite", "recovery_per_step": 0}},
        {"market": "BTC", "start_price": 50000, "path": CRASH,
         "market_depth": {"usd_per_pct": 1000000, "recovery_per_step": 0.1}},
    ],
    "population": {"traders": 60, "leverage": {"min": 3, "max": 9}, "long_share": 0.8,
                   "margin_usd": {"min": 500, "max": 5000}, "lp_usd": 2000000, "fund_stake_usd": 5000,
                   "activity": 0.02, "cross_margin_share": 1.0},
}


def run(data, seed=1, traders=None) -> Simulation:
    return Simulation(data, seed, Chain(), traders=traders).run()


def edited(data, **top):
    out = copy.deepcopy(data)
    out.update(copy.deepcopy(top))
    return out


def with_population(data, **fields):
    out = copy.deepcopy(data)
    out["population"].update(copy.deepcopy(fields))
    return out


@pytest.fixture(scope="module")
def contagion():
    return run(TWO)


# ---------------------------------------------------------------- several markets


def test_contagion__btc_crash_with_eth_flat__cross_margined_eth_positions_liquidated(contagion):
    o = contagion.outcome()
    assert o["min_prices"]["ETH"] == 2000 and o["min_prices"]["BTC"] < 35000
    eth = o["liquidated_notional_by_market_usd"]["ETH"]
    assert eth > 0, f"no ETH liquidated by the BTC crash: {o['liquidated_notional_by_market_usd']}"
    assert o["invariants_ok"]


def test_contagion__no_cross_margin__eth_positions_untouched():
    o = run(with_population(TWO, cross_margin_share=0.0)).outcome()
    assert o["liquidated_notional_by_market_usd"]["ETH"] == 0
    assert o["liquidated_notional_by_market_usd"]["BTC"] > 0 and o["invariants_ok"]


def test_several_markets__every_asset_priced_each_step_and_logged(contagion):
    first = contagion.events[0]
    assert set(first["prices"]) == {"ETH", "BTC"}
    for r in contagion.steps:
        assert set(r.prices) == {"ETH", "BTC"} and r.price == r.prices["ETH"]
    report = contagion.report()
    assert [a["market"] for a in report["scenario"]["assets"]] == ["ETH", "BTC"]
    assert report["steps"][8]["prices"]["BTC"] < 0.7 * 50000


def test_several_markets__each_market_its_own_depth_model(contagion):
    # dev: ETH's depth is infinite: only BTC's price moves off its path
    for r in contagion.steps:
        assert r.prices["ETH"] == 2000
    assert any(r.flows_usd["BTC"]["forced"] > 0 for r in contagion.steps)


# ---------------------------------------------------------------- voluntary flow


def test_voluntary_flow__off__only_the_forced_flow_moves_the_price():
    data = copy.deepcopy(SMALL)
    data["market_depth"]["voluntary_flow"] = False
    sim = run(data)
    from backstop.sim.scenario import DepthModel
    depth = DepthModel(data["market_depth"]["usd_per_pct"], data["market_depth"]["recovery_per_step"])
    assert any(r.voluntary_flow_usd != 0 for r in sim.steps[1:])
    for previous, r in zip(sim.steps, sim.steps[1:]):
        assert r.price == pytest.approx(r.price_no_feedback * depth.step(previous.forced_flow_usd), abs=1e-8)


# ---------------------------------------------------------------- traders who react


def test_behaviours__top_ups_on_a_warning__fewer_liquidations_than_a_crowd_that_never_reacts():
    never = with_population(SMALL, behaviours={"never_react": {"share": 1.0}})
    topping = with_population(SMALL, behaviours={"top_up": {"share": 1.0, "probability": 1.0, "delay_steps": 0,
                                                            "amount": 1.0, "warn_at": 2.0}})
    a, b = run(never, traders=40), run(topping, traders=40)
    deposits = [e for e in b.events if e.get("call") == "token.approve" and e["step"] > 0]
    assert deposits, "no trader topped up"
    assert b.outcome()["liquidations"] < a.outcome()["liquidations"], (
        f"top-ups {b.outcome()['liquidations']} liquidations against {a.outcome()['liquidations']}")
    assert all(e["step"] == 0 for e in a.events if e.get("from", "").startswith("trader-")), "a never-reacting trader acted"


def test_behaviours__stop_losses__close_before_the_keeper_and_cut_liquidations():
    never = with_population(SMALL, behaviours={"never_react": {"share": 1.0}})
    stops = with_population(SMALL, activity=0.0, behaviours={"stop_loss": {"share": 1.0, "loss": 0.3}})
    a, b = run(never, traders=40), run(stops, traders=40)
    closes = [e for e in b.events if e.get("call") == "engine.trade" and e["step"] > 0 and "events" in e]
    assert closes and all(ev[2]["size"] == 0 for e in closes for ev in e["events"] if ev[1] == "Trade")
    assert b.outcome()["liquidations"] < a.outcome()["liquidations"]


def test_behaviours__dip_buyers__start_flat_and_buy_the_dip():
    dips = with_population(SMALL, behaviours={"dip_buy": {"share": 1.0, "dip": 0.1, "leverage": 5}})
    sim = run(dips, traders=20)
    opens = [e for e in sim.events if e.get("call") == "engine.trade" and "events" in e]
    assert opens and min(e["step"] for e in opens) > 0
    first = min(e["step"] for e in opens)
    assert sim.steps[first].price <= 0.9 * max(r.price for r in sim.steps[:first + 1])


# ---------------------------------------------------------------- keepers as they are


def test_keepers__the_control_written_out__same_log_as_the_default():
    spelled = edited(SMALL, keepers=[{"name": "keeper", "latency_blocks": 0}])
    assert run(spelled).event_hash() == run(SMALL).event_hash()


def test_late_keeper__acts_in_a_late_round_its_latency_after_the_round_it_saw():
    late = edited(SMALL, step_seconds=60, keepers=[{"name": "keeper", "latency_blocks": 3}])
    sim = run(late)
    rounds = [e for e in sim.events if "late_round_seconds" in e]
    assert rounds and {e["late_round_seconds"] for e in rounds} == {36}
    assert sum(r.late_rounds for r in sim.steps) == len(rounds)
    # dev: every liquidation batch comes after its step's late round, never at the step's own round
    for step in {e["step"] for e in sim.events if e.get("call") == "engine.liquidate_batch"}:
        entries = [e for e in sim.events if e["step"] == step]
        late_at = next(i for i, e in enumerate(entries) if "late_round_seconds" in e)
        first_batch = next(i for i, e in enumerate(entries) if e.get("call") == "engine.liquidate_batch")
        assert first_batch > late_at
    assert sim.outcome()["liquidations"] > 0 and sim.outcome()["invariants_ok"]


def test_late_keeper__latency_longer_than_a_step__acts_steps_later():
    late = edited(SMALL, step_seconds=12, keepers=[{"name": "keeper", "latency_blocks": 2}])
    sim = run(late)
    assert not any("late_round_seconds" in e for e in sim.events)  # dev: lands exactly on a later step's round
    first_seen = next(r.step for r in sim.steps if r.margin_buckets.get("below maintenance", 0)
                      + r.margin_buckets.get("underwater", 0))
    first_batch = min(e["step"] for e in sim.events if e.get("call") == "engine.liquidate_batch")
    assert first_batch == first_seen + 2


def test_lost_transactions__never_in_the_log__counted_and_sent_again():
    lossy = edited(SMALL, keepers=[{"name": "keeper", "lost_tx_share": 0.5}])
    sim = run(lossy)
    stats = sim.keeper_story()[0]
    sent = [e for e in sim.events if e.get("from") == "keeper"]
    assert stats["lost_transactions"] > 0 and stats["transactions"] == len(sent)
    assert sim.outcome()["lost_transactions"] == stats["lost_transactions"]
    assert sim.outcome()["liquidations"] > 0


def test_profit_gate__high_gas__small_accounts_held_back_the_rest_sent():
    gated = edited(SMALL, keepers=[{"name": "keeper", "min_profit_usd": 0}], gas={"base_gwei": 100, "max_gwei": 100})
    sim = run(gated)
    o = sim.outcome()
    assert o["held_back"] > 0 and o["liquidations"] > 0, o
    # dev: the gate's line: 60,000 gas at 100 gwei and 2,000 USD is 12 USD, the
    #      reward bound (1% penalty x 20% keeper share) of a 6,000 USD notional
    keeper = sim.keepers[0]
    keeper._gas_price_wei, keeper._native_usd = 100 * 10**9, 2000.0
    assert keeper._pays(SimpleNamespace(notional=6_000 * 10**18))
    assert not keeper._pays(SimpleNamespace(notional=5_999 * 10**18))
    cheap = run(edited(gated, gas={"base_gwei": 0, "max_gwei": 1}))
    assert cheap.outcome()["held_back"] == 0
    assert cheap.outcome()["liquidations"] > o["liquidations"]


def test_competing_keepers__both_settle_some_and_their_counts_add_up():
    two = edited(SMALL, keepers=[{"name": "keeper"}, {"name": "keeper-b"}])
    sim = run(two, seed=2, traders=60)
    stats = {k["name"]: k for k in sim.keeper_story()}
    assert stats["keeper"]["liquidations"] > 0 and stats["keeper-b"]["liquidations"] > 0
    assert stats["keeper"]["liquidations"] + stats["keeper-b"]["liquidations"] == sim.outcome()["liquidations"]
    balances = sim.final_balances()["accounts"]
    for name in stats:
        assert balances[name]["collateral_usd"] == pytest.approx(stats[name]["reward_usd"], abs=1e-6)


def test_gas__rises_with_the_liquidatable_accounts_at_the_round():
    loaded = edited(SMALL, gas={"base_gwei": 10, "gwei_per_liquidatable": 5, "max_gwei": 10_000})
    sim = run(loaded)
    for r in sim.steps[1:]:
        # dev: the keepers' scan is the buckets' read: liquidatable = below maintenance or underwater
        at_risk = r.margin_buckets["below maintenance"] + r.margin_buckets["underwater"]
        assert r.gas_gwei == 10 + 5 * at_risk, (r.step, r.gas_gwei, at_risk)
    assert max(r.gas_gwei for r in sim.steps) > 10
    assert sim.keeper_story()[0]["gas_usd"] > 0


def test_summary__several_markets_and_keepers__each_its_row(contagion):
    from backstop.sim.output import summary
    text = summary(contagion.report())
    assert "## Markets" in text and "| ETH | 2,000.00 | 2,000.00 | +0.0% | infinite |" in text
    assert "| BTC | 50,000.00 |" in text
    assert "## Keepers" in text and "| keeper | 0 | 0% | none |" in text


def test_liquidation_maps__every_market_at_the_start_and_at_the_low_in_the_report_summary_and_plot(contagion,
                                                                                                   tmp_path):
    from backstop.sim.liquidation_map import LiquidationMap
    from backstop.sim.output import summary
    from backstop.sim.plots import plot_report
    report = contagion.report()
    maps = report["liquidation_maps"]
    assert maps["low_step"] == 8  # dev: BTC's path is lowest (-35%) at step 8; ETH is flat
    assert [m["name"].split(" ")[0] for m in maps["start"]] == ["ETH", "BTC"] == [
        m["name"].split(" ")[0] for m in maps["low"]]
    assert maps["low"][1]["label"] == "at the low, step 8"
    btc_start, btc_low = maps["start"][1], maps["low"][1]
    assert btc_start["long_total_usd"] > btc_low["long_total_usd"], "the crash liquidated longs off the map"
    # dev: the map's longs are the open longs: every one is on the map or counted off it
    start = maps["start"][0]
    longs = sum(lv["long_positions"] for lv in start["levels"]) + start["already_liquidatable"]["long"]["positions"] \
        + start["outside_span"]["below"]["positions"] + start["never_liquidated"]["positions"]
    shorts = sum(lv["short_positions"] for lv in start["levels"]) + start["already_liquidatable"]["short"]["positions"] \
        + start["outside_span"]["above"]["positions"]
    assert longs + shorts == start["open_positions"] > 0
    round_trip = LiquidationMap.from_dict(btc_start)
    assert [lv["long_usd"] for lv in round_trip.to_dict()["levels"]] == pytest.approx(
        [lv["long_usd"] for lv in btc_start["levels"]])
    assert "## Liquidation map" in summary(report) and "| at the low, step 8 | BTC |" in summary(report)
    assert (tmp_path / "liquidation_map.png") in plot_report(report, tmp_path)
