"""A deployment on what exists: the parameter file names an existing
collateral token and, per market, an existing Chainlink-shaped feed; mocks
are made only for what it does not name. Each address is checked before
anything is deployed, and a wrong one is one ParamsError naming the field."""

import pytest

from backstop.chain import revm_chain
from backstop.protocol.harness import actor
from backstop.protocol.params import default_params, parse_params
from backstop.protocol.validation import ParamsError
from backstop.units import wad

OWNER, OPERATOR = str(actor("owner")), str(actor("feed operator"))


def _externals(chain, token_decimals=6, feed_decimals=8, answer=2_000):
    """A token and an ETH feed deployed by someone else (the operator), as on a testnet."""
    with chain.prank(OPERATOR):
        token = chain.deploy("MockERC20", "USD Coin", "USDC", token_decimals)
        feed = chain.deploy("MockAggregator", feed_decimals, "ETH / USD", answer * 10**feed_decimals)
    return token, feed


def _params(token=None, feed=None, **market0):
    data = default_params().to_dict()
    if token is not None:
        data["collateral"] = {"address": token, "decimals": data["collateral"]["decimals"]}
    if feed is not None:
        data["markets"][0]["feed"] = feed
        del data["markets"][0]["price"]
    data["markets"][0].update(market0)
    return parse_params(data)


def test_deploy__existing_token_and_feed__used_and_only_the_rest_mocked():
    chain = revm_chain.Chain()
    token, feed = _externals(chain)
    p = revm_chain.deploy(OWNER, chain=chain, params=_params(str(token.address), str(feed.address)))
    assert p.token.address == token.address and p.vault.TOKEN() == token.address
    assert p.feeds[0].address == feed.address and p.oracle.feeds(0).aggregator == feed.address
    assert p.feeds[1].address != feed.address and p.feeds[1].decimals() == 8  # BTC: a mock, none named
    # The protocol trades on them: the operator funds a trader, moves the feed, a keeper liquidates.
    trader, lp = str(actor("existing trader")), str(actor("existing lp"))
    with chain.prank(OPERATOR):
        token.mint(trader, 1_000 * 10**6)
        token.mint(lp, 1_000_000 * 10**6)
    with chain.prank(lp):
        token.approve(p.pool.address, 1_000_000 * 10**6)
        p.pool.deposit(1_000_000 * 10**6, lp)
    with chain.prank(trader):
        token.approve(p.vault.address, 1_000 * 10**6)
        p.vault.deposit(1_000 * 10**6)
        p.engine.trade(0, wad(4))
    with chain.prank(OPERATOR):
        feed.set_answer(1_790 * 10**8)
    assert p.lens.is_liquidatable(trader)
    with chain.prank(str(actor("keeper"))):
        p.engine.liquidate(trader)
    assert not p.lens.is_liquidatable(trader)


@pytest.mark.parametrize("case, field, words", [
    ("no code", "markets[0].feed", "no contract at"),
    ("token as feed", "markets[0].feed", "does not answer latestRoundData()"),
    ("feed as token", "collateral.address", "does not answer"),
    ("feed decimals", "markets[0].feed_decimals", "answers with 18 decimals"),
    ("token decimals", "collateral.decimals", "has 18 decimals"),
    ("answer below band", "markets[0].band_min", "at or below it"),
    ("stale answer", "markets[0].heartbeat", "stale"),
])
def test_deploy__bad_existing_contract__one_line_naming_the_field_nothing_deployed(case, field, words):
    chain = revm_chain.Chain()
    token, feed = _externals(chain, token_decimals=18 if case == "token decimals" else 6,
                             feed_decimals=18 if case == "feed decimals" else 8)
    token_at, feed_at, extra = str(token.address), str(feed.address), {}
    if case == "no code":
        feed_at = str(actor("an account without code"))
    elif case == "token as feed":
        feed_at = token_at
    elif case == "feed as token":
        token_at = str(feed.address)
    elif case == "answer below band":
        extra = {"band_min": 2_500}
    elif case == "stale answer":
        chain.time_travel(3_601)
    nonce_before = chain.evm.basic(OWNER).nonce
    with pytest.raises(ParamsError) as caught:
        revm_chain.deploy(OWNER, chain=chain, params=_params(token_at, feed_at, **extra))
    message = str(caught.value)
    assert caught.value.field == field and words in message and "\n" not in message, message
    assert chain.evm.basic(OWNER).nonce == nonce_before  # nothing was deployed


@pytest.mark.parametrize("value, words", [
    ("0x1234", "40 hex digits"), ("ETH feed", "40 hex digits"), (12, "40 hex digits"),
    ("0x" + "0" * 40, "zero address"), ("0xABaBaBaBABabABabAbAbABAbABabababaBaBABaC", "wrong checksum"),
])
def test_params__bad_address__refused_on_load(value, words):
    with pytest.raises(ParamsError, match=words) as caught:
        _params(feed=value)
    assert caught.value.field == "markets[0].feed"


def test_params__existing_addresses__round_trip_and_a_mock_keeps_its_price():
    params = _params("0x" + "ab" * 20, "0x" + "cd" * 20)
    assert parse_params(params.to_dict()) == params
    assert params.markets[0].price is None and params.markets[1].price is not None
    assert params.collateral.name is None and "name" not in params.to_dict()["collateral"]
    with pytest.raises(ParamsError, match="markets\\[0\\].price: unknown key"):
        data = params.to_dict()
        data["markets"][0]["price"] = "2000"
        parse_params(data)
