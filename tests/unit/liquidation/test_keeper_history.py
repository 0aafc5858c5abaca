"""The keeper's history scan (backstop.keeper.history): Trade logs read in
chunks a capped provider accepts, from a start block, resumed from a cursor."""

import json

import pytest

from backstop.keeper.history import HistoryScan

TRADES = {5: ["a"], 40: ["b", "a"], 41: ["c"], 999: ["d"]}  # block -> accounts that traded in it


def provider(cap: int, calls: list):
    """A provider that refuses a range wider than `cap` blocks, as hosted nodes do."""
    def fetch(first, last):
        calls.append((first, last))
        if last - first + 1 > cap:
            raise RuntimeError(f"query exceeds max block range {cap}")
        return [a for b in range(first, last + 1) for a in TRADES.get(b, [])]
    return fetch


def test_scan__capped_provider__chunk_halves_until_accepted_and_every_account_found(tmp_path):
    calls = []
    scan = HistoryScan(provider(100, calls), "engine-1", start_block=0, cursor_path=tmp_path / "c.json", chunk=1_000)
    assert scan.scan_to(1_000) == {"a", "b", "c", "d"}
    assert scan.chunk <= 100 and all(last - first + 1 <= 1_000 for first, last in calls)
    accepted = [(f, l) for f, l in calls if l - f + 1 <= 100]
    assert accepted[0][0] == 0 and accepted[-1][1] == 1_000  # every block read, once, in order
    assert all(b[0] == a[1] + 1 for a, b in zip(accepted, accepted[1:]))
    assert len(calls) < 30


def test_scan__restart__resumes_from_the_cursor_and_reads_only_new_blocks(tmp_path):
    cursor = tmp_path / "c.json"
    HistoryScan(provider(10_000, []), "engine-1", 0, cursor).scan_to(500)
    calls = []
    again = HistoryScan(provider(10_000, calls), "engine-1", 0, cursor)
    assert again.accounts == {"a", "b", "c"} and again.next_block == 501
    assert again.scan_to(1_000) == {"d"} and calls == [(501, 1_000)]
    assert json.loads(cursor.read_text())["next_block"] == 1_001


def test_scan__start_block__earlier_blocks_never_read(tmp_path):
    calls = []
    scan = HistoryScan(provider(10_000, calls), "engine-1", start_block=41)
    assert scan.scan_to(1_000) == {"c", "d"} and calls[0][0] == 41


def test_scan__cursor_of_another_deployment_or_ahead_of_the_head__not_trusted(tmp_path):
    cursor = tmp_path / "c.json"
    HistoryScan(provider(10_000, []), "engine-1", 0, cursor).scan_to(1_000)
    other = HistoryScan(provider(10_000, []), "engine-2", 0, cursor)
    assert other.next_block == 0 and other.accounts == set()
    same = HistoryScan(provider(10_000, []), "engine-1", 0, cursor)
    assert same.scan_to(300) == {"a", "b", "c"}  # a node restarted without its blocks: read again
    cursor.write_text("{not json")
    assert HistoryScan(provider(10_000, []), "engine-1", 0, cursor).next_block == 0


def test_scan__a_single_block_refused__raises_and_bad_settings_refused():
    def broken(first, last):
        raise RuntimeError("node down")
    with pytest.raises(RuntimeError, match="node down"):
        HistoryScan(broken, "e", 0, chunk=1).scan_to(5)
    with pytest.raises(ValueError, match="at least 1 block"):
        HistoryScan(broken, "e", 0, chunk=0)
    with pytest.raises(ValueError, match="start block"):
        HistoryScan(broken, "e", -1)
