"""The protocol on revm (through pyrevm): the same bytecode as everywhere else,
~100x faster than titanoboa's py-evm, for the stateful solvency fuzzer.

A `Chain` is one in-memory EVM with a clock. `Chain.deploy` returns a
`Contract` whose attributes are the contract's functions: call them like
titanoboa's (`engine.trade(0, size)`), as the account set with `chain.prank`.
A revert raises `Reverted` with the reason string; every call is counted in
`chain.calls` (the fuzzer's throughput figure). Outputs decode to plain values
and structs to named tuples (`health.equity`), events of the last call to
named tuples via `contract.events()`.

Contracts are compiled with the pinned vyper; `compile_contracts(root)` can
compile a patched copy of the sources (the fuzzer's mutation tests).
"""

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path

from eth_abi import decode, encode
from eth_utils import keccak
from eth_utils import to_checksum_address as _to_checksum_address
from pyrevm import EVM, AccountInfo, BlockEnv, Env

from backstop.protocol.wiring import CONTRACTS_DIR, DEPLOYABLES

BUILD = CONTRACTS_DIR.parent / ".build"
START_TIME = 1_700_000_000
# dev: who sends a call outside any `prank` (titanoboa has such a default account too).
DEFAULT_SENDER = "0x" + keccak(b"backstop revm default sender")[:20].hex()
BLOCK_TIME = 12
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


@lru_cache(maxsize=65_536)
def to_checksum_address(address) -> str:
    """eth_utils' checksum (a keccak each time), remembered: a simulation
    checksums the same few hundred addresses a million times."""
    return _to_checksum_address(address)


class Reverted(Exception):
    """A call reverted; `reason` is its revert string ('' when it had none)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason or "reverted without a reason")


def compile_contracts(root: Path = CONTRACTS_DIR) -> dict:
    """name -> (abi, bytecode) for every deployable under `root` (compiled in parallel)."""

    def one(path):
        result = subprocess.run(
            [sys.executable, "-m", "vyper", "-f", "abi,bytecode", str(root / path)],
            capture_output=True, text=True, check=True,
        )
        abi, bytecode = result.stdout.strip().split("\n")
        return json.loads(abi), bytes.fromhex(bytecode.removeprefix("0x"))

    with ThreadPoolExecutor() as pool:
        return dict(zip(DEPLOYABLES, pool.map(one, DEPLOYABLES.values())))


@cache
def compiled() -> dict:
    """The project's contracts, compiled once per process, and kept in
    .build/ under a hash of every source and the compiler's version, so a
    process whose sources match an earlier one's skips the ~7 s compile
    (the simulator's sweep starts a process per run)."""
    digest = hashlib.sha256(importlib.metadata.version("vyper").encode())
    for path in sorted(CONTRACTS_DIR.rglob("*.vy*")):
        digest.update(str(path.relative_to(CONTRACTS_DIR)).encode() + b"\0" + path.read_bytes())
    cache_file = BUILD / f"revm-{digest.hexdigest()[:24]}.json"
    if cache_file.exists():
        return {name: (abi, bytes.fromhex(code)) for name, (abi, code) in json.loads(cache_file.read_text()).items()}
    out = compile_contracts()
    BUILD.mkdir(exist_ok=True)
    # dev: written whole, then renamed: a parallel process never reads half a file.
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({name: (abi, code.hex()) for name, (abi, code) in out.items()}))
    tmp.replace(cache_file)
    return out


def _type(param) -> str:
    # dev: ABI JSON types to eth_abi's strings; structs are "(...)" tuples.
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


@cache
def _struct(name: str, fields: tuple):
    return namedtuple(name, fields)


def _struct_of(param):
    """The named tuple of a struct parameter (named after the struct, not its array)."""
    name = param.get("internalType", "Struct").split(".")[-1].split(" ")[-1].split("[")[0]
    return _struct(name, tuple(c["name"] for c in param["components"]))


def _wrap(param, value):
    # dev: structs as named tuples (recursively), addresses checksummed like titanoboa's.
    if param["type"] == "tuple":
        return _struct_of(param)(*(_wrap(c, v) for c, v in zip(param["components"], value)))
    if param["type"] == "tuple[]":
        inner = {**param, "type": "tuple"}
        return [_wrap(inner, v) for v in value]
    if param["type"] == "address":
        return to_checksum_address(value)
    return value


