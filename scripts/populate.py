"""`ape run populate --deployment FILE --traders N`: open leveraged positions on a deployment.

For keeper operators and tests on a local chain: funds an LP (if the pool is
empty) and N traders from the node's test accounts, and opens one ETH position
each at the given leverage, alternating long and short if asked. Prints each
trader's address and liquidation price, so a price move can be aimed.
"""

from decimal import Decimal
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand

from backstop.protocol.deployment import load_deployment
from backstop.sim.report import usd
from backstop.units import wad


@click.command(cls=ConnectedProviderCommand, short_help="Open leveraged positions from test accounts")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--traders", type=click.IntRange(1, 9), default=5, show_default=True,
              help="How many test accounts trade (account 0 deploys, the last one is left for a keeper)")
@click.option("--margin", type=click.IntRange(10), default=2_000, show_default=True, help="USD of margin each")
@click.option("--leverage", type=click.FloatRange(0.1, 9.5), default=5.0, show_default=True)
@click.option("--market", type=int, default=0, show_default=True, help="Market id")
@click.option("--both-sides", is_flag=True, help="Alternate long and short")
def cli(network, record, traders, margin, leverage, market, both_sides):
    if not network.is_local:
        raise click.UsageError("populate mints mock tokens: local networks only")
    d = load_deployment(record)
    lp, *pool_of_traders = accounts.test_accounts[1:]
    if d.pool.totalSupply() == 0:
        amount = d.units(1_000_000)
        d.token.mint(lp, amount, sender=lp)
        d.token.approve(d.pool, amount, sender=lp)
        d.pool.deposit(amount, sender=lp)
    price = d.oracle.price(market)
    for i, trader in enumerate(pool_of_traders[:traders]):
        amount = d.units(margin)
        d.token.mint(trader, amount, sender=trader)
        d.token.approve(d.vault, amount, sender=trader)
        d.vault.deposit(amount, sender=trader)
        size = wad(Decimal(margin) * Decimal(str(leverage))) * 10**18 // price
        if both_sides and i % 2:
            size = -size
        d.engine.trade(market, size, sender=trader)
        click.echo(f"{trader.address}  size {Decimal(size) / 10**18:+.4f}  "
                   f"liquidation price {usd(d.lens.liquidation_price(trader, market))}")
