"""The crash simulator on revm: determinism, replay, the cascade feedback, the
report's accounting and answers, the protocol parameters of a run, and its
files. (Sweeps: test_sweep.py; on anvil and through `ape run`:
tests/integration/test_simulate.py.)"""

import copy
import json
import subprocess
from pathlib import Path

import pytest

from backstop.protocol.deployment import ParamsError
from backstop.sim.plots import REPORT_FILES
from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import DepthModel, load_scenario_data
from backstop.sim.settings import apply, default_params_data
from backstop.sim.output import prepare_out_dir, read_log, replay_difference, run_simulation
from backstop.sim.simulator import BUCKETS, FUND_EMPTY_USD, WAD, Simulation
from backstop.units import wad

ROOT = Path(__file__).resolve().parents[3]

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


def simulate(data=SMALL, seed=1, traders=None, params_data=None) -> Simulation:
    return Simulation(data, seed, Chain(), traders=traders, params_data=params_data).run()


@pytest.fixture(scope="module")
def small_run():
    return simulate()


@pytest.fixture(scope="module")
def severe_run():
    """The README's default: flash-crash, 200 traders, seed 1: the fund runs out and ADL closes the rest."""
    return simulate(load_scenario_data("flash-crash"), seed=1)


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
        # dev: the traders' own trades move the book too, except the opening book of step 0.
        voluntary = previous.voluntary_flow_usd if previous.step > 0 else 0.0
        expected = r.price_no_feedback * depth.step(previous.forced_flow_usd + voluntary)
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
    events, steps = report["events_wad"], report["steps"]
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


def test_severe_crash__fund_runs_out__adl_fills_and_invariants_hold(severe_run):
    o = severe_run.outcome()
    assert o["steps_with_liquidations"] >= 3
    assert o["fund_drawdown_usd"] > 0 and o["fund_draw_usd"] > 0
    assert o["adl_fills"] > 0 and o["adl_volume_usd"] > 0
    assert o["invariants_ok"]


def test_bad_debt_story__severe_crash__fund_and_adl_shares_add_up_and_each_counterparty_loss_sums(severe_run):
    report = severe_run.report()
    debt = report["bad_debt"]
    assert debt["paid_by_fund_usd"] > 0 and debt["paid_by_adl_usd"] > 0
    assert debt["paid_by_fund_usd"] + debt["paid_by_adl_usd"] == pytest.approx(debt["total_usd"], rel=1e-9)
    assert debt["paid_by_fund_usd"] == pytest.approx(
        sum(e["amount"] for e in report["events_wad"]["BadDebtCovered"]) / WAD)
    losses = {}
    for e in report["events_wad"]["Deleverage"]:
        losses[e["counterparty"]] = losses.get(e["counterparty"], 0) + e["haircut"] / WAD
        if e["size_closed"]:
            # dev: a fill's haircut is its size times the gap from the mark to its (bankruptcy) price.
            gap = abs(e["size_closed"]) * abs(e["price"] - e["mark_price"]) // WAD
            assert abs(e["haircut"] - gap) <= abs(e["size_closed"]) // WAD + 2
    assert {c["counterparty"]: c["loss_usd"] for c in debt["adl_counterparties"]} == pytest.approx(losses)
    assert sum(losses.values()) == pytest.approx(debt["paid_by_adl_usd"])
    assert [c["loss_usd"] for c in debt["adl_counterparties"]] == sorted(losses.values(), reverse=True)


def test_adl_fills__ranked_just_before_each_call__first_fill_of_a_call_is_rank_one(severe_run):
    fills = severe_run.report()["adl_fills"]
    assert len(fills) == severe_run.outcome()["adl_fills"]
    calls = {}
    for f in fills:
        calls.setdefault((f["step"], f["account"], f["market"]), []).append(f)
        assert 1 <= f["rank"] <= f["eligible"] and 1 <= f["quantile"] <= 5
        assert f["counterparty_loss_usd"] == pytest.approx(f["size"] * abs(f["price_usd"] - f["mark_usd"]))
    for call in calls.values():
        # dev: the keeper lists counterparties best first; each fill takes the next in line
        ranks = [f["rank"] for f in call]
        assert ranks[0] == 1 and ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
        assert call[0]["quantile"] == 5


