"""`ape run withdraw_rewards --account ALIAS`: take a keeper's rewards out of the vault.

A keeper's rewards are credited to its collateral in the vault (pull, no
callbacks: SPEC 5.3); this withdraws them (all, or `--amount` USD) to the
keeper or to `--to`, through the engine's `withdraw` (a keeper without
positions needs no price). On a local network the account defaults to test
account 9, the one the README's bot runs as.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from backstop.keeper.money import usd
from backstop.protocol.deployment import load_deployment
from backstop.protocol.params import _address
from backstop.protocol.validation import ParamsError


@click.command(cls=ConnectedProviderCommand, short_help="Withdraw a keeper's rewards from the vault")
@click.option("--deployment", "record", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="deployments/ethereum.local.json", show_default=True)
@click.option("--amount", "amount_text", default="all", show_default=True, help="USD to withdraw, or `all`")
@click.option("--to", "to_text", default=None, help="Receiver [default: the keeper]")
@account_option(prompt=False)
def cli(network, record, amount_text, to_text, account):
    if account is None:
        if not network.is_local:
            raise click.UsageError(f"--account (the keeper's) is required on {network.choice}")
        account = accounts.test_accounts[9]
    receiver = str(account.address)
    if to_text is not None:
        try:
            receiver = _address({"to": to_text}, "to", "--to")
        except ParamsError as e:
            raise click.BadParameter(str(e).split(": ", 1)[1], param_hint="--to") from None
    d = load_deployment(record)
    scale = 10 ** (18 - d.decimals)
    held_wad = int(d.vault.collateral(account))
    if amount_text == "all":
        units = max(held_wad, 0) // scale
    else:
        try:
            wanted = Decimal(amount_text.replace(",", ""))
        except InvalidOperation:
            raise click.BadParameter(f"{amount_text!r} is not a number", param_hint="--amount") from None
        if not wanted.is_finite() or wanted <= 0:
            raise click.BadParameter(f"must be above 0 USD, got {amount_text!r}", param_hint="--amount")
        units = int(wanted * 10**d.decimals)
        if units * scale > held_wad:
            raise click.BadParameter(f"{wanted:,} USD asked, {usd(held_wad)} held", param_hint="--amount")
    if units == 0:
        raise click.UsageError(f"{account.address} holds {usd(held_wad)} in the vault: nothing to withdraw")
    d.engine.withdraw(units, receiver, sender=account)
    click.echo(f"withdrew {usd(units * scale)} ({units:,} token units) to {receiver}; "
               f"{usd(int(d.vault.collateral(account)))} left in the vault")
