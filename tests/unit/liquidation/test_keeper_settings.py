"""The keeper bot's environment (backstop.keeper.settings): defaults, and a
bad value refused in one line naming the variable before the bot starts."""

from decimal import Decimal

import pytest

from backstop.keeper.settings import from_env
from backstop.protocol.validation import ParamsError


@pytest.fixture
def record(tmp_path):
    path = tmp_path / "deployment.json"
    path.write_text("{}")
    return str(path)


def test_from_env__defaults(record):
    s = from_env({"BACKSTOP_DEPLOYMENT": record})
    assert (s.start_block, s.log_chunk, s.min_profit_usd, s.gas_token_usd) == (None, 2_000, None, None)
    assert str(s.cursor) == f"{record}.cursor.json"


def test_from_env__values_read(record):
    s = from_env({"BACKSTOP_DEPLOYMENT": record, "BACKSTOP_START_BLOCK": "1_000", "BACKSTOP_LOG_CHUNK": "500",
                  "BACKSTOP_MIN_PROFIT_USD": "2.50", "BACKSTOP_GAS_TOKEN_USD": "3,100"})
    assert (s.start_block, s.log_chunk, s.min_profit_usd, s.gas_token_usd) == (1_000, 500, Decimal("2.50"), 3_100)


@pytest.mark.parametrize("name, value, words", [
    ("BACKSTOP_LOG_CHUNK", "0", "at least 1"), ("BACKSTOP_LOG_CHUNK", "many", "whole number"),
    ("BACKSTOP_START_BLOCK", "-5", "at least 0"), ("BACKSTOP_MIN_PROFIT_USD", "ten", "USD amount"),
    ("BACKSTOP_MIN_PROFIT_USD", "-1", "at least 0"), ("BACKSTOP_GAS_TOKEN_USD", "inf", "finite"),
])
def test_from_env__bad_value__one_line_naming_the_variable(record, name, value, words):
    with pytest.raises(ParamsError, match=words) as caught:
        from_env({"BACKSTOP_DEPLOYMENT": record, name: value})
    assert caught.value.field == name and "\n" not in str(caught.value)


def test_from_env__no_record__refused(tmp_path):
    with pytest.raises(ParamsError, match="no deployment record at") as caught:
        from_env({"BACKSTOP_DEPLOYMENT": str(tmp_path / "missing.json")})
    assert caught.value.field == "BACKSTOP_DEPLOYMENT"
