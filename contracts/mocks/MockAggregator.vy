# pragma version 0.4.3
# pragma evm-version cancun
"""
@title MockAggregator
@notice A settable price feed with Chainlink's `AggregatorV3Interface` shape, for
        local chains and tests. Anyone can set it: it is a test double, never
        deploy it where real money is at stake.
@dev Each `set_answer` opens a new, complete round stamped with the block time.
     `set_round_data` writes every field as given, so tests can build stale,
     future-dated, incomplete or non-positive rounds. `set_reverting` makes
     `latestRoundData` revert, like a paused or broken aggregator. Every round
     written is kept, and `getRoundData` answers it as Chainlink does (the
     oracle reads the rounds before the latest to decide its price guard).
"""


struct Round:
    answer: int256
    started_at: uint256
    updated_at: uint256
    answered_in_round: uint80


# @dev Feed decimals, as Chainlink's `decimals()`.
decimals: public(immutable(uint8))

# @dev Human-readable pair name, as Chainlink's `description()`.
description: public(String[64])

# @dev Aggregator version, as Chainlink's `version()`.
version: public(constant(uint256)) = 4

# @dev The latest round, returned verbatim by `latestRoundData`.
round_id: public(uint80)
answer: public(int256)
started_at: public(uint256)
updated_at: public(uint256)
answered_in_round: public(uint80)

# @dev Every round written, by id (what `getRoundData` answers).
rounds: HashMap[uint80, Round]

# @dev When True, `latestRoundData` reverts.
reverting: public(bool)


event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


@deploy
def __init__(decimals_: uint8, description_: String[64], initial_answer: int256):
    """
    @param decimals_ Decimals of the answers (Chainlink USD feeds use 8).
    @param description_ Pair name, e.g. "ETH / USD".
    @param initial_answer First answer, in feed units.
    """
    decimals = decimals_
    self.description = description_
    self._set_answer(initial_answer)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice The latest round: (roundId, answer, startedAt, updatedAt, answeredInRound).
    """
    assert not self.reverting, "MockAggregator: reverting"
    return (self.round_id, self.answer, self.started_at, self.updated_at, self.answered_in_round)


@external
@view
def getRoundData(round_id_: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice A past (or the latest) round, by id; reverts on one never written,
            as Chainlink's aggregators do ("No data present").
    """
    assert not self.reverting, "MockAggregator: reverting"
    r: Round = self.rounds[round_id_]
    assert r.updated_at != 0 or r.answer != 0, "MockAggregator: no data present"
    return (round_id_, r.answer, r.started_at, r.updated_at, r.answered_in_round)


@external
def set_answer(new_answer: int256):
    """
    @notice Publish `new_answer` as a new complete round at the current block time.
    """
    self._set_answer(new_answer)


@external
def set_round_data(
    round_id_: uint80,
    answer_: int256,
    started_at_: uint256,
    updated_at_: uint256,
    answered_in_round_: uint80,
):
    """
    @notice Overwrite the latest round with arbitrary fields (for failure tests).
    """
    self.round_id = round_id_
    self.answer = answer_
    self.started_at = started_at_
    self.updated_at = updated_at_
    self.answered_in_round = answered_in_round_
    self.rounds[round_id_] = Round(
        answer=answer_, started_at=started_at_, updated_at=updated_at_, answered_in_round=answered_in_round_
    )
    log AnswerUpdated(current=answer_, roundId=convert(round_id_, uint256), updatedAt=updated_at_)


@external
def set_reverting(reverting_: bool):
    """
    @notice Make `latestRoundData` revert (True) or answer again (False).
    """
    self.reverting = reverting_


@internal
def _set_answer(new_answer: int256):
    round_id_: uint80 = self.round_id + 1
    self.round_id = round_id_
    self.answer = new_answer
    self.started_at = block.timestamp
    self.updated_at = block.timestamp
    self.answered_in_round = round_id_
    self.rounds[round_id_] = Round(
        answer=new_answer, started_at=block.timestamp, updated_at=block.timestamp, answered_in_round=round_id_
    )
    log AnswerUpdated(current=new_answer, roundId=convert(round_id_, uint256), updatedAt=block.timestamp)
