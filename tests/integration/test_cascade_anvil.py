"""A cross-margin cascade on anvil: 500 accounts holding two or three markets
become liquidatable in one price update, and the keeper (backstop.keeper.logic.Keeper,
the code bots/keeper.py runs) liquidates every one of them within 4 blocks.

Every account is long ETH and BTC (and, for two in three, SOL) at ~4x; all
three feeds fall 15% in one round each (below the 25% guard). The keeper
sizes its batches from each account's market count (a three-market account
costs ~95k gas, a one-market one ~43k), so the 500 fit in a few 30M-gas
blocks, none of which it has to resend.
"""

from decimal import Decimal

import pytest

from backstop.protocol.harness import BTC, ETH, MarketSpec, actor
from backstop.keeper.logic import BoaChain, Keeper
from backstop.units import wad
from backstop.chain.web3_chain import deploy, start_anvil
from tests.invariants import assert_settled_invariants

pytestmark = pytest.mark.anvil

SOL = MarketSpec("SOL / USD", Decimal(100), imr="0.10", mmr="0.05", fee="0.001", skew_scale=1_000_000, max_skew=100_000)
ACCOUNTS = 500
BLOCK_BOUND = 4
# dev: 1 ETH (2,000 USD) + 0.04 BTC (2,000) [+ 10 SOL (1,000)] on 800 USD of margin:
#      after -15% everywhere, below maintenance and still solvent.
SIZES = {0: wad(1), 1: wad("0.04"), 2: wad(10)}


def test_cascade__500_cross_margin_accounts__all_liquidated_within_4_blocks():
    with start_anvil() as url:
        p = deploy(url, actor("owner"), decimals=6, markets=(ETH, BTC, SOL))
        p.fund_pool(actor("cascade lp"), 10_000_000)
        p.stake(actor("cascade staker"), 100_000)
        accounts = [str(actor(f"cascade {i}")) for i in range(ACCOUNTS)]
        for i, a in enumerate(accounts):
            p.fund_trader(a, 800)
            with p.env.prank(a):
                for market in (0, 1, 2) if i % 3 else (0, 1):
                    p.engine.trade(market, SIZES[market])
        keeper = Keeper(BoaChain(p, actor("cascade keeper")))
        for a in accounts:
            keeper.track(a)
        assert keeper.liquidatable() == []

        for market, spec in enumerate((ETH, BTC, SOL)):
            p.set_price(market, spec.price * Decimal("0.85"))
        price_block = p.env.last_block
        assert len(keeper.liquidatable()) == ACCOUNTS

        report = keeper.run_round()

        assert sorted(report.liquidated) == sorted(accounts)
        assert report.failed_batches == 0 and report.adl_required == []
        assert keeper.liquidatable() == []
        assert p.env.last_block - price_block <= BLOCK_BOUND
        assert_settled_invariants(p, [*accounts, actor("cascade keeper"), actor("cascade lp")])