# A log, whichever EVM produced it: checksummed address, topics and data as bytes.
RawLog = namedtuple("RawLog", "address topics data")


class _Overload:
    """One ABI entry, with its selector and types worked out once."""

    def __init__(self, abi):
        # dev: a chain may serve a call that cannot change state without a transaction.
        self.mutates = abi.get("stateMutability") not in ("view", "pure")
        self.types = [_type(i) for i in abi["inputs"]]
        self.selector = keccak(text=f"{abi['name']}({','.join(self.types)})")[:4]
        self.outputs = abi["outputs"]
        self.output_types = [_type(o) for o in self.outputs]
        self.fast_decode = _array_decoder(self.outputs)
        self.last_decoded = None  # (output bytes, rows): see _Function.__call__
        self.fast_encode = self.types in (["address[]"], ["address[]", "uint256"], ["address[]", "uint256[16]"])
        self.static_encode = all(t in _STATIC_ENCODERS for t in self.types)
        self.static_decode = _static_decoder(self.outputs) if self.fast_decode is None else None


# ------------------------------------------------------------ fast paths
# dev: eth_abi is pure Python and validates as it goes: decoding the lens's
#      health of 500 accounts takes it ~11 ms, 2.4 ms by hand, when anvil
#      runs the call in a few. The batch views' shapes (an array of static
#      structs or of words; account lists in) are simple enough to do by hand.

# dev: each ABI word type from the word read as an unsigned int (None: as it is);
#      the one table the arrays', the static outputs' and the events' decoders share.
_COLUMN_CONVERTERS = {
    "uint256": None,
    "int256": lambda v: v - (1 << 256) if v >> 255 else v,
    "bool": lambda v: v == 1,
    "address": lambda v: to_checksum_address(v.to_bytes(20, "big")),
}


def _array_decoder(outputs):
    """A decoder for a lone `T[]` output of static words or static structs of words, else None."""
    if len(outputs) != 1 or not outputs[0]["type"].endswith("[]") or outputs[0]["type"].count("[") != 1:
        return None
    out = outputs[0]
    if out["type"] == "tuple[]":
        types = [c["type"] for c in out["components"]]
        struct = _struct_of(out)
    else:
        types, struct = [out["type"][:-2]], None
    if any(t not in _COLUMN_CONVERTERS for t in types):
        return None
    n = len(types)
    width = 32 * n
    columns = [(j, _COLUMN_CONVERTERS[t]) for j, t in enumerate(types) if _COLUMN_CONVERTERS[t] is not None]
    from_bytes = int.from_bytes

    def decode_array(data: bytes):
        # dev: every word as an unsigned int in one pass, then the columns that
        #      are not (signed, bool, address) converted, then cut into structs:
        #      the same containers as the eth_abi path (a list of structs, a tuple of words).
        start = from_bytes(data[:32], "big")
        count = from_bytes(data[start : start + 32], "big")
        body = data[start + 32 : start + 32 + count * width]
        if len(body) != count * width:
            raise ValueError("array output shorter than its length")
        words = [from_bytes(body[i : i + 32], "big") for i in range(0, len(body), 32)]
        for j, convert in columns:
            words[j::n] = [convert(v) for v in words[j::n]]
        if struct is None:
            return tuple(words)
        make = struct._make
        return [make(words[k : k + n]) for k in range(0, len(words), n)]

    return decode_array


def _encode_uint(v):
    if type(v) is not int or not 0 <= v < 1 << 256:  # dev: bools and floats go to eth_abi (it rejects them)
        raise ValueError
    return v.to_bytes(32, "big")


def _encode_int(v):
    if type(v) is not int or not -(1 << 255) <= v < 1 << 255:
        raise ValueError
    return (v % (1 << 256)).to_bytes(32, "big")


def _encode_bool(v):
    if type(v) is not bool:
        raise ValueError
    return bytes(31) + (b"\1" if v else b"\0")