def test_fund_story__severe_crash__start_low_and_the_step_it_ran_out(severe_run):
    fund, steps = severe_run.fund_story(), severe_run.steps
    balances = [r.fund_balance_usd for r in steps]
    assert fund["start_usd"] == balances[0] > 0
    assert fund["min_usd"] == min(balances) and balances[fund["min_step"]] == fund["min_usd"]
    empty = fund["empty_step"]
    assert empty is not None and balances[empty] < FUND_EMPTY_USD <= min(balances[:empty])
    assert severe_run.outcome()["fund_empty_step"] == empty


def test_margin_buckets__before_the_keeper__accounts_at_risk_show_then_flat_by_liquidation(severe_run):
    steps = severe_run.steps
    assert all(sum(r.margin_buckets.values()) == 200 and list(r.margin_buckets) == list(BUCKETS) for r in steps)
    first = next(r for r in steps if r.liquidations)
    # dev: counted after the price moved and before the keeper acted: the accounts it liquidates are there
    assert first.margin_buckets["below maintenance"] + first.margin_buckets["underwater"] >= first.liquidations
    assert steps[-1].margin_buckets["flat by liquidation or ADL"] > 0
    assert all(r.margin_buckets["flat by liquidation or ADL"] == 0 for r in steps[: first.step + 1])


def test_final_balances__pool_share_price__assets_per_whole_share(small_run):
    p = small_run.protocol
    price = small_run.final_balances()["pool_share_price_usd"]
    assert p.pool.decimals() != 18  # dev: the bug read 10**18 units, a billion whole shares
    assert price == p.pool.convertToAssets(10 ** p.pool.decimals()) / 10 ** p.token.decimals()
    assert 0.5 < price < 2  # an LP's share is worth about what it paid, give or take the crash


# ---------------------------------------------------------------- protocol parameters


def test_simulation__protocol_params__deployed_recorded_and_change_the_run(small_run):
    scenario, params = apply(SMALL, default_params_data(), {"markets[0].mmr": "0.03", "liquidation.liq_fee": "0.02",
                                                            "insurance_fund.cooldown": 7200})
    run = simulate(params_data=params)
    p = run.protocol
    assert p.configurator.markets(0).mmr == wad("0.03")
    assert p.configurator.liquidation_params().liq_fee == wad("0.02")
    assert p.insurance.cooldown() == 7200
    header = run.header()
    assert header["params"] == params and header["scenario"] == scenario and header["seed"] == 1
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert header["code_version"]["git_commit"] == commit
    assert run.report()["params"] == params and run.report()["code_version"] == header["code_version"]
    assert run.event_hash() != small_run.event_hash()


def test_simulation__default_params__config_local_yaml(small_run):
    assert small_run.header()["params"] == default_params_data()


def test_simulation__params_without_the_scenario_market__clear_error():
    params = default_params_data()
    params["markets"] = params["markets"][1:]  # BTC only
    with pytest.raises(ParamsError, match=r"market: the scenario trades ETH, which must be markets\[0\]"):
        Simulation(SMALL, 1, chain=None, params_data=params)


def test_simulation__params_naming_existing_contracts__refused_it_makes_its_own_mocks():
    params = default_params_data()
    params["markets"][0]["feed"] = "0x" + "ab" * 20
    del params["markets"][0]["price"]
    with pytest.raises(ParamsError, match=r"markets\[0\].feed: the simulator moves its own mock feeds"):
        Simulation(SMALL, 1, chain=None, params_data=params)
    params = default_params_data()
    params["collateral"] = {"address": "0x" + "cd" * 20, "decimals": 6}
    with pytest.raises(ParamsError, match=r"collateral.address: the simulator mints its own mock collateral"):
        Simulation(SMALL, 1, chain=None, params_data=params)


def test_replay__saved_log__same_entries(small_run, tmp_path):
    sim, report = run_simulation(SMALL, 1, Chain(), tmp_path, plots=False)
    header, saved = read_log(tmp_path)
    assert header["seed"] == 1 and header["traders"] == 30
    replayed = Simulation(header["scenario"], header["seed"], Chain(), traders=header["traders"],
                          params_data=header["params"]).run()
    assert replay_difference(saved, replayed.event_lines()) is None
    assert report["event_log_hash"] == small_run.event_hash()
    tampered = list(saved)
    tampered[40] = tampered[40].replace('"trader-', '"traitor-', 1)
    assert "line 42 differs" in replay_difference(tampered, replayed.event_lines())
    assert "entries" in replay_difference(saved[:-1], replayed.event_lines())


