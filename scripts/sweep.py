"""`ape run sweep --scenario NAME --seeds 1-8 [--set FIELD=V1,V2 ...] [--params FILE]`: outcomes and their spread.

Runs the crash simulator once per seed and per setting of a grid (each
`--set` a field of the scenario or of the protocol parameters over values;
several make every combination), each run a task on Dask distributed: a
local cluster of `--jobs` worker processes, or the cluster whose scheduler is
at `--scheduler` (backstop/sim/sweep.py). Every run is validated before anything
starts. Writes each run's files as it finishes, skips the runs a previous
sweep into the same directory finished, then tabulates per setting the mean,
p50, p95 and max of bad debt, fund drawdown, ADL volume and accounts
liquidated across seeds, with the worst seed and the command that replays it.

    ape run sweep --scenario flash-crash --seeds 1-8 --set markets[0].mmr=0.03,0.05,0.07 --chain revm
"""

import os
from pathlib import Path

import click

from backstop.protocol.deployment import ParamsError
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import params_data
from backstop.sim.sweep import SweepError, parse_seeds, plan, statistics, statistics_table, sweep, worst_runs


@click.command(short_help="Run a scenario over seeds and a grid of settings on a Dask cluster")
@click.option("--scenario", default="flash-crash", show_default=True, help="Scenario name or file")
@click.option("--seeds", default="1-4", show_default=True, help="Seeds: 1-4,9")
@click.option("--set", "settings", multiple=True,
              help="A field of the scenario or the protocol parameters over values: FIELD=V1,V2,... "
                   "(repeat for a grid), e.g. markets[0].mmr=0.03,0.05 or market_depth.usd_per_pct=500000,infinite")
@click.option("--params", "params_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Protocol parameter file  [default: config/local.yaml]")
@click.option("--traders", type=click.IntRange(1, 5_000), default=None, help="Population size for every run")
@click.option("--jobs", type=click.IntRange(1), default=min(4, os.cpu_count() or 1), show_default=True,
              help="Worker processes of the local cluster (ignored with --scheduler)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786  [default: a local cluster]")
@click.option("--chain", "chain_kind", type=click.Choice(["anvil", "revm"]), default="anvil", show_default=True,
              help="A node per run, or revm in process (~3x faster, the same event logs)")
@click.option("--plots", is_flag=True, help="Also write each run's PNG plots")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory  [default: runs/sweep-<scenario>-<traders>-traders/]")
def cli(scenario, seeds, settings, params_file, traders, jobs, scheduler, chain_kind, plots, out):
    try:
        data = load_scenario_data(scenario)
        params = params_data(params_file) if params_file else None
        runs = plan(data, parse_seeds(seeds), list(settings), traders, params)
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None
    population = runs[0].scenario_data["population"]["traders"]
    out = out or Path("runs") / f"sweep-{data['name']}-{population}-traders"
    where = f"the Dask cluster at {scheduler}" if scheduler else f"a local Dask cluster of {jobs} workers"
    click.echo(f"{len(runs)} runs of {data['name']} ({population} traders) on {chain_kind}, on {where}, into {out}/")
    done = [0]

    def report(row, verb="done"):
        done[0] += 1
        click.echo(f"  [{done[0]}/{len(runs)}] {row['label']}: {verb}, {row['wall_seconds']:.1f} s, "
                   f"hash {row['event_log_hash'][:12]}")

    try:
        rows = sweep(runs, out, chain_kind, jobs, plots, scheduler=scheduler, on_done=report,
                     on_skip=lambda row: report(row, "finished before, skipped"))
    except (ParamsError, SweepError) as e:
        raise click.ClickException(str(e)) from None

    stats = statistics(rows)
    click.echo("")
    click.echo(statistics_table(stats))
    _, heading, unit, value, row = worst_runs(stats, rows)[0]
    click.echo(f"worst {heading.lower()}: {value:,.2f} {unit} at {row['setting_label']}, seed {row['seed']}; "
               f"replay it: ape run simulate --replay {out / row['label']} --chain revm")
    click.echo(f"wrote {out}/: sweep.json, sweep.md, sweep.png and a directory per run")
    broken = [r["label"] for r in rows if not r["invariants_ok"]]
    if broken:
        raise click.ClickException(f"an invariant broke in {len(broken)} of {len(rows)} runs ({', '.join(broken)}): "
                                   "see their summary.md")
