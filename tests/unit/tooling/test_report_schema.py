"""docs/report-schema.md names every field report.json has, so the schema
cannot fall behind the report."""

import re
from pathlib import Path

from backstop.chain.revm_chain import Chain
from backstop.sim.simulator import Simulation

from .test_simulator import SMALL

SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "report-schema.md"
# Objects whose keys are data (account names, invariant names, bucket names,
# market symbols) or documents with formats of their own (the scenario and
# parameter files).
OPAQUE = {"params", "scenario_file", "units", "events_wad", "final_balances.accounts", "steps[].invariants",
          "steps[].margin_buckets", "code_version", "margin_bucket_bounds", "outcome.min_prices",
          "outcome.liquidated_notional_by_market_usd", "outcome.adl_modes", "outcome.stable_marks", "steps[].prices", "steps[].flows_usd",
          "steps[].liquidated_notional_by_market_usd", "liquidation_maps.start", "liquidation_maps.low"}


def _paths(value, at=""):
    if at in OPAQUE:
        return [at]
    if isinstance(value, dict):
        return [at] * bool(at) + [p for k, v in value.items() for p in _paths(v, f"{at}.{k}" if at else k)]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [at] + _paths(value[0], f"{at}[]")
    return [at]


def test_report_schema__every_field_of_a_run_with_adl__documented():
    # dev: a run deep enough for ADL fills and counterparties, so their fields are there
    data = {**SMALL, "population": {**SMALL["population"], "fund_stake_usd": 1}}
    report = Simulation(data, 1, Chain()).run().report()
    assert report["adl_fills"] and report["bad_debt"]["adl_counterparties"]
    documented = set(re.findall(r"`([a-z_]+(?:\[\])?(?:\.[a-z_]+(?:\[\])?)*)`", SCHEMA.read_text()))
    missing = sorted(p for p in _paths(report) if p not in documented and not p.endswith("[]"))
    assert not missing, f"docs/report-schema.md does not name: {missing}"
    assert f"report_format {report['report_format']}" in SCHEMA.read_text()
