"""Field checks shared by the parameter file (backstop/protocol/deployment.py) and the
scenario files (backstop/sim/scenario.py): a bad value is one ParamsError naming
its field, never a trace."""


class ParamsError(ValueError):
    """A parameter or scenario file is invalid; `field` names the offending entry (e.g. `markets[1].mmr`)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def check(ok: bool, field_name: str, message: str):
    """Raise ParamsError(field_name, message) unless `ok`."""
    if not ok:
        raise ParamsError(field_name, message)


def keys(obj, at: str, expected: set, optional: set = frozenset()):
    """`obj` is a mapping with the keys `expected`, and perhaps some of
    `optional` (`at` names it in errors)."""
    check(isinstance(obj, dict), at or "<file>", "must be a mapping")
    prefix = f"{at}." if at else ""
    if unknown := sorted(map(str, set(obj) - set(expected) - set(optional))):
        raise ParamsError(f"{prefix}{unknown[0]}", "unknown key")
    if missing := sorted(set(expected) - set(obj)):
        raise ParamsError(f"{prefix}{missing[0]}", "missing")
