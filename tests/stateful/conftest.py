"""Prints the fuzzer's throughput after the run: `N protocol calls, R calls/s`."""

from tests.stateful.solvency_machine import Throughput


def pytest_terminal_summary(terminalreporter):
    t = Throughput
    if t.calls:
        terminalreporter.write_line(f"{t.calls} protocol calls, {t.calls / t.seconds:,.0f} calls/s")
        terminalreporter.write_line(
            f"solvency fuzzer: {t.examples} examples, {t.liquidations} liquidations, {t.bad_debt_covered} bad debts "
            f"covered by the fund, {t.adl_fills} ADL fills, {t.rejected} invalid steps rejected"
        )
