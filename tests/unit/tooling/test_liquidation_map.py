"""The liquidation map on revm (backstop/sim/liquidation_map.py) and the lens's
batch `liquidation_prices` under it: the batch is the single view, account for
account; every open position lands where its liquidation price says; and a
price moved to a level liquidates exactly the positions the map put between
the mark and that level. (`ape run liquidation-map` on anvil:
tests/integration/test_liquidation_map_anvil.py.)"""

import json
import random

import pytest

from backstop.chain import revm_chain
from backstop.chain.revm_chain import Reverted
from backstop.protocol import harness
from backstop.sim import liquidation_map as lm
from backstop.sim.liquidation_map import liquidation_map, plot_liquidation_maps
from backstop.units import WAD, wad

ETH, BTC = 0, 1
MARK = 1_850  # where every map here is read: ETH moved down 7.5% after the positions opened


def _trader(p, name, usd, *trades):
    account = str(harness.actor(f"liqmap-{name}"))
    p.fund_trader(account, usd)
    with p.env.prank(account):
        for market, size in trades:
            p.engine.trade(market, size)
    return account


@pytest.fixture
def book():
    """A fresh protocol with one account of each kind (by name) and a random
    crowd, opened at ETH 2,000, read at ETH 1,850."""
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=revm_chain.Chain())
    p.fund_pool(str(harness.actor("lp")), 10_000_000)
    named = {
        "long": _trader(p, "long", 10_000, (ETH, wad(10))),  # liquidation price ~1,054.84
        "short": _trader(p, "short", 10_000, (ETH, -wad(10))),
        "flat": _trader(p, "flat", 1_000),
        "closed": _trader(p, "closed", 1_000, (ETH, wad(1)), (ETH, -wad(1))),
        "cross": _trader(p, "cross", 20_000, (ETH, wad(10)), (BTC, -wad("0.5"))),
        "never": _trader(p, "never", 100_000, (ETH, wad(1))),  # no positive price liquidates it
        "leveraged": _trader(p, "leveraged", 2_000, (ETH, wad("9.5"))),  # ~1,887: liquidatable at 1,850
    }
    r = random.Random(7)
    crowd = []
    for i in range(40):
        margin = r.uniform(1_000, 5_000)
        side = 1 if r.random() < 0.6 else -1
        size = side * int(r.uniform(1.5, 9) * margin / 2_000 * WAD)
        crowd.append(_trader(p, f"crowd-{i}", round(margin, 2), (ETH, size)))
    p.set_price(ETH, MARK)
    return p, named, list(named.values()) + crowd


