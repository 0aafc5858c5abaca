"""Fixed-point helpers shared by scripts and tests (WAD = 18 decimals)."""

WAD = 10**18


def wad(x: float | int | str) -> int:
    """A human number (`1.5`, `"0.05"`) as a WAD integer, exact for decimal strings."""
    from decimal import Decimal

    return int(Decimal(str(x)) * WAD)


def from_wad(x: int) -> float:
    """A WAD integer as a float, for display only."""
    return x / WAD
