"""What a simulation run leaves in its directory, and replaying a saved run.

    events.jsonl   the event log: a header line (scenario, seed, population),
                   then one canonical JSON line per step marker or transaction
    report.json    every liquidation, bad debt, fund draw and ADL fill, per-step
                   totals and state, the invariants I1-I4 at every step, final
                   balances, the run's outcome, wall time and transactions/s
    summary.md     the outcome and the steps where something happened
    *.png          backstop.plots.REPORT_FILES
    keeper.log     what the keeper logged (written by the caller)
"""

import json
import logging
from pathlib import Path

from backstop.deployment import ParamsError
from backstop.simulator import Simulation

EVENTS = "events.jsonl"
KEEPER_LOG = "keeper.log"


def run_simulation(scenario_data: dict, seed: int, chain, out_dir: Path, traders: int | None = None,
                   plots: bool = True, progress=None) -> tuple[Simulation, dict]:
    """One run on `chain`, its outputs written to `out_dir` (the keeper's log
    included): the simulation and its report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"backstop.simulator.{out_dir.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False  # dev: the console has the progress bar and the summary
    handler = logging.FileHandler(out_dir / KEEPER_LOG, mode="w")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    try:
        sim = Simulation(scenario_data, seed, chain, traders=traders, log=log)
        sim.run(progress)
    finally:
        log.removeHandler(handler)
        handler.close()
    return sim, write_run(sim, out_dir, plots)


def write_run(sim: Simulation, out_dir: Path, plots: bool = True) -> dict:
    """Write every output of a finished run into `out_dir`; return the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / EVENTS, "w") as f:
        f.write(json.dumps({"header": sim.header()}, sort_keys=True) + "\n")
        for line in sim.event_lines():
            f.write(line + "\n")
    report = sim.report()
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / "summary.md").write_text(summary(report))
    if plots:
        from backstop.plots import plot_report  # dev: matplotlib only when plotting

        plot_report(report, out_dir)
    return report


def read_log(path: Path) -> tuple[dict, list[str]]:
    """The header and the event lines of a saved events.jsonl."""
    path = Path(path)
    if path.is_dir():
        path = path / EVENTS
    try:
        lines = path.read_text().splitlines()
        header = json.loads(lines[0])["header"]
        for key in ("scenario", "seed", "traders"):
            header[key]
    except (OSError, IndexError, KeyError, TypeError, ValueError) as e:
        raise ParamsError(str(path), f"not a simulator event log ({type(e).__name__}: {e})") from None
    return header, lines[1:]


def replay_difference(saved: list[str], replayed: list[str]) -> str | None:
    """None when the logs are the same, else where they first differ."""
    for i, (a, b) in enumerate(zip(saved, replayed)):
        if a != b:
            return f"line {i + 2} differs:\n  saved:    {a}\n  replayed: {b}"
    if len(saved) != len(replayed):
        return f"saved log has {len(saved)} entries, the replay {len(replayed)}"
    return None


def _money(x: float) -> str:
    return f"{x:,.2f}"


def summary(r: dict) -> str:
    o, s = r["outcome"], r["scenario"]
    depth = "infinite (no feedback)" if s["depth_usd_per_pct"] is None else f"{s['depth_usd_per_pct']:,.0f} USD per 1%"
    held = "every invariant held at every step" if o["invariants_ok"] else "**INVARIANT VIOLATIONS** (see below)"
    lines = [
        f"# {s['name']}, seed {r['seed']}, {r['traders']} traders",
        "",
        s["description"],
        "",
        f"- event-log hash: `{r['event_log_hash']}`",
        f"- {r['transactions']:,} transactions in {r['wall_seconds']:.1f} s ({r['transactions_per_second']:.1f} tx/s)",
        f"- market {s['market']}, {s['steps']} steps of {s['step_seconds']} s, depth {depth}, "
        f"trader activity {s['activity']:.0%} a step",
        f"- I1-I4: {held}",
        "",
        "## Outcome",
        "",
        "| | |",
        "|---|---:|",
        f"| lowest price (with feedback) | {_money(o['min_price'])} |",
        f"| lowest price (path alone) | {_money(o['min_price_no_feedback'])} |",
        f"| liquidations (a partial one each time) | {o['liquidations']:,} |",
        f"| accounts liquidated | {o['accounts_liquidated']:,} of {r['traders']:,} |",
        f"| steps with liquidations | {o['steps_with_liquidations']} |",
        f"| peak liquidations in a step | {o['peak_liquidations']} |",
        f"| bad debt (USD) | {_money(o['bad_debt_usd'])} |",
        f"| insurance fund draws (USD) | {_money(o['fund_draw_usd'])} |",
        f"| insurance fund drawdown (USD) | {_money(o['fund_drawdown_usd'])} |",
        f"| ADL fills | {o['adl_fills']:,} |",
        f"| ADL volume (USD) | {_money(o['adl_volume_usd'])} |",
        "",
        "## Steps with liquidations, ADL or violations",
        "",
        "| step | price | no feedback | forced flow | liquidations | bad debt | fund | ADL fills | invariants |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for st in r["steps"]:
        if st["liquidations"] or st["adl_fills"] or not st["invariants_ok"]:
            ok = "ok" if st["invariants_ok"] else "; ".join(
                f"{name}: {v[0]}" for name, v in st["invariants"].items() if v
            )
            lines.append(
                f"| {st['step']} | {_money(st['price'])} | {_money(st['price_no_feedback'])} | "
                f"{_money(st['forced_flow_usd'])} | {st['liquidations']} | {_money(st['bad_debt_usd'])} | "
                f"{_money(st['fund_balance_usd'])} | {st['adl_fills']} | {ok} |"
            )
    lines += ["", "Sources of the scenario's shape:", ""] + [f"- {src}" for src in s["sources"]]
    return "\n".join(lines) + "\n"
