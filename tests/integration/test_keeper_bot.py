"""The silverback keeper bot, started as a process against anvil.

A deployment and six 5x longs are set up with `ape run deploy` and `ape run
populate`; the bot (or two racing bots) runs as `silverback run
bots.keeper:bot`; `ape run set_price` drops ETH below every long's liquidation
price. The chain is then read with web3 directly: every account must be
liquidated exactly once, within a few blocks of the price update. A crash
beyond the insurance fund sends longs to ADL: the bot deleverages each
against the shorts, after publishing their ADL quantiles.
"""

import json
import subprocess
import time

import pytest
from web3 import Web3

from backstop.keeper.logic import short
from tests.integration.conftest import NETWORK, ROOT, VENV_BIN, _env, ape_run, interrupt

pytestmark = pytest.mark.anvil

TRADERS = 6
BLOCK_BOUND = 3  # the last liquidation lands at most this many blocks after the price update
LENS_ABI = json.loads("""[
 {"type":"function","name":"is_liquidatable","stateMutability":"view",
  "inputs":[{"name":"account","type":"address"}],"outputs":[{"name":"","type":"bool"}]}
]""")
ENGINE_ABI = json.loads("""[
 {"type":"function","name":"open_markets","stateMutability":"view",
  "inputs":[{"name":"arg0","type":"address"}],"outputs":[{"name":"","type":"uint256"}]},
 {"type":"event","name":"Deleverage","anonymous":false,"inputs":[
  {"name":"account","type":"address","indexed":true},{"name":"counterparty","type":"address","indexed":true},
  {"name":"market","type":"uint256","indexed":true},{"name":"size_closed","type":"int256","indexed":false},
  {"name":"price","type":"uint256","indexed":false},{"name":"mark_price","type":"uint256","indexed":false},
  {"name":"score","type":"uint256","indexed":false},{"name":"haircut","type":"uint256","indexed":false},
  {"name":"weight","type":"uint256","indexed":false}]},
 {"type":"event","name":"LiquidationSettled","anonymous":false,"inputs":[
  {"name":"account","type":"address","indexed":true},{"name":"keeper","type":"address","indexed":true},
  {"name":"closed_notional","type":"uint256","indexed":false},{"name":"penalty","type":"uint256","indexed":false},
  {"name":"keeper_reward","type":"uint256","indexed":false},{"name":"fund_share","type":"int256","indexed":false},
  {"name":"bad_debt","type":"uint256","indexed":false},{"name":"fully_closed","type":"bool","indexed":false}]}
]""")


@pytest.fixture
def market(anvil, tmp_path):
    """A deployment with six 5x ETH longs on a fresh node: (node url, record path, trader addresses)."""
    node, record = anvil(), tmp_path / "deployment.json"
    ape_run("deploy", "--out", str(record), host=node)
    out = ape_run("populate", "--deployment", str(record), "--traders", str(TRADERS), host=node).stdout
    traders = [line.split()[0] for line in out.splitlines() if line.startswith("0x")]
    assert len(traders) == TRADERS, out
    return node, record, traders


@pytest.fixture
def start_bot():
    """Factory: start a keeper bot process with signer `alias` (stopped after the test)."""
    bots = []

    def _start(node, record, alias, log_path):
        # dev: a session of its own (silverback keeps one per bot name under the working directory).
        env = {**_env(node), "BACKSTOP_DEPLOYMENT": str(record), "SILVERBACK_SIGNER_ALIAS": alias,
               "SILVERBACK_BOT_NAME": f"keeper-{log_path.parent.name}-{alias.replace(':', '')}",
               "PYTHONWARNINGS": "ignore"}
        log = open(log_path, "w")
        bots.append((subprocess.Popen(
            [str(VENV_BIN / "silverback"), "run", "bots.keeper:bot", "--network", NETWORK],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ), log))
        deadline = time.time() + 120
        while "Startup complete" not in log_path.read_text():
            assert bots[-1][0].poll() is None, f"bot exited:\n{log_path.read_text()}"
            assert time.time() < deadline, f"bot did not start:\n{log_path.read_text()}"
            time.sleep(0.5)
        return bots[-1][0]

    yield _start
    for process, log in bots:
        interrupt(process)
        log.close()


