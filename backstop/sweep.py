"""A scenario over several seeds or parameter values, one process and one
chain per run, outcomes side by side (`ape run sweep`).

A variant is the scenario file with one field replaced (`--set
market_depth.usd_per_pct=500000,2000000,infinite`); every variant is validated
before any chain starts, so a bad value fails at once with the field's name.
Each run gets its own anvil on a free port (or its own revm EVM, `--chain
revm`, ~10x faster) and writes its usual outputs under `<out>/<label>/`; the
sweep writes sweep.json, sweep.md and sweep.png beside them.
"""

import copy
import itertools
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from backstop.deployment import ParamsError
from backstop.scenario import parse_scenario


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its directory name, seed, and the value of the swept field (None: seeds only)."""

    label: str
    seed: int
    param: str | None
    value: object
    scenario_data: dict


def parse_seeds(text: str) -> list[int]:
    """'1-4,9' -> [1, 2, 3, 4, 9]."""
    seeds = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            seeds += range(int(low), int(high or low) + 1)
    except ValueError:
        raise ParamsError("--seeds", f"must be integers or ranges like 1-4,9, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ParamsError("--seeds", f"must name at least one seed, none negative, got {text!r}")
    return list(dict.fromkeys(seeds))


def parse_setting(text: str) -> tuple[str, list]:
    """'market_depth.usd_per_pct=500000,infinite' -> (path, [500000, 'infinite'])."""
    path, eq, values = text.partition("=")
    if not eq or not path or not values:
        raise ParamsError("--set", f"must be FIELD=VALUE[,VALUE...], got {text!r}")
    return path.strip(), [yaml.safe_load(v) for v in values.split(",")]


def variant(data: dict, path: str, value) -> dict:
    """`data` with the field at dotted `path` set to `value`, validated."""
    out = copy.deepcopy(data)
    node, keys = out, path.split(".")
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            raise ParamsError(path, "no such field in the scenario")
        node = node[key]
    if keys[-1] not in node:
        raise ParamsError(path, "no such field in the scenario")
    node[keys[-1]] = value
    parse_scenario(out)
    return out


def plan(data: dict, seeds: list[int], setting: str | None, traders: int | None = None) -> list[Run]:
    """Every (value, seed) run, each scenario already validated."""
    if traders is not None:
        data = variant(data, "population.traders", traders)
    if setting is None:
        return [Run(f"seed-{seed}", seed, None, None, data) for seed in seeds]
    path, values = parse_setting(setting)
    variants = [(value, variant(data, path, value)) for value in values]
    return [
        Run(f"{path.split('.')[-1]}-{value}-seed-{seed}", seed, path, value, scenario)
        for (value, scenario), seed in itertools.product(variants, seeds)
    ]


def run_one(run: Run, out_dir: str, chain_kind: str, plots: bool) -> dict:
    """One run in this (worker) process on a chain of its own: its outcome row."""
    from backstop.revm_chain import Chain
    from backstop.simulation_output import run_simulation
    from backstop.web3_chain import Web3Chain, start_anvil

    target = Path(out_dir) / run.label
    if chain_kind == "revm":
        sim, report = run_simulation(run.scenario_data, run.seed, Chain(), target, plots=plots)
    else:
        with start_anvil() as url:
            sim, report = run_simulation(run.scenario_data, run.seed, Web3Chain(url), target, plots=plots)
    return {"label": run.label, "seed": run.seed, "value": run.value, "event_log_hash": report["event_log_hash"],
            "transactions": report["transactions"], "wall_seconds": report["wall_seconds"], **report["outcome"]}


def sweep(runs: list[Run], out_dir: Path, chain_kind: str = "anvil", jobs: int = 2, plots: bool = False,
          on_done=None) -> list[dict]:
    """Run everything, `jobs` processes at a time; rows in plan order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, r, str(out_dir), chain_kind, plots) for r in runs]
        rows = []
        for future in futures:
            rows.append(future.result())
            if on_done:
                on_done(rows[-1])
    write_sweep(rows, runs, out_dir)
    return rows


def write_sweep(rows: list[dict], runs: list[Run], out_dir: Path):
    param = runs[0].param
    (out_dir / "sweep.json").write_text(json.dumps({"param": param, "rows": rows}, indent=1) + "\n")
    (out_dir / "sweep.md").write_text(table(rows, param, runs[0].scenario_data["name"]))
    from backstop.plots import plot_sweep

    # dev: a value like 'infinite' has no place on an axis: the table has it.
    key = "value" if param else "seed"
    numeric = [r for r in rows if _numeric(r[key])]
    if numeric:
        plot_sweep(numeric, key, out_dir)


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def table(rows: list[dict], param: str | None, name: str) -> str:
    head = f"# Sweep of {name}" + (f" over {param}" if param else " over seeds")
    lines = [head, "", "| run | bad debt (USD) | fund drawdown (USD) | ADL volume (USD) | ADL fills | peak liq./step "
             "| liquidations | accounts liquidated | low price | I1-I4 | hash |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['bad_debt_usd']:,.2f} | {r['fund_drawdown_usd']:,.2f} | {r['adl_volume_usd']:,.2f} | "
            f"{r['adl_fills']} | {r['peak_liquidations']} | {r['liquidations']} | {r['accounts_liquidated']} | "
            f"{r['min_price']:,.2f} | "
            f"{'ok' if r['invariants_ok'] else 'BROKEN'} | `{r['event_log_hash'][:12]}` |"
        )
    return "\n".join(lines) + "\n"
