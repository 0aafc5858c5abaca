"""Sweeps (backstop/sim/sweep.py) on a real Dask cluster: a scheduler and two
worker processes on loopback, started here as `dask scheduler` / `dask
worker` would be on a real cluster; every run's hash against the same run done
serially, the statistics against the runs' outcomes, reruns that skip
finished runs, and the grid and its validation."""

import json
import os
import signal
import socket
import statistics as pystats
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backstop.protocol.deployment import ParamsError
from backstop.chain.revm_chain import Chain
from backstop.sim.simulator import Simulation
from backstop.sim.sweep import METRICS, RESULT, Run, parse_seeds, percentile, plan, statistics, sweep

from .test_simulator import SMALL

ROOT = Path(__file__).resolve().parents[3]
MMRS = ("0.03", "0.05", "0.07")
SEEDS = [1, 2, 3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """A Dask scheduler and a worker process with two single-threaded workers, on loopback; yields the address."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # dev: the workers import this checkout's backstop, as a real cluster's would import its install.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-dashboard"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        # dev: a session of its own, so the nanny and its two workers can be stopped at once.
        processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers",
                                           "2", "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        # dev: the workers are killed, not asked to close (a graceful close waits ~8 s for nothing here).
        if len(processes) > 1:
            os.killpg(processes[1].pid, signal.SIGKILL)
        processes[0].terminate()
        for p in processes:
            p.wait(timeout=30)


def _serial_hash(run: Run) -> str:
    return Simulation(run.scenario_data, run.seed, Chain(), params_data=run.params_data).run().event_hash()


@pytest.fixture(scope="module")
def mmr_sweep(scheduler, tmp_path_factory):
    out = tmp_path_factory.mktemp("mmr-sweep")
    runs = plan(SMALL, SEEDS, [f"markets[0].mmr={','.join(MMRS)}"], traders=12)
    done = []
    started = time.perf_counter()
    rows = sweep(runs, out, chain_kind="revm", scheduler=scheduler, on_done=done.append)
    return runs, rows, out, done, time.perf_counter() - started


def test_sweep__mmr_3_values_x_3_seeds_on_a_dask_cluster__every_hash_equals_the_serial_run(mmr_sweep):
    runs, rows, out, done, _ = mmr_sweep
    assert [r["label"] for r in rows] == [f"mmr-{m}-seed-{s}" for m in MMRS for s in SEEDS]
    assert len(done) == 9
    for run, row in zip(runs, rows):
        assert row["event_log_hash"] == _serial_hash(run), run.label
        assert json.loads((out / run.label / "report.json").read_text())["params"]["markets"][0]["mmr"] == \
            run.params_data["markets"][0]["mmr"]
        assert (out / run.label / RESULT).exists() and (out / run.label / "events.jsonl").exists()
    # dev: every setting changed the runs (the parameter reached the chain: test_simulator checks the value)
    assert len({r["event_log_hash"] for r in rows}) == 9


def test_sweep__mmr_grid__statistics_table_per_setting_from_the_runs(mmr_sweep):
    runs, rows, out, _, _ = mmr_sweep
    record = json.loads((out / "sweep.json").read_text())
    assert record["settings"] == ["markets[0].mmr"] and record["seeds"] == SEEDS
    table = (out / "sweep.md").read_text()
    for stats, mmr in zip(record["statistics"], MMRS, strict=True):
        assert stats["setting_label"] == f"mmr={mmr}" and stats["seeds"] == SEEDS
        group = [r for r in rows if r["setting"]["markets[0].mmr"] == mmr]
        for key, _, unit in METRICS:
            values = [r[key] for r in group]
            m = stats["metrics"][key]
            assert m["mean"] == pytest.approx(pystats.mean(values))
            assert m["p50"] == pytest.approx(pystats.median(values))
            # dev: linear interpolation: p95 of three values lies between the two largest
            assert sorted(values)[1] <= m["p95"] <= max(values) == m["max"]
            worst = [r["seed"] for r in group if r[key] == max(values)]
            assert m["worst_seed"] == min(worst)
            figure = f"{m['mean']:,.2f}" if unit == "USD" else f"{m['mean']:,.1f}"
            assert f"| mmr={mmr} | 3 | {figure} |" in table
    worst = max(rows, key=lambda r: (r["bad_debt_usd"], -r["seed"]))
    assert f"| {worst['setting_label']} | {worst['seed']} | `ape run simulate --replay {out / worst['label']} " in table
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")


def test_sweep__rerun_into_the_same_directory__finished_runs_skipped_changed_ones_run(mmr_sweep, scheduler):
    runs, rows, out, _, _ = mmr_sweep
    skipped, done = [], []
    again = sweep(runs, out, chain_kind="revm", scheduler=scheduler, on_done=done.append, on_skip=skipped.append)
    assert len(skipped) == 9 and not done
    assert [r["event_log_hash"] for r in again] == [r["event_log_hash"] for r in rows]
    # dev: a run whose result no longer matches its plan (another seed's data) runs again
    result = out / runs[0].label / RESULT
    saved = json.loads(result.read_text())
    result.write_text(json.dumps({**saved, "key": "stale"}))
    skipped.clear()
    sweep(runs, out, chain_kind="revm", scheduler=scheduler, on_done=done.append, on_skip=skipped.append)
    assert [r["label"] for r in done] == [runs[0].label] and len(skipped) == 8


def test_sweep__a_worker_killed_mid_sweep__the_sweep_completes_with_the_same_hashes(mmr_sweep, scheduler, tmp_path):
    from distributed import Client

    runs, rows, _, _, _ = mmr_sweep
    killed = []

    def kill_a_worker(row):
        if not killed:
            with Client(scheduler, timeout=30) as client:
                pids = client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)  # dev: no goodbye: the scheduler sees the connection drop
            killed.append(victim)

    again = sweep(runs, tmp_path, chain_kind="revm", scheduler=scheduler, on_done=kill_a_worker)
    assert killed and [r["event_log_hash"] for r in again] == [r["event_log_hash"] for r in rows]


def test_sweep__foreign_file_in_the_directory__refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ParamsError, match="notes.txt"):
        sweep(plan(SMALL, [1], [], traders=5), tmp_path, chain_kind="revm", scheduler="tcp://127.0.0.1:1")


def test_sweep__no_scheduler_at_the_address__clear_error(tmp_path):
    with pytest.raises(ParamsError, match="--scheduler: no Dask scheduler answers at tcp://127.0.0.1:"):
        sweep(plan(SMALL, [1], [], traders=5), tmp_path, chain_kind="revm", scheduler=f"tcp://127.0.0.1:{_free_port()}",
              connect_timeout=2)


# ---------------------------------------------------------------- the plan


def test_parse_seeds__ranges_and_lists():
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    with pytest.raises(ParamsError, match="--seeds"):
        parse_seeds("one")


def test_plan__protocol_and_scenario_settings__every_combination_each_seed():
    runs = plan(SMALL, [1, 2], ["markets[0].mmr=0.03,0.05", "market_depth.usd_per_pct=200000,infinite"])
    assert [r.label for r in runs][:3] == ["mmr-0.03-usd_per_pct-200000-seed-1", "mmr-0.03-usd_per_pct-200000-seed-2",
                                           "mmr-0.03-usd_per_pct-infinite-seed-1"]
    assert len(runs) == 8 and len({r.key for r in runs}) == 8
    last = runs[-1]
    assert last.params_data["markets"][0]["mmr"] == "0.05" and last.scenario_data["market_depth"]["usd_per_pct"] == \
        "infinite"
    assert last.setting_label == "mmr=0.05, usd_per_pct=infinite"


def test_plan__two_markets_same_field__labels_name_the_market():
    runs = plan(SMALL, [1], ["markets[0].mmr=0.04", "markets[1].mmr=0.08"])
    assert runs[0].label == "markets0.mmr-0.04-markets1.mmr-0.08-seed-1"


@pytest.mark.parametrize("setting, field", [
    ("market_depth.width=3", "market_depth.width: no such field in the scenario"),
    ("market_depth.usd_per_pct=-1", "market_depth.usd_per_pct"),
    ("market_depth.usd_per_pct", "--set: must be FIELD=VALUE"),
    ("markets[0].mmr=0.2", r"markets\[0\].mmr: must be above 0 and below imr"),
    ("markets[3].mmr=0.01", r"markets\[3\].mmr: no such field in the protocol parameters"),
    ("liquidation.liq_fee=0.5", "liquidation.liq_fee: 0.5 is above the contract's maximum 0.1"),
    ("markets[0].mmr=0.03,0.03", "given twice"),
])
def test_plan__bad_field_or_value__refused_before_running(setting, field):
    with pytest.raises(ParamsError, match=field):
        plan(SMALL, [1], [setting])


def test_plan__same_field_twice__refused():
    with pytest.raises(ParamsError, match="a field is set twice: markets"):
        plan(SMALL, [1], ["markets[0].mmr=0.03", "markets[0].mmr=0.04"])


# ---------------------------------------------------------------- statistics


def test_percentile__between_ranks__linear_interpolation():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == pystats.median(values)
    assert percentile(values, 0) == min(values) and percentile(values, 100) == max(values)
    # dev: rank 0.95 * 3 = 2.85, between the third (3) and the fourth (4) value
    assert percentile(values, 95) == pytest.approx(3 + 0.85 * (4 - 3))


def test_statistics__worst_seed__largest_value_ties_to_the_lowest_seed():
    rows = [{"setting_label": "x=1", "setting": {"x": "1"}, "seed": s, **{k: v for k, _, _ in METRICS}}
            for s, v in ((5, 2.0), (3, 7.0), (4, 7.0))]
    (stats,) = statistics(rows)
    assert stats["seeds"] == [5, 3, 4]
    assert stats["metrics"]["bad_debt_usd"]["worst_seed"] == 3 and stats["metrics"]["bad_debt_usd"]["max"] == 7.0


def test_statistics__setting_read_back_with_sorted_fields__tick_keeps_the_set_order():
    # dev: result.json is written with sorted keys: liquidation.* comes back before markets[0].*
    rows = [{"setting_label": "mmr=0.03, liq_fee=0.02", "setting": {"liquidation.liq_fee": "0.02",
             "markets[0].mmr": "0.03"}, "seed": 1, **{k: 1.0 for k, _, _ in METRICS}}]
    (stats,) = statistics(rows, ["markets[0].mmr", "liquidation.liq_fee"])
    assert stats["tick"] == "0.03, 0.02"
