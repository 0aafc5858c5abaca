"""`ape run populate --deployment FILE --traders N`: open leveraged positions on a deployment.

For keeper operators and tests on a local chain: funds an LP (if the pool is
empty) and N traders from the node's test accounts, and opens one position
each at the given leverage, alternating long and short if asked. Prints each
trader's address and liquidation price, so a price move can be aimed.

Test account 0 deploys and account 1 is the LP; the last `--keepers` accounts
(default 2: the bots of the README and the tests run as TEST::8 and TEST::9)
are never traders, so a keeper never liquidates itself. Exactly N positions
are opened, or none: a request for more traders than the accounts left is
refused before anything is sent. Mock collateral is minted; an existing token
(`collateral.address` in the parameter file) must already be held.
"""

from decimal import Decimal
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand

from backstop.protocol.deployment import load_deployment
from backstop.protocol.local_tools import split_test_accounts
from backstop.protocol.validation import ParamsError
from backstop.sim.report import usd
from backstop.units import wad


def _fund(d, account, amount: int, spender):
    """`amount` token units approved to `spender` from `account`: minted on the mock, else already held."""
    if d.token_is_mock:
        d.token.mint(account, amount, sender=account)
    elif (held := d.token.balanceOf(account)) < amount:
        raise click.UsageError(f"{account.address} holds {held} token units of the {amount} needed; the "
                               f"collateral {d.token.address} is not a mock: fund the account at its source")
    d.token.approve(spender, amount, sender=account)


@click.command(cls=ConnectedProviderCommand, short_help="Open leveraged positions from test accounts")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--traders", type=click.IntRange(1), default=5, show_default=True, help="How many test accounts trade")
@click.option("--keepers", type=click.IntRange(0), default=2, show_default=True,
              help="How many test accounts, counted from the last, are left for keepers")
@click.option("--margin", type=click.IntRange(10), default=2_000, show_default=True, help="USD of margin each")
@click.option("--leverage", type=click.FloatRange(0.1, 9.5), default=5.0, show_default=True)
@click.option("--market", type=int, default=0, show_default=True, help="Market id")
@click.option("--both-sides", is_flag=True, help="Alternate long and short")
def cli(network, record, traders, keepers, margin, leverage, market, both_sides):
    if not network.is_local:
        raise click.UsageError("populate trades from the node's test accounts: local networks only")
    d = load_deployment(record)
    if not 0 <= market < len(d.feeds):
        raise click.BadParameter(f"no market {market}; markets are 0..{len(d.feeds) - 1}", param_hint="--market")
    try:
        lp, chosen = split_test_accounts(list(accounts.test_accounts), traders, keepers)
    except ParamsError as e:
        raise click.BadParameter(str(e).split(": ", 1)[1], param_hint="--traders") from None
    if d.pool.totalSupply() == 0:
        amount = d.units(1_000_000)
        _fund(d, lp, amount, d.pool)
        d.pool.deposit(amount, sender=lp)
    # dev: every trader's collateral is checked before the first trade: N positions or none.
    amount = d.units(margin)
    if not d.token_is_mock:
        for trader in chosen:
            _fund(d, trader, amount, d.vault)
    price = d.oracle.price(market)
    for i, trader in enumerate(chosen):
        if d.token_is_mock:
            _fund(d, trader, amount, d.vault)
        d.vault.deposit(amount, sender=trader)
        size = wad(Decimal(margin) * Decimal(str(leverage))) * 10**18 // price
        if both_sides and i % 2:
            size = -size
        d.engine.trade(market, size, sender=trader)
        click.echo(f"{trader.address}  size {Decimal(size) / 10**18:+.4f}  "
                   f"liquidation price {usd(d.lens.liquidation_price(trader, market))}")
