"""MockAggregator: a settable Chainlink-shaped feed (latestRoundData, decimals, description, version)."""

import boa
import pytest

ANSWER = 2_000 * 10**8


@pytest.fixture
def feed(contracts):
    return contracts["MockAggregator"].deploy(8, "ETH / USD", ANSWER)


def test_init__metadata_and_first_round(feed):
    now = boa.env.evm.patch.timestamp
    assert (feed.decimals(), feed.description(), feed.version()) == (8, "ETH / USD", 4)
    assert feed.latestRoundData() == (1, ANSWER, now, now, 1)


def test_set_answer__later__opens_next_complete_round_at_block_time(feed, attacker, emitted):
    boa.env.time_travel(seconds=600)
    with boa.env.prank(attacker):  # anyone can set a test feed
        feed.set_answer(ANSWER + 1)
    (event,) = emitted(feed, "AnswerUpdated")
    now = boa.env.evm.patch.timestamp
    assert (event.current, event.roundId, event.updatedAt) == (ANSWER + 1, 2, now)
    assert feed.latestRoundData() == (2, ANSWER + 1, now, now, 2)


def test_set_round_data__any_fields__returned_verbatim(feed, emitted):
    # stale, future-dated, incomplete and negative, all at once
    feed.set_round_data(7, -5, 3, 2**40, 6)
    (event,) = emitted(feed, "AnswerUpdated")
    assert (event.current, event.roundId, event.updatedAt) == (-5, 7, 2**40)
    assert feed.latestRoundData() == (7, -5, 3, 2**40, 6)


def test_set_answer__after_set_round_data__continues_from_its_round(feed):
    feed.set_round_data(41, ANSWER, 0, 0, 40)
    feed.set_answer(ANSWER)
    now = boa.env.evm.patch.timestamp
    assert feed.latestRoundData() == (42, ANSWER, now, now, 42)


def test_set_reverting__true__latest_round_data_reverts(feed):
    feed.set_reverting(True)
    with boa.reverts("MockAggregator: reverting"):
        feed.latestRoundData()


def test_set_reverting__back_to_false__answers_again(feed):
    feed.set_reverting(True)
    feed.set_reverting(False)
    assert feed.latestRoundData()[1] == ANSWER
