"""The keeper bot's settings from its environment (bots/keeper.py), each
checked: a bad value is one ParamsError naming the variable, before the bot
touches the chain."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from backstop.keeper.history import DEFAULT_CHUNK
from backstop.protocol.validation import ParamsError


@dataclass(frozen=True)
class KeeperSettings:
    record: Path
    start_block: int | None  # None: the deployment record's block
    log_chunk: int
    cursor: Path
    min_profit_usd: Decimal | None  # None: send every batch
    gas_token_usd: Decimal | None  # None: the oracle's ETH price


def _int(environ, name: str, default, low: int):
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ParamsError(name, f"must be a whole number, got {text!r}") from None
    if value < low:
        raise ParamsError(name, f"must be at least {low}, got {value}")
    return value


def _usd(environ, name: str):
    text = environ.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ParamsError(name, f"must be a USD amount, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ParamsError(name, f"must be a finite USD amount of at least 0, got {text!r}")
    return value


def from_env(environ) -> KeeperSettings:
    record = Path(environ.get("BACKSTOP_DEPLOYMENT") or "deployments/ethereum.local.json")
    if not record.is_file():
        raise ParamsError("BACKSTOP_DEPLOYMENT", f"no deployment record at {record} (write one with `ape run deploy`)")
    return KeeperSettings(
        record=record,
        start_block=_int(environ, "BACKSTOP_START_BLOCK", None, 0),
        log_chunk=_int(environ, "BACKSTOP_LOG_CHUNK", DEFAULT_CHUNK, 1),
        cursor=Path(environ.get("BACKSTOP_CURSOR") or f"{record}.cursor.json"),
        min_profit_usd=_usd(environ, "BACKSTOP_MIN_PROFIT_USD"),
        gas_token_usd=_usd(environ, "BACKSTOP_GAS_TOKEN_USD"),
    )