def test_replay__run_with_params__the_header_alone_reproduces_it(tmp_path):
    _, params = apply(SMALL, default_params_data(), {"markets[0].mmr": "0.04"})
    sim, _ = run_simulation(SMALL, 2, Chain(), tmp_path, plots=False, params_data=params)
    header, saved = read_log(tmp_path)
    replayed = Simulation(header["scenario"], header["seed"], Chain(), params_data=header["params"]).run()
    assert replay_difference(saved, replayed.event_lines()) is None and replayed.event_hash() == sim.event_hash()


def test_outputs__written__report_summary_log_and_plots(tmp_path):
    sim, report = run_simulation(SMALL, 3, Chain(), tmp_path, traders=10)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"events.jsonl", "report.json", "summary.md", "keeper.log", *REPORT_FILES} <= names
    summary = (tmp_path / "summary.md").read_text()
    assert report["event_log_hash"] in summary and "small-crash, seed 3, 10 traders" in summary
    assert json.loads((tmp_path / "report.json").read_text())["event_log_hash"] == sim.event_hash()
    end = json.loads((tmp_path / "events.jsonl").read_text().splitlines()[-1])["end"]
    assert end == {"complete": True, "entries": len(sim.events), "event_log_hash": sim.event_hash()}


def test_summary__severe_crash__says_who_paid_the_fund_low_and_the_adl_ranks(severe_run, tmp_path):
    from backstop.sim.output import summary

    report = severe_run.report()
    text = summary(report)
    debt, fund = report["bad_debt"], report["fund"]
    assert f"| the insurance fund | {debt['paid_by_fund_usd']:,.2f} |" in text
    assert f"counterparties closed at the bankrupt price, not the mark | {debt['paid_by_adl_usd']:,.2f} |" in text
    assert f"| balance once set up, step 0 (USD) | {fund['start_usd']:,.2f} |" in text
    assert f"| ran out (below 0.01 USD) | at step {fund['empty_step']} |" in text
    top = debt["adl_counterparties"][0]
    assert f"| {top['counterparty']} | {top['fills']} | {top['size']:,.4f} | {top['loss_usd']:,.2f} |" in text
    first = report["adl_fills"][0]
    assert f"| {first['rank']} (of {first['eligible']}) | {first['quantile']} |" in text
    assert "units: USD amounts in US dollars" in text


def test_run_simulation__interrupted__log_marked_incomplete_and_replay_refused(tmp_path):
    def interrupt(sim):
        if sim.step_no == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_simulation(SMALL, 1, Chain(), tmp_path, plots=False, progress=interrupt)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    end = json.loads(lines[-1])["end"]
    assert end["complete"] is False and end["interrupted"] == "KeyboardInterrupt at step 3"
    assert any('"step":3' in line for line in lines) and not any('"step":4' in line for line in lines)
    with pytest.raises(ParamsError, match=r"incomplete: the run was interrupted \(KeyboardInterrupt at step 3\)"):
        read_log(tmp_path)


def test_read_log__killed_run_without_end_line__refused(tmp_path):
    run_simulation(SMALL, 1, Chain(), tmp_path, plots=False, traders=5)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(ParamsError, match="incomplete: the log has no end line"):
        read_log(tmp_path)


def test_prepare_out_dir__rerun_without_plots__stale_plots_removed(tmp_path):
    run_simulation(SMALL, 1, Chain(), tmp_path, traders=5)
    assert (tmp_path / "price.png").exists()
    run_simulation(SMALL, 2, Chain(), tmp_path, traders=5, plots=False)
    assert not any((tmp_path / name).exists() for name in REPORT_FILES)
    assert read_log(tmp_path)[0]["seed"] == 2


def test_prepare_out_dir__a_file_no_run_wrote__refused_and_kept(tmp_path):
    (tmp_path / "events.jsonl").write_text("old")
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(ParamsError, match="holds 'thesis.tex', which no run wrote"):
        prepare_out_dir(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "mine" and (tmp_path / "events.jsonl").exists()


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
