"""`ape run simulate` and `ape run sweep` end to end on anvil (see conftest)."""

import re
import subprocess

import yaml

from backstop.chain.revm_chain import Chain
from backstop.sim.scenario import load_scenario_data
from backstop.sim.simulator import Simulation

from .conftest import NETWORK, ROOT, VENV_BIN, _env, ape_run, free_port

HASH = re.compile(r"^event-log hash: ([0-9a-f]{64})$", re.M)


def test_simulate__run_then_replay__same_log_as_on_revm(tmp_path):
    first = ape_run("simulate", "--scenario", "flash-crash", "--traders", "20", "--seed", "2",
                    "--out", str(tmp_path / "a"), "--no-plots")
    (digest,) = HASH.findall(first.stdout)
    assert "invariants I1-I4: held at every step" in first.stdout
    assert {"events.jsonl", "report.json", "summary.md", "keeper.log"} <= {p.name for p in (tmp_path / "a").iterdir()}
    # dev: a node and revm run the same bytecode from the same log: one hash
    assert digest == Simulation(load_scenario_data("flash-crash"), 2, Chain(), traders=20).run().event_hash()

    # dev: the replay on ape's own node (--node connected): the node does not change the log either
    replay = ape_run("simulate", "--replay", str(tmp_path / "a"), "--out", str(tmp_path / "b"), "--no-plots",
                     "--node", "connected")
    assert HASH.findall(replay.stdout) == [digest]
    assert "replay: the same event log" in replay.stdout


def test_simulate__two_markets_reacting_traders_late_lossy_keepers__same_log_as_on_revm(tmp_path):
    # dev: the 2025 cascade moves ETH and BTC, its traders react and its second
    #      keeper is late (late rounds inside a step, the node's clock moved to
    #      them) and loses transactions: a node gives the same log as revm
    run = ape_run("simulate", "--scenario", "cascade-2025-10-10", "--traders", "20", "--seed", "3",
                  "--out", str(tmp_path / "a"), "--no-plots")
    (digest,) = HASH.findall(run.stdout)
    sim = Simulation(load_scenario_data("cascade-2025-10-10"), 3, Chain(), traders=20).run()
    assert sum(r.late_rounds for r in sim.steps) > 0 and sim.outcome()["liquidations"] > 0
    assert digest == sim.event_hash()
    assert "BTC low" in run.stdout


def _ape(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "ape"), "run", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=_env(f"http://127.0.0.1:{free_port()}"))


def test_simulate__bad_scenario_file__clear_error_no_trace(tmp_path):
    bad = load_scenario_data("flash-crash")
    bad["start_price"] = -2000
    del bad["population"]["lp_usd"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = _ape("simulate", "--scenario", str(path), "--network", NETWORK)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "population.lp_usd" in result.stderr or "start_price" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr

    unknown = _ape("simulate", "--scenario", "no-such-crash", "--network", NETWORK)
    assert unknown.returncode == 2 and "no such scenario (known: bad-round, calm, cascade-2025-10-10" in unknown.stderr


def test_sweep__two_seeds_on_the_local_dask_cluster__a_node_each_and_statistics(tmp_path):
    result = _ape("sweep", "--scenario", "flash-crash", "--seeds", "1-2", "--traders", "15", "--jobs", "2",
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on a local Dask cluster of 2 workers" in result.stdout
    assert "| all seeds | 2 |" in result.stdout and "replay it: ape run simulate --replay" in result.stdout
    assert "| seed-1 |" in (tmp_path / "sweep.md").read_text()
    assert (tmp_path / "seed-2" / "report.json").exists() and (tmp_path / "seed-2" / "result.json").exists()


def test_simulate__chain_revm_with_params_file_and_set__same_hash_as_in_process_and_params_in_header(tmp_path):
    from backstop.sim.settings import apply, params_data
    from backstop.sim.output import read_log

    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "config" / "local.yaml").read_text().replace("liq_fee: 0.01", "liq_fee: 0.02"))
    out = tmp_path / "run"
    result = ape_run("simulate", "--chain", "revm", "--params", str(params), "--set", "markets[0].mmr=0.04",
                     "--traders", "20", "--seed", "2", "--out", str(out), "--no-plots")
    (digest,) = HASH.findall(result.stdout)
    assert "on revm in process" in result.stdout
    header, _ = read_log(out)
    scenario, expected = apply(load_scenario_data("flash-crash"), params_data(params), {"markets[0].mmr": "0.04"})
    assert header["params"] == expected and header["params"]["liquidation"]["liq_fee"] == "0.02"
    assert digest == Simulation(scenario, 2, Chain(), traders=20, params_data=expected).run().event_hash()


def test_simulate__params_file_out_of_bounds__clear_error_no_trace(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "config" / "local.yaml").read_text().replace("mmr: 0.05", "mmr: 0.5"))
    result = _ape("simulate", "--chain", "revm", "--params", str(params), "--network", NETWORK)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "markets[0].mmr: must be above 0 and below imr" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
