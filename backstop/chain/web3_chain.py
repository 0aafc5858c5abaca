"""The protocol on a real node (anvil) through raw JSON-RPC: the same contract
handles as backstop.chain.revm_chain, at the node's speed rather than ape's.

ape adds ~30 ms of its own to every call (~25 tx/s on anvil); raw web3 reaches
~110 tx/s. This is the harness for figures measured on a real node (keeper
latency in blocks and seconds) and for the crash simulator. Views go through
`eth_call`; everything else is a transaction, mined by anvil's automine, from
an account the node impersonates (so actors keep their deterministic
addresses from `wiring.actor_address`).

`start_anvil()` runs a throwaway node on a free port.
"""

import http.client
import json
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit


from backstop.chain import revm_chain
from backstop.chain.revm_chain import ChainBase, RawLog, Reverted, revert_reason, to_checksum_address

ANVIL = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"
BLOCK_GAS_LIMIT = 30_000_000
RICH = hex(10**24)  # wei of ETH given to every account the chain sends from
METHOD_NOT_FOUND = -32601  # JSON-RPC's code for a method the node does not have


@contextmanager
def start_anvil(block_gas_limit: int = BLOCK_GAS_LIMIT, prune_history: bool = True):
    """A fresh anvil (cancun, automine) on a free port; yields its URL and stops it after.
    `prune_history=False` keeps past states, for tracing past transactions."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    node = subprocess.Popen(
        # dev: --prune-history: without it anvil keeps every block's state and
        #      slows as the chain grows (measured: 370 -> 100 tx/s over 6,000
        #      blocks; flat at ~330 with it).
        [str(ANVIL), "--port", str(port), "--hardfork", "cancun", "--gas-limit", str(block_gas_limit)]
        + (["--prune-history"] if prune_history else []),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"anvil did not listen on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        node.terminate()
        node.wait(timeout=10)


class Web3Chain(ChainBase):
    """A node reached through raw JSON-RPC, with revm_chain.Chain's interface.

    Requests go over one kept-alive HTTP connection, past web3.py and
    requests: their per-call work (middleware, proxy lookups in the
    environment) cost more than anvil's execution, and a simulation is tens
    of thousands of calls. A transaction is a send and a receipt."""

    def __init__(self, url: str, gas: int = BLOCK_GAS_LIMIT):
        super().__init__()
        self.url = url
        parsed = urlsplit(url)
        self._http = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=120)
        self._path = parsed.path or "/"
        self._id = 0
        self.gas = hex(gas)
        self.transactions = 0
        self.last_block = 0
        self.last_receipt = None
        self._impersonated = set()
        self._sync = True
        # dev: the chain's clock moves only by `time_travel`, as on revm: every
        #      block keeps the last timestamp (a node's own clock would follow the
        #      wall clock between transactions, and the engine's price lag
        #      releases by the second, so a run would not repeat). A node
        #      without the method keeps its own clock.
        try:
            self.rpc("anvil_setBlockTimestampInterval", [0])
        except NodeError as e:
            if e.code != METHOD_NOT_FOUND:
                raise

    def rpc(self, method: str, params: list):
        """One JSON-RPC request to the node; its `result`, or `NodeError` (with the revert reason, if any)."""
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        for attempt in (1, 2):
            try:
                self._http.request("POST", self._path, body, {"Content-Type": "application/json"})
                response = json.loads(self._http.getresponse().read())
                break
            except (http.client.HTTPException, ConnectionError):
                # dev: a node may close an idle kept-alive connection: reconnect once.
                self._http.close()
                if attempt == 2:
                    raise
        if "error" in response:
            raise NodeError(response["error"])
        return response["result"]

    # ------------------------------------------------------------ node queries

    @property
    def block_number(self) -> int:
        """The node's latest block number."""
        return int(self.rpc("eth_blockNumber", []), 16)

    def block(self, number="latest") -> dict:
        """A block's header fields as the node gives them (hex strings), by number or tag."""
        tag = hex(number) if isinstance(number, int) else number
        return self.rpc("eth_getBlockByNumber", [tag, False])

    @property
    def timestamp(self) -> int:
        """The latest block's timestamp (the clock `time_travel` moves)."""
        return int(self.block()["timestamp"], 16)

    def client_version(self) -> str:
        """The node's client string (web3_clientVersion), e.g. 'anvil/v1.4.3'."""
        return self.rpc("web3_clientVersion", [])

    def is_anvil(self) -> bool:
        """Whether the node is an anvil (it answers anvil_nodeInfo): the chain
        impersonates its senders, which only anvil allows."""
        try:
            self.rpc("anvil_nodeInfo", [])
        except NodeError:
            return False
        return True

    def transaction(self, tx_hash: str) -> dict:
        """A mined transaction as the node gives it (eth_getTransactionByHash)."""
        return self.rpc("eth_getTransactionByHash", [tx_hash])

    def prestate(self, tx_hash: str, diff: bool = False) -> dict:
        """The accounts and slots a transaction touched (debug_traceTransaction's
        prestateTracer), or with `diff` what it changed; needs a node keeping
        history (start_anvil(prune_history=False))."""
        config = {"tracer": "prestateTracer", **({"tracerConfig": {"diffMode": True}} if diff else {})}
        return self.rpc("debug_traceTransaction", [tx_hash, config])

    def time_travel(self, seconds: int):
        latest = self.timestamp
        self.rpc("evm_setNextBlockTimestamp", [latest + seconds])
        self.rpc("evm_mine", [])

    def code(self, address: str) -> bytes:
        """The runtime code at `address` (empty for an account without code)."""
        return bytes.fromhex(self.rpc("eth_getCode", [address, "latest"]).removeprefix("0x"))

    def _create(self, data: bytes) -> str:
        return self._send({"data": "0x" + data.hex()})["contractAddress"]

    def call(self, to: str, calldata: bytes, sender=None, mutates: bool = True) -> bytes:
        self.calls += 1
        tx = {"from": to_checksum_address(self._sender(sender)), "to": to, "data": "0x" + calldata.hex()}
        if not mutates:
            try:
                return bytes.fromhex(self.rpc("eth_call", [tx, "latest"])[2:])
            except NodeError as e:
                raise Reverted(e.reason) from None
        try:
            self._send(tx)
        except Reverted as e:
            self._transacted(sender, to, calldata, e.reason)
            raise
        self._transacted(sender, to, calldata)
        return b""

    def _send(self, tx: dict) -> dict:
        sender = to_checksum_address(tx.get("from") or self._sender(None))
        if sender not in self._impersonated:
            self.rpc("anvil_impersonateAccount", [sender])
            self.rpc("anvil_setBalance", [sender, RICH])
            self._impersonated.add(sender)
        self.transactions += 1
        tx = {**tx, "from": sender, "gas": self.gas}
        self.last_logs = []
        try:
            receipt = self._send_and_wait(tx)
        except NodeError as e:
            raise Reverted(e.reason) from None
        if int(receipt["status"], 16) != 1:
            # dev: replay as a call for the reason. At "latest", not the parent
            #      block: a pruned node keeps no old states, and a reverted
            #      transaction changed nothing a contract can read but the
            #      sender's nonce and balance.
            try:
                self.rpc("eth_call", [tx, "latest"])
            except NodeError as e:
                raise Reverted(e.reason) from None
            raise Reverted("")
        self.last_block = int(receipt["blockNumber"], 16)
        self.last_receipt = receipt
        self.last_logs = [
            RawLog(to_checksum_address(log["address"]), [bytes.fromhex(t[2:]) for t in log["topics"]],
                   bytes.fromhex(log["data"][2:]))
            for log in receipt["logs"]
        ]
        return receipt


    def _send_and_wait(self, tx: dict) -> dict:
        # dev: eth_sendTransactionSync (EIP-7966, anvil >= 1.4) answers with
        #      the receipt, one round trip; otherwise send, then poll for the
        #      receipt (automine may answer before the block is in).
        if self._sync:
            try:
                return self.rpc("eth_sendTransactionSync", [tx])
            except NodeError as e:
                if e.code != METHOD_NOT_FOUND:
                    raise
                self._sync = False
        tx_hash = self.rpc("eth_sendTransaction", [tx])
        receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
        while receipt is None:
            time.sleep(0.0005)
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
        return receipt


class NodeError(Exception):
    """A JSON-RPC error; `reason` is the revert string when it was a revert."""

    def __init__(self, error: dict):
        super().__init__(error.get("message", ""))
        self.code = error.get("code")
        data = error.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) > 10:
            self.reason = revert_reason(bytes.fromhex(data[2:]))
        else:
            self.reason = str(error.get("message", "")).removeprefix("execution reverted: ").removeprefix("execution reverted")


def deploy(url: str, owner, decimals: int | None = None, **kwargs):
    """A full protocol on the node at `url` (revm_chain.deploy's wiring and defaults)."""
    return revm_chain.deploy(owner, decimals, chain=Web3Chain(url), **kwargs)
