"""backstop.keeper.Keeper on the in-process chain: discovery, batching, races, dry run."""

import boa

from backstop.harness import actor
from backstop.keeper import BoaChain, Keeper
from backstop.units import wad
from tests.invariants import assert_invariants

ETH = 0


def _open_longs(protocol, n, margin=2_000, size=5):
    accounts = [actor(f"long-{i}") for i in range(n)]
    for a in accounts:
        protocol.fund_trader(a, margin)
        with boa.env.prank(a):
            protocol.engine.trade(ETH, wad(size))
    return accounts


def test_run_round__price_drop__liquidates_every_liquidatable_account(protocol, keeper):
    risky = _open_longs(protocol, 7)
    safe = actor("safe")
    protocol.fund_trader(safe, 50_000)
    with boa.env.prank(safe):
        protocol.engine.trade(ETH, wad(1))
    bot = Keeper(BoaChain(protocol, keeper))
    for a in [*risky, safe]:
        bot.track(a)
    assert bot.run_round().liquidatable == []
    protocol.set_price(ETH, 1650)
    report = bot.run_round()
    assert sorted(report.liquidated) == sorted(map(str, risky))
    assert report.skipped == 0 and report.failed_batches == 0
    assert bot.liquidatable() == []
    assert_invariants(protocol, [*risky, safe, keeper])


def test_run_round__small_block_gas_limit__splits_into_batches(protocol, keeper):
    risky = _open_longs(protocol, 5)
    bot = Keeper(BoaChain(protocol, keeper), block_gas_limit=300_000)
    assert bot.batch_size == 2
    for a in risky:
        bot.track(a)
    protocol.set_price(ETH, 1650)
    report = bot.run_round()
    assert len(report.liquidated) == 5


def test_run_round__lost_race__counts_skipped_and_carries_on(protocol, keeper, attacker):
    risky = _open_longs(protocol, 3)
    protocol.set_price(ETH, 1650)

    class RacedChain(BoaChain):
        """Another keeper lands the first account just before our batch."""

        def liquidate_batch(self, accounts):
            with boa.env.prank(attacker):
                protocol.engine.liquidate(accounts[0])
            return super().liquidate_batch(accounts)

    bot = Keeper(RacedChain(protocol, keeper))
    for a in risky:
        bot.track(a)
    report = bot.run_round()
    assert report.skipped == 1 and len(report.liquidated) == 2


def test_run_round__failed_transaction__logged_and_next_round_recovers(protocol, keeper):
    risky = _open_longs(protocol, 2)
    protocol.set_price(ETH, 1650)

    class FlakyChain(BoaChain):
        failures = 1

        def liquidate_batch(self, accounts):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("transaction dropped")
            return super().liquidate_batch(accounts)

    bot = Keeper(FlakyChain(protocol, keeper))
    for a in risky:
        bot.track(a)
    first = bot.run_round()
    assert first.failed_batches == 1 and first.liquidated == []
    second = bot.run_round()
    assert len(second.liquidated) == 2


def test_run_round__no_signer__dry_run_sends_nothing(protocol):
    risky = _open_longs(protocol, 2)
    protocol.set_price(ETH, 1650)
    bot = Keeper(BoaChain(protocol, sender=None))
    for a in risky:
        bot.track(a)
    report = bot.run_round()
    assert report.dry_run and len(report.liquidatable) == 2 and report.liquidated == []
    assert all(protocol.lens.is_liquidatable(a) for a in risky)
