"""`ape run demo --network ethereum:local:foundry`: a protocol, an LP, four traders and a price drop.

Deploys from the parameter file, funds the pool (1,000,000 USD) and four traders
from the node's test accounts, opens long and short positions in both markets at
different leverage, then moves ETH down 12% and prints the margin report before
and after: who is still healthy, who is liquidatable, what the pool and the
insurance fund hold, and the invariant checks: I1 custody and I2 zero-sum at
every stage, I3 solvency and I4 no hidden bad debt whenever no liquidation is
pending (the command fails if any does not hold).
"""

from decimal import Decimal
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option
from ape.logging import logger

from backstop.protocol.deployment import ParamsError, deploy_protocol, load_params
from backstop.sim.report import report, usd
from backstop.units import wad

LP_USD = 1_000_000
ETH, BTC = "ETH / USD", "BTC / USD"
# label -> (margin deposited in USD, [(market, size in base units)]). Leverage at entry:
TRADERS = {
    "trader-1": (20_000, [(ETH, "50")]),  # 5x long ETH
    "trader-2": (5_000, [(ETH, "20")]),  # 8x long ETH: a 12% drop takes it below maintenance
    "trader-3": (10_000, [(ETH, "-30")]),  # 6x short ETH: profits from the drop
    "trader-4": (30_000, [(BTC, "1"), (ETH, "-10")]),  # cross margin: 2.3x, long BTC hedged by short ETH
}
ETH_MOVE = Decimal("-0.12")


def fund_account(d, account, usd: int, spender):
    """Mint `usd` of the mock collateral to `account` and approve `spender` for it."""
    amount = d.units(usd)
    d.token.mint(account, amount, sender=account)
    d.token.approve(spender, amount, sender=account)
    return amount


@click.command(cls=ConnectedProviderCommand, short_help="Deploy, trade, crash ETH, print margin state")
@click.option("--params", "params_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="config/local.yaml", show_default=True, help="Deployment parameter file")
@account_option(prompt=False)
def cli(network, params_path, account):
    if not network.is_local:
        # dev: the demo mints mock tokens and spends test accounts; never on a live network.
        raise click.UsageError("the demo runs on a local network only")
    try:
        params = load_params(params_path)
    except ParamsError as e:
        raise click.BadParameter(str(e), param_hint="--params") from e
    deployer = account or accounts.test_accounts[0]
    # Every role gets its own test account, never the deployer's.
    others = [a for a in accounts.test_accounts if a.address != deployer.address]
    lp, keeper, traders = others[0], others[1], dict(zip(TRADERS, others[2:]))

    # The per-transaction INFO lines would bury the tables; warnings and errors still show.
    with logger.at_level("WARNING"):
        d = deploy_protocol(params, deployer)
        click.echo(f"Backstop deployed on {network.ecosystem.name}:{network.name}: engine {d.engine.address}\n")
        market_id = {m.name: i for i, m in enumerate(params.markets)}

        d.pool.deposit(fund_account(d, lp, LP_USD, d.pool), sender=lp)
        for label, (margin, trades) in TRADERS.items():
            trader = traders[label]
            d.vault.deposit(fund_account(d, trader, margin, d.vault), sender=trader)
            for market, size in trades:
                d.engine.trade(market_id[market], wad(size), sender=trader)

        addresses = {label: a.address for label, a in traders.items()}
        before, ok_before = report(d, addresses, "after opening positions")
        click.echo(before)

        eth = params.markets[market_id[ETH]]
        new_price = eth.price * (1 + ETH_MOVE)
        d.feeds[market_id[ETH]].set_answer(eth.feed_units(new_price), sender=deployer)
        # dev: the keeper has not acted yet: I3 and I4 are for a settled book.
        after, ok_after = report(d, addresses, f"after ETH moves {ETH_MOVE:+.0%} to {new_price:,.2f}", settled=False)
        click.echo("\n" + after)

        # A keeper sweeps every trader in one batch: healthy ones are skipped.
        receipt = d.engine.liquidate_batch(list(addresses.values()), sender=keeper)
        click.echo(f"\n=== keeper {keeper.address[:10]}… liquidates in one batch ({receipt.gas_used:,} gas) ===")
        label = {a: name for name, a in addresses.items()}
        for event in receipt.decode_logs(d.engine.LiquidationSettled):
            click.echo(
                f"{label.get(event.account, event.account)}: closed {usd(event.closed_notional)} USD notional"
                f"{' (fully)' if event.fully_closed else ''}, penalty {usd(event.penalty)}, keeper reward"
                f" {usd(event.keeper_reward)}, fund share {usd(event.fund_share)}, bad debt {usd(event.bad_debt)}"
            )
        # The keeper's reward sits in its vault account (pull), so it is an account now.
        final, ok_final = report(d, {**addresses, "keeper": keeper.address}, "after the liquidations")
        click.echo("\n" + final)

    if not (ok_before and ok_after and ok_final):
        raise click.ClickException("an invariant failed")
