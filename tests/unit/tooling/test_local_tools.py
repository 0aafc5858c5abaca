"""The local-chain scripts' decisions (backstop.protocol.local_tools): `set_price`
reads a price or says in one line why not, and warns before the oracle refuses
or guards; `populate` never trades from a keeper's account and opens exactly
the number of positions asked, or refuses before sending anything."""

from decimal import Decimal

import pytest

from backstop.protocol.local_tools import parse_price, price_warnings, split_test_accounts
from backstop.protocol.params import default_params
from backstop.protocol.validation import ParamsError
from backstop.units import wad

ETH = default_params().markets[0]  # band 1 .. 1,000,000 USD, max deviation 25%


@pytest.mark.parametrize("text, price", [("1650", Decimal(1650)), ("1,650.5", Decimal("1650.5")), ("2_000", 2000)])
def test_parse_price__numbers__read_exactly(text, price):
    assert parse_price(text) == price


@pytest.mark.parametrize("text, words", [("abc", "not a number"), ("", "not a number"), ("-5", "above 0"),
                                         ("0", "above 0"), ("nan", "finite"), ("inf", "finite")])
def test_parse_price__not_a_price__one_line_naming_the_option(text, words):
    with pytest.raises(ParamsError, match=words) as caught:
        parse_price(text)
    assert caught.value.field == "--price" and "\n" not in str(caught.value)


def test_price_warnings__off_band_and_beyond_the_guard__each_said():
    assert price_warnings(ETH, Decimal(2100), wad(2000)) == []
    (guard,) = price_warnings(ETH, Decimal(1400), wad(2000))
    assert "30.0% from the last refreshed price 2,000 USD" in guard and "guarded" in guard
    off = price_warnings(ETH, Decimal(2_000_000), wad(2000))
    assert len(off) == 2 and "outside ETH / USD's band" in off[0]
    assert price_warnings(ETH, Decimal("0.5"), 0)[0].startswith("0.5 USD is outside")


def test_split_test_accounts__keepers_left_free__exactly_the_traders_asked():
    accounts = [f"account-{i}" for i in range(10)]
    lp, traders = split_test_accounts(accounts, 6, keepers=2)
    assert lp == "account-1" and traders == [f"account-{i}" for i in range(2, 8)]
    assert "account-8" not in traders and "account-9" not in traders
    assert len(split_test_accounts(accounts, 3, keepers=2)[1]) == 3
    with pytest.raises(ParamsError, match="7 asked, but only 6 test accounts are free") as caught:
        split_test_accounts(accounts, 7, keepers=2)
    assert caught.value.field == "--traders"
    assert len(split_test_accounts(accounts, 8, keepers=0)[1]) == 8
    with pytest.raises(ParamsError, match="only 0"):
        split_test_accounts(accounts[:2], 1, keepers=5)
