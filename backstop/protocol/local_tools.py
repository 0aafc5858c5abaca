"""What the local-chain scripts (`ape run set_price`, `ape run populate`)
decide before they send anything, as plain functions: a bad argument is one
ParamsError naming the option, never a trace."""

from decimal import Decimal, InvalidOperation

from backstop.protocol.validation import ParamsError
from backstop.units import WAD


def parse_price(text: str) -> Decimal:
    """A positive, finite USD price (`1650`, `1,650.5`), else ParamsError on --price."""
    try:
        price = Decimal(str(text).replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ParamsError("--price", f"{text!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ParamsError("--price", f"must be a finite price above 0 USD, got {text!r}")
    return price


def price_warnings(spec, price: Decimal, last_wad: int) -> list[str]:
    """What the oracle will make of `price` on market `spec` (MarketParams),
    given the market's last refreshed price in WAD: outside the band it
    refuses the answer; beyond the guard's deviation it guards the market."""
    out = []
    if not spec.band_min < price < spec.band_max:
        out.append(f"{price:,} USD is outside {spec.name}'s band ({spec.band_min:,} to {spec.band_max:,} USD): "
                   "the oracle will refuse this answer")
    if last_wad:
        last = Decimal(last_wad) / WAD
        move = abs(price - last) / last
        if move > spec.max_deviation:
            out.append(f"{move:.1%} from the last refreshed price {last:,} USD is beyond the guard's "
                       f"{spec.max_deviation:.0%}: {spec.name} will be guarded (no new risk) until the jump "
                       "is confirmed")
    return out


def split_test_accounts(test_accounts: list, traders: int, keepers: int) -> tuple:
    """(lp, traders) from a node's test accounts: 0 deploys, 1 is the LP, the
    last `keepers` stay free for keeper bots; ParamsError on --traders when
    fewer than `traders` are left (nothing is sent then)."""
    free = list(test_accounts[2 : max(2, len(test_accounts) - keepers)])
    if traders > len(free):
        raise ParamsError("--traders", f"{traders} asked, but only {len(free)} test accounts are free (of "
                                       f"{len(test_accounts)}: the deployer, the LP and {keepers} for keepers)")
    return test_accounts[1], free[:traders]
