"""status: why a feed fails its checks, as a code (0 when it does not)."""

import boa
import pytest

from backstop.protocol.harness import HEARTBEAT

ETH, BTC = 0, 1


def test_status__fresh_feed__is_zero(oracle):
    assert oracle.status(ETH) == 0


def test_status__age_exactly_heartbeat__is_zero(oracle):
    boa.env.time_travel(seconds=HEARTBEAT)
    assert oracle.status(ETH) == 0


def test_status__failing_feed__is_its_code(oracle, failure):
    failure.break_feed()
    assert oracle.status(ETH) == failure.status


@pytest.mark.parametrize("mode", [1, 2], ids=["short_answer", "empty_answer"])
def test_status__malformed_answer__is_call_failed(oracle, malformed_feed, mode):
    malformed_feed.set_mode(mode)
    assert oracle.status(BTC) == 1


def test_status__unknown_market__reverts_unknown_market(oracle):
    with boa.reverts("Oracle: unknown market"):
        oracle.status(BTC)
