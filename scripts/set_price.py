"""`ape run set_price --market 0 --price 1650`: publish a new round on a market's mock feed.

Only a feed this deployment made (a MockAggregator) can be moved from here: a
market on an existing feed (`markets[i].feed` in the parameter file) is moved at
its source. A price outside the market's band, or a move beyond the guard's
deviation from the last refreshed price, is published but warned about: the
oracle will refuse the first and guard the market on the second.
"""

from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand

from backstop.protocol.deployment import load_deployment
from backstop.protocol.local_tools import parse_price, price_warnings
from backstop.protocol.validation import ParamsError


@click.command(cls=ConnectedProviderCommand, short_help="Set a mock feed's price (local chains)")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--market", type=int, default=0, show_default=True, help="Market id")
@click.option("--price", "price_text", type=str, required=True, help="New price in USD")
def cli(network, record, market, price_text):
    try:
        price = parse_price(price_text)
    except ParamsError as e:
        raise click.BadParameter(str(e).split(": ", 1)[1], param_hint="--price") from None
    if not network.is_local:
        raise click.UsageError("set_price drives a mock feed: local networks only")
    d = load_deployment(record)
    if not 0 <= market < len(d.feeds):
        raise click.BadParameter(f"no market {market}; markets are 0..{len(d.feeds) - 1}", param_hint="--market")
    spec = d.params.markets[market]
    if not d.feed_is_mock(market):
        raise click.UsageError(f"{spec.name}'s feed {spec.feed} is not a mock this deployment made: "
                               "move it at its source")
    for warning in price_warnings(spec, price, d.oracle.last(market).price):
        click.echo(f"warning: {warning}", err=True)
    receipt = d.feeds[market].set_answer(spec.feed_units(price), sender=accounts.test_accounts[0])
    click.echo(f"{spec.name} -> {price:,} USD in block {receipt.block_number}")
