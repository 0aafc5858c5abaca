"""Backstop on contracts that exist before it, on anvil, through the README's
commands: an operator deploys a 6-decimal token and a Chainlink-shaped ETH feed;
`ape run deploy --params FILE` names both (BTC keeps a mock); `ape run populate`
opens positions from balances the operator funded; `ape run set_price` refuses
to move a feed that is not a mock, so the operator moves it; the keeper bot
liquidates. `ape run set_feed` points the market at another existing feed and
rewrites the record; a file naming a contract that is not a feed fails in one
line naming the field."""

import json
import subprocess

import pytest
import yaml

from backstop.chain.web3_chain import Web3Chain
from backstop.protocol.params import DEFAULT_PARAMS
from tests.integration.conftest import NETWORK, ROOT, VENV_BIN, _env, ape_run
from tests.integration.test_keeper_bot import _settlements, start_bot  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anvil
OPERATOR = "0x00000000000000000000000000000000000f00d5"
TRADERS = 3


def _ape(*args, host):
    """`ape run ARGS` that may fail: the completed process."""
    return subprocess.run([str(VENV_BIN / "ape"), "run", *args, "--network", NETWORK], cwd=ROOT, env=_env(host),
                          capture_output=True, text=True, timeout=600)


def _operator_contracts(node):
    """A token and two ETH feeds deployed by an operator, not by Backstop."""
    chain = Web3Chain(node)
    with chain.prank(OPERATOR):
        token = chain.deploy("MockERC20", "USD Coin", "USDC", 6)
        feed = chain.deploy("MockAggregator", 8, "ETH / USD", 2_000 * 10**8)
        other = chain.deploy("MockAggregator", 8, "ETH / USD (backup)", 2_000 * 10**8)
    return chain, token, feed, other


def _params_file(tmp_path, token=None, feed=None) -> str:
    data = yaml.safe_load(DEFAULT_PARAMS.read_text())
    data["collateral"] = {"address": token, "decimals": 6}
    data["markets"][0]["feed"] = feed
    del data["markets"][0]["price"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_existing_token_and_feed__deploy_populate_move_the_feed__the_bot_liquidates(anvil, start_bot, tmp_path):
    node, record = anvil(), tmp_path / "deployment.json"
    chain, token, feed, other = _operator_contracts(node)
    ape_run("deploy", "--params", _params_file(tmp_path, token.address, feed.address), "--out", str(record), host=node)
    addresses = json.loads(record.read_text())["addresses"]
    assert addresses["token"] == token.address and addresses["feeds"]["ETH / USD"] == feed.address
    assert addresses["feeds"]["BTC / USD"] != feed.address  # not named: a mock
    # The operator funds the LP and the traders (test accounts 1..): populate mints nothing.
    accounts = chain.rpc("eth_accounts", [])
    with chain.prank(OPERATOR):
        token.mint(accounts[1], 1_000_000 * 10**6)
        for a in accounts[2 : 2 + TRADERS]:
            token.mint(a, 2_000 * 10**6)
    out = ape_run("populate", "--deployment", str(record), "--traders", str(TRADERS), host=node).stdout
    traders = [line.split()[0] for line in out.splitlines() if line.startswith("0x")]
    assert len(traders) == TRADERS and [t.lower() for t in traders] == accounts[2 : 2 + TRADERS], out
    # Not a mock: set_price refuses in one line; the operator moves the feed at its source.
    refused = _ape("set_price", "--deployment", str(record), "--price", "1650", host=node)
    assert refused.returncode != 0 and "is not a mock this deployment made" in refused.stderr, refused.stderr
    bot = start_bot(node, record, "TEST::9", tmp_path / "keeper.log")
    with chain.prank(OPERATOR):
        feed.set_answer(1_650 * 10**8)
    settled, _ = _settlements(node, record, traders)
    assert sorted(log.args.account for log in settled) == sorted(traders)
    assert bot.poll() is None
    # The market moves to another existing feed: the oracle reads it and the record says so.
    moved = ape_run("set_feed", "--deployment", str(record), "--market", "0", "--feed", other.address, host=node)
    assert other.address in moved.stdout
    saved = json.loads(record.read_text())
    assert saved["addresses"]["feeds"]["ETH / USD"] == other.address
    assert saved["params"]["markets"][0]["feed"] == other.address


def test_deploy__a_token_named_as_the_feed__one_line_naming_the_field(anvil, tmp_path):
    node = anvil()
    _, token, _, _ = _operator_contracts(node)
    failed = _ape("deploy", "--params", _params_file(tmp_path, token.address, token.address),
                  "--out", str(tmp_path / "d.json"), host=node)
    assert failed.returncode != 0
    errors = [line for line in failed.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1 and "markets[0].feed" in errors[0] and "latestRoundData()" in errors[0], failed.stderr
    assert "Traceback" not in failed.stderr and not (tmp_path / "d.json").exists()
