"""`ape run simulate --scenario NAME [--params FILE] [--set FIELD=VALUE] --traders N --seed S --out DIR`: a crash, replayed.

Deploys a fresh protocol to the connected local node (anvil, which ape starts
when none listens on config's port), funds an LP, a staked insurance fund and
a trader population, and plays the scenario step by step with the keeper in
the loop (backstop/sim/simulator.py), with the protocol parameters of FILE
(default config/local.yaml) and any `--set` applied. Writes events.jsonl,
report.json, summary.md, PNG plots and keeper.log to DIR (default
runs/<scenario>-<traders>-traders-seed-<seed>/; a rerun into it replaces
them, a directory holding anything else is refused), prints the outcome and
`event-log hash: <hex>`. `--chain revm` runs it in process instead of on a
node (the same log). Progress goes to stderr: a bar on a terminal, else a
line a minute; Ctrl-C marks events.jsonl incomplete.

`--replay DIR` (or its events.jsonl) reruns a saved run from its log's header
(scenario, parameters, seed, population) and fails unless the new log is the
same, entry for entry. The command also
fails, after writing everything, if any invariant (I1-I4) broke at any step.

Transactions go through raw JSON-RPC (backstop/chain/web3_chain.py), sent from
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

from backstop.protocol.deployment import ParamsError
from backstop.sim.scenario import load_scenario_data
from backstop.sim.settings import DEFAULT_PARAMS, apply, params_data, parse_setting
from backstop.sim.output import (EVENTS, KEEPER_LOG, prepare_out_dir, read_log, replay_difference,
                                        run_simulation)
from backstop.sim.plots import REPORT_FILES


def _scenario(ctx, param, value) -> dict:
    # dev: validated while the options are parsed, before ape starts a node.
    try:
        return load_scenario_data(value)
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None


def _params(ctx, param, value) -> dict | None:
    if value is None:
        return None
    try:
        return params_data(value)
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None


def _settings(ctx, param, value) -> dict:
    out = {}
    for text in value:
        try:
            setting = parse_setting(text)
        except ParamsError as e:
            raise click.BadParameter(str(e)) from None
        if len(setting.values) != 1:
            raise click.BadParameter(f"{setting.path}: one value per run (a sweep takes several: ape run sweep)")
        out[setting.path] = setting.values[0]
    return out


def _saved_log(ctx, param, value):
    if value is None:
        return None
    try:
        return (value, *read_log(value))
    except ParamsError as e:
        raise click.BadParameter(str(e)) from None


def default_out(name: str, traders: int, seed: int, params_path, settings: dict, replay: bool) -> Path:
    """runs/<scenario>-<N>-traders-seed-<S>[-<params file>][-<field>-<value>...][-replay]/"""
    parts = [f"{name}-{traders}-traders-seed-{seed}"]
    if params_path is not None:
        parts.append(Path(params_path).stem)
    parts += [f"{path.split('.')[-1]}-{value}" for path, value in settings.items()]
    return Path("runs") / ("-".join(parts) + ("-replay" if replay else ""))


@click.command(cls=ConnectedProviderCommand, short_help="Replay a crash scenario on a local chain")
@click.option("--scenario", default="flash-crash", show_default=True, callback=_scenario,
              help="A scenario under scenarios/ (by name) or a path to a scenario file")
@click.option("--params", "params_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help=f"Protocol parameter file  [default: {DEFAULT_PARAMS.relative_to(DEFAULT_PARAMS.parents[1])}]")
@click.option("--set", "settings", multiple=True, callback=_settings,
              help="Change one field of the scenario or the parameters: FIELD=VALUE (repeatable), "
                   "e.g. markets[0].mmr=0.03")
@click.option("--traders", type=click.IntRange(1, 5_000), default=None,
              help="Population size  [default: the scenario's]")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory  [default: runs/<scenario>-<traders>-traders-seed-<seed>/]")
@click.option("--replay", "replay_log", type=click.Path(exists=True, path_type=Path), default=None,
              callback=_saved_log,
              help="Rerun the run saved in this directory (or events.jsonl) and check its event log")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots")
@click.option("--chain", "chain_kind", type=click.Choice(["anvil", "revm"]), default="anvil", show_default=True,
              help="anvil: a node over JSON-RPC (see --node); revm: an in-process EVM, ~3x faster, the same event log")
@click.option("--node", type=click.Choice(["own", "connected"]), default="own", show_default=True,
              help="With --chain anvil. own: a fresh anvil for this run, without the --steps-tracing ape starts "
                   "its anvil with (~8x faster, MBs instead of GBs of node memory); connected: the --network's "
                   "node, e.g. an anvil you keep running to inspect the state afterwards")
def cli(provider, scenario, params_file, settings, traders, seed, out, replay_log, no_plots, chain_kind, node):
    from backstop.sim.progress import Progress
    from backstop.chain.revm_chain import Chain
    from backstop.chain.web3_chain import Web3Chain, start_anvil  # dev: after ape has connected

    data, saved = scenario, None
    params = _params(None, None, params_file)
    if replay_log:
        replay_log, header, saved = replay_log
        # dev: a format-1 log has no parameters: it ran with config/local.yaml's.
        data, seed, traders, params = header["scenario"], header["seed"], header["traders"], header.get("params")
    elif settings:
        try:
            data, params = apply(data, params if params is not None else params_data(), settings)
        except ParamsError as e:
            raise click.BadParameter(str(e), param_hint="--set") from None
    name = data["name"]
    population = traders or data["population"]["traders"]
    out = out or default_out(name, population, seed, None if replay_log else params_file, settings,
                             replay_log is not None)
    try:
        prepare_out_dir(out)
    except ParamsError as e:
        raise click.BadParameter(str(e), param_hint="--out") from None

    with ExitStack() as stack:
        if chain_kind == "revm":
            chain, where = Chain(), "revm in process"
        else:
            url = stack.enter_context(start_anvil()) if node == "own" else provider.uri
            chain = Web3Chain(url)
            try:
                client, anvil = chain.client_version(), chain.is_anvil()
            except Exception:  # noqa: BLE001  (no node there at all)
                client, anvil = None, False
            if not anvil:
                raise click.UsageError(
                    f"the simulator needs an anvil node (it impersonates its actors); {provider.network.choice} "
                    f"at {url} is not one. Use --network ethereum:local:foundry, --node own or --chain revm"
                ) from None
            where = ("a fresh anvil of its own" if node == "own" else f"the connected node at {url}") + f" ({client})"
        steps = data["steps"]
        activity = data["population"].get("activity", 0.02)
        click.echo(f"{name}, seed {seed}: {population} traders, {steps} steps on {where}")
        progress = Progress(population, steps, activity, stream=click.get_text_stream("stderr"))
        try:
            sim, report = run_simulation(data, seed, chain, out, traders=traders, plots=not no_plots,
                                         progress=progress.update, params_data=params)
        except ParamsError as e:
            raise click.BadParameter(str(e)) from None
        except KeyboardInterrupt:
            raise click.ClickException(f"interrupted at step {progress.done_steps}: {out / EVENTS} is marked "
                                       "incomplete") from None
        progress.finish()

    o = report["outcome"]
    click.echo(
        f"{report['transactions']:,} transactions in {report['wall_seconds']:.1f} s "
        f"({report['transactions_per_second']:.1f} tx/s)"
    )
    fund, debt = report["fund"], report["bad_debt"]
    empty = "never ran out" if fund["empty_step"] is None else f"ran out at step {fund['empty_step']}"
    others = "".join(f", {symbol} low {low:,.2f}" for symbol, low in list(o["min_prices"].items())[1:])
    click.echo(
        f"price low {o['min_price']:,.2f} (path alone {o['min_price_no_feedback']:,.2f}){others}; "
        f"{o['liquidations']} liquidations of {o['accounts_liquidated']} accounts over {o['steps_with_liquidations']} "
        f"steps (peak {o['peak_liquidations']}); "
        f"bad debt {o['bad_debt_usd']:,.2f} USD: fund paid {debt['paid_by_fund_usd']:,.2f}, "
        f"ADL counterparties {debt['paid_by_adl_usd']:,.2f} ({len(debt['adl_counterparties'])} accounts, "
        f"{o['adl_fills']} fills, {o['adl_volume_usd']:,.2f} USD closed); fund {fund['start_usd']:,.2f} USD at the "
        f"start, {empty}"
    )
    plots = "" if no_plots else f", {len(REPORT_FILES)} plots"
    click.echo(f"wrote {out}/: {EVENTS}, report.json, summary.md{plots}, {KEEPER_LOG}")
    click.echo(f"event-log hash: {report['event_log_hash']}")
    broken = [st for st in report["steps"] if not st["invariants_ok"]]
    if broken:
        first = broken[0]
        detail = "; ".join(f"{k}: {v[0]}" for k, v in first["invariants"].items() if v)
        raise click.ClickException(f"invariants broke at {len(broken)} steps, first at step {first['step']}: {detail}")
    unsettled = len(report["steps"]) - o["steps_settled"]
    click.echo("invariants I1-I4: held at every step" + (
        f" (I3 and I4 at the {o['steps_settled']} steps whose liquidatable accounts were all processed)"
        if unsettled else ""))
    if saved is not None:
        difference = replay_difference(saved, sim.event_lines())
        if difference:
            raise click.ClickException(f"replay differs from {replay_log}: {difference}")
        click.echo(f"replay: the same event log as {replay_log}, entry for entry")
