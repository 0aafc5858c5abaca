"""`ape run liquidation-map --network ...`: the liquidation map of a live deployment.

Per market, the USD of positions that become liquidatable at each price level
below and above the mark (backstop/sim/liquidation_map.py), over every account
that ever traded: the accounts of the engine's `Trade` logs from `--from-block`
(default: the record's deployment block), read in chunks as the keeper reads
them (backstop/keeper/history.py). Read-only: it sends no transaction, on any
network.

The file's name is the command's: `ape run` names a script after its file
(`scripts/liquidation-map.py` is `liquidation-map`; a `liquidation_map.py`
would be `ape run liquidation_map`).
"""

import json
from pathlib import Path

import click
from ape import chain
from ape.cli import ConnectedProviderCommand
from eth_utils import keccak, to_checksum_address

from backstop.keeper.history import DEFAULT_CHUNK, HistoryScan
from backstop.protocol.deployment import DeploymentError, load_deployment, read_addresses
from backstop.sim.liquidation_map import liquidation_map, plot_liquidation_maps


def _markets(text: str, count: int) -> list[int]:
    if text.strip().lower() == "all":
        return list(range(count))
    try:
        market = int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither a market id nor 'all'", param_hint="--market") from None
    if not 0 <= market < count:
        raise click.BadParameter(f"no market {market}; markets are 0..{count - 1} or 'all'", param_hint="--market")
    return [market]


def _traders(engine, from_block: int, head: int) -> list[str]:
    """Every account of the engine's Trade logs in blocks from_block..head."""
    topic = "0x" + keccak(text=engine.Trade.abi.selector).hex()

    def fetch(first: int, last: int) -> list[str]:
        logs = chain.provider.web3.eth.get_logs({"address": str(engine.address), "fromBlock": first,
                                                 "toBlock": last, "topics": [topic]})
        # dev: the account is Trade's first indexed field: the low 20 bytes of the second topic.
        return [to_checksum_address(bytes(log["topics"][1])[-20:]) for log in logs]

    scan = HistoryScan(fetch, deployment_id=str(engine.address), start_block=from_block, chunk=DEFAULT_CHUNK)
    scan.scan_to(head)
    return sorted(scan.accounts)


@click.command(cls=ConnectedProviderCommand, short_help="Print the liquidation map of a deployment")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--market", "market_text", default="all", show_default=True, help="Market id, or 'all'")
@click.option("--span", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5, show_default=True,
              help="Price levels from mark x (1 - span) to mark x (1 + span)")
@click.option("--bins", type=click.IntRange(1, 1000), default=40, show_default=True, help="Price levels in the span")
@click.option("--from-block", type=click.IntRange(0), default=None,
              help="First block of the Trade log scan for accounts  [default: the record's deployment block]")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PNG, one panel per market")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the maps as JSON (USD floats)")
def cli(network, record, market_text, span, bins, from_block, plot_path, json_path):
    try:
        d = load_deployment(record)
    except DeploymentError as e:
        raise click.UsageError(str(e)) from None
    markets = _markets(market_text, len(d.params.markets))
    head = chain.blocks.head.number
    start = read_addresses(record)["block_number"] if from_block is None else from_block
    if start > head:
        raise click.BadParameter(f"block {start} is after the chain's head {head}", param_hint="--from-block")
    traders = _traders(d.engine, start, head)
    click.echo(f"{len(traders)} accounts traded in blocks {start}..{head} on {chain.provider.network_choice}")
    maps = [liquidation_map(d, traders, m, span=span, bins=bins) for m in markets]
    for m in maps:
        click.echo("")
        click.echo(m.format_text())
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"network": chain.provider.network_choice, "block": head, "from_block": start,
                                         "accounts": traders, "maps": [m.to_dict() for m in maps]}, indent=1) + "\n")
        click.echo(f"wrote {json_path}")
    if plot_path is not None:
        plot_liquidation_maps(maps, plot_path, f"Liquidation map at block {head}")
        click.echo(f"wrote {plot_path}")
