"""`ape run deploy --network ethereum:local:foundry`: deploy a full protocol and record its addresses.

Reads the parameter file (default config/local.yaml), deploys and wires the
token, vault, oracle and feeds, clearinghouse, pool, insurance fund and lens,
lists every market, and
uses an existing collateral token (`collateral.address`) and existing feeds
(`markets[i].feed`) where the file names them, each checked first; then
writes the addresses to deployments/<ecosystem>.<network>.json (local records are
git-ignored: a local chain dies with its node).
"""

from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from backstop.protocol.deployment import ParamsError, deploy_protocol, load_params, write_addresses


def deployer_or_default(account, network):
    """The `--account` given, else on a local network the first test account (funded by the node)."""
    if account is not None:
        return account
    if not network.is_local:
        raise click.UsageError(f"--account is required on {network.choice}")
    return accounts.test_accounts[0]


@click.command(cls=ConnectedProviderCommand, short_help="Deploy Backstop and write its addresses")
@click.option("--params", "params_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="config/local.yaml", show_default=True, help="Deployment parameter file")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Address file [default: deployments/<ecosystem>.<network>.json]")
@account_option(prompt=False)
def cli(ecosystem, network, provider, params_path, out, account):
    # Validate first: a bad file fails naming its field, before any gas is spent.
    try:
        params = load_params(params_path)
    except ParamsError as e:
        raise click.BadParameter(str(e), param_hint="--params") from e
    deployer = deployer_or_default(account, network)
    try:
        # dev: an existing token or feed the file names is checked before anything is deployed.
        deployment = deploy_protocol(params, deployer)
    except ParamsError as e:
        raise click.BadParameter(str(e), param_hint="--params") from e
    out = out or Path("deployments") / f"{ecosystem.name}.{network.name}.json"
    write_addresses(out, deployment)

    click.echo(f"\nBackstop deployed on {provider.network_choice} by {deployer.address}")
    for role, address in deployment.addresses().items():
        if isinstance(address, dict):
            for name, feed in address.items():
                click.echo(f"  {'feed ' + name:<22}{feed}")
        else:
            click.echo(f"  {role:<22}{address}")
    click.echo(f"wrote {out}")
