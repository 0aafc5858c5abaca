"""`ape run set_price --market 0 --price 1650`: publish a new round on a market's mock feed."""

from decimal import Decimal
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand

from backstop.protocol.deployment import load_deployment


@click.command(cls=ConnectedProviderCommand, short_help="Set a mock feed's price (local chains)")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--market", type=int, default=0, show_default=True, help="Market id")
@click.option("--price", type=str, required=True, help="New price in USD")
def cli(network, record, market, price):
    if not network.is_local:
        raise click.UsageError("set_price drives a mock feed: local networks only")
    d = load_deployment(record)
    if not 0 <= market < len(d.feeds):
        raise click.BadParameter(f"no market {market}; markets are 0..{len(d.feeds) - 1}", param_hint="--market")
    spec = d.params.markets[market]
    receipt = d.feeds[market].set_answer(spec.feed_units(Decimal(price)), sender=accounts.test_accounts[0])
    click.echo(f"{spec.name} -> {Decimal(price):,} USD in block {receipt.block_number}")