def _encode_address(v):
    # dev: unlike eth_abi, a mixed-case address is not checked against its checksum here.
    if type(v) is not str or len(v) != 42 or v[:2] not in ("0x", "0X"):
        raise ValueError
    return bytes(12) + bytes.fromhex(v[2:])


_STATIC_ENCODERS = {"uint256": _encode_uint, "int256": _encode_int, "bool": _encode_bool, "address": _encode_address}


def _encode_static(types, args) -> bytes | None:
    """Arguments of static word types (uint256, int256, bool, address) by
    hand, or None to leave them to eth_abi (which then names what is wrong)."""
    try:
        return b"".join(_STATIC_ENCODERS[t](a) for t, a in zip(types, args))
    except ValueError:
        return None


def _static_field(kind: str):
    """(words, read) for a word type or a static array of one (`int256[16]`),
    else None: `read(words, at)` gives what eth_abi gives (arrays as tuples)."""
    m = re.fullmatch(r"(\w+)\[(\d+)\]", kind)
    base, count = (m.group(1), int(m.group(2))) if m else (kind, None)
    if base not in _COLUMN_CONVERTERS:
        return None
    convert = _COLUMN_CONVERTERS[base]
    if count is None:
        return 1, (lambda w, at: w[at]) if convert is None else (lambda w, at: convert(w[at]))
    if convert is None:
        return count, lambda w, at: tuple(w[at : at + count])
    return count, lambda w, at: tuple(convert(v) for v in w[at : at + count])


def _static_decoder(outputs):
    """A decoder for outputs that are static words (or static arrays of them),
    or one static struct of such, else None: the same values as the eth_abi path."""
    if not outputs:
        return None
    if len(outputs) == 1 and outputs[0]["type"] == "tuple":
        kinds = [c["type"] for c in outputs[0]["components"]]
        struct = _struct_of(outputs[0])
    else:
        kinds, struct = [o["type"] for o in outputs], None
    fields = [_static_field(k) for k in kinds]
    if any(f is None for f in fields):
        return None
    readers, at = [], 0
    for count, read in fields:
        readers.append((read, at))
        at += count
    size, from_bytes = 32 * at, int.from_bytes

    def decode_static(data: bytes):
        if len(data) < size:
            raise ValueError("output shorter than its types")
        words = [from_bytes(data[i : i + 32], "big") for i in range(0, size, 32)]
        values = [read(words, at) for read, at in readers]
        if struct is not None:
            return struct._make(values)
        return values[0] if len(values) == 1 else tuple(values)

    return decode_static


def _event_decoder(entry):
    """(decode, topics, words) for an event of static words only, else None:
    `decode(log)` gives what the eth_abi path gives, ~10x faster (the
    simulator records every event of ~6,000 transactions a run)."""
    inputs = entry["inputs"]
    if any(i["type"] not in _COLUMN_CONVERTERS for i in inputs):
        return None
    make = _struct(entry["name"], tuple(i["name"] for i in inputs))._make
    # dev: each field's place, in declaration order: (topic index, None) or (None, data word index).
    topic, word, places = 1, 0, []
    for i in inputs:
        if i["indexed"]:
            places.append((topic, None))
            topic += 1
        else:
            places.append((None, word))
            word += 1
    converters = [(j, _COLUMN_CONVERTERS[i["type"]]) for j, i in enumerate(inputs)
                  if _COLUMN_CONVERTERS[i["type"]] is not None]
    from_bytes = int.from_bytes

    def decode_event(log):
        topics, data = log.topics, log.data
        values = [from_bytes(topics[t] if t is not None else data[32 * w : 32 * w + 32], "big") for t, w in places]
        for j, convert in converters:
            values[j] = convert(values[j])
        return make(values)

    return decode_event, topic - 1, word


# dev: the last few account lists encoded (the keeper's and the invariants'), by their tuple.
_ENCODED_ACCOUNTS: dict = {}


