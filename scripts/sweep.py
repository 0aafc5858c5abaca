"""`ape run sweep --scenario NAME --seeds 1-8 [--set FIELD=V1,V2] --jobs 2`: outcomes side by side.

Runs the crash simulator once per seed (and per value of one scenario field),
each run in its own process on its own chain, and tabulates bad debt, fund
drawdown, ADL volume and peak liquidations (backstop/sweep.py). Every variant
is validated before anything starts.

    ape run sweep --scenario cascade-2025-10-10 --seeds 1-4 --set market_depth.usd_per_pct=250000,500000,infinite
"""

import os
from pathlib import Path

import click

from backstop.deployment import ParamsError
from backstop.scenario import load_scenario_data
from backstop.sweep import parse_seeds, plan, sweep, table


@click.command(short_help="Run a scenario over seeds or parameter values in parallel")
@click.option("--scenario", default="flash-crash", show_default=True, help="Scenario name or file")
@click.option("--seeds", default="1-4", show_default=True, help="Seeds: 1-4,9")
@click.option("--set", "setting", default=None, help="One scenario field over values: FIELD=V1,V2,...")
@click.option("--traders", type=click.IntRange(1, 5_000), default=None, help="Population size for every run")
@click.option("--jobs", type=click.IntRange(1), default=min(4, os.cpu_count() or 1), show_default=True,
              help="Runs at once (each has its own chain)")
@click.option("--chain", "chain_kind", type=click.Choice(["anvil", "revm"]), default="anvil", show_default=True,
              help="A node per run, or revm in process (~10x faster, same event logs)")
@click.option("--plots", is_flag=True, help="Also write each run's PNG plots")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory  [default: runs/sweep-<scenario>/]")
def cli(scenario, seeds, setting, traders, jobs, chain_kind, plots, out):
    try:
        data = load_scenario_data(scenario)
        runs = plan(data, parse_seeds(seeds), setting, traders)
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None
    out = out or Path("runs") / f"sweep-{data['name']}"
    click.echo(f"{len(runs)} runs of {data['name']} on {chain_kind}, {jobs} at a time, into {out}/")
    rows = sweep(runs, out, chain_kind, jobs, plots,
                 on_done=lambda r: click.echo(f"  {r['label']}: {r['wall_seconds']:.1f} s, hash {r['event_log_hash'][:12]}"))
    click.echo(table(rows, runs[0].param, data["name"]))
    if not all(r["invariants_ok"] for r in rows):
        raise click.ClickException("an invariant broke in at least one run: see its summary.md")
