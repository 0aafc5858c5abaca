"""The keeper's logic, independent of how it reaches the chain.

`Keeper` tracks accounts, finds the liquidatable ones with the engine's batch
health view, and liquidates them in batches sized to the block gas limit. It
survives a lost race (the engine skips accounts already liquidated, so the
batch simply settles fewer) and a failed transaction (logged, the next round
tries again). Two adapters reach a chain: `ApeChain` (the silverback bot,
bots/keeper.py) and `BoaChain` (in-process, for tests and the simulator).
"""

import logging
import threading
from dataclasses import dataclass, field

# Figures from `make bench`: the marginal gas of one more account in a batch,
# and what a batch costs before its first account. Kept generous.
GAS_PER_ACCOUNT = 60_000
GAS_BASE = 120_000
MAX_BATCH = 200  # the engine's MAX_LIQUIDATION_BATCH
HEALTH_CHUNK = 1_000  # the engine's MAX_HEALTH_BATCH


@dataclass
class RoundReport:
    """What one keeper round saw and did."""

    tracked: int = 0
    liquidatable: list = field(default_factory=list)
    liquidated: list = field(default_factory=list)
    skipped: int = 0  # in a sent batch but settled by someone else first (a lost race)
    failed_batches: int = 0
    dry_run: bool = False


class Keeper:
    def __init__(self, chain, block_gas_limit: int = 30_000_000, log: logging.Logger | None = None):
        self.chain = chain
        self.accounts: set[str] = set()
        self.log = log or logging.getLogger("backstop.keeper")
        # dev: a block handler and a price-update handler may fire together;
        #      one round at a time keeps the signer's nonces in order.
        self._lock = threading.Lock()
        usable = int(block_gas_limit * 0.9) - GAS_BASE
        self.batch_size = max(1, min(MAX_BATCH, usable // GAS_PER_ACCOUNT))

    def track(self, account: str):
        """Watch `account` (every trader: from Trade events, or told by the simulator)."""
        self.accounts.add(str(account))

    def liquidatable(self) -> list[str]:
        """Tracked accounts below maintenance, at valid prices (the others cannot be liquidated now)."""
        accounts = sorted(self.accounts)
        out = []
        for start in range(0, len(accounts), HEALTH_CHUNK):
            chunk = accounts[start : start + HEALTH_CHUNK]
            for account, health in zip(chunk, self.chain.health(chunk)):
                if health.liquidatable and health.prices_valid:
                    out.append(account)
        return out

    def run_round(self) -> RoundReport:
        """Find and liquidate every liquidatable account; never raises on a failed batch."""
        with self._lock:
            report = RoundReport(tracked=len(self.accounts), dry_run=not self.chain.can_send)
            report.liquidatable = self.liquidatable()
            if not report.liquidatable:
                return report
            if report.dry_run:
                self.log.info("dry run: %d liquidatable: %s", len(report.liquidatable), report.liquidatable)
                return report
            for start in range(0, len(report.liquidatable), self.batch_size):
                batch = report.liquidatable[start : start + self.batch_size]
                try:
                    settled = self.chain.liquidate_batch(batch)
                except Exception as e:  # noqa: BLE001  (a keeper must outlive any failed transaction)
                    report.failed_batches += 1
                    self.log.warning("batch of %d failed: %s", len(batch), e)
                    continue
                report.liquidated += settled
                report.skipped += len(batch) - len(settled)
            self.log.info(
                "liquidated %d of %d liquidatable (%d lost to other keepers, %d failed batches)",
                len(report.liquidated), len(report.liquidatable), report.skipped, report.failed_batches,
            )
            return report


class EngineChain:
    """What the keeper needs of a chain: the engine's batch health view, and a
    sender for `liquidate_batch` (None: dry run)."""

    def __init__(self, engine, sender=None):
        self.engine = engine
        self.sender = sender

    @property
    def can_send(self) -> bool:
        return self.sender is not None

    def health(self, accounts):
        return self.engine.health(accounts)


class ApeChain(EngineChain):
    """A live node through ape contract instances; `sender` is an ape account."""

    def liquidate_batch(self, accounts) -> list[str]:
        receipt = self.engine.liquidate_batch(accounts, sender=self.sender)
        return [str(e.account) for e in receipt.decode_logs(self.engine.LiquidationSettled)]


class BoaChain(EngineChain):
    """An in-process titanoboa chain (tests, the simulator); `sender` is an address."""

    def liquidate_batch(self, accounts) -> list[str]:
        import boa

        with boa.env.prank(self.sender):
            self.engine.liquidate_batch(accounts)
        return [str(e.account) for e in self.engine.get_logs() if type(e).__name__ == "LiquidationSettled"]
