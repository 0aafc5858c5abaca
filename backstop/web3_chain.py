"""The protocol on a real node (anvil) through raw JSON-RPC: the same contract
handles as backstop.revm_chain, at the node's speed rather than ape's.

ape adds ~30 ms of its own to every call (~25 tx/s on anvil); raw web3 reaches
~110 tx/s. This is the harness for figures measured on a real node (keeper
latency in blocks and seconds) and for the crash simulator. Views go through
`eth_call`; everything else is a transaction, mined by anvil's automine, from
an account the node impersonates (so actors keep their deterministic
addresses from `harness.actor`).

`start_anvil()` runs a throwaway node on a free port.
"""

import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError

from backstop import revm_chain
from backstop.revm_chain import ChainBase, RawLog, Reverted, revert_reason

ANVIL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "anvil"
BLOCK_GAS_LIMIT = 30_000_000
RICH = hex(10**24)  # wei of ETH given to every account the chain sends from


@contextmanager
def start_anvil(block_gas_limit: int = BLOCK_GAS_LIMIT):
    """A fresh anvil (cancun, automine) on a free port; yields its URL and stops it after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    node = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--hardfork", "cancun", "--gas-limit", str(block_gas_limit)],
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
    """A node reached through raw JSON-RPC, with revm_chain.Chain's interface."""

    def __init__(self, url: str, gas: int = BLOCK_GAS_LIMIT):
        super().__init__()
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 120}))
        self.gas = gas
        self.transactions = 0
        self.last_block = 0
        self._impersonated = set()

    @property
    def block_number(self) -> int:
        return self.w3.eth.block_number

    def time_travel(self, seconds: int):
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def _create(self, data: bytes) -> str:
        return self._send({"data": "0x" + data.hex()})["contractAddress"]

    def call(self, to: str, calldata: bytes, sender=None, mutates: bool = True) -> bytes:
        self.calls += 1
        tx = {"from": to_checksum_address(self._sender(sender)), "to": to, "data": "0x" + calldata.hex()}
        if not mutates:
            try:
                return bytes(self.w3.eth.call(tx))
            except ContractLogicError as e:
                raise Reverted(_reason(e)) from None
        self._send(tx)
        return b""

    def _send(self, tx: dict):
        sender = to_checksum_address(tx.get("from") or self._sender(None))
        if sender not in self._impersonated:
            self.w3.provider.make_request("anvil_impersonateAccount", [sender])
            self.w3.provider.make_request("anvil_setBalance", [sender, RICH])
            self._impersonated.add(sender)
        self.transactions += 1
        try:
            tx_hash = self.w3.eth.send_transaction({**tx, "from": sender, "gas": self.gas})
        except ContractLogicError as e:
            self.last_logs = []
            raise Reverted(_reason(e)) from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.01)
        if receipt["status"] != 1:
            # dev: replay as a call at the parent block for the reason.
            self.last_logs = []
            try:
                self.w3.eth.call({**tx, "from": sender}, receipt["blockNumber"] - 1)
            except ContractLogicError as e:
                raise Reverted(_reason(e)) from None
            raise Reverted("")
        self.last_block = receipt["blockNumber"]
        self.last_logs = [
            RawLog(to_checksum_address(log["address"]), [bytes(t) for t in log["topics"]], bytes(log["data"]))
            for log in receipt["logs"]
        ]
        return receipt


def _reason(error: ContractLogicError) -> str:
    data = error.data if isinstance(error.data, str) else ""
    if data.startswith("0x") and len(data) > 10:
        return revert_reason(bytes.fromhex(data[2:]))
    return str(error.message or "").removeprefix("execution reverted: ")


def deploy(url: str, owner, decimals: int = 18, **kwargs):
    """A full protocol on the node at `url` (harness.deploy's wiring, same defaults)."""
    return revm_chain.deploy(owner, decimals, chain=Web3Chain(url), **kwargs)

