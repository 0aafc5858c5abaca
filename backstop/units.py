"""Fixed-point helpers shared by scripts and tests (WAD = 18 decimals)."""

from decimal import Decimal

WAD = 10**18


def scaled(x, decimals: int) -> int:
    """A human number as an integer of 10**-decimals, exact for any decimal
    (through the number's integer ratio, not Decimal arithmetic at 28 digits);
    digits past `decimals` are cut toward zero."""
    numerator, denominator = Decimal(str(x)).as_integer_ratio()
    out = abs(numerator) * 10**decimals // denominator
    return out if numerator >= 0 else -out


def wad(x: float | int | str) -> int:
    """A human number (`1.5`, `"0.05"`) as a WAD integer, exact for decimal strings."""
    return scaled(x, 18)


def from_wad(x: int) -> float:
    """A WAD integer as a float, for display only."""
    return x / WAD
