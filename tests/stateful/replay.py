"""Replay a state-machine find from the steps Hypothesis printed.

A failing run prints its example as `state.rule(arg=...)` lines, each rule's
`data.draw(...)` values as `Draw N: value` lines before it. `parse` turns such
a text (a `.steps` file under tests/stateful/finds/, or a pytest log's notes)
into calls, and `replay` plays them on a fresh machine: the same transactions
in the same order, without Hypothesis, in about a second, so a find can be
inspected with a debugger or a print between any two steps.
"""

import ast
import re

_STEP = re.compile(r"state\.(\w+)\((.*)\)$")
_DRAW = re.compile(r"Draw \d+: (.*)$")


class _Draws:
    """Stands in for `st.data()`: hands out the recorded draws in order."""

    def __init__(self, values: list):
        self.values = values

    def draw(self, strategy, label=None):
        if not self.values:
            raise ValueError("replay: the rule drew more values than the steps recorded")
        return self.values.pop(0)


def _lines(text: str) -> list[str]:
    # dev: a long draw (a list) wraps onto lines of its own; join them back.
    out = []
    for line in text.splitlines():
        line = line.removeprefix("NOTE: ").rstrip()
        if out and line and line[0] in " '\"]" and not _STEP.match(line.strip()):
            out[-1] += line.strip()
        else:
            out.append(line.strip())
    return out


def parse(text: str) -> list[tuple[str, dict]]:
    """(rule name, keyword arguments) for each printed step, draws attached."""
    steps, draws = [], []
    for line in _lines(text):
        if m := _DRAW.match(line):
            draws.append(ast.literal_eval(m.group(1)))
        elif m := _STEP.match(line):
            name, args = m.groups()
            kwargs = {}
            for k in ast.parse(f"f({args})", mode="eval").body.keywords:
                # dev: `data=data(...)` is the rule's draws, printed before it.
                kwargs[k.arg] = _Draws(draws) if isinstance(k.value, ast.Call) else ast.literal_eval(k.value)
            if any(isinstance(v, _Draws) for v in kwargs.values()):
                draws = []
            steps.append((name, kwargs))
    return steps


def replay(machine_class, steps: list[tuple[str, dict]], stop: int | None = None):
    """Play `steps` (up to `stop`) on a new `machine_class`; the machine, or the
    step's exception (with the step's index and name in its notes)."""
    machine = machine_class()
    for i, (name, kwargs) in enumerate(steps[:stop]):
        if name == "teardown":
            continue
        try:
            getattr(machine, name)(**kwargs)
        except Exception as e:
            e.add_note(f"replay: step {i}, {name}")
            raise
    return machine