def _encode_accounts(args, types=None) -> bytes | None:
    """(address[]), (address[], uint256) or (address[], uint256[16]) by hand;
    None to leave it to eth_abi (anything unusual)."""
    accounts = args[0]
    if not isinstance(accounts, (list, tuple)):
        return None
    # dev: the simulator and the keeper send the same list of hundreds of accounts again and again.
    key = tuple(accounts)
    try:
        body = _ENCODED_ACCOUNTS.get(key)
    except TypeError:  # dev: something unhashable in the list: eth_abi says what
        return None
    known = body is not None
    if not known and not all(isinstance(a, str) and len(a) == 42 for a in accounts):
        return None
    # dev: the words after the list's offset: a uint256, or a static array inline.
    if types is not None and len(types) != len(args):
        return None
    array = types is not None and len(types) == 2 and types[1] == "uint256[16]"
    if len(args) == 2 and isinstance(args[1], (list, tuple)) != array:
        return None
    words = [] if len(args) == 1 else list(args[1]) if array else [args[1]]
    if array and len(words) != 16:
        return None
    if not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w < 2**256 for w in words):
        return None
    if not known:
        try:
            body = b"".join(bytes(12) + bytes.fromhex(a[2:]) for a in accounts)
        except ValueError:
            return None
        if len(_ENCODED_ACCOUNTS) >= 8:
            _ENCODED_ACCOUNTS.clear()
        _ENCODED_ACCOUNTS[key] = body
    head = (32 * (1 + len(words))).to_bytes(32, "big") + b"".join(w.to_bytes(32, "big") for w in words)
    return head + len(accounts).to_bytes(32, "big") + body


class _Function:
    def __init__(self, contract, name, overloads):
        self.contract = contract
        self.name = name
        self.overloads = {len(f["inputs"]): _Overload(f) for f in overloads}

    def __call__(self, *args, sender=None):
        overload = self.overloads.get(len(args))
        if overload is None:
            raise TypeError(f"{self.name}: no overload takes {len(args)} arguments")
        args = [a.address if isinstance(a, Contract) else a for a in args]
        if overload.fast_encode:
            encoded = _encode_accounts(args, overload.types)
        elif overload.static_encode and len(args) == len(overload.types):
            encoded = _encode_static(overload.types, args)
        else:
            encoded = None
        calldata = overload.selector + (encoded if encoded is not None else encode(overload.types, args))
        output = self.contract.chain.call(self.contract.address, calldata, sender, overload.mutates)
        if not overload.outputs or not output:
            # dev: a transaction on a real node returns no data (web3_chain): read events instead.
            return None
        if overload.fast_decode:
            # dev: the view cache hands back the very bytes object it stored: the
            #      rows decoded from it last time are the answer again (a copy of
            #      the list; the rows are immutable).
            last = overload.last_decoded
            if last is not None and last[0] is output:
                return list(last[1]) if isinstance(last[1], list) else last[1]
            value = overload.fast_decode(output)
            overload.last_decoded = (output, value)
            return list(value) if isinstance(value, list) else value
        if overload.static_decode is not None:
            return overload.static_decode(output)
        values = decode(overload.output_types, output)
        wrapped = [_wrap(o, v) for o, v in zip(overload.outputs, values)]
        return wrapped[0] if len(wrapped) == 1 else tuple(wrapped)


