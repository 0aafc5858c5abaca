"""The keeper bot on a node like the ones operators use, on anvil: a 1,000-block
history behind a provider-like proxy that refuses `eth_getLogs` over more than
100 blocks, a node restart mid-run (the supervisor stops the bot, waits, starts
it again; the cursor resumes the scan), and the bot's money lines checked
against the chain: the rewards it printed are the keeper's vault balance, the
gas it printed is what its account paid."""

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web3 import Web3

from tests.integration.conftest import ANVIL_BIN, NETWORK, ROOT, VENV_BIN, _env, ape_run, free_port, interrupt
from tests.integration.test_keeper_bot import _settlements

pytestmark = pytest.mark.anvil
LOG_RANGE_CAP = 100
HISTORY_BLOCKS = 1_000
TOKEN_ABI = json.loads('[{"type":"function","name":"balanceOf","stateMutability":"view",'
                       '"inputs":[{"name":"a","type":"address"}],"outputs":[{"name":"","type":"uint256"}]}]')
VAULT_ABI = json.loads('[{"type":"function","name":"collateral","stateMutability":"view",'
                       '"inputs":[{"name":"a","type":"address"}],"outputs":[{"name":"","type":"int256"}]}]')


class CappedProxy:
    """A JSON-RPC proxy in front of `upstream` that refuses eth_getLogs over more
    than LOG_RANGE_CAP blocks, as hosted providers do, and counts the refusals."""

    def __init__(self, upstream: str):
        self.upstream, self.refused, self.log_requests = upstream, 0, 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = proxy.answer(json.loads(body))
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _forward(self, request):
        data = json.dumps(request).encode()
        req = urllib.request.Request(self.upstream, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read())
        except OSError as e:  # the node is down: say so as a provider would
            return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32603, "message": f"upstream: {e}"}}

    def _head(self) -> int:
        return int(self._forward({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []})["result"], 16)

    def _block(self, tag) -> int:
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return self._head()
        return 0 if tag == "earliest" else int(tag, 16)

    def answer(self, request):
        if isinstance(request, list):
            return [self.answer(r) for r in request]
        if request.get("method") == "eth_getLogs":
            self.log_requests += 1
            f = (request.get("params") or [{}])[0]
            if "blockHash" not in f and self._block(f.get("toBlock")) - self._block(f.get("fromBlock")) + 1 > LOG_RANGE_CAP:
                self.refused += 1
                return {"jsonrpc": "2.0", "id": request.get("id"),
                        "error": {"code": -32005, "message": f"query exceeds max block range {LOG_RANGE_CAP}"}}
        return self._forward(request)

    def close(self):
        self.server.shutdown()


class Node:
    """anvil on a fixed port with its state in a file, so it can be restarted where it
    stopped, making a block a second as a real chain does (silverback's polling
    runner, for HTTP-only providers, gives up on a chain that makes no blocks)."""

    def __init__(self, tmp_path):
        self.port, self.state = free_port(), tmp_path / "anvil-state.json"
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        self.process = subprocess.Popen([str(ANVIL_BIN / "anvil"), "--port", str(self.port), "--hardfork", "cancun",
                                         "--state", str(self.state)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("anvil did not listen")

    def tick(self):
        """A block a second from now on, as a real chain makes them (set after ape's deployment, which
        wants automine; anvil does not keep it across a restart), at a base fee of 10 gwei (empty blocks
        had brought it down to nothing: the keeper's gas must cost something to be checked)."""
        provider = Web3(Web3.HTTPProvider(self.url)).provider
        provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(10 * 10**9)])
        provider.make_request("evm_setIntervalMining", [1])

    def stop(self):
        interrupt(self.process, timeout=30)  # anvil writes its state on Ctrl-C


def _wait_for(path, text, timeout=120, process=None):
    deadline = time.time() + timeout
    while text not in path.read_text():
        assert process is None or process.poll() is None, f"exited:\n{path.read_text()}"
        assert time.time() < deadline, f"no {text!r} in:\n{path.read_text()}"
        time.sleep(0.5)


