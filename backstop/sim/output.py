"""What a simulation run leaves in its directory, and replaying a saved run.

    events.jsonl   the event log: a header line (scenario, protocol parameters,
                   seed, population, code version), then one canonical JSON
                   line per step marker or transaction, written as the run
                   goes, then an `end` line (complete or interrupted, entries,
                   hash); a log without it is incomplete
    report.json    every liquidation, bad debt, fund draw and ADL fill, who paid
                   the bad debt, the fund's low, per-step totals and state, the
                   invariants I1-I4 at every step, final balances, the run's
                   outcome, wall time and transactions/s: docs/report-schema.md
    summary.md     the outcome and the steps where something happened
    *.png          backstop.sim.plots.REPORT_FILES
    keeper.log     what the keeper logged (written by the caller)
"""

import json
import logging
from pathlib import Path

from backstop.protocol.deployment import ParamsError
from backstop.sim.plots import REPORT_FILES, plot_report
from backstop.sim.simulator import Simulation

EVENTS = "events.jsonl"
KEEPER_LOG = "keeper.log"
REPORT = "report.json"
SUMMARY = "summary.md"
# Everything a run writes: a rerun into the same directory removes them first.
RUN_FILES = (EVENTS, REPORT, SUMMARY, KEEPER_LOG, *REPORT_FILES)


def prepare_out_dir(out_dir: Path, ours=RUN_FILES) -> Path:
    """`out_dir` ready for a run: created, and the files an earlier run left
    there removed (a rerun without plots would otherwise leave stale ones).
    Refuses, naming it, a directory that holds anything the simulator did not write."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParamsError(str(out_dir), "is a file, not a directory")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
        if foreign:
            raise ParamsError(str(out_dir), f"holds {foreign[0]!r}, which no run wrote: choose another --out "
                                            "(a rerun may only replace a run's own files)")
        for name in ours:
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


class EventLog:
    """events.jsonl written as the run goes: the header first, each step's
    entries when the step ends, and a closing `end` line. A log without it
    (a killed process) or with `"complete": false` (an interrupted one) is
    incomplete, and `read_log` refuses to replay it."""

    def __init__(self, path: Path, header: dict):
        self._file = open(path, "w")
        self._file.write(json.dumps({"header": header}, sort_keys=True) + "\n")
        self._file.flush()
        self.written = 0

    def flush(self, sim: Simulation):
        lines = sim.event_lines_from(self.written)
        for line in lines:
            self._file.write(line + "\n")
        self.written += len(lines)
        self._file.flush()

    def close(self, sim: Simulation, interrupted: str | None = None):
        self.flush(sim)
        end = {"complete": interrupted is None, "entries": self.written}
        if interrupted is None:
            end["event_log_hash"] = sim.event_hash()
        else:
            end["interrupted"] = interrupted
        self._file.write(json.dumps({"end": end}, sort_keys=True) + "\n")
        self._file.close()


def run_simulation(scenario_data: dict, seed: int, chain, out_dir: Path, traders: int | None = None,
                   plots: bool = True, progress=None, params_data: dict | None = None) -> tuple[Simulation, dict]:
    """One run on `chain`, its outputs written to `out_dir` (the keeper's log
    included) as it goes: the simulation and its report. `progress(sim)` is
    told after each trader set up and each step. An exception (Ctrl-C
    included) closes the log marked incomplete, then propagates."""
    sim = Simulation(scenario_data, seed, chain, traders=traders, params_data=params_data)
    out_dir = prepare_out_dir(out_dir)
    log = logging.getLogger(f"backstop.sim.simulator.{out_dir.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False  # dev: the console has the progress display and the summary
    handler = logging.FileHandler(out_dir / KEEPER_LOG, mode="w")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    sim.log = log
    events = EventLog(out_dir / EVENTS, sim.header())
    last_step = [-1]

    def on_progress(s):
        if s.step_no != last_step[0]:  # dev: once per step, not once per trader set up
            last_step[0] = s.step_no
            events.flush(s)
        if progress:
            progress(s)

    try:
        sim.run(on_progress)
    except BaseException as e:
        events.close(sim, interrupted=f"{type(e).__name__} at step {sim.step_no}")
        raise
    finally:
        log.removeHandler(handler)
        handler.close()
    events.close(sim)
    return sim, write_run(sim, out_dir, plots, log_written=True)


def write_run(sim: Simulation, out_dir: Path, plots: bool = True, log_written: bool = False) -> dict:
    """Write every output of a finished run into `out_dir`; return the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not log_written:
        events = EventLog(out_dir / EVENTS, sim.header())
        events.close(sim)
    report = sim.report()
    (out_dir / REPORT).write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / SUMMARY).write_text(summary(report))
    if plots:
        plot_report(report, out_dir)
    return report


