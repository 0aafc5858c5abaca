"""Prints each fuzzer's throughput after the run (`N protocol calls, R calls/s`)
and, for the attacker machine, the coverage line of what it reached."""

from tests.stateful.attacker_machine import Coverage
from tests.stateful.solvency_machine import Throughput


def pytest_terminal_summary(terminalreporter):
    write = terminalreporter.write_line
    t = Throughput
    if t.calls:
        write(f"{t.calls} protocol calls, {t.calls / t.seconds:,.0f} calls/s")
        write(
            f"solvency fuzzer: {t.examples} examples, {t.liquidations} liquidations, {t.bad_debt_covered} bad debts "
            f"covered by the fund, {t.adl_fills} ADL fills, {t.rejected} invalid steps rejected, {t.margins_scaled} "
            "volatility cranks that moved margins"
        )
    c = Coverage
    if c.calls:
        write(f"attacker fuzzer: {c.calls} protocol calls ({c.checker_calls} of them the monitor's reads), "
              f"{c.calls / c.seconds:,.0f} calls/s")
        write(
            f"attacker coverage: {c.examples} examples, {c.all_liquidations} liquidations, ADL fills per market "
            f"{c.adl_fills_by_market} ({c.pro_rata_fills} pro rata), {c.all_bad_debts} bad debts covered, {c.guarded_rounds} guarded rounds "
            f"({c.guard_probes} probed at once), {c.i8_stretches} fixed-price stretches, {c.i8_checks} I8 checks, "
            f"{c.fund_tunings} fund tunings, {c.margins_scaled} margin cranks that moved margins"
        )
        if c.first_failure:
            write(f"attacker first violation after {c.calls_to_first_failure} protocol calls, "
                  f"{c.seconds_to_first_failure:,.1f} s: {c.first_failure[:300]}")