def test_keeper__capped_logs_node_restart_and_money__liquidates_and_its_figures_match_the_chain(tmp_path):
    node = Node(tmp_path)
    node.start()
    proxy = CappedProxy(node.url)
    record, log_path = tmp_path / "deployment.json", tmp_path / "keeper.log"
    supervisor = None
    try:
        ape_run("deploy", "--out", str(record), host=node.url)
        out = ape_run("populate", "--deployment", str(record), "--traders", "6", host=node.url).stdout
        traders = [line.split()[0] for line in out.splitlines() if line.startswith("0x")]
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.provider.make_request("anvil_mine", [hex(HISTORY_BLOCKS)])
        node.tick()
        keeper = w3.eth.accounts[9]
        eth_before = w3.eth.get_balance(keeper)
        # A stale silverback session (its last nonce from an earlier chain, as CI's earlier bot tests
        # left one): the keeper must send with the chain's nonce, not one that is never mined.
        bot_name = f"keeper-real-node-{tmp_path.name}"
        session = ROOT / ".silverback-sessions" / bot_name / "ethereum" / "local"
        session.mkdir(parents=True, exist_ok=True)
        (session / "state.json").write_text(json.dumps({"last_block_seen": 5, "last_block_processed": 5,
                                                         "last_nonce_used": 40}))
        env = {**_env(proxy.url), "BACKSTOP_DEPLOYMENT": str(record), "SILVERBACK_SIGNER_ALIAS": "TEST::9",
               "SILVERBACK_BOT_NAME": bot_name, "PYTHONWARNINGS": "ignore", "BACKSTOP_GAS_TOKEN_USD": "2000"}
        log = open(log_path, "w")
        supervisor = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "backstop.keeper.supervise", "--node", proxy.url, "--poll", "1", "--",
             str(VENV_BIN / "silverback"), "run", "bots.keeper:bot", "--network", NETWORK,
             "--runner", "silverback.runner:PollingRunner"],  # an HTTP-only provider, as the proxy is
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(log_path, "Startup complete", process=supervisor)
        text = log_path.read_text()
        # The whole history was read through the cap: the chunk came down to what the proxy allows.
        assert proxy.refused >= 1 and "tracking 6 accounts" in text, text
        chunks = [int(n) for n in re.findall(r"chunks of (\d+) blocks", text)]
        assert chunks and chunks[-1] <= LOG_RANGE_CAP, chunks

        # The node restarts; ETH falls while the keeper is away: once back, it liquidates every long.
        node.stop()
        _wait_for(log_path, "dropped: stopping the keeper", timeout=60)
        node.start()
        node.tick()
        _wait_for(log_path, "answers again", timeout=60)
        ape_run("set_price", "--deployment", str(record), "--market", "0", "--price", "1650", host=node.url)
        settled, w3 = _settlements(node.url, record, traders, timeout=180)
        assert sorted(log.args.account for log in settled) == sorted(traders)
        _wait_for(log_path, "resumed from cursor", timeout=60)
        time.sleep(3)  # the last round's line

        # Money: what the bot printed is what the chain holds.
        text = log_path.read_text()
        assert "Traceback" not in text, text
        assert "ahead of the chain's" in text, text  # the stale session's nonce was seen and not used
        lines = re.findall(r"reward ([\d,.]+) USD, gas ([\d.]+) ETH \(([\d,.]+) USD\), net ([+\-][\d,.]+) USD", text)
        assert lines, text
        rewards = sum(Decimal(r.replace(",", "")) for r, _, _, _ in lines)
        gas = sum(Decimal(g) for _, g, _, _ in lines)
        vault = w3.eth.contract(address=json.loads(record.read_text())["addresses"]["vault"], abi=VAULT_ABI)
        earned = Decimal(vault.functions.collateral(keeper).call()) / 10**18
        assert abs(rewards - earned) <= Decimal("0.01") * len(lines), (rewards, earned)
        paid = Decimal(eth_before - w3.eth.get_balance(keeper)) / 10**18
        assert paid > 0 and abs(gas - paid) <= Decimal("0.000000001") * len(lines), (gas, paid)
        assert sum(int(log.args.keeper_reward) for log in settled if log.args.keeper == keeper) / 10**18 == \
            pytest.approx(float(earned))
        # The operator takes the rewards out: the keeper's token balance rises by them, the vault keeps the dust.
        token = w3.eth.contract(address=json.loads(record.read_text())["addresses"]["token"], abi=TOKEN_ABI)
        held = token.functions.balanceOf(keeper).call()
        out = ape_run("withdraw_rewards", "--deployment", str(record), "--account", "TEST::9", host=node.url).stdout
        units = int(earned * 10**6)
        deadline = time.time() + 20  # dev: blocks come every second: the withdrawal may land a block later
        while token.functions.balanceOf(keeper).call() == held and time.time() < deadline:
            time.sleep(0.5)
        assert token.functions.balanceOf(keeper).call() - held == units and f"{units:,} token units" in out, out
    finally:
        if supervisor is not None:
            interrupt(supervisor, timeout=30)
        shutil.rmtree(ROOT / ".silverback-sessions" / f"keeper-real-node-{tmp_path.name}", ignore_errors=True)
        proxy.close()
        interrupt(node.process)