def read_log(path: Path) -> tuple[dict, list[str]]:
    """The header and the event lines of a saved, complete events.jsonl."""
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
    if "format" not in header:
        return header, lines[1:]  # dev: format 1 (before the `end` line): written whole at the end of a run
    try:
        end = json.loads(lines[-1])["end"] if len(lines) > 1 else None
    except (ValueError, KeyError, TypeError):
        end = None
    if end is None:
        raise ParamsError(str(path), "incomplete: the log has no end line (the run was killed); rerun it")
    if not end.get("complete"):
        raise ParamsError(str(path), f"incomplete: the run was interrupted ({end.get('interrupted')}); rerun it")
    return header, lines[1:-1]


def replay_difference(saved: list[str], replayed: list[str]) -> str | None:
    """None when the logs are the same, else where they first differ."""
    for i, (a, b) in enumerate(zip(saved, replayed)):
        if a != b:
            return f"line {i + 2} differs:\n  saved:    {a}\n  replayed: {b}"
    if len(saved) != len(replayed):
        return f"saved log has {len(saved)} entries, the replay {len(replayed)}"
    return None


# Rows of the ADL tables in summary.md (report.json has them all).
SUMMARY_ROWS = 25


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _more(lines: list, shown: int, total: int, where: str):
    if total > shown:
        lines += ["", f"({total - shown:,} more in report.json's `{where}`)"]


def _markets(r: dict) -> list[str]:
    """The markets the scenario moved (a run of several), each its low and what liquidations closed there."""
    assets, o = r["scenario"]["assets"], r["outcome"]
    if len(assets) < 2:
        return []
    lines = ["", "## Markets", "", "| market | start (USD) | lowest (USD) | change | depth (USD per 1%) | "
             "liquidated notional (USD) |", "|---|---:|---:|---:|---:|---:|"]
    for a in assets:
        low = o["min_prices"][a["market"]]
        depth = "infinite" if a["depth_usd_per_pct"] is None else f"{a['depth_usd_per_pct']:,.0f}"
        lines.append(f"| {a['market']} | {_money(a['start_price'])} | {_money(low)} | "
                     f"{low / a['start_price'] - 1:+.1%} | {depth} | "
                     f"{_money(o['liquidated_notional_by_market_usd'][a['market']])} |")
    return lines


