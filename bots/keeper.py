"""Backstop keeper bot (silverback).

    python -m backstop.keeper.supervise -- silverback run bots.keeper:bot --network ethereum:local:foundry

(`silverback run ...` alone runs it once; the supervisor restarts it when the
node drops, once the node answers again.)

Environment:
    BACKSTOP_DEPLOYMENT      address record written by `ape run deploy`
                             (default deployments/ethereum.local.json)
    SILVERBACK_SIGNER_ALIAS  the keeper's ape account (`TEST::N` for a local test
                             account); without one the bot runs dry: it logs what
                             it would liquidate and sends nothing.
    BACKSTOP_START_BLOCK     first block of the Trade history scan (default: the
                             record's block, when the deployment was made)
    BACKSTOP_LOG_CHUNK       blocks per eth_getLogs request (default 2,000; halved
                             while the provider refuses a range)
    BACKSTOP_CURSOR          where the scan's cursor is saved (default: beside the
                             record, `<record>.cursor.json`): a restart reads only new blocks
    BACKSTOP_MIN_PROFIT_USD  hold back a batch whose reward bound less its gas is
                             below this (default: send every batch)
    BACKSTOP_GAS_TOKEN_USD   the gas token's USD price for gas costs (default: the
                             oracle's price of the market named ETH...)

One round per block: it reads the engine's new Trade logs since the cursor
(accounts to watch), polls the feeds the oracle reads for new rounds (a proxy
may emit no AnswerUpdated), finds the liquidatable accounts with the lens's
batch health view and liquidates them in batches sized to the block gas
limit; accounts the engine sends to ADL (`AdlRequired`) are deleveraged
against the best-ranked opposite positions. Each round logs what it did and
earned in USD: rewards, gas, net, and the session's net. Transactions take
their nonces from silverback (`bot.nonce`). A lost race or a failed
transaction is logged and the next block tries again.
"""

import os
from decimal import Decimal

from ape import chain
from ape.logging import logger
from eth_utils import keccak, to_checksum_address
from silverback import SilverbackBot

from backstop.keeper.history import HistoryScan
from backstop.keeper.logic import ApeChain, Keeper
from backstop.keeper.money import ProfitGate, round_line, short
from backstop.keeper.settings import from_env
from backstop.protocol.deployment import load_deployment, read_addresses
from backstop.protocol.validation import ParamsError
from backstop.units import WAD

try:
    SETTINGS = from_env(os.environ)
except ParamsError as e:
    raise SystemExit(f"keeper: {e}") from None
bot = SilverbackBot()
RECORD = SETTINGS.record
deployment = load_deployment(RECORD)
# dev: Trade's first topic (its signature) and `latestRoundData()`'s selector.
TRADE_TOPIC = "0x" + keccak(text=deployment.engine.Trade.abi.selector).hex()
LATEST_ROUND_DATA = "0x" + keccak(text="latestRoundData()")[:4].hex()


def _trade_accounts(first: int, last: int) -> list[str]:
    """Accounts of the engine's Trade logs in blocks first..last: one eth_getLogs."""
    logs = chain.provider.web3.eth.get_logs({
        "address": str(deployment.engine.address), "fromBlock": first, "toBlock": last,
        "topics": [TRADE_TOPIC],
    })
    # dev: the account is Trade's first indexed field: the low 20 bytes of the second topic.
    return [to_checksum_address(bytes(log["topics"][1])[-20:]) for log in logs]


def _gas_token_usd():
    """The gas token's USD price: BACKSTOP_GAS_TOKEN_USD, else the oracle's ETH market, else None."""
    if SETTINGS.gas_token_usd is not None:
        return SETTINGS.gas_token_usd
    for market, spec in enumerate(deployment.params.markets):
        if spec.name.upper().startswith("ETH"):
            return Decimal(deployment.oracle.last(market).price) / WAD
    return None


def _oracle_feeds() -> dict:
    """market -> the feed the oracle reads now (a market's feed can be changed by its owner)."""
    return {m: str(deployment.oracle.feeds(m).aggregator) for m in range(len(deployment.params.markets))}


@bot.on_startup()
def startup(startup_state):
    """Read the Trade history (in chunks, from the cursor) and the feeds the oracle reads."""
    record = read_addresses(RECORD)
    scan = HistoryScan(
        _trade_accounts, deployment_id=f"{record['chain_id']}:{deployment.engine.address}",
        start_block=record["block_number"] if SETTINGS.start_block is None else SETTINGS.start_block,
        cursor_path=SETTINGS.cursor, chunk=SETTINGS.log_chunk, log=logger,
    )
    gate = None
    if SETTINGS.min_profit_usd is not None:
        gate = ProfitGate(deployment.params.liquidation, SETTINGS.min_profit_usd, lambda: chain.provider.gas_price,
                          _gas_token_usd)
    nonce = (lambda: bot.nonce) if bot.signer else None
    keeper = Keeper(ApeChain(deployment, bot.signer, nonce=nonce, log=logger),
                    block_gas_limit=chain.blocks.head.gas_limit, log=logger, profit_gate=gate)
    for account in scan.accounts | scan.scan_to(chain.blocks.head.number):
        keeper.track(account)
    bot.state.keeper, bot.state.scan, bot.state.totals = keeper, scan, {}
    bot.state.feeds = _oracle_feeds()
    bot.state.rounds = {m: _latest_round(f) for m, f in bot.state.feeds.items()}
    bot.state.last_round_block = -1
    logger.info(f"tracking {len(keeper.accounts)} accounts from block {scan.start_block} "
                f"({scan.requests} log requests, chunks of {scan.chunk}); feeds "
                + ", ".join(f"{deployment.params.markets[m].name} {short(f)}" for m, f in bot.state.feeds.items()))
    return {"tracked": len(keeper.accounts), "dry_run": bot.signer is None}


def _latest_round(feed: str) -> int:
    """The feed's latest round id, polled (a proxy need not emit AnswerUpdated)."""
    return int.from_bytes(bytes(chain.provider.web3.eth.call({"to": feed, "data": LATEST_ROUND_DATA}))[:32], "big")


@bot.on_(chain.blocks)
def on_block(block):
    """One round per block: new traders, new feed rounds, then the keeper."""
    state = bot.state
    if block.number <= state.last_round_block:
        return {"skipped": "round already run for this block"}
    state.last_round_block = block.number
    for account in state.scan.scan_to(block.number):
        state.keeper.track(account)
    feeds = _oracle_feeds()
    for market, feed in feeds.items():
        name = deployment.params.markets[market].name
        if feed != state.feeds.get(market):
            logger.info(f"{name}: the oracle now reads feed {short(feed)}")
            state.feeds[market] = feed
        if (latest := _latest_round(feed)) != state.rounds.get(market):
            logger.info(f"{name}: new round {latest} on {short(feed)}")
            state.rounds[market] = latest
    report = state.keeper.run_round()
    if report.liquidatable or report.reward_wad or report.gas_wei:
        logger.info(round_line(block.number, report, _gas_token_usd(), state.totals))
    return {
        "liquidatable": len(report.liquidatable),
        "liquidated": len(report.liquidated),
        "skipped": report.skipped,
        "waiting_for_pool_margin": len(report.deferred),
        "held_back": len(report.unprofitable),
        "adl_fills": len(report.adl_fills),
        "reward_usd": float(Decimal(report.reward_wad) / WAD),
        "gas_wei": report.gas_wei,
    }
