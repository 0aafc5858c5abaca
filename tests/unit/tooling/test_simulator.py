"""The crash simulator on revm: determinism, replay, the cascade feedback, the
report's accounting, and the sweep. (On anvil, and through `ape run`:
tests/integration/test_simulate.py.)"""

import copy
import json

import pytest

from backstop.deployment import ParamsError
from backstop.revm_chain import Chain
from backstop.scenario import DepthModel, load_scenario_data
from backstop.simulation_output import read_log, replay_difference, run_simulation
from backstop.simulator import WAD, Simulation
from backstop.sweep import parse_seeds, plan, sweep

# A small crash: 20% down over three steps, thin depth, an 8x-ish crowd.
SMALL = {
    "name": "small-crash",
    "description": "a small crash for tests",
    "sources": ["synthetic"],
    "market": "ETH",
    "start_price": 2000,
    "steps": 12,
    "step_seconds": 12,
    "path": {"kind": "keyframes", "keyframes": [{"step": 0, "change": 0}, {"step": 2, "change": 0},
                                                {"step": 5, "change": -0.2}, {"step": 12, "change": -0.1}]},
    "population": {"traders": 30, "leverage": {"min": 3, "max": 9}, "long_share": 0.8,
                   "margin_usd": {"min": 500, "max": 5000}, "lp_usd": 500000, "fund_stake_usd": 2000,
                   "activity": 0.1},
    "market_depth": {"usd_per_pct": 200000, "recovery_per_step": 0.1},
}


def simulate(data=SMALL, seed=1, traders=None) -> Simulation:
    return Simulation(data, seed, Chain(), traders=traders).run()


@pytest.fixture(scope="module")
def small_run():
    return simulate()


def test_same_seed__twice__same_event_log_hash(small_run):
    again = simulate()
    assert again.event_lines() == small_run.event_lines()
    assert again.event_hash() == small_run.event_hash()


def test_other_seed__different_population__different_hash(small_run):
    assert simulate(seed=2).event_hash() != small_run.event_hash()


def test_event_log__every_transaction__sender_call_and_events_or_reason(small_run):
    entries = [e for e in small_run.events if "call" in e]
    assert len(entries) == small_run.transactions() > 30 * 4
    assert all(("events" in e) != ("reverted" in e) for e in entries)
    assert all(e["reverted"] for e in entries if "reverted" in e)  # a refusal always says why
    # dev: actors and contracts by name, never a bare address
    assert {e["from"] for e in entries} <= {"faucet", "lp", "staker", "keeper", "oracle-operator"} | {
        f"trader-{i}" for i in range(1, 31)}
    assert not any(e["call"].startswith("0x") for e in entries)
    assert not any(name == "AnswerUpdated" for e in entries for _, name, _ in e.get("events", []))


def test_cascade__small_crash__liquidations_over_several_steps_and_invariants_hold(small_run):
    o = small_run.outcome()
    assert o["steps_with_liquidations"] >= 2
    assert o["invariants_ok"]
    assert all(not any(r.invariants.values()) for r in small_run.steps)
    assert set(small_run.steps[0].invariants) == {"I1 custody", "I2 zero-sum", "I3 solvency", "I4 no hidden bad debt"}


def test_feedback__each_price__path_times_the_depth_models_displacement(small_run):
    depth = DepthModel(SMALL["market_depth"]["usd_per_pct"], SMALL["market_depth"]["recovery_per_step"])
    steps = small_run.steps
    assert any(r.forced_flow_usd > 0 for r in steps)
    for previous, r in zip(steps, steps[1:]):
        expected = r.price_no_feedback * depth.step(previous.forced_flow_usd)
        assert r.price == pytest.approx(expected, abs=1e-8)
    assert small_run.outcome()["min_price"] < small_run.outcome()["min_price_no_feedback"]


def test_infinite_depth__price_follows_the_path():
    data = copy.deepcopy(SMALL)
    data["market_depth"]["usd_per_pct"] = "infinite"
    run = simulate(data)
    assert all(r.price == pytest.approx(r.price_no_feedback, abs=1e-8) for r in run.steps)
    assert run.outcome()["liquidations"] > 0


