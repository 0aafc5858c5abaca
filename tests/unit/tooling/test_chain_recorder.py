"""The chain's public recorder: every transaction whoever sends it, with its
logs or its revert reason; views and deployments are not recorded."""

import pytest

from backstop.chain import revm_chain
from backstop.chain.revm_chain import Reverted
from backstop.protocol.wiring import actor_address

OWNER, LP = actor_address("recorder owner"), actor_address("recorder lp")


@pytest.fixture
def protocol():
    return revm_chain.deploy(OWNER)


def test_recorder__transactions__recorded_with_sender_logs_and_reason(protocol):
    p, seen = protocol, []
    p.env.recorder = lambda *entry: seen.append(entry)
    assert p.env.recorder is not None
    p.fund_pool(LP, 1_000)  # mint (default sender), approve and deposit (the LP)
    p.engine.market_count()  # a view: not recorded
    with p.env.prank(LP), pytest.raises(Reverted):
        p.pool.deposit(0)
    senders = [s for s, *_ in seen]
    assert senders == [revm_chain.DEFAULT_SENDER, LP, LP, LP]
    assert [p.token.function_name(c) if t == p.token.address else p.pool.function_name(c)
            for _, t, c, _, _ in seen] == ["mint", "approve", "deposit", "deposit"]
    assert all(reason is None and logs for *_, logs, reason in seen[:3])
    assert seen[3][4] and seen[3][3] == []


def test_recording__block__restores_the_previous_recorder(protocol):
    p, outer, inner = protocol, [], []
    p.env.recorder = outer.append
    with p.env.recording(lambda *entry: inner.append(entry)):
        p.token.mint(LP, 1)
    p.env.recorder = None
    p.token.mint(LP, 1)
    assert len(inner) == 1 and outer == []


def test_sender_of__inside_prank__the_pranked_account(protocol):
    chain = protocol.env
    assert chain.sender_of() == revm_chain.DEFAULT_SENDER
    with chain.prank(LP):
        assert chain.sender_of() == LP
        assert chain.sender_of(OWNER) == OWNER