def _feed_answer_at(p, market, price_wad, up: bool) -> int:
    # dev: a level in WAD as a feed answer, rounded away from the mark (past the level, never short of it).
    unit = WAD // 10 ** p.markets[market].feed_decimals
    return -(-price_wad // unit) if up else price_wad // unit


# ---------------------------------------------------------------- the lens's batch view


def test_liquidation_prices__long_short_flat_cross_and_liquidatable__equal_the_single_view(book):
    p, named, accounts = book
    assert p.lens.is_liquidatable(named["leveraged"])
    assert p.lens.liquidation_price(named["never"], ETH) == 0
    everyone = accounts + [str(p.pool.address)]
    for market in (ETH, BTC):
        batch = p.lens.liquidation_prices(everyone, market)
        assert list(batch) == [p.lens.liquidation_price(a, market) for a in everyone]
    # Each kind really is what its name says, so the comparison above covers it.
    eth = dict(zip(named, p.lens.liquidation_prices(list(named.values()), ETH)))
    assert eth["flat"] == eth["closed"] == 0
    assert 0 < eth["long"] < wad(MARK) < eth["short"]
    assert eth["leveraged"] >= wad(MARK)
    assert p.lens.liquidation_prices([named["cross"]], BTC)[0] > wad(50_000)
    assert p.lens.liquidation_prices([], ETH) == ()


def test_liquidation_prices__failing_feed__reverts_with_the_single_views_reason(book):
    p, named, _ = book
    p.feeds[ETH].set_reverting(True)
    with pytest.raises(Reverted) as single:
        p.lens.liquidation_price(named["long"], ETH)
    with pytest.raises(Reverted) as batch:
        p.lens.liquidation_prices([named["flat"], named["long"]], ETH)
    assert batch.value.reason == single.value.reason != ""
    # A flat account reads no price, in the batch as alone.
    assert p.lens.liquidation_prices([named["flat"]], ETH) == (p.lens.liquidation_price(named["flat"], ETH),) == (0,)


# ---------------------------------------------------------------- where each position lands


def test_map__known_positions__their_usd_in_the_bin_holding_the_lens_price(book):
    p, named, accounts = book
    m = liquidation_map(p, accounts, ETH)
    assert m.mark == wad(MARK) and len(m.edges) == 41
    assert m.edges[0] == wad(MARK) // 2 and m.edges[-1] == wad(MARK) * 3 // 2
    expected_long, expected_short = [0] * m.bins, [0] * m.bins
    for account in accounts:
        size = p.engine.position(account, ETH).size
        price = p.lens.liquidation_price(account, ETH)
        if size == 0 or not m.edges[0] <= price <= m.edges[-1] or (price >= m.mark) == (size > 0):
            continue
        # dev: a long's bin is (low, high], a short's [low, high): its level is past its liquidation price.
        i = next(i for i in range(m.bins) if (m.edges[i] < price <= m.edges[i + 1] if size > 0
                                               else m.edges[i] <= price < m.edges[i + 1]))
        usd = -(-abs(size) * price // WAD)
        (expected_long if size > 0 else expected_short)[i] += usd
    assert m.long_usd_wad == expected_long and m.short_usd_wad == expected_short
    assert sum(expected_long) > 0 and sum(expected_short) > 0
    # By hand: the 10 ETH long's bin holds its notional at the lens's price; the
    # cross account's ETH long (its BTC short fixed) lies below this span, in a wider one's bin.
    long = next(e for e in m.entries if e.account == named["long"])
    price = p.lens.liquidation_price(named["long"], ETH)
    assert long.place == "bin" and long.liquidation_price == price and long.usd_wad == 10 * price
    assert m.edges[long.bin] < price <= m.edges[long.bin + 1] and m.long_positions[long.bin] >= 1
    wide = liquidation_map(p, accounts, ETH, span=0.9)
    cross = next(e for e in wide.entries if e.account == named["cross"])
    assert next(e for e in m.entries if e.account == named["cross"]).place == "below"
    assert cross.place == "bin" and wide.edges[cross.bin] < p.lens.liquidation_price(named["cross"], ETH)


def test_map__longs_below_the_mark__shorts_above(book):
    p, _, accounts = book
    m = liquidation_map(p, accounts, ETH, bins=41)  # odd: the mark inside a bin, both sides in it
    for e in m.entries:
        if e.place == "bin":
            assert (e.liquidation_price < m.mark) if e.side == "long" else (e.liquidation_price > m.mark)
    assert all(m.long_level(i) < m.mark for i in range(m.bins) if m.long_usd_wad[i])
    assert all(m.short_level(i) > m.mark for i in range(m.bins) if m.short_usd_wad[i])
    assert sum(m.long_positions) + sum(m.short_positions) == sum(1 for e in m.entries if e.place == "bin")


def test_map__already_liquidatable_out_of_span_and_never__counted_apart(book):
    p, named, accounts = book
    m = liquidation_map(p, accounts, ETH, span=0.1)
    places = {e.account: e.place for e in m.entries}
    assert places[named["leveraged"]] == "already" and places[named["never"]] == "never"
    assert places[named["long"]] == "below" and places[named["short"]] == "above"
    assert named["flat"] not in places and named["closed"] not in places  # flat: not on the map at all
    already = [a for a in accounts if p.lens.is_liquidatable(a)]
    assert sorted(already) == sorted(e.account for e in m.entries if e.place == "already")
    assert m.already_long.positions + m.already_short.positions == len(already) > 0
    # USD: at the mark for those already liquidatable or never, at the liquidation price outside the span.
    mark_usd = sum(-(-abs(e.size) * m.mark // WAD) for e in m.entries if e.place == "already" and e.side == "long")
    assert m.already_long.usd_wad == mark_usd
    assert m.never.positions == 1 and m.never.usd_wad == wad(MARK)
    below = [e for e in m.entries if e.place == "below"]
    assert m.below_span.positions == len(below) and all(0 < e.liquidation_price < m.edges[0] for e in below)
    assert m.below_span.usd_wad == sum(-(-abs(e.size) * e.liquidation_price // WAD) for e in below)
    above = [e for e in m.entries if e.place == "above"]
    assert m.above_span.positions == len(above) > 0 and all(e.liquidation_price > m.edges[-1] for e in above)
    # Every open position is somewhere, once.
    tallies = (m.already_long, m.already_short, m.below_span, m.above_span, m.never)
    assert m.open_positions == sum(t.positions for t in tallies) + sum(m.long_positions) + sum(m.short_positions)
    assert m.open_positions == sum(1 for a in accounts if p.engine.position(a, ETH).size != 0)


def test_map__cumulative__adds_the_bins_from_the_mark_out(book):
    p, _, accounts = book
    m = liquidation_map(p, accounts, ETH)
    longs, shorts = m.long_cumulative_wad, m.short_cumulative_wad
    for i in range(m.bins):
        assert longs[i] == sum(m.long_usd_wad[i:])
        assert shorts[i] == sum(m.short_usd_wad[: i + 1])
    assert longs[0] == m.long_total_wad > 0 and shorts[-1] == m.short_total_wad > 0


@pytest.mark.parametrize("side", ["long", "short"])
def test_map__price_moved_to_a_level__exactly_the_positions_up_to_it_liquidatable(book, side):
    # What the map means: at a level, every position the map put between the mark and that level
    # (and those already liquidatable) is liquidatable, and none further out.
    p, _, accounts = book
    m = liquidation_map(p, accounts, ETH)
    usd = m.long_usd_wad if side == "long" else m.short_usd_wad
    levels = [i for i in range(m.bins) if usd[i]]
    assert len(levels) >= 3
    for i in levels:
        level = m.long_level(i) if side == "long" else m.short_level(i)
        p.feeds[ETH].set_answer(_feed_answer_at(p, ETH, level, up=side == "short"))
        for e in m.entries:
            liquidatable = p.lens.is_liquidatable(e.account)
            if e.side != side:
                if e.place != "already":  # the move only helps the other side
                    assert not liquidatable, (e, level)
            elif e.place == "already":
                assert liquidatable, (e, level)
            elif e.place == "bin":
                assert liquidatable == (e.bin >= i if side == "long" else e.bin <= i), (e, level)
            else:  # beyond the span, or never
                assert not liquidatable, (e, level)


def test_map__more_accounts_than_a_batch__the_same_map_in_chunks(book, monkeypatch):
    p, _, accounts = book
    whole = liquidation_map(p, accounts, ETH)
    monkeypatch.setattr(lm, "LENS_BATCH", 4)
    monkeypatch.setattr(lm, "PRICE_BATCH", 3)
    chunked = liquidation_map(p, accounts + accounts[:5], ETH)  # and an account listed twice counts once
    assert chunked.to_dict() == whole.to_dict() and chunked.entries == whole.entries


@pytest.mark.parametrize("kwargs, reason", [({"span": 0}, "span"), ({"span": 1}, "span"), ({"span": -0.2}, "span"),
                                            ({"bins": 0}, "bins"), ({"bins": 2.5}, "bins")])
def test_liquidation_map__bad_span_or_bins__value_error_naming_it(book, kwargs, reason):
    p, _, accounts = book
    with pytest.raises(ValueError, match=reason):
        liquidation_map(p, accounts, ETH, **kwargs)


# ---------------------------------------------------------------- outputs


def test_to_dict__json_serialisable__the_maps_figures_in_usd(book):
    p, _, accounts = book
    m = liquidation_map(p, accounts, ETH)
    m.label = "at the start"
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["name"] == "ETH / USD" and d["label"] == "at the start" and d["mark_usd"] == MARK
    assert len(d["levels"]) == 40 and d["levels"][0]["low_usd"] == MARK / 2
    assert d["long_total_usd"] == pytest.approx(m.long_total_wad / WAD)
    assert d["levels"][0]["long_cumulative_usd"] == pytest.approx(d["long_total_usd"])
    assert d["never_liquidated"] == {"positions": 1, "usd": MARK}
    assert d["open_positions"] == m.open_positions


def test_format_text__non_empty_levels_and_the_mark_line(book):
    p, _, accounts = book
    m = liquidation_map(p, accounts, ETH)
    text = m.format_text()
    rows = [line for line in text.splitlines() if line[:14].strip().replace(",", "").replace(".", "").isdigit()]
    non_empty = sum(1 for v in m.long_usd_wad if v) + sum(1 for v in m.short_usd_wad if v)
    assert len(rows) == non_empty + 1  # and the mark
    assert "1,850.00  <- mark" in text and text.startswith("ETH / USD: mark 1,850.00")
    assert f"{m.long_total_wad / WAD:,.2f}" in text and "already liquidatable at the mark: " in text
    # Highest price first: shorts above the mark line, longs below it.
    prices = [float(r.split()[0].replace(",", "")) for r in rows]
    assert prices == sorted(prices, reverse=True)


def test_plot__two_maps_side_by_side__the_png_written_the_same_each_time(book, tmp_path):
    p, _, accounts = book
    start = liquidation_map(p, accounts, ETH)
    start.label = "at the start"
    p.set_price(ETH, 1_500)
    low = liquidation_map(p, accounts, ETH)
    low.label = "at the low"
    path = plot_liquidation_maps([start, low], tmp_path / "maps" / "liquidation_map.png", "ETH")
    data = path.read_bytes()
    assert path == tmp_path / "maps" / "liquidation_map.png" and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert plot_liquidation_maps([start, low], tmp_path / "again.png", "ETH").read_bytes() == data
    with pytest.raises(ValueError, match="no maps"):
        plot_liquidation_maps([], tmp_path / "none.png", "ETH")
