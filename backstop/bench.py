"""`make bench`: contract sizes, gas per operation and harness throughput.

Gas is what anvil charges (each receipt's gasUsed), beside each operation's
floor (see `_floor`). Writes bench/results.json and BENCHMARKS.md and prints
the figures.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import boa

from backstop.protocol import harness
from backstop.protocol.harness import actor
from backstop.units import wad

CODE_SIZE_LIMIT = 24_576
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
MARKDOWN = ROOT / "BENCHMARKS.md"

# op -> target (issue 12's, set when the engine was split); figures not listed have no target.
GAS_TARGETS = {
    "liquidate (single, partial)": 135_000,
    "liquidate (single, partial, new keeper)": 150_000,
    "liquidate_batch marginal per account (10 -> 100)": 45_000,
    "deleverage marginal per fill (1 -> 11)": 32_000,
}

# Gas on anvil before the engine was split (commit fcf8dd0, the last run of
# `make bench` on the single Clearinghouse): every operation is shown beside
# it, for the record (issue 12 held each within 3% of it).
BEFORE_SPLIT = {
    "deposit (first)": 70_199,
    "deposit (again)": 53_087,
    "open position (1 market)": 212_672,
    "increase position": 141_536,
    "open second market": 227_681,
    "reduce position (2 markets open)": 174_020,
    "withdraw (2 markets open)": 146_562,
    "close position": 157_580,
    "oracle refresh": 59_644,
    "LP deposit": 130_531,
    "LP redeem": 155_571,
    "liquidate (single, partial, new keeper)": 175_604,
    "liquidate (single, partial)": 158_480,
    "liquidate_batch (10)": 691_965,
    "liquidate_batch (100)": 5_486_427,
    "liquidate_batch marginal per account (10 -> 100)": 53_271,
    "deleverage (1 fill)": 165_742,
    "deleverage (11 fills)": 458_355,
    "deleverage marginal per fill (1 -> 11)": 29_261,
    "fund stake (first)": 164_998,
    "fund stake (again)": 79_519,
    "fund request withdrawal": 129_426,
    "fund withdraw": 77_376,
}

# Gas on anvil after the split (issue 12, commit 94494aa): the loss-waterfall
# fixes (issue 13) may cost at most MAX_WATERFALL_REGRESSION more on any of them.
AFTER_SPLIT = {
    "deposit (first)": 70_199,
    "deposit (again)": 53_087,
    "open position (1 market)": 196_469,
    "increase position": 125_043,
    "open second market": 200_398,
    "reduce position (2 markets open)": 147_341,
    "withdraw (2 markets open)": 125_955,
    "close position": 135_308,
    "oracle refresh": 51_413,
    "LP deposit": 120_191,
    "LP redeem": 145_091,
    "liquidate (single, partial, new keeper)": 145_932,
    "liquidate (single, partial)": 128_808,
    "liquidate_batch (10)": 557_145,
    "liquidate_batch (100)": 4_382_757,
    "liquidate_batch marginal per account (10 -> 100)": 42_506,
    "deleverage (1 fill)": 167_388,
    "deleverage (11 fills)": 460_428,
    "deleverage marginal per fill (1 -> 11)": 29_304,
    "fund stake (first)": 164_998,
    "fund stake (again)": 79_519,
    "fund request withdrawal": 129_426,
    "fund withdraw": 77_594,
}
MAX_WATERFALL_REGRESSION = 0.05

# Gas on anvil before the price-guard and LP-share fixes (issue 14; commit
# 92d4fca, after the loss-waterfall fixes): the guard now reads the feed's
# previous round within its confirmation window, LP calls value the skews'
# fill premium and check the guard, and withdraw, LP deposit and LP redeem
# are shown beside these figures.
BEFORE_GUARD_FIXES = {
    "deposit (first)": 70_199,
    "deposit (again)": 53_087,
    "open position (1 market)": 198_908,
    "increase position": 127_482,
    "open second market": 202_837,
    "reduce position (2 markets open)": 149_744,
    "withdraw (2 markets open)": 125_955,
    "close position": 137_711,
    "oracle refresh": 51_413,
    "LP deposit": 120_191,
    "LP redeem": 145_091,
    "liquidate (single, partial, new keeper)": 149_143,
    "liquidate (single, partial)": 132_662,
    "liquidate_batch (10)": 551_158,
    "liquidate_batch (100)": 4_285_420,
    "liquidate_batch marginal per account (10 -> 100)": 41_491,
    "deleverage (1 fill)": 173_352,
    "deleverage (11 fills)": 468_960,
    "deleverage marginal per fill (1 -> 11)": 29_560,
    "fund stake (first)": 165_145,
    "fund stake (again)": 79_562,
    "fund request withdrawal": 129_426,
    "fund withdraw": 77_594,
}

# Share of the EIP-170 limit each deployable may use (a fifth kept free; issue 19 set the engine's too).
CODE_SIZE_SHARE: dict = {}  # dev: every deployable's share is 80% since issue 19 (the engine's was 75%)
DEFAULT_CODE_SIZE_SHARE = 0.80


def contract_sizes() -> dict:
    sizes = {}
    for name, path in harness.DEPLOYABLES.items():
        out = subprocess.run(
            [sys.executable, "-m", "vyper", "-f", "bytecode_runtime", str(harness.CONTRACTS / path)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        sizes[name] = len(bytes.fromhex(out.stdout.strip().removeprefix("0x")))
    return sizes


def _intrinsic(calldata: bytes) -> int:
    return 21_000 + sum(16 if b else 4 for b in calldata)


class Gas(NamedTuple):
    """A transaction's gas, and its floor: what the storage it touched,
    the accounts it called and the events it emitted cost at the least."""

    used: int
    floor: int

    def marginal(self, smaller: "Gas", n: int) -> "Gas":
        """Per unit between this measurement and a `smaller` one, `n` units apart."""
        return Gas((self.used - smaller.used) // n, (self.floor - smaller.floor) // n)


# Cancun prices (EIP-2929 / EIP-2200 / EIP-3529): a cold slot read, a slot set
# from zero, a slot changed, a cold account, a log and its parts.
COLD_SLOAD, SSTORE_SET, SSTORE_RESET, COLD_ACCOUNT = 2_100, 22_100, 5_000, 2_600
LOG_BASE, LOG_TOPIC, LOG_BYTE = 375, 375, 8
SSTORE_CLEARS_REFUND = 4_800
ZERO_ADDRESS = "0x" + "00" * 20


def _floor(chain, tx_hash: str, receipt: dict) -> int:
    """The cheapest a transaction with these effects could be: intrinsic gas,
    each storage slot it touched read once cold, each net change written
    once (a slot written back to its value counts as a read), each other
    account it called touched once cold, the same events. No refunds, no
    computation, the refund for cleared slots. The slots and their values
    come from anvil's prestate tracer."""
    tx = chain.transaction(tx_hash)
    touched = chain.prestate(tx_hash)
    diff = chain.prestate(tx_hash, diff=True)
    floor, refund = _intrinsic(bytes.fromhex(tx["input"][2:])), 0
    warm = {tx["from"].lower(), tx["to"].lower(), ZERO_ADDRESS}  # dev: sender, target, anvil's coinbase
    for account, state in touched.items():
        if account.lower() not in warm and int(account, 16) > 0x10:  # dev: precompiles are always warm
            floor += COLD_ACCOUNT
        # dev: diff mode leaves a slot that was zero out of "pre" and one cleared to zero out of "post"
        written = diff["post"].get(account, {}).get("storage", {})
        changed = set(diff["pre"].get(account, {}).get("storage", {})) | set(written)
        for slot, old in state.get("storage", {}).items():
            old, new = int(old, 16), int(written.get(slot, "0x0"), 16) if slot in changed else int(old, 16)
            floor += COLD_SLOAD if new == old else SSTORE_SET if old == 0 else SSTORE_RESET
            refund += SSTORE_CLEARS_REFUND if old != 0 and new == 0 else 0
    for log in receipt["logs"]:
        floor += LOG_BASE + LOG_TOPIC * len(log["topics"]) + LOG_BYTE * (len(log["data"]) - 2) // 2
    # dev: a node refunds cleared slots, up to a fifth of the gas used (EIP-3529)
    return floor - min(refund, floor // 5)


def measure(p, sender, contract, fn: str, *args) -> Gas:
    """Gas a node charges for one transaction `contract.fn(*args)` from `sender`, and its floor."""
    with p.env.prank(sender):
        getattr(contract, fn)(*args)
    receipt = p.env.last_receipt
    return Gas(int(receipt["gasUsed"], 16), _floor(p.env, receipt["transactionHash"], receipt))


@contextmanager
def _gas_node():
    """An anvil that keeps history (the tracer replays past transactions)."""
    from backstop.chain.web3_chain import start_anvil

    with start_anvil(prune_history=False) as url:
        yield url


def _deploy(url):
    from backstop.chain.web3_chain import deploy

    return deploy(url, actor("owner"), decimals=6)


def gas_table(url: str) -> dict:
    lp, trader = actor("lp"), actor("trader")
    p = _deploy(url)
    p.fund_pool(lp, 1_000_000)
    p.token.mint(trader, p.units(100_000))
    with p.env.prank(trader):
        p.token.approve(p.vault.address, 2**256 - 1)
    gas = {}
    gas["deposit (first)"] = measure(p, trader, p.vault, "deposit", p.units(50_000))
    gas["deposit (again)"] = measure(p, trader, p.vault, "deposit", p.units(1_000))
    gas["open position (1 market)"] = measure(p, trader, p.engine, "trade", 0, wad(5), 0)
    gas["increase position"] = measure(p, trader, p.engine, "trade", 0, wad(1), 0)
    gas["open second market"] = measure(p, trader, p.engine, "trade", 1, -wad("0.1"), 0)
    gas["reduce position (2 markets open)"] = measure(p, trader, p.engine, "trade", 0, -wad(2), 0)
    gas["withdraw (2 markets open)"] = measure(p, trader, p.engine, "withdraw", p.units(100))
    gas["close position"] = measure(p, trader, p.engine, "trade", 0, -wad(4), 0)
    gas["oracle refresh"] = measure(p, trader, p.oracle, "refresh", 0)
    with p.env.prank(lp):
        p.token.mint(lp, p.units(1_000))
        p.token.approve(p.pool.address, 2**256 - 1)
    gas["LP deposit"] = measure(p, lp, p.pool, "deposit", p.units(1_000))
    gas["LP redeem"] = measure(p, lp, p.pool, "redeem", p.pool.balanceOf(lp) // 10)
    gas.update(two_market_gas(p, lp, trader))
    return gas


def two_market_gas(p, lp, trader) -> dict:
    """The typical case of the calls that price a whole account: the trader,
    and so the pool, in both markets (the pool's share value reads each
    market's price skew and skew scale beside its equity)."""
    with p.env.prank(trader):
        p.engine.trade(0, wad(5), 0)  # dev: the trader holds ETH again beside its BTC short
    with p.env.prank(lp):
        p.token.mint(lp, p.units(1_000))
    return {
        "withdraw (2 markets open, pool in both)": measure(p, trader, p.engine, "withdraw", p.units(100)),
        "LP deposit (pool in 2 markets)": measure(p, lp, p.pool, "deposit", p.units(1_000)),
        "LP redeem (pool in 2 markets)": measure(p, lp, p.pool, "redeem", p.pool.balanceOf(lp) // 10),
    }


def liquidation_gas(url: str) -> dict:
    """Single liquidation, and the marginal gas per account of a batch (10 and 100)."""
    keeper = actor("keeper")
    out = {}
    for n in (2, 10, 100):
        p = _deploy(url)
        accounts = _liquidatable_book(p, n, f"liquidatable-{n}")
        p.set_price(0, 1650)  # every one below maintenance: partial liquidations
        if n == 2:
            # dev: the first reward creates the keeper's vault slot (22k of the
            #      figure); a working keeper already has one.
            out["liquidate (single, partial, new keeper)"] = measure(p, keeper, p.engine, "liquidate", accounts[0])
            out["liquidate (single, partial)"] = measure(p, keeper, p.engine, "liquidate", accounts[1])
        else:
            out[f"liquidate_batch ({n})"] = measure(p, keeper, p.engine, "liquidate_batch", accounts)
    out["liquidate_batch marginal per account (10 -> 100)"] = out["liquidate_batch (100)"].marginal(
        out["liquidate_batch (10)"], 90)
    return out


def _liquidatable_book(p, n: int, name: str) -> list:
    """A 10M USD pool and `n` 5x ETH longs of 2,000 USD, on either harness:
    ETH at 1650 puts every one below maintenance."""
    p.fund_pool(actor("lp"), 10_000_000)
    accounts = [actor(f"{name}-{i}") for i in range(n)]
    for a in accounts:
        p.fund_trader(a, 2_000)
        with p.env.prank(a):
            p.engine.trade(0, wad(5))
    return accounts


def tier_gas(url: str) -> dict:
    """Issue 19's size tiers: a trade and a single partial liquidation on the
    same book with flat margin and with tiers on (slope 1 on ETH): the tier
    costs the skew scale's slot and a few divisions per tiered position."""
    keeper, out = actor("keeper"), {}
    for slope, label in ((0, "flat"), (1, "tiers on")):
        trader = actor(f"tier-trader-{slope}")
        p = _deploy(url)
        if slope:
            with p.env.prank(p.owner):
                p.configurator.set_margin_tiers(0, wad(slope))
        accounts = _liquidatable_book(p, 2, f"tier-liquidatable-{slope}")
        p.token.mint(trader, p.units(100_000))
        with p.env.prank(trader):
            p.token.approve(p.vault.address, 2**256 - 1)
            p.vault.deposit(p.units(50_000))
        out[f"open position (1 market, beside a book, {label})"] = measure(p, trader, p.engine, "trade", 0, wad(5), 0)
        p.set_price(0, 1650)
        with p.env.prank(keeper):
            p.engine.liquidate(accounts[0])  # dev: the keeper's vault slot, as in `liquidate (single, partial)`
        out[f"liquidate (single, partial, {label})"] = measure(p, keeper, p.engine, "liquidate", accounts[1])
    return out


def stable_mark_gas(url: str) -> dict:
    """Issue 19's stable mark: a single partial liquidation and a batch of 10 on
    the same book after the same fall (six rounds to 1,650 two minutes apart)
    with the mark off, on but caught up with the price (the walk of the rounds
    in its window, no second look) and on and lagging (the walk, and the
    account's margin again at the stable marks): 0.1% and 0.02% a second over
    an hour's window, read 300 s after the last round."""
    keeper, out = actor("keeper"), {}
    for rate, label in ((0, "stable mark off"), (1_000_000, "stable mark caught up"),
                        (200_000, "stable mark lagging")):
        p = _deploy(url)
        if rate:
            with p.env.prank(p.owner):
                p.oracle.set_stable_mark(0, rate, 3_600)
        accounts = _liquidatable_book(p, 12, f"stable-liquidatable-{rate}")
        for usd in (1950, 1900, 1850, 1800, 1750, 1650):
            p.env.time_travel(seconds=120)
            p.set_price(0, usd)
        p.env.time_travel(seconds=300)
        lagging = p.oracle.liquidation_prices(1)[3] != 0
        assert lagging == (label == "stable mark lagging") and p.lens.is_liquidatable(accounts[0]), label
        with p.env.prank(keeper):
            p.engine.liquidate(accounts[0])  # dev: the keeper's vault slot, as in `liquidate (single, partial)`
        out[f"liquidate (single, partial, {label})"] = measure(p, keeper, p.engine, "liquidate", accounts[1])
        out[f"liquidate_batch (10, {label})"] = measure(p, keeper, p.engine, "liquidate_batch", accounts[2:])
    return out


def volatility_gas(url: str) -> dict:
    """Issue 19's volatility-scaled margin: the keeper's `update_margins` crank
    with no new round, after one calm round, after one round that moves the
    margins (the push to the engine), and folding its most, 16 rounds; the
    engine is unchanged, so trades and liquidations cost what they did."""
    keeper, out = actor("keeper"), {}
    p = _deploy(url)
    with p.env.prank(p.owner):
        p.configurator.set_volatility_margin(0, wad("0.9"), wad("0.005"), wad(3), wad(1))
    out["update_margins (no new round)"] = measure(p, keeper, p.configurator, "update_margins", 0)
    p.env.time_travel(seconds=60)
    p.set_price(0, 2001)
    out["update_margins (one calm round)"] = measure(p, keeper, p.configurator, "update_margins", 0)
    p.env.time_travel(seconds=60)
    p.set_price(0, 1800)
    out["update_margins (one round that moves the margins)"] = measure(p, keeper, p.configurator, "update_margins", 0)
    for i in range(16):
        p.env.time_travel(seconds=12)
        p.set_price(0, 1800 - 10 * (i + 1))
    out["update_margins (16 rounds)"] = measure(p, keeper, p.configurator, "update_margins", 0)
    return out


def adl_gas(url: str) -> dict:
    """`deleverage` against 1 and 11 counterparties, in the queue and pro rata
    (issue 19; the same book, each short giving its whole ETH): the marginal gas per fill."""
    keeper = actor("keeper")
    out = {}
    for n, pro_rata in ((1, False), (11, False), (1, True), (11, True)):
        p = _deploy(url)
        if pro_rata:
            with p.env.prank(p.owner):
                p.configurator.set_adl_pro_rata(0, True)
        p.fund_pool(actor("lp"), 1_000_000)
        shorts = [actor(f"adl-short-{n}-{i}") for i in range(n)]
        for a in shorts:
            p.fund_trader(a, 5_000)
            with p.env.prank(a):
                p.engine.trade(0, -wad(1))
        bankrupt = actor(f"adl-long-{n}")
        p.fund_trader(bankrupt, 1_000 * n)
        with p.env.prank(bankrupt):
            p.engine.trade(0, wad(n))
        p.set_price(0, 900)  # ~ -100 USD of equity per ETH: far beyond the fund's fees
        ranked = sorted(shorts, key=lambda a: -p.lens.adl_score(a, 0))
        mode = "deleverage pro rata" if pro_rata else "deleverage"
        out[f"{mode} ({n} fill{'s' if n > 1 else ''})"] = measure(p, keeper, p.deleverager, "deleverage", bankrupt, 0,
                                                                   ranked)
    for mode in ("deleverage", "deleverage pro rata"):
        out[f"{mode} marginal per fill (1 -> 11)"] = out[f"{mode} (11 fills)"].marginal(out[f"{mode} (1 fill)"], 10)
    return out


def fund_gas(url: str) -> dict:
    """InsuranceFund: stake, request a withdrawal, withdraw after the cooldown."""
    p = _deploy(url)
    staker = actor("staker")
    p.token.mint(staker, p.units(20_000))
    with p.env.prank(staker):
        p.token.approve(p.insurance.address, 2**256 - 1)
    out = {
        "fund stake (first)": measure(p, staker, p.insurance, "stake", p.units(10_000)),
        "fund stake (again)": measure(p, staker, p.insurance, "stake", p.units(5_000)),
    }
    out["fund request withdrawal"] = measure(p, staker, p.insurance, "request_withdrawal",
                                             p.insurance.balanceOf(staker) // 2)
    p.env.time_travel(harness.FUND_COOLDOWN)
    out["fund withdraw"] = measure(p, staker, p.insurance, "withdraw")
    return out


def all_gas() -> dict:
    """Every operation's Gas, measured on one anvil (each table deploys afresh)."""
    with _gas_node() as url:
        gas = gas_table(url)
        for table in (liquidation_gas, tier_gas, stable_mark_gas, volatility_gas, adl_gas, fund_gas):
            gas.update(table(url))
    return gas


def harness_rate(calls: int = 300) -> float:
    """Titanoboa trades per second (open then close, repeated), median of 3 runs."""
    return _trade_rate(harness.deploy(actor("owner"), decimals=6), calls)


def revm_trade_rate(calls: int = 2_000) -> float:
    """The same trades on revm (backstop.chain.revm_chain), median of 3 runs."""
    from backstop.chain import revm_chain

    return _trade_rate(revm_chain.deploy(actor("owner"), decimals=6), calls)


def _trade_rate(p, calls: int) -> float:
    p.fund_pool(actor("lp"), 1_000_000)
    trader = actor("rate-trader")
    p.fund_trader(trader, 100_000)
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        with p.env.prank(trader):
            for _ in range(calls // 2):
                p.engine.trade(0, wad(1))
                p.engine.trade(0, -wad(1))
        samples.append(calls / (time.perf_counter() - start))
    return statistics.median(samples)


def fuzzer_rate(runs: int = 3) -> dict:
    """The solvency fuzzer's calls/s (its `ci` profile, in a subprocess) beside a
    raw titanoboa loop of simple calls measured in the same run: median, min, max."""
    rates, raw = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/stateful/test_solvency.py", "-q", "-p", "no:cacheprovider"],
            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HYPOTHESIS_PROFILE": "ci"},
        )
        line = next(x for x in out.stdout.splitlines() if x.endswith("calls/s") and "protocol calls" in x)
        rates.append(float(line.split(", ")[1].split()[0].replace(",", "")))
        raw.append(_raw_boa_rate())
    return {
        "fuzzer_calls_per_second": _spread(rates),
        "raw_titanoboa_calls_per_second": _spread(raw),
        "ratio": statistics.median(rates) / statistics.median(raw),
    }


def attacker_rate(runs: int = 3) -> dict:
    """The attacker fuzzer's calls/s (`TestAttacker` under the `ci` profile, in a
    subprocess; its monitor's views counted, as the honest fuzzer's invariant
    views are) beside the honest solvency fuzzer's in the same run: what the
    adversary's rules and checks cost."""
    rates, honest = [], []
    for _ in range(runs):
        # dev: a find stops the run early; its rate up to there still counts.
        rates.append(_fuzzer_calls_per_second("tests/stateful/test_attacker.py", "attacker fuzzer:", "TestAttacker",
                                              allow_find=True))
        honest.append(_fuzzer_calls_per_second("tests/stateful/test_solvency.py", "protocol calls"))
    return {
        "attacker_calls_per_second": _spread(rates),
        "honest_calls_per_second": _spread(honest),
        "ratio": statistics.median(rates) / statistics.median(honest),
    }


def _fuzzer_calls_per_second(path: str, marker: str, select: str = "", allow_find: bool = False) -> float:
    """Run one fuzzer test file under the `ci` profile; its printed calls/s."""
    command = [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider"] + (["-k", select] if select else [])
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "HYPOTHESIS_PROFILE": "ci"})
    line = next((x for x in out.stdout.splitlines() if marker in x and x.endswith("calls/s")), None)
    if (out.returncode != 0 and not allow_find) or line is None:
        raise SystemExit(f"bench: {path} failed under the ci profile (rc {out.returncode}): {out.stdout[-500:]}")
    calls = line.rsplit(", ", 1)[1].split()[0]
    return float(calls.replace(",", ""))


def _raw_boa_rate(calls: int = 2_000) -> float:
    # dev: the simplest state-changing call there is: a token transfer.
    token = harness.deployers()["MockERC20"].deploy("Raw", "RAW", 6)
    sender, receiver = actor("raw-sender"), actor("raw-receiver")
    token.mint(sender, calls)
    start = time.perf_counter()
    with boa.env.prank(sender):
        for _ in range(calls):
            token.transfer(receiver, 1)
    return calls / (time.perf_counter() - start)


def keeper_latency(sizes=(10, 100, 500), runs: int = 3) -> dict:
    """Blocks and seconds from the price update that makes N accounts
    liquidatable to the block of the last liquidation, on anvil (automine:
    one transaction per block) with the real Keeper over raw JSON-RPC."""
    from backstop.keeper.logic import BoaChain, Keeper
    from backstop.chain.web3_chain import BLOCK_GAS_LIMIT, deploy, start_anvil

    out = {}
    for n in sizes:
        blocks, seconds = [], []
        for _ in range(runs):
            with start_anvil() as url:
                p = deploy(url, actor("owner"), decimals=6)
                traders = _liquidatable_book(p, n, "latency")
                keeper = Keeper(BoaChain(p, actor("keeper")), block_gas_limit=BLOCK_GAS_LIMIT)
                for t in traders:
                    keeper.track(t)
                p.set_price(0, 1650)  # every one below maintenance
                price_block, start = p.env.last_block, time.perf_counter()
                report = keeper.run_round()
                seconds.append(time.perf_counter() - start)
                if len(report.liquidated) != n:
                    raise RuntimeError(f"keeper liquidated {len(report.liquidated)} of {n}")
                blocks.append(p.env.last_block - price_block)
        out[str(n)] = {"blocks": _spread(blocks), "seconds": _spread(seconds)}
    return out


SIMULATOR_RUN = {"scenario": "gbm-jumps", "traders": 500, "seed": 1}  # issue 5: 500 traders, 200 steps


def simulator_rate(runs: int = 3) -> dict:
    """Transactions per second of a fixed simulator run (SIMULATOR_RUN) on
    anvil, beside raw web3.py on the same node in the same run: a token mint
    sent with `contract.functions.mint(...).transact()` and
    `wait_for_transaction_receipt`, the usual way to drive a node from
    Python. The bare JSON-RPC rate (the simulator's own transport, the same
    mint) is the ceiling, for context. Each run gets a fresh node."""
    from backstop.chain.revm_chain import compiled
    from backstop.chain.web3_chain import Web3Chain, start_anvil

    compiled()
    raw, bare = [], []

    def on_a_fresh_node(play):
        with start_anvil() as url:
            raw.append(_raw_web3_rate(url))
            bare.append(_bare_rpc_rate(url))
            return play(Web3Chain(url))

    r = _simulator_runs(runs, on_a_fresh_node, "on anvil")
    return {**r, "raw_web3_tx_per_second": _spread(raw), "bare_json_rpc_tx_per_second": _spread(bare),
            "ratio": r["simulator_tx_per_second"]["median"] / statistics.median(raw)}


def _simulator_runs(runs: int, on_chain, where: str) -> dict:
    """SIMULATOR_RUN `runs` times, each through `on_chain(play)` (which calls
    `play(chain)` on a chain of its own and may measure beside it): the
    wall times, rates and the one event log they must all give."""
    from backstop.sim.scenario import load_scenario_data
    from backstop.sim.simulator import Simulation

    data = load_scenario_data(SIMULATOR_RUN["scenario"])
    sim, wall, txs, hashes = [], [], [], set()

    def play(chain):
        run = Simulation(data, SIMULATOR_RUN["seed"], chain, traders=SIMULATOR_RUN["traders"]).run()
        seconds = run.finished - run.started
        sim.append(run.transactions() / seconds)
        wall.append(seconds)
        txs.append(run.transactions())
        hashes.add(run.event_hash())

    for _ in range(runs):
        on_chain(play)
    if len(hashes) != 1:
        raise RuntimeError(f"the fixed simulator run {where} gave {len(hashes)} different event logs")
    return {"run": {**SIMULATOR_RUN, "steps": data["steps"], "transactions": txs[0], "event_log_hash": hashes.pop()},
            "wall_seconds": _spread(wall), "simulator_tx_per_second": _spread(sim)}


def simulator_revm_rate(runs: int = 3) -> dict:
    """The same fixed simulator run (SIMULATOR_RUN, I1-I4 checked every step)
    on an in-process revm chain, beside revm's raw trade rate (open then
    close, `revm_trade_rate`) measured in the same run: its ceiling."""
    from backstop.chain.revm_chain import Chain

    raw = []

    def in_process(play):
        raw.append(revm_trade_rate())
        return play(Chain())

    r = _simulator_runs(runs, in_process, "on revm")
    return {**r, "raw_revm_trades_per_second": _spread(raw),
            "ratio": r["simulator_tx_per_second"]["median"] / statistics.median(raw)}


SWEEP_RUN = {"scenario": "flash-crash", "traders": 500, "runs": 64}  # 64 seeds, ~1.5 s a run: the cluster's start is paid once


def sweep_scale(runs: int = SWEEP_RUN["runs"], jobs: int = 2) -> dict:
    """Wall time of a 64-run sweep on revm (seeds 1..64 of SWEEP_RUN): one
    process running every task in turn, then Dask's local cluster of `jobs`
    worker processes (its start included). Both must give the same event log
    for every run."""
    import tempfile

    from backstop.sim.scenario import load_scenario_data
    from backstop.sim.sweep import plan, run_task, sweep

    data = load_scenario_data(SWEEP_RUN["scenario"])
    todo = plan(data, list(range(1, runs + 1)), traders=SWEEP_RUN["traders"])
    start = time.perf_counter()
    serial = {run.label: run_task(run, "revm", False)["row"]["event_log_hash"] for run in todo}
    serial_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="backstop-bench-sweep-") as out:
        start = time.perf_counter()
        rows = sweep(todo, Path(out), chain_kind="revm", jobs=jobs)
        cluster_seconds = time.perf_counter() - start
    clustered = {row["label"]: row["event_log_hash"] for row in rows}
    if clustered != serial:
        raise RuntimeError("the sweep on the local cluster gave other event logs than the same runs in turn")
    return {"run": {**SWEEP_RUN, "runs": runs, "chain": "revm"}, "jobs": jobs, "cores": os.cpu_count(),
            "serial_seconds": serial_seconds, "cluster_seconds": cluster_seconds,
            "speedup": serial_seconds / cluster_seconds}


def _raw_web3_rate(url: str, txs: int = 500) -> float:
    from web3 import Web3

    from backstop.chain.revm_chain import compiled

    abi, code = compiled()["MockERC20"]
    w3 = Web3(Web3.HTTPProvider(url))
    sender = w3.eth.accounts[0]
    deployed = w3.eth.contract(abi=abi, bytecode=code).constructor("raw", "RAW", 6).transact({"from": sender})
    token = w3.eth.contract(address=w3.eth.wait_for_transaction_receipt(deployed)["contractAddress"], abi=abi)
    start = time.perf_counter()
    for _ in range(txs):
        w3.eth.wait_for_transaction_receipt(token.functions.mint(sender, 1).transact({"from": sender, "gas": 100_000}))
    return txs / (time.perf_counter() - start)


def _bare_rpc_rate(url: str, txs: int = 500) -> float:
    from backstop.chain.web3_chain import Web3Chain

    chain = Web3Chain(url)
    with chain.prank(actor("bench raw sender")):
        token = chain.deploy("MockERC20", "bare", "BARE", 6)
        start = time.perf_counter()
        for _ in range(txs):
            token.mint(actor("bench raw sender"), 1)
    return txs / (time.perf_counter() - start)


def suite_time(runs: int = 1) -> dict:
    """Wall time of the whole test suite (`pytest`, the `quick` profile)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                              capture_output=True, text=True, env={**os.environ, "HYPOTHESIS_PROFILE": "quick"})
        if done.returncode != 0:
            # dev: say why, with the failures pytest listed (the rest of the bench is already measured).
            tail = "\n".join(done.stdout.splitlines()[-30:])
            raise RuntimeError(f"the test suite failed (exit {done.returncode}):\n{tail}")
        samples.append(time.perf_counter() - start)
    return _spread(samples)


def _spread(samples: list) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": len(samples)}


def main():
    if os.environ.get("BENCH_PART") == "gas":
        return gas_only()
    if os.environ.get("BENCH_PART") == "fuzz":
        return fuzz_only()
    if os.environ.get("BENCH_PART") == "sim":
        return sim_only()
    # dev: the suite first: a failing suite stops the bench before the long runs.
    suite = suite_time(int(os.environ.get("SUITE_RUNS", "1")))
    sizes = contract_sizes()
    gas = all_gas()
    rate = harness_rate()
    revm_rate = revm_trade_rate()
    fuzzer = fuzzer_rate()
    attacker = attacker_rate()
    latency = keeper_latency()
    simulator = simulator_rate()
    simulator_revm = simulator_revm_rate()
    sweeps = sweep_scale()
    results = {
        "code_size_bytes": sizes, "code_size_limit": CODE_SIZE_LIMIT,
        "gas": {op: g.used for op, g in gas.items()}, "gas_floor": {op: g.floor for op, g in gas.items()},
        "boa_trades_per_second": rate, "revm_trades_per_second": revm_rate, "fuzzer": fuzzer,
        "attacker_fuzzer": attacker, "keeper_latency": latency, "simulator": simulator, "suite_seconds": suite,
        "simulator_revm": simulator_revm, "sweep": sweeps,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'contract':<20}{'bytes':>8}{'of limit':>10}")
    for name, size in sizes.items():
        print(f"{name:<20}{size:>8}{size / CODE_SIZE_LIMIT:>10.0%}")
    print(f"\n{'operation':<50}{'gas':>10}{'floor':>10}{'ratio':>7}")
    for op, g in gas.items():
        print(f"{op:<50}{g.used:>10,}{g.floor:>10,}{g.used / g.floor:>7.2f}")
    print(f"\ntitanoboa harness: {rate:,.0f} trades/s (median of 3 runs of 300)")
    print(f"revm harness: {revm_rate:,.0f} trades/s (median of 3 runs of 2,000)")
    f, r = fuzzer["fuzzer_calls_per_second"], fuzzer["raw_titanoboa_calls_per_second"]
    print(f"solvency fuzzer: {f['median']:,.0f} calls/s (min {f['min']:,.0f}, max {f['max']:,.0f}); raw titanoboa "
          f"transfers {r['median']:,.0f}/s (min {r['min']:,.0f}, max {r['max']:,.0f}); ratio {fuzzer['ratio']:.1f}x")
    print(_attacker_line(attacker))
    for n, figures in latency.items():
        b, t = figures["blocks"], figures["seconds"]
        print(f"keeper latency, {n} accounts: {b['median']} blocks (min {b['min']}, max {b['max']}), "
              f"{t['median']:.2f} s (min {t['min']:.2f}, max {t['max']:.2f})")
    sm, rw, bare = simulator["simulator_tx_per_second"], simulator["raw_web3_tx_per_second"], \
        simulator["bare_json_rpc_tx_per_second"]
    print(f"simulator ({simulator['run']['scenario']}, {simulator['run']['traders']} traders, "
          f"{simulator['run']['steps']} steps): {simulator['wall_seconds']['median']:.1f} s, {sm['median']:.0f} tx/s; "
          f"raw web3 {rw['median']:.0f} tx/s; ratio {simulator['ratio']:.0%}; bare JSON-RPC {bare['median']:.0f} tx/s")
    print(_simulator_revm_line(simulator_revm))
    print(_sweep_line(sweeps))
    print(f"test suite: {suite['median']:.0f} s ({suite['runs']} run(s))")
    MARKDOWN.write_text(markdown(results))
    print(f"wrote {RESULTS.relative_to(ROOT)} and {MARKDOWN.relative_to(ROOT)}")


def _attacker_line(a: dict) -> str:
    f, h = a["attacker_calls_per_second"], a["honest_calls_per_second"]
    return (f"attacker fuzzer: {f['median']:,.0f} calls/s (min {f['min']:,.0f}, max {f['max']:,.0f}); honest solvency "
            f"fuzzer {h['median']:,.0f} calls/s in the same run; ratio {a['ratio']:.2f}")


def _attacker_rows(a: dict | None) -> list:
    if a is None:
        return []
    f, h = a["attacker_calls_per_second"], a["honest_calls_per_second"]
    return [
        f"| attacker fuzzer, protocol calls/s (`TestAttacker`, `ci` profile, {f['runs']} runs; with the monitor's "
        f"views) | {f['median']:,.0f} | {f['min']:,.0f} – {f['max']:,.0f} | ≥ 3,000 {'✓' if f['median'] >= 3_000 else '✗'} |",
        f"| honest solvency fuzzer, calls/s (same runs) | {h['median']:,.0f} | {h['min']:,.0f} – {h['max']:,.0f} | |",
        f"| ratio attacker / honest (what the adversary's rules and checks cost) | {a['ratio']:.2f} | | |",
    ]


def fuzz_only():
    """`BENCH_PART=fuzz make bench`: the two fuzzers' rates only (a few
    minutes), the other figures kept from the last full run."""
    results = json.loads(RESULTS.read_text())
    results["attacker_fuzzer"] = attacker = attacker_rate()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(_attacker_line(attacker))
    MARKDOWN.write_text(markdown(results))
    print(f"wrote {RESULTS.relative_to(ROOT)} and {MARKDOWN.relative_to(ROOT)}")


def sim_only():
    """`BENCH_PART=sim make bench`: the simulator on revm and the 64-run sweep
    (a few minutes), the other figures kept from the last full run."""
    results = json.loads(RESULTS.read_text())
    results["simulator_revm"] = simulator_revm = simulator_revm_rate()
    print(_simulator_revm_line(simulator_revm))
    results["sweep"] = sweeps = sweep_scale()
    print(_sweep_line(sweeps))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    MARKDOWN.write_text(markdown(results))
    print(f"wrote {RESULTS.relative_to(ROOT)} and {MARKDOWN.relative_to(ROOT)}")


def _simulator_revm_line(r: dict) -> str:
    sm, raw = r["simulator_tx_per_second"], r["raw_revm_trades_per_second"]
    return (f"simulator on revm ({r['run']['scenario']}, {r['run']['traders']} traders, {r['run']['steps']} steps, "
            f"I1-I4 every step): {r['wall_seconds']['median']:.1f} s, {sm['median']:,.0f} tx/s (min {sm['min']:,.0f}, "
            f"max {sm['max']:,.0f}); raw revm trades {raw['median']:,.0f}/s in the same run; ratio {r['ratio']:.0%}")


def _sweep_line(r: dict) -> str:
    return (f"sweep of {r['run']['runs']} runs ({r['run']['scenario']}, {r['run']['traders']} traders, revm): "
            f"{r['serial_seconds']:.1f} s in turn, {r['cluster_seconds']:.1f} s on a local Dask cluster of "
            f"{r['jobs']} workers ({r['cores']} cores); speedup {r['speedup']:.2f}x")


def _scale_rows(r: dict) -> list:
    rows = []
    if r.get("simulator_revm"):
        v = r["simulator_revm"]
        sm, raw, wall, run = v["simulator_tx_per_second"], v["raw_revm_trades_per_second"], v["wall_seconds"], v["run"]
        rows += [
            f"| crash simulator on revm, tx/s ({run['scenario']}, {run['traders']} traders, {run['steps']} steps, "
            f"I1–I4 every step, {run['transactions']:,} transactions, {sm['runs']} runs) | {sm['median']:,.0f} | "
            f"{sm['min']:,.0f} – {sm['max']:,.0f} | ≥ 1,500 {'✓' if sm['median'] >= 1_500 else '✗'} |",
            f"| crash simulator on revm, wall seconds (same runs) | {wall['median']:,.1f} | "
            f"{wall['min']:,.1f} – {wall['max']:,.1f} | |",
            f"| raw revm trades/s (open then close, same runs: the ceiling) | {raw['median']:,.0f} | "
            f"{raw['min']:,.0f} – {raw['max']:,.0f} | |",
            f"| ratio simulator on revm / raw revm trades | {v['ratio']:.0%} | | |",
        ]
    if r.get("sweep"):
        v = r["sweep"]
        rows += [
            f"| sweep of {v['run']['runs']} runs ({v['run']['scenario']}, {v['run']['traders']} traders, revm), "
            f"wall seconds one after another in one process | {v['serial_seconds']:,.1f} | | |",
            f"| the same sweep on Dask's local cluster ({v['jobs']} workers, {v['cores']} cores, cluster start "
            f"included) | {v['cluster_seconds']:,.1f} | | speedup {v['speedup']:.2f}× |",
        ]
    return rows


def gas_only():
    """`BENCH_PART=gas make bench`: code sizes and gas only (deterministic, a
    minute or two), the timed figures kept from the last full run."""
    results = json.loads(RESULTS.read_text())
    sizes, gas = contract_sizes(), all_gas()
    results.update({
        "code_size_bytes": sizes,
        "gas": {op: g.used for op, g in gas.items()}, "gas_floor": {op: g.floor for op, g in gas.items()},
    })
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for op, g in gas.items():
        print(f"{op:<50}{g.used:>10,}{g.floor:>10,}{g.used / g.floor:>7.2f}")
    MARKDOWN.write_text(markdown(results))
    print(f"wrote sizes and gas to {RESULTS.relative_to(ROOT)} and {MARKDOWN.relative_to(ROOT)}")


def markdown(r: dict) -> str:
    """BENCHMARKS.md from the results: every figure beside its target."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (backstop/bench.py) with bench/results.json; figures from one run on the",
        "development machine (2 cores). Gas is deterministic (one run); rates and times are the median of",
        "several runs, with min and max. Gas targets are issue 12's (the engine split), the rest issue 7's.",
        "",
        "## Gas per operation",
        "",
        "`gasUsed` of each transaction's receipt on anvil (cancun). The floor is what a transaction with the",
        "same effects costs at the least: the intrinsic 21,000 and calldata, each storage slot it touched read",
        "once cold (2,100), each net change written once (22,100 from zero, 5,000 otherwise; written back to",
        "its value counts as a read), each other contract it called touched once cold (2,600), the same events,",
        "less the refund for cleared slots; no computation. Slots and values from anvil's prestate tracer.",
        "The ratio is gas over floor: what the code spends beyond the storage it must touch. \"After the",
        "split\" is the same operation after the engine split (issue 12, commit 94494aa), before the",
        f"loss-waterfall fixes (issue 13): ✗ marks one more than {MAX_WATERFALL_REGRESSION:.0%} above it. \"Before the split\" is",
        "the single Clearinghouse (commit fcf8dd0), for the record. \"Before the guard fixes\" is the same",
        "operation before issue 14 (commit 92d4fca): the guard as a function of the feed's rounds, LP shares",
        "net of the skews' fill premium.",
        "",
        "| operation | gas | floor | ratio | before the guard fixes | after the split | before the split | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for op, gas in r["gas"].items():
        floor = r["gas_floor"][op]
        target = GAS_TARGETS.get(op)
        verdict = ""
        if target:
            verdict = f"≤ {target:,} {'✓' if gas <= target else '✗'}"
        after, before = AFTER_SPLIT.get(op), BEFORE_SPLIT.get(op)
        change = ""
        if after:
            change = f"{after:,} ({gas / after - 1:+.1%}{' ✗' if gas > after * (1 + MAX_WATERFALL_REGRESSION) else ''})"
        was = f"{before:,} ({gas / before - 1:+.1%})" if before else ""
        guard = BEFORE_GUARD_FIXES.get(op)
        today = f"{guard:,} ({gas / guard - 1:+.1%})" if guard else ""
        lines.append(f"| {op} | {gas:,} | {floor:,} | {gas / floor:.2f} | {today} | {change} | {was} | {verdict} |")
    lines += ["", "## Keeper latency (anvil, automine: one transaction per block)", "",
              "From the price update that makes N accounts liquidatable to the block of the last liquidation;",
              "the real Keeper over raw JSON-RPC, batches sized to a 30M block.", "",
              "| N | blocks (median, min–max) | seconds (median, min–max) | target |", "| ---: | --- | --- | --- |"]
    for n, f in r["keeper_latency"].items():
        b, t = f["blocks"], f["seconds"]
        target = ("≤ 2 blocks " + ("✓" if b["max"] <= 2 else "✗")) if n == "500" else ""
        lines.append(f"| {n} | {b['median']} ({b['min']}–{b['max']}) | {t['median']:.2f} ({t['min']:.2f}–{t['max']:.2f}) "
                     f"| {target} |")
    f, raw = r["fuzzer"]["fuzzer_calls_per_second"], r["fuzzer"]["raw_titanoboa_calls_per_second"]
    lines += [
        "", "## Throughput", "",
        "| figure | median | min – max | target |", "| --- | ---: | --- | --- |",
        f"| solvency fuzzer, protocol calls/s (`ci` profile, {f['runs']} runs) | {f['median']:,.0f} | "
        f"{f['min']:,.0f} – {f['max']:,.0f} | ≥ 1,000 {'✓' if f['median'] >= 1_000 else '✗'} |",
        f"| raw titanoboa, token transfers/s (same runs) | {raw['median']:,.0f} | {raw['min']:,.0f} – {raw['max']:,.0f} | |",
        f"| ratio fuzzer / raw titanoboa | {r['fuzzer']['ratio']:.1f}× | | |",
        *_attacker_rows(r.get("attacker_fuzzer")),
        f"| titanoboa trades/s | {r['boa_trades_per_second']:,.0f} | | |",
        f"| revm trades/s | {r['revm_trades_per_second']:,.0f} | | |",
    ]
    sim = r["simulator"]
    sm, rw, bare, wall = (sim["simulator_tx_per_second"], sim["raw_web3_tx_per_second"],
                          sim["bare_json_rpc_tx_per_second"], sim["wall_seconds"])
    run = sim["run"]
    lines += [
        f"| crash simulator, tx/s ({run['scenario']}, {run['traders']} traders, {run['steps']} steps, "
        f"{run['transactions']:,} transactions, {sm['runs']} runs) | {sm['median']:,.0f} | "
        f"{sm['min']:,.0f} – {sm['max']:,.0f} | |",
        f"| crash simulator, wall seconds (same runs) | {wall['median']:,.1f} | {wall['min']:,.1f} – {wall['max']:,.1f} | |",
        f"| raw web3.py + anvil, tx/s (a token mint, `transact` + `wait_for_transaction_receipt`, same nodes) | "
        f"{rw['median']:,.0f} | {rw['min']:,.0f} – {rw['max']:,.0f} | |",
        f"| ratio simulator / raw web3 | {sim['ratio']:.0%} | | ≥ 50% {'✓' if sim['ratio'] >= 0.5 else '✗'} |",
        f"| bare JSON-RPC + anvil, tx/s (the simulator's transport, the same mint: the ceiling) | {bare['median']:,.0f} | "
        f"{bare['min']:,.0f} – {bare['max']:,.0f} | |",
        *_scale_rows(r),
        "", "## Test suite", "",
        f"`pytest` (the `quick` profile): {r['suite_seconds']['median']:.0f} s "
        f"({r['suite_seconds']['runs']} run{'s' if r['suite_seconds']['runs'] > 1 else ''}; `SUITE_RUNS=3 make bench` for three).",
        "", "## Code size", "",
        "Runtime bytes against EIP-170's 24,576; every deployable may use 80% (the engine's share was 75% until issue 19)",
        "(tests/unit/test_code_size.py fails a build beyond it).", "",
        "| contract | runtime bytes | of 24,576 | headroom to its share |", "| --- | ---: | ---: | ---: |",
    ]
    for name, size in r["code_size_bytes"].items():
        share = CODE_SIZE_SHARE.get(name, DEFAULT_CODE_SIZE_SHARE)
        room = int(share * r["code_size_limit"]) - size
        lines.append(f"| {name} | {size:,} | {size / r['code_size_limit']:.0%} | {room:,} of {share:.0%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
