"""`ape run simulate` and `ape run sweep` end to end on anvil (see conftest)."""

import re
import subprocess

import yaml

from backstop.revm_chain import Chain
from backstop.scenario import load_scenario_data
from backstop.simulator import Simulation

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
    assert unknown.returncode == 2 and "no such scenario (known: calm, cascade-2025-10-10" in unknown.stderr


def test_sweep__two_seeds__a_node_each_and_a_table(tmp_path):
    result = _ape("sweep", "--scenario", "flash-crash", "--seeds", "1-2", "--traders", "15", "--jobs", "2",
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| seed-1 |" in result.stdout and "| seed-2 |" in result.stdout
    assert (tmp_path / "sweep.md").exists() and (tmp_path / "seed-2" / "report.json").exists()
