"""A progress display for one simulator run that measures work, not steps.

A step's cost is its transactions (a crash step with a thousand liquidations
costs a hundred quiet ones), so the display counts transactions and
estimates the rest from the run so far: setting up a trader costs what the
traders set up so far cost on average (four transactions before the first),
and each step left what the steps so far cost on average (before the first,
the population times its activity, twice: an action and the keeper's share).

On a terminal it redraws one line, at most ten times a second; anywhere else
(a CI log, a file) it writes a line a minute, and one at the end.
"""

import sys
import time

SETUP_GUESS = 4  # mint, approve, deposit, trade
REDRAW_SECONDS = 0.1
LOG_SECONDS = 60.0
WIDTH = 28


class Progress:
    def __init__(self, traders: int, steps: int, activity: float, stream=None, interactive: bool | None = None,
                 interval: float = LOG_SECONDS, clock=time.monotonic):
        self.traders, self.steps, self.activity = traders, steps, activity
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.interval = REDRAW_SECONDS if self.interactive else interval
        self.clock = clock
        self.started = self._shown = clock()
        self.done_traders = self.done_steps = self.transactions = 0
        self._setup_transactions = 0

    def estimate(self) -> float:
        """Transactions the whole run will take, by the run so far."""
        per_trader = self._setup_transactions / self.done_traders if self.done_traders else SETUP_GUESS
        setup = self._setup_transactions + per_trader * (self.traders - self.done_traders)
        played = self.transactions - self._setup_transactions
        per_step = played / self.done_steps if self.done_steps else max(1.0, 2 * self.traders * self.activity)
        return max(self.transactions, setup + played + per_step * (self.steps - self.done_steps))

    def fraction(self) -> float:
        total = self.estimate()
        return self.transactions / total if total else 1.0

    def update(self, sim):
        """Told by `Simulation.run` after each trader set up and each step."""
        self.transactions = sim.transaction_count
        if sim.step_no == 0:
            self.done_traders = len(sim.traders)
            self._setup_transactions = self.transactions
        else:
            self.done_steps = sim.step_no
        now = self.clock()
        if now - self._shown >= self.interval:
            self._shown = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = now - self.started
        fraction = self.fraction()
        rate = self.transactions / elapsed if elapsed > 0 else 0.0
        left = (self.estimate() - self.transactions) / rate if rate else float("nan")
        where = (f"step {self.done_steps}/{self.steps}" if self.done_steps
                 else f"setting up trader {self.done_traders}/{self.traders}")
        eta = f"~{left:,.0f} s left" if left == left else "estimating"
        return f"{fraction:6.1%} {where}, {self.transactions:,} tx, {rate:,.0f} tx/s, {eta}"

    def _show(self, now: float):
        if self.interactive:
            filled = int(WIDTH * self.fraction())
            self.stream.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {self.line(now)}\033[K")
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()

    def finish(self):
        """The last line: the run's whole work (its timing is the caller's to print)."""
        end = f"done: {self.transactions:,} transactions"
        self.stream.write((f"\r[{'#' * WIDTH}] {end}\033[K\n") if self.interactive else end + "\n")
        self.stream.flush()
