"""Backstop keeper bot (silverback).

    silverback run bots.keeper:bot --network ethereum:local:foundry

Environment:
    BACKSTOP_DEPLOYMENT      address record written by `ape run deploy`
                             (default deployments/ethereum.local.json)
    SILVERBACK_SIGNER_ALIAS  the keeper's ape account (`TEST::N` for a local test
                             account); without one the bot runs dry: it logs what
                             it would liquidate and sends nothing.

On every block and on every price update it finds the liquidatable accounts
with the lens's batch health view and liquidates them in batches sized to the
block gas limit; accounts the engine sends to ADL (`AdlRequired`) are
deleveraged against the best-ranked opposite positions, and every position's
ADL quantile is logged. Accounts are discovered from the engine's Trade events (the
history at startup, then live). A lost race or a failed transaction is logged
and the next block tries again.
"""

import os

from ape import chain
from ape.logging import logger
from silverback import SilverbackBot

from backstop.protocol.deployment import load_deployment
from backstop.keeper.logic import ApeChain, Keeper

bot = SilverbackBot()
deployment = load_deployment(os.environ.get("BACKSTOP_DEPLOYMENT", "deployments/ethereum.local.json"))
# dev: ape's logger, so the keeper's lines (batches, ADL fills, quantiles) reach the bot's output.
keeper = Keeper(ApeChain(deployment, bot.signer), block_gas_limit=chain.blocks.head.gas_limit, log=logger)


@bot.on_startup()
def backfill(startup_state):
    """Track every account that ever traded."""
    for log in deployment.engine.Trade.range(0, chain.blocks.head.number + 1):
        keeper.track(log.account)
    return {"tracked": len(keeper.accounts), "dry_run": bot.signer is None}


@bot.on_(deployment.engine.Trade)
def on_trade(log):
    keeper.track(log.account)


def _round() -> dict:
    report = keeper.run_round()
    return {
        "liquidatable": len(report.liquidatable),
        "liquidated": len(report.liquidated),
        "skipped": report.skipped,
        "waiting_for_pool_margin": len(report.deferred),
        "adl_fills": len(report.adl_fills),
    }


@bot.on_(chain.blocks)
def on_block(block):
    return _round()


def _price_update_handler(market: int):
    def handler(log):
        return _round()

    # dev: silverback names each task after its function: one name per feed.
    handler.__name__ = f"on_price_update_{market}"
    return handler


for _market, _feed in enumerate(deployment.feeds):
    bot.on_(_feed.AnswerUpdated)(_price_update_handler(_market))