def test_report__per_step_totals__match_its_event_lists(small_run):
    report = small_run.report()
    events, steps = report["events"], report["steps"]
    assert sum(s["liquidations"] for s in steps) == len(events["LiquidationSettled"]) > 0
    assert sum(s["fund_draw_usd"] for s in steps) == pytest.approx(
        sum(e["amount"] for e in events["BadDebtCovered"]) / WAD)
    assert sum(s["adl_fills"] for s in steps) == len(events["Deleverage"])
    flow = sum(-e["size_closed"] * e["exec_price"] for e in events["Liquidation"]) / WAD / WAD
    assert sum(s["forced_flow_usd"] for s in steps) == pytest.approx(flow)
    # dev: the fund's balance moves by its income minus its draws; it never goes below zero
    assert all(s["fund_balance_usd"] >= 0 for s in steps)
    assert report["traders"] == 30 and len(steps) == SMALL["steps"] + 1
    balances = report["final_balances"]["accounts"]
    assert {"pool", "fund", "keeper", "trader-1"} <= set(balances)
    json.dumps(report)  # plain JSON all the way down


def test_severe_crash__fund_runs_out__adl_fills_and_invariants_hold():
    """The README's default: flash-crash, 200 traders, seed 1. The fund is
    drawn down to nothing and ADL closes what it cannot cover."""
    run = simulate(load_scenario_data("flash-crash"), seed=1)
    o = run.outcome()
    assert o["steps_with_liquidations"] >= 3
    assert o["fund_drawdown_usd"] > 0 and o["fund_draw_usd"] > 0
    assert o["adl_fills"] > 0 and o["adl_volume_usd"] > 0
    assert o["invariants_ok"]


def test_replay__saved_log__same_entries(small_run, tmp_path):
    sim, report = run_simulation(SMALL, 1, Chain(), tmp_path, plots=False)
    header, saved = read_log(tmp_path)
    assert header["seed"] == 1 and header["traders"] == 30
    replayed = Simulation(header["scenario"], header["seed"], Chain(), traders=header["traders"]).run()
    assert replay_difference(saved, replayed.event_lines()) is None
    assert report["event_log_hash"] == small_run.event_hash()
    tampered = list(saved)
    tampered[40] = tampered[40].replace('"trader-', '"traitor-', 1)
    assert "line 42 differs" in replay_difference(tampered, replayed.event_lines())
    assert "entries" in replay_difference(saved[:-1], replayed.event_lines())


def test_outputs__written__report_summary_log_and_plots(tmp_path):
    sim, report = run_simulation(SMALL, 3, Chain(), tmp_path, traders=10)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"events.jsonl", "report.json", "summary.md", "keeper.log", "price.png", "margin_buckets.png"} <= names
    summary = (tmp_path / "summary.md").read_text()
    assert report["event_log_hash"] in summary and "small-crash, seed 3, 10 traders" in summary
    assert json.loads((tmp_path / "report.json").read_text())["event_log_hash"] == sim.event_hash()


@pytest.mark.parametrize("bad, field", [
    ({"steps": None}, "steps"),
    ({"start_price": -5}, "start_price"),
    ({"colour": "red"}, "colour"),
])
def test_bad_scenario__clear_error_before_any_chain(bad, field):
    data = {**copy.deepcopy(SMALL), **bad}
    if bad.get("steps", 1) is None:
        del data["steps"]
    with pytest.raises(ParamsError, match=field):
        Simulation(data, 1, chain=None)


def test_read_log__not_a_log__clear_error(tmp_path):
    (tmp_path / "events.jsonl").write_text("hello\n")
    with pytest.raises(ParamsError, match="not a simulator event log"):
        read_log(tmp_path)


# ---------------------------------------------------------------- sweep


def test_parse_seeds__ranges_and_lists():
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    with pytest.raises(ParamsError, match="--seeds"):
        parse_seeds("one")


def test_plan__bad_field_or_value__refused_before_running():
    with pytest.raises(ParamsError, match="no such field"):
        plan(SMALL, [1], "market_depth.width=3")
    with pytest.raises(ParamsError, match="market_depth.usd_per_pct"):
        plan(SMALL, [1], "market_depth.usd_per_pct=-1")
    with pytest.raises(ParamsError, match="--set"):
        plan(SMALL, [1], "market_depth.usd_per_pct")


def test_sweep__two_depths_in_parallel__same_logs_as_single_runs(tmp_path):
    runs = plan(SMALL, [1], "market_depth.usd_per_pct=200000,infinite", traders=12)
    rows = sweep(runs, tmp_path, chain_kind="revm", jobs=2)
    assert [r["label"] for r in rows] == ["usd_per_pct-200000-seed-1", "usd_per_pct-infinite-seed-1"]
    for run, row in zip(runs, rows):
        assert row["event_log_hash"] == Simulation(run.scenario_data, 1, Chain()).run().event_hash()
    table = (tmp_path / "sweep.md").read_text()
    assert "usd_per_pct-infinite-seed-1" in table and "bad debt" in table
    assert (tmp_path / "sweep.png").exists() and (tmp_path / "sweep.json").exists()
    assert rows[0]["min_price"] < rows[1]["min_price"]  # the feedback deepened the low