def _liquidation_maps(r: dict) -> list[str]:
    """What each market's liquidation map says at the start and at the low: USD
    that a fall (longs) or a rise (shorts) of 10% and 25% would liquidate."""
    maps = r.get("liquidation_maps") or {}
    rows = [m for when in ("start", "low") for m in maps.get(when, [])]
    if not rows:
        return []
    lines = ["", "## Liquidation map", "",
             "USD notional (at the liquidation price) that a move of the market from its mark would make "
             "liquidatable, other marks fixed (liquidation_map.png; report.json `liquidation_maps`).", "",
             "| when | market | mark (USD) | fall 10% | fall 25% | rise 10% | rise 25% | already liquidatable |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        mark = m["mark_usd"]

        def longs(fall):
            return sum(lv["long_usd"] for lv in m["levels"] if lv["low_usd"] >= mark * (1 - fall) - 1e-9)

        def shorts(rise):
            return sum(lv["short_usd"] for lv in m["levels"] if lv["high_usd"] <= mark * (1 + rise) + 1e-9)

        already = m["already_liquidatable"]["long"]["usd"] + m["already_liquidatable"]["short"]["usd"]
        lines.append(f"| {m['label']} | {m['name'].split(' ')[0]} | {_money(mark)} | {_money(longs(0.10))} | "
                     f"{_money(longs(0.25))} | {_money(shorts(0.10))} | {_money(shorts(0.25))} | {_money(already)} |")
    return lines


def _keepers(r: dict) -> list[str]:
    """Each keeper: its settings, what it settled, earned and paid."""
    lines = ["", "## Keepers", "", f"Gas: up to {r['outcome']['max_gas_gwei']:,.0f} gwei at the busiest round. "
             "Gas in USD is estimated from the keeper's per-account figures.", "",
             "| keeper | latency (blocks) | lost tx share | min profit (USD) | liquidations | reward (USD) | "
             "gas (USD) | net (USD) | lost tx | held back |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in r["keepers"]:
        gate = "none" if k["min_profit_usd"] is None else _money(k["min_profit_usd"])
        lines.append(f"| {k['name']} | {k['latency_blocks']} | {k['lost_tx_share']:.0%} | {gate} | "
                     f"{k['liquidations']:,} | {_money(k['reward_usd'])} | {_money(k['gas_usd'])} | "
                     f"{_money(k['net_usd'])} | {k['lost_transactions']} | {k['held_back']:,} |")
    return lines


def summary(r: dict) -> str:
    """summary.md: the run's answers in USD (floats shown to the cent), prices
    in USD per unit of the market's base asset, sizes in base units."""
    o, s, fund, debt = r["outcome"], r["scenario"], r["fund"], r["bad_debt"]
    base = s["market"]
    depth = "infinite (no feedback)" if s["depth_usd_per_pct"] is None else f"{s['depth_usd_per_pct']:,.0f} USD per 1%"
    held = "every invariant held at every step" if o["invariants_ok"] else "**INVARIANT VIOLATIONS** (see below)"
    settled = len(r["steps"]) - o["steps_settled"]
    if settled and o["invariants_ok"]:
        held += (f" (I3 and I4 at the {o['steps_settled']} of {len(r['steps'])} steps whose liquidatable accounts "
                 "had all been processed: the others ended with a late or gated keeper's accounts still waiting)")
    market = next(m for m in r["params"]["markets"] if m["name"].startswith(base))
    liq = r["params"]["liquidation"]
    code = r["code_version"]
    commit = code["git_commit"][:12] + (" with uncommitted changes" if code["dirty"] else "")
    lines = [
        f"# {s['name']}, seed {r['seed']}, {r['traders']} traders",
        "",
        s["description"],
        "",
        f"- event-log hash: `{r['event_log_hash']}`",
        f"- {r['transactions']:,} transactions in {r['wall_seconds']:.1f} s ({r['transactions_per_second']:.1f} tx/s)",
        f"- market {base}, {s['steps']} steps of {s['step_seconds']} s, depth {depth}, "
        f"trader activity {s['activity']:.1%} a step",
        f"- protocol: {base} imr {market['imr']}, mmr {market['mmr']}, fee {market['fee_rate']}; liquidation fee "
        f"{liq['liq_fee']}, keeper share {liq['keeper_share']}, buffer {liq['buffer']} (all parameters: report.json "
        "`params`)",
        f"- code: git commit `{commit}`",
        f"- units: USD amounts in US dollars, prices in USD per {base}, sizes in {base}",
        f"- I1-I4: {held}",
        "",
        "## Outcome",
        "",
        "| | |",
        "|---|---:|",
        f"| lowest price, with feedback (USD) | {_money(o['min_price'])} |",
        f"| lowest price, path alone (USD) | {_money(o['min_price_no_feedback'])} |",
        f"| liquidations (a partial one each time) | {o['liquidations']:,} |",
        f"| accounts liquidated | {o['accounts_liquidated']:,} of {r['traders']:,} |",
        f"| steps with liquidations | {o['steps_with_liquidations']} |",
        f"| peak liquidations in a step | {o['peak_liquidations']} |",
        f"| bad debt (USD) | {_money(o['bad_debt_usd'])} |",
        f"| insurance fund draws (USD) | {_money(o['fund_draw_usd'])} |",
        f"| insurance fund drawdown (USD) | {_money(o['fund_drawdown_usd'])} |",
        f"| ADL fills | {o['adl_fills']:,} |",
        f"| ADL volume (USD) | {_money(o['adl_volume_usd'])} |",
        *_markets(r),
        *_keepers(r),
        *_liquidation_maps(r),
        "",
        "## Who paid the bad debt",
        "",
        "| paid by | USD | share |",
        "|---|---:|---:|",
        f"| the insurance fund | {_money(debt['paid_by_fund_usd'])} | {_share(debt['paid_by_fund_usd'], debt['total_usd'])} |",
        f"| ADL: {len(debt['adl_counterparties']):,} counterparties closed at the bankrupt price, not the mark | "
        f"{_money(debt['paid_by_adl_usd'])} | {_share(debt['paid_by_adl_usd'], debt['total_usd'])} |",
        f"| **all bad debt** | **{_money(debt['total_usd'])}** | |",
        "",
        "## Insurance fund",
        "",
        "| | |",
        "|---|---:|",
        f"| balance once set up, step 0 (USD) | {_money(fund['start_usd'])} |",
        f"| lowest balance (USD) | {_money(fund['min_usd'])} at step {fund['min_step']} |",
        f"| ran out (below 0.01 USD) | {'never' if fund['empty_step'] is None else 'at step %d' % fund['empty_step']} |",
        f"| drawn for bad debt (USD) | {_money(fund['draws_usd'])} |",
        f"| balance at the end (USD) | {_money(fund['end_usd'])} |",
    ]
    if debt["adl_counterparties"]:
        lines += [
            "",
            "## ADL counterparties: what each lost",
            "",
            "Rank: place among the eligible positions (opposite side, in profit) just before the keeper's call, "
            "1 = deleveraged first; quantile 5 = the top fifth by ADL score.",
            "",
            f"| counterparty | fills | size closed ({base}) | lost (USD) | first step | best rank | quantile |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for c in debt["adl_counterparties"][:SUMMARY_ROWS]:
            lines.append(f"| {c['counterparty']} | {c['fills']} | {c['size']:,.4f} | {_money(c['loss_usd'])} | "
                         f"{c['first_step']} | {c['best_rank']} | {c['quantile']} |")
        _more(lines, SUMMARY_ROWS, len(debt["adl_counterparties"]), "bad_debt.adl_counterparties")
        lines += [
            "",
            "## ADL fills",
            "",
            f"| step | bankrupt account | counterparty | size ({base}) | fill price (USD) | mark (USD) | "
            "counterparty lost (USD) | rank (of eligible) | quantile |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for f in r["adl_fills"][:SUMMARY_ROWS]:
            lines.append(f"| {f['step']} | {f['account']} | {f['counterparty']} | {f['size']:,.4f} | "
                         f"{_money(f['price_usd'])} | {_money(f['mark_usd'])} | {_money(f['counterparty_loss_usd'])} | "
                         f"{f['rank']} (of {f['eligible']}) | {f['quantile']} |")
        _more(lines, SUMMARY_ROWS, len(r["adl_fills"]), "adl_fills")
    lines += [
        "",
        "## Steps with liquidations, ADL or violations",
        "",
        "At risk: accounts below maintenance or underwater after the traders acted, before the keeper did. "
        "USD but for the counts.",
        "",
        "| step | price | no feedback | at risk | forced flow | liquidations | bad debt | fund | ADL fills | invariants |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for st in r["steps"]:
        if st["liquidations"] or st["adl_fills"] or not st["invariants_ok"]:
            ok = "ok" if st["invariants_ok"] else "; ".join(
                f"{name}: {v[0]}" for name, v in st["invariants"].items() if v
            )
            at_risk = st["margin_buckets"].get("underwater", 0) + st["margin_buckets"].get("below maintenance", 0)
            lines.append(
                f"| {st['step']} | {_money(st['price'])} | {_money(st['price_no_feedback'])} | {at_risk} | "
                f"{_money(st['forced_flow_usd'])} | {st['liquidations']} | {_money(st['bad_debt_usd'])} | "
                f"{_money(st['fund_balance_usd'])} | {st['adl_fills']} | {ok} |"
            )
    lines += ["", "Sources of the scenario's shape:", ""] + [f"- {src}" for src in s["sources"]]
    return "\n".join(lines) + "\n"
