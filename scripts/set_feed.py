"""`ape run set_feed --market 0 --feed 0xADDRESS`: point a market at another existing feed.

The feed is checked first as a deployment checks one (code at the address,
`decimals`, `latestRoundData` and `getRoundData` answering, the market's feed
decimals, a fresh answer inside the band: each failure one line naming the
field); then the oracle's owner calls `set_feed` with the market's recorded
heartbeat, band and guard settings, and the deployment record is rewritten
with the new address, so the keeper and every tool follow the feed the
oracle reads (and `set_price` refuses to move it: it is not a mock).
"""

import dataclasses
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from backstop.protocol.deployment import ApeDeployer, load_deployment, record_feed
from backstop.protocol.params import _address
from backstop.protocol.validation import ParamsError
from backstop.protocol.wiring import existing_feed
from backstop.units import wad


@click.command(cls=ConnectedProviderCommand, short_help="Point a market at an existing feed")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--market", type=int, default=0, show_default=True, help="Market id")
@click.option("--feed", "feed_text", type=str, required=True, help="Address of a Chainlink-shaped feed")
@account_option(prompt=False)
def cli(network, record, market, feed_text, account):
    try:
        feed = _address({"feed": feed_text}, "feed", "--market")
    except ParamsError as e:
        raise click.BadParameter(str(e).split(": ", 1)[1], param_hint="--feed") from None
    d = load_deployment(record)
    if not 0 <= market < len(d.feeds):
        raise click.BadParameter(f"no market {market}; markets are 0..{len(d.feeds) - 1}", param_hint="--market")
    if account is None:
        if not network.is_local:
            raise click.UsageError(f"--account (the oracle's owner) is required on {network.choice}")
        account = accounts.test_accounts[0]
    if str(account.address) != str(d.oracle.owner()):
        raise click.UsageError(f"{account.address} is not the oracle's owner ({d.oracle.owner()})")
    spec = dataclasses.replace(d.params.markets[market], feed=feed, price=None)
    try:
        existing_feed(ApeDeployer(account), spec, f"markets[{market}]")
    except ParamsError as e:
        raise click.BadParameter(str(e), param_hint="--feed") from None
    d.oracle.set_feed(market, feed, spec.heartbeat, spec.feed_units(spec.band_min), spec.feed_units(spec.band_max),
                      wad(spec.max_deviation), spec.confirm_rounds, spec.confirm_seconds, sender=account)
    record_feed(record, market, feed)
    click.echo(f"{spec.name}: the oracle reads {feed}; {record} updated")
