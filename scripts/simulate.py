"""`ape run simulate --scenario NAME --traders N --seed S --out DIR`: a crash, replayed.

Deploys a fresh protocol to the connected local node (anvil, which ape starts
when none listens on config's port), funds an LP, a staked insurance fund and
a trader population, and plays the scenario step by step with the keeper in
the loop (backstop/simulator.py). Writes events.jsonl, report.json, summary.md,
PNG plots and keeper.log to DIR (default runs/<scenario>-<seed>/), prints the
outcome and `event-log hash: <hex>`.

`--replay DIR` (or its events.jsonl) reruns a saved run from its log's header
and fails unless the new log is the same, entry for entry. The command also
fails, after writing everything, if any invariant (I1-I4) broke at any step.

Transactions go through raw JSON-RPC (backstop/web3_chain.py), sent from
accounts the node impersonates: ape's own per-call overhead would make a
500-trader run take ten times as long. By default the run gets an anvil of
its own (`--node own`): ape starts its local anvil with --steps-tracing,
which keeps every step of every call in memory (GBs within a minute here) and
makes the same run ~8x slower. `--node connected` uses the --network's node.
"""

from contextlib import ExitStack
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from backstop.deployment import ParamsError
from backstop.scenario import load_scenario_data
from backstop.simulation_output import EVENTS, KEEPER_LOG, read_log, replay_difference, run_simulation
from backstop.plots import REPORT_FILES


def _scenario(ctx, param, value) -> dict:
    # dev: validated while the options are parsed, before ape starts a node.
    try:
        return load_scenario_data(value)
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None


def _saved_log(ctx, param, value):
    if value is None:
        return None
    try:
        return (value, *read_log(value))
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None


@click.command(cls=ConnectedProviderCommand, short_help="Replay a crash scenario on a local chain")
@click.option("--scenario", default="flash-crash", show_default=True, callback=_scenario,
              help="A scenario under scenarios/ (by name) or a path to a scenario file")
@click.option("--traders", type=click.IntRange(1, 5_000), default=None,
              help="Population size  [default: the scenario's]")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory  [default: runs/<scenario>-<seed>/]")
@click.option("--replay", "replay_log", type=click.Path(exists=True, path_type=Path), default=None,
              callback=_saved_log,
              help="Rerun the run saved in this directory (or events.jsonl) and check its event log")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots")
@click.option("--node", type=click.Choice(["own", "connected"]), default="own", show_default=True,
              help="own: a fresh anvil for this run, without the --steps-tracing ape starts its anvil with "
                   "(~8x faster, MBs instead of GBs of node memory); connected: the --network's node, "
                   "e.g. an anvil you keep running to inspect the state afterwards")
def cli(provider, scenario, traders, seed, out, replay_log, no_plots, node):
    from backstop.web3_chain import Web3Chain, start_anvil  # dev: after ape has connected

    data, saved = scenario, None
    if replay_log:
        replay_log, header, saved = replay_log
        data, seed, traders = header["scenario"], header["seed"], header["traders"]
    name = data["name"]
    out = out or Path("runs") / (f"{name}-{seed}" + ("-replay" if replay_log else ""))

    with ExitStack() as stack:
        url = stack.enter_context(start_anvil()) if node == "own" else provider.uri
        chain = Web3Chain(url)
        try:
            client = chain._rpc("web3_clientVersion", [])
            chain._rpc("anvil_nodeInfo", [])
        except Exception:  # noqa: BLE001
            raise click.UsageError(
                f"the simulator needs an anvil node (it impersonates its actors); {provider.network.choice} "
                f"at {url} is not one. Use --network ethereum:local:foundry, or --node own"
            ) from None
        steps = data["steps"]
        population = traders or data["population"]["traders"]
        where = "a fresh anvil of its own" if node == "own" else f"the connected node at {url}"
        click.echo(f"{name}, seed {seed}: {population} traders, {steps} steps on {where} ({client})")
        with click.progressbar(length=population + steps, label="setting up and playing", show_pos=True,
                               file=click.get_text_stream("stderr")) as bar:
            sim, report = run_simulation(data, seed, chain, out, traders=traders, plots=not no_plots,
                                         progress=bar.update)

    o = report["outcome"]
    click.echo(
        f"{report['transactions']:,} transactions in {report['wall_seconds']:.1f} s "
        f"({report['transactions_per_second']:.1f} tx/s)"
    )
    click.echo(
        f"price low {o['min_price']:,.2f} (path alone {o['min_price_no_feedback']:,.2f}); "
        f"{o['liquidations']} liquidations of {o['accounts_liquidated']} accounts over {o['steps_with_liquidations']} "
        f"steps (peak {o['peak_liquidations']}); "
        f"bad debt {o['bad_debt_usd']:,.2f} USD; fund drawn {o['fund_draw_usd']:,.2f} USD "
        f"(drawdown {o['fund_drawdown_usd']:,.2f}); ADL {o['adl_fills']} fills, {o['adl_volume_usd']:,.2f} USD"
    )
    plots = "" if no_plots else f", {len(REPORT_FILES)} plots"
    click.echo(f"wrote {out}/: {EVENTS}, report.json, summary.md{plots}, {KEEPER_LOG}")
    click.echo(f"event-log hash: {report['event_log_hash']}")
    broken = [st for st in report["steps"] if not st["invariants_ok"]]
    if broken:
        first = broken[0]
        detail = "; ".join(f"{k}: {v[0]}" for k, v in first["invariants"].items() if v)
        raise click.ClickException(f"invariants broke at {len(broken)} steps, first at step {first['step']}: {detail}")
    click.echo("invariants I1-I4: held at every step")
    if saved is not None:
        difference = replay_difference(saved, sim.event_lines())
        if difference:
            raise click.ClickException(f"replay differs from {replay_log}: {difference}")
        click.echo(f"replay: the same event log as {replay_log}, entry for entry")