class Contract:
    def __init__(self, chain, address: str, abi: list):
        self.chain = chain
        self.address = to_checksum_address(address)
        self._abi = abi
        functions = {}
        for entry in abi:
            if entry["type"] == "function":
                functions.setdefault(entry["name"], []).append(entry)
        self._functions = {name: _Function(self, name, overloads) for name, overloads in functions.items()}
        self._events = {}
        for entry in abi:
            if entry["type"] == "event":
                signature = f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"
                self._events[keccak(text=signature)] = entry
        self._fast_events = {topic: fast for topic, entry in self._events.items()
                             if (fast := _event_decoder(entry)) is not None}

    def __getattr__(self, name):
        try:
            return self._functions[name]
        except KeyError:
            raise AttributeError(name) from None

    def get_logs(self) -> list:
        """titanoboa's name for `events()`: this contract's events from the last call."""
        return self.events()

    def events(self, name: str | None = None) -> list:
        """This contract's events from the last call (all, or those called `name`)."""
        out = []
        for log in self.chain.last_logs:
            event = self.decode(log)
            if event is not None and (name is None or type(event).__name__ == name):
                out.append(event)
        return out

    def decode(self, log: RawLog):
        """`log` as a named tuple of its event's fields, or None if this contract did not emit it."""
        if log.address != self.address or not log.topics:
            return None
        entry = self._events.get(log.topics[0])
        if entry is None:
            return None
        fast = self._fast_events.get(log.topics[0])
        if fast is not None and len(log.topics) == fast[1] + 1 and len(log.data) == 32 * fast[2]:
            return fast[0](log)
        indexed = [i for i in entry["inputs"] if i["indexed"]]
        plain = [i for i in entry["inputs"] if not i["indexed"]]
        values = {}
        for i, topic in zip(indexed, log.topics[1:]):
            values[i["name"]] = _wrap(i, decode([_type(i)], topic)[0])
        for i, v in zip(plain, decode([_type(i) for i in plain], log.data)):
            values[i["name"]] = _wrap(i, v)
        fields = tuple(i["name"] for i in entry["inputs"])
        return _struct(entry["name"], fields)(**values)

    def function_name(self, calldata: bytes) -> str:
        """The name of the function `calldata` calls ('?' for none of this contract's)."""
        for function in self._functions.values():
            for overload in function.overloads.values():
                if calldata[:4] == overload.selector:
                    return function.name
        return "?"


class ChainBase:
    """What every chain behind `Contract` shares: the sender set by `prank`,
    the call counter, the last call's logs, and how a deployment is encoded.
    A subclass sends: `call(to, calldata, sender, mutates)` and `_create(data)`."""

    def __init__(self):
        self.sender = DEFAULT_SENDER
        self.calls = 0
        self.last_logs = []
        # dev: see `recorder`.
        self._recorder = None

    @property
    def recorder(self):
        """Called after every transaction (not views, not deployments) as
        `recorder(sender, to, calldata, logs, revert reason or None)`, whoever
        sends it: how the simulator keeps one event log. None records nothing."""
        return self._recorder

    @recorder.setter
    def recorder(self, callback):
        self._recorder = callback

    @contextmanager
    def recording(self, callback):
        """`recorder` set to `callback` inside the block, the previous one restored after."""
        previous, self._recorder = self._recorder, callback
        try:
            yield
        finally:
            self._recorder = previous

    def sender_of(self, sender=None) -> str:
        """Who sends a call given `sender`: it, or the account `prank` set."""
        return str(sender or self.sender)

    @contextmanager
    def prank(self, address):
        """Calls inside the block are sent by `address` (titanoboa's `boa.env.prank`)."""
        previous, self.sender = self.sender, str(address)
        try:
            yield
        finally:
            self.sender = previous

    def deploy(self, name: str, *args, contracts: dict | None = None) -> "Contract":
        abi, bytecode = (contracts or compiled())[name]
        constructor = next((e for e in abi if e["type"] == "constructor"), {"inputs": []})
        args = [a.address if isinstance(a, Contract) else a for a in args]
        return Contract(self, self._create(bytecode + encode([_type(i) for i in constructor["inputs"]], args)), abi)

    def at(self, name: str, address: str, contracts: dict | None = None) -> "Contract":
        """A handle on the contract already at `address`, through `name`'s ABI
        (an existing token through MockERC20's, a feed through MockAggregator's)."""
        abi, _ = (contracts or compiled())[name]
        return Contract(self, address, abi)

    def _sender(self, sender) -> str:
        return self.sender_of(sender)

    def _transacted(self, sender, to, calldata, reason=None):
        if self._recorder is not None:
            self._recorder(self._sender(sender), to, calldata, self.last_logs, reason)


