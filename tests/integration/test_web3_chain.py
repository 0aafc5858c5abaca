"""backstop.chain.web3_chain: the protocol on anvil through raw JSON-RPC (the harness
of the keeper-latency benchmark and, next, the crash simulator)."""

import pytest

from backstop.protocol.harness import actor
from backstop.keeper.logic import BoaChain, Keeper
from backstop.chain.revm_chain import Reverted
from backstop.units import wad
from backstop.chain.web3_chain import deploy, start_anvil
from tests.invariants import assert_settled_invariants

pytestmark = pytest.mark.anvil


def test_web3_chain__deploy_trade_and_keeper__same_protocol_on_a_real_node():
    with start_anvil() as url:
        p = deploy(url, actor("owner"), decimals=6)
        p.fund_pool(actor("lp"), 1_000_000)
        traders = [actor(f"web3 trader {i}") for i in range(3)]
        for t in traders:
            p.fund_trader(t, 2_000)
            with p.env.prank(t):
                p.engine.trade(0, wad(5))
        (fill,) = p.engine.events("Trade")
        assert fill.account == traders[-1] and fill.size == wad(5)
        with p.env.prank(traders[0]), pytest.raises(Reverted, match="Clearinghouse: zero size"):
            p.engine.trade(0, 0)

        p.set_price(0, 1650)
        price_block = p.env.last_block
        keeper = Keeper(BoaChain(p, actor("keeper")))
        for t in traders:
            keeper.track(t)
        report = keeper.run_round()
        assert sorted(report.liquidated) == sorted(map(str, traders))
        assert p.env.last_block == price_block + 1  # one batch, the next block
        assert_settled_invariants(p, [*traders, actor("keeper"), actor("lp")])


def test_web3_chain__clock__moves_only_by_time_travel():
    """Found by `make bench`: the simulator on anvil gave three different event
    logs in three runs of one seed, because the node's clock followed the wall
    between transactions and the engine's price lag releases by the second.
    The chain's clock now moves only by `time_travel`, as revm's does."""
    import time

    with start_anvil() as url:
        p = deploy(url, actor("owner"), decimals=6)
        chain = p.env

        def now() -> int:
            return chain.timestamp

        start = now()
        p.fund_pool(actor("lp"), 1_000)
        time.sleep(1.2)
        p.fund_pool(actor("lp"), 1_000)
        assert now() == start
        chain.time_travel(12)
        p.fund_pool(actor("lp"), 1_000)
        assert now() == start + 12


def test_web3_chain__node_queries__answer_from_the_node():
    """The public queries the simulator, the bench and the tests use instead of the chain's raw RPC."""
    with start_anvil(prune_history=False) as url:
        p = deploy(url, actor("owner"), decimals=6)
        chain = p.env
        assert chain.is_anvil()
        assert chain.client_version().startswith("anvil/")
        assert chain.block()["number"] == hex(chain.block_number)
        assert chain.timestamp == int(chain.block(chain.block_number)["timestamp"], 16)
        p.fund_pool(actor("lp"), 1_000)
        tx_hash = chain.last_receipt["transactionHash"]
        assert chain.transaction(tx_hash)["to"].lower() == p.pool.address.lower()
        touched, changed = chain.prestate(tx_hash), chain.prestate(tx_hash, diff=True)
        assert p.pool.address.lower() in {a.lower() for a in touched}
        assert set(changed) == {"pre", "post"}