def _settlements(node, record, traders, timeout=60):
    """Wait until no trader holds a position; return (LiquidationSettled logs, the engine)."""
    w3 = Web3(Web3.HTTPProvider(node))
    addresses = json.loads(record.read_text())["addresses"]
    engine = w3.eth.contract(address=addresses["engine"], abi=ENGINE_ABI)
    lens = w3.eth.contract(address=addresses["lens"], abi=LENS_ABI)
    deadline = time.time() + timeout
    while any(lens.functions.is_liquidatable(t).call() for t in traders):
        assert time.time() < deadline, "the bot did not liquidate every account in time"
        time.sleep(0.5)
    return engine.events.LiquidationSettled.get_logs(from_block=0), w3


def _drop_price(node, record) -> int:
    out = ape_run("set_price", "--deployment", str(record), "--market", "0", "--price", "1650", host=node).stdout
    return int(out.split("in block")[1])


def test_keeper_bot__price_drop__liquidates_every_account_within_bounded_blocks(market, start_bot, tmp_path):
    node, record, traders = market
    bot = start_bot(node, record, "TEST::9", tmp_path / "keeper.log")
    price_block = _drop_price(node, record)
    logs, _ = _settlements(node, record, traders)
    assert sorted(log.args.account for log in logs) == sorted(traders)
    assert max(log.blockNumber for log in logs) - price_block <= BLOCK_BOUND
    assert bot.poll() is None, "the bot must keep running"


def test_keeper_bots__two_racing__each_account_once_and_both_survive(market, start_bot, tmp_path):
    node, record, traders = market
    first = start_bot(node, record, "TEST::8", tmp_path / "keeper-8.log")
    second = start_bot(node, record, "TEST::9", tmp_path / "keeper-9.log")
    _drop_price(node, record)
    logs, _ = _settlements(node, record, traders)
    accounts = [log.args.account for log in logs]
    assert sorted(accounts) == sorted(traders), "every account liquidated exactly once"
    time.sleep(3)  # a few more blocks of both bots racing over nothing
    assert first.poll() is None and second.poll() is None, "a lost race must not stop a bot"


def test_keeper_bot__crash_beyond_the_fund__deleverages_longs_against_shorts(anvil, start_bot, tmp_path):
    # Three 5x longs and three 5x shorts; ETH -40% leaves each long ~2,000 USD
    # under water against a fund holding only fees: every long goes to ADL.
    node, record = anvil(), tmp_path / "deployment.json"
    ape_run("deploy", "--out", str(record), host=node)
    out = ape_run("populate", "--deployment", str(record), "--traders", "6", "--both-sides", host=node).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("0x")]
    longs = [r[0] for r in rows if r[2].startswith("+")]
    shorts = [r[0] for r in rows if r[2].startswith("-")]
    assert len(longs) == len(shorts) == 3, out
    log_path = tmp_path / "keeper.log"
    bot = start_bot(node, record, "TEST::9", log_path)
    ape_run("set_price", "--deployment", str(record), "--market", "0", "--price", "1200", host=node)

    w3 = Web3(Web3.HTTPProvider(node))
    addresses = json.loads(record.read_text())["addresses"]
    engine = w3.eth.contract(address=addresses["engine"], abi=ENGINE_ABI)
    # dev: the fills are the Deleverager's events (it holds ADL since the engine split).
    deleverager = w3.eth.contract(address=addresses["deleverager"], abi=ENGINE_ABI)
    deadline = time.time() + 60
    while any(engine.functions.open_markets(a).call() for a in longs):
        assert time.time() < deadline, f"the bot did not deleverage every long:\n{log_path.read_text()}"
        time.sleep(0.5)
    assert engine.events.Deleverage.get_logs(from_block=0) == []
    fills = deleverager.events.Deleverage.get_logs(from_block=0)
    assert sorted({f.args.account for f in fills}) == sorted(longs)
    assert {f.args.counterparty for f in fills} <= set(shorts)
    assert engine.events.LiquidationSettled.get_logs(from_block=0) == []
    # Before deleveraging, each short (in profit) had its quantile published.
    assert all(f"ADL quantile market 0 {short(s)}" in log_path.read_text() for s in shorts)
    assert bot.poll() is None
