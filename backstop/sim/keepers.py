"""Keepers as they are, in the simulator: late, paying gas, losing
transactions, competing (a scenario's `keepers` and `gas`).

Each keeper runs the keeper bot's own logic (backstop.keeper.logic.Keeper)
under its own address. What makes it real:

- **Latency.** It sees the accounts liquidatable at an oracle round and its
  transactions land `latency_blocks` blocks later (`block_seconds` each):
  the simulator plays a late round at that moment, at the price the path has
  reached by then, and the keeper sends what it saw (each still checked by
  the engine: one that recovered, or that a faster keeper took, is skipped).
- **Gas.** The gas price rises with the load (liquidatable accounts at the
  round), up to a cap. A keeper with `min_profit_usd` sends an account only
  when the most its liquidation can pay (the keeper's share of the penalty on
  its notional, clamped to the protocol's min and max reward) beats the gas
  of one more account in a batch by that much; it skips the rest.
- **Lost transactions.** A share of its transactions never land (dropped,
  outbid, reorged out): nothing happens and no gas is paid; it sees the
  accounts again at its next round.
- **Competition.** Keepers due at the same moment go in an order drawn each
  time; the engine settles each account once, so the later find it done.

The perfect keeper (no latency, no losses, no profit gate) is the default and
the control: it acts at every round on everything, as the bot on a fast node.
"""

import random
from dataclasses import dataclass

from backstop.keeper.logic import (
    GAS_BASE,
    GAS_PER_ACCOUNT,
    GAS_PER_EXTRA_MARKET,
    GAS_UPDATE_MARGINS,
    BoaChain,
    Keeper,
    LostTransaction,
)
from backstop.keeper.money import reward_bound_wad
from backstop.sim.scenario import KeeperSpec

WAD = 10**18
GWEI = 10**9


@dataclass
class KeeperStats:
    """One keeper over a run (report.json's `keepers`)."""

    name: str
    latency_blocks: int
    lost_tx_share: float
    min_profit_usd: float | None
    rounds: int = 0
    transactions: int = 0
    lost_transactions: int = 0
    liquidations: int = 0
    reward_usd: float = 0.0
    gas_usd: float = 0.0
    # Accounts it saw liquidatable but held back: their reward bound was below their gas.
    held_back: int = 0

    @property
    def net_usd(self) -> float:
        return self.reward_usd - self.gas_usd


class SimChain(BoaChain):
    """The keeper's in-process chain: it tells the simulator just before each
    `deleverage` (a view read then: the log does not change; what the hook
    returns, if anything, is called once the call has landed), loses a share
    of the transactions, and counts the gas of those that land."""

    def __init__(self, contracts, sender, before_deleverage, lose, on_gas):
        super().__init__(contracts, sender=sender)
        self._before_deleverage = before_deleverage
        self._lose = lose
        self._on_gas = on_gas

    def update_margins(self, market):
        # dev: only for markets with volatility-scaled margin: with it off nowhere, no draw and no gas (same runs).
        if self._lose():
            raise LostTransaction("transaction lost (never mined)")
        try:
            return super().update_margins(market)
        finally:
            self._on_gas(GAS_UPDATE_MARGINS)

    def liquidate_batch(self, accounts):
        if self._lose():
            raise LostTransaction("transaction lost (never mined)")
        counts = self.market_counts(accounts)
        try:
            return super().liquidate_batch(accounts)
        finally:
            # dev: a mined transaction pays its gas, reverted or not (the keeper's own per-account figures).
            self._on_gas(GAS_BASE + sum(GAS_PER_ACCOUNT + GAS_PER_EXTRA_MARKET * max(c - 1, 0)
                                        for c in counts.values()))

    def deleverage(self, account, market, counterparties):
        if self._lose():
            raise LostTransaction("transaction lost (never mined)")
        after = self._before_deleverage(str(account), market, [str(c) for c in counterparties])
        try:
            fills = super().deleverage(account, market, counterparties)
            if after is not None:
                after()
            return fills
        finally:
            self._on_gas(GAS_BASE + GAS_PER_ACCOUNT * len(counterparties))


class SimKeeper:
    """One keeper of a run: `observe` at each oracle round, `act` when due."""

    def __init__(self, spec: KeeperSpec, address: str, protocol, liquidation, block_seconds: int,
                 before_deleverage, seed: int, log):
        self.spec = spec
        self.address = address
        self.liquidation = liquidation  # backstop.protocol.params.LiquidationParams
        self.delay = spec.latency_blocks * block_seconds
        self.stats = KeeperStats(spec.name, spec.latency_blocks, spec.lost_tx_share, spec.min_profit_usd)
        # dev: a stream of its own, so its losses do not move the traders' draws.
        self._rng = random.Random(f"{seed}:keeper:{spec.name}")
        self._gas_price_wei = 0
        self._native_usd = 0.0
        self.chain = SimChain(protocol, address, before_deleverage, self._lost, self._paid)
        self.keeper = Keeper(self.chain, log=log)
        # dev: (due time, accounts seen liquidatable at a round), oldest first.
        self.pending: list[tuple[int, frozenset]] = []

    @property
    def perfect(self) -> bool:
        return self.delay == 0

    def track(self, account: str):
        self.keeper.track(account)

    def observe(self, now: int, liquidatable):
        """The accounts liquidatable at the round at `now` (a late keeper acts on them `delay` seconds on)."""
        if self.delay and liquidatable:
            self.pending.append((now + self.delay, frozenset(liquidatable)))

    def next_due(self) -> int | None:
        return self.pending[0][0] if self.pending else None

    def act(self, now: int, gas_gwei: float, native_usd: float):
        """A round at `now`: what it saw `delay` ago (everything, when perfect), less what does not pay."""
        seen = None
        if self.delay:
            due = [accounts for at, accounts in self.pending if at <= now]
            self.pending = [(at, accounts) for at, accounts in self.pending if at > now]
            if not due:
                return None
            seen = frozenset().union(*due)
        self._gas_price_wei = int(gas_gwei * GWEI)
        self._native_usd = native_usd
        held = set()

        def select(account, health):
            if seen is not None and account not in seen:
                return False
            if self.spec.min_profit_usd is not None and not self._pays(health):
                held.add(account)
                return False
            return True

        report = self.keeper.run_round(select=None if seen is None and self.spec.min_profit_usd is None else select)
        self.stats.rounds += 1
        self.stats.held_back += len(held)
        return report

    def _pays(self, health) -> bool:
        reward = reward_bound_wad(int(health.notional), self.liquidation) / WAD
        gas = GAS_PER_ACCOUNT * self._gas_price_wei / WAD * self._native_usd
        return reward - gas >= self.spec.min_profit_usd

    def _lost(self) -> bool:
        if self.spec.lost_tx_share and self._rng.random() < self.spec.lost_tx_share:
            self.stats.lost_transactions += 1
            return True
        return False

    def _paid(self, gas_units: int):
        self.stats.transactions += 1
        self.stats.gas_usd += gas_units * self._gas_price_wei / WAD * self._native_usd