class Chain(ChainBase):
    """One in-memory EVM, its clock and its call counters."""

    def __init__(self, timestamp: int = START_TIME):
        super().__init__()
        self.timestamp = timestamp
        self.number = 1
        self.evm = EVM(env=Env(block=BlockEnv(timestamp=timestamp, number=self.number)))
        # dev: pyrevm's message_call leaves the sender's nonce alone, where a
        #      node counts every transaction; the count is kept here and set
        #      before a deployment, so contracts get the addresses a node gives.
        self._transactions_sent = {}
        # dev: see `cache_views`.
        self._views = None
        self.cached_views = 0

    @property
    def cache_views(self) -> bool:
        """When True, a view asked again before any transaction, deployment
        or clock move is answered with the bytes it returned the first time,
        without running it (counted in `cached_views`, not in `calls`): a
        simulation step reads the same batch views at the same state (the
        margin buckets and the keeper's scan; the invariants after a quiet
        keeper round). Off by default: a fuzzer's call counts are EVM runs."""
        return self._views is not None

    @cache_views.setter
    def cache_views(self, on: bool):
        self._views = {} if on else None

    def time_travel(self, seconds: int):
        """Move the clock (and the block number, one block per BLOCK_TIME)."""
        if self._views:
            self._views.clear()
        self.timestamp += seconds
        self.number += max(1, seconds // BLOCK_TIME)
        self.evm.set_block_env(BlockEnv(timestamp=self.timestamp, number=self.number))

    def code(self, address: str) -> bytes:
        """The runtime code at `address` (empty for an account without code)."""
        return bytes(self.evm.get_code(to_checksum_address(address)) or b"")

    def _create(self, data: bytes) -> str:
        if self._views:
            self._views.clear()
        sender = self._sender(None)
        account = self.evm.basic(sender)
        nonce = account.nonce + self._transactions_sent.pop(sender, 0)
        self.evm.insert_account_info(sender, AccountInfo(balance=account.balance, nonce=nonce))
        try:
            return self.evm.deploy(sender, data)
        except RuntimeError as e:
            # dev: a constructor's revert, with its reason, as a call's would be.
            raise Reverted(_reason(str(e))) from None

    def call(self, to: str, calldata: bytes, sender=None, mutates: bool = True) -> bytes:
        views = self._views
        if views is not None:
            if mutates:
                views.clear()
            else:
                key = (to, calldata, self._sender(sender))
                if (output := views.get(key)) is not None:
                    self.cached_views += 1
                    self.last_logs = []
                    return output
        self.calls += 1
        if mutates:
            sender = self._sender(sender)
            self._transactions_sent[sender] = self._transactions_sent.get(sender, 0) + 1
        try:
            output = self.evm.message_call(self._sender(sender), to, calldata=calldata)
        except RuntimeError as e:
            self.last_logs = []
            reason = _reason(str(e))
            if mutates:
                self._transacted(sender, to, calldata, reason)
            raise Reverted(reason) from None
        self.last_logs = [
            RawLog(
                to_checksum_address(log.address),
                [bytes.fromhex(t.removeprefix("0x")) for t in log.topics],
                bytes(log.data[1]) if isinstance(log.data, tuple) else bytes(log.data),
            )
            for log in (self.evm.result.logs if self.evm.result else [])
        ]
        output = bytes(output)
        if mutates:
            self._transacted(sender, to, calldata)
        elif views is not None:
            views[key] = output  # dev: the same object returned now and later (see _Function.__call__)
        return output


def _reason(message: str) -> str:
    # dev: pyrevm reports "Revert { gas_used: N, output: 0x... }".
    if "output: 0x" not in message:
        return message
    return revert_reason(bytes.fromhex(message.split("output: 0x", 1)[1].split()[0].rstrip("}").strip()))


def revert_reason(output: bytes) -> str:
    """The reason string of Error(string) revert data ('' for any other data)."""
    if output[:4] == ERROR_SELECTOR:
        return decode(["string"], output[4:])[0]
    return ""


def deploy(owner, decimals: int | None = None, contracts: dict | None = None, chain: Chain | None = None,
           markets=None, params=None, replace: dict | None = None):
    """A full protocol on `chain` (default a fresh revm chain) through the one
    wiring: `params` (default config/local.yaml), its collateral with
    `decimals` and its `markets` if given; `contracts` a compiled set other
    than the project's (the fuzzer's mutants)."""
    from backstop.protocol.params import default_params
    from backstop.protocol.handles import deploy_on

    params = (params or default_params()).variant(decimals=decimals, markets=markets)
    return deploy_on(chain or Chain(), owner, params, contracts=contracts, replace=replace)
