"""Traders who react (a scenario's `population.behaviours`): the decisions,
apart from the chain, so each rule can be read and tested alone.

Each trader gets at most one kind, drawn by the shares; the rest act only at
random (`activity`). At each round, before the random actions, `react` reads
a trader's equity, requirements and positions at the new prices and says what
it does:

- `never_react`: nothing, ever (not even at random): the share that is away.
- `stop_loss`: closes everything once equity has lost `loss` of what it deposited.
- `top_up`: below `warn_at` x maintenance it is warned (once, until it is
  above again); with `probability` it adds `amount` x its opening margin
  `delay_steps` rounds later (the time to see the warning and send funds).
- `panic`: closes a market's position once that market has moved `drawdown`
  against it from the best price since the position opened.
- `dip_buy`: starts flat; opens a long at `leverage` when a market is `dip`
  below its highest so far, and again only when the price is a further `dip`
  below its last entry.
"""

from dataclasses import dataclass, field

from backstop.sim.scenario import Behaviours


@dataclass
class TraderPlan:
    """What a trader holds and is, and what its reactions remember."""

    assets: tuple  # indices into the scenario's assets it trades
    kind: str | None = None  # a Behaviours kind, None: random actions only
    opening_margin: float = 0.0
    deposited: float = 0.0
    warned: bool = False
    top_up_due: int | None = None
    # asset -> the best price since its position opened (panic); the last dip entry (dip_buy).
    best: dict = field(default_factory=dict)
    last_entry: dict = field(default_factory=dict)


def draw_kind(behaviours: Behaviours, u: float) -> str | None:
    """The kind a uniform draw `u` in [0, 1) falls in (cumulative shares, in `kinds` order)."""
    edge = 0.0
    for kind, share in behaviours.kinds:
        edge += share
        if u < edge:
            return kind
    return None


def react(plan: TraderPlan, b: Behaviours, step: int, health, sizes: dict, prices: list, highs: list,
          chance) -> list[tuple]:
    """What `plan`'s trader does at this round: ("close", asset), ("top_up",
    usd) or ("open_long", asset, leverage) actions, in order. `health` is its
    engine Health (WAD), `sizes` asset -> its size (WAD, signed), `prices` and
    `highs` each asset's price now and highest so far, `chance()` a uniform
    draw (called only when a probability decides)."""
    held = [a for a in plan.assets if sizes.get(a, 0) != 0]
    for a in list(plan.best):
        if a not in held:  # dev: flat again: the next position starts its own best
            del plan.best[a]
    for a in held:
        best = plan.best.get(a, prices[a])
        plan.best[a] = max(best, prices[a]) if sizes[a] > 0 else min(best, prices[a])
    if plan.kind == "stop_loss":
        if held and health.equity <= (1 - b.stop_loss) * plan.deposited * 10**18:
            return [("close", a) for a in held]
    elif plan.kind == "top_up":
        return _top_up(plan, b, step, health, held, chance)
    elif plan.kind == "panic":
        return [("close", a) for a in held if _against(sizes[a], prices[a], plan.best[a]) >= b.panic_drawdown]
    elif plan.kind == "dip_buy":
        out = []
        for a in plan.assets:
            if a in held or prices[a] > highs[a] * (1 - b.dip):
                continue
            last = plan.last_entry.get(a)
            if last is None or prices[a] <= last * (1 - b.dip):
                plan.last_entry[a] = prices[a]
                out.append(("open_long", a, b.dip_leverage))
        return out
    return []


def _against(size: int, price: float, best: float) -> float:
    """How far the price has moved against a position from its best, as a fraction of the best."""
    return (best - price) / best if size > 0 else (price - best) / best


def _top_up(plan: TraderPlan, b: Behaviours, step: int, health, held: list, chance) -> list[tuple]:
    out = []
    if plan.top_up_due is not None and step >= plan.top_up_due:
        plan.top_up_due = None
        if held:
            out.append(("top_up", round(plan.opening_margin * b.top_up_amount, 2)))
    below = held and health.equity < b.top_up_warn_at * health.maintenance_req
    if below and not plan.warned:
        plan.warned = True
        if plan.top_up_due is None and chance() < b.top_up_probability:
            if b.top_up_delay_steps == 0:
                out.append(("top_up", round(plan.opening_margin * b.top_up_amount, 2)))
            else:
                plan.top_up_due = step + b.top_up_delay_steps
    elif not below:
        plan.warned = False
    return out
