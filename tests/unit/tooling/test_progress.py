"""The simulator's progress display (backstop/sim/progress.py): work measured in
transactions, a bar on a terminal, a line a minute anywhere else."""

import io
from types import SimpleNamespace

import pytest

from backstop.sim.progress import SETUP_GUESS, Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _sim(step, traders, transactions):
    return SimpleNamespace(step_no=step, traders=[None] * traders, transaction_count=transactions)


def test_progress__before_any_work__estimate_from_population_and_activity():
    p = Progress(traders=100, steps=50, activity=0.1, stream=io.StringIO(), interactive=False)
    assert p.estimate() == pytest.approx(100 * SETUP_GUESS + 50 * 2 * 100 * 0.1)


def test_progress__heavy_steps__weighted_by_their_transactions_not_their_count():
    clock = Clock()
    p = Progress(traders=10, steps=4, activity=0.1, stream=io.StringIO(), interactive=False, clock=clock)
    p.update(_sim(0, 10, 40))  # setup done: 40 transactions
    p.update(_sim(1, 10, 40 + 300))  # a crash step: 300
    # dev: a quarter of the steps but, by their cost so far, 300 of 40 + 4 x 300
    assert p.fraction() == pytest.approx(340 / (40 + 4 * 300))
    p.update(_sim(2, 10, 340 + 20))
    assert p.estimate() == pytest.approx(40 + 4 * (320 / 2))


def test_progress__not_a_terminal__a_line_a_minute_and_a_last_one():
    clock, out = Clock(), io.StringIO()
    p = Progress(traders=10, steps=100, activity=0.1, stream=out, interactive=False, clock=clock)
    p.update(_sim(0, 10, 40))
    for step in range(1, 101):
        clock.now = step * 2.0  # 200 s in all
        p.update(_sim(step, 10, 40 + 5 * step))
    p.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 + 1  # at 60, 120 and 180 s, then the end
    # dev: at step 30, 190 of the 40 + 100 x 5 transactions the run takes
    assert lines[0].startswith(f"{190 / 540:6.1%} step 30/100, 190 tx") and "\r" not in out.getvalue()
    assert lines[-1] == "done: 540 transactions"


def test_progress__terminal__one_line_redrawn():
    clock, out = Clock(), io.StringIO()
    p = Progress(traders=10, steps=10, activity=0.1, stream=out, interactive=True, clock=clock)
    for step in range(1, 11):
        clock.now = step
        p.update(_sim(step, 10, 40 + step))
    p.finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 11 and "[####" in text
