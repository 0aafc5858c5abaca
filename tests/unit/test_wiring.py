"""The deployment is wired as the contracts expect: every address getter points at its peer."""


def test_wiring__every_contract_knows_its_peers(protocol):
    p = protocol
    assert p.vault.TOKEN() == p.token.address
    assert p.vault.SCALE() == 10 ** (18 - p.decimals)
    assert p.vault.engine() == p.engine.address
    assert p.engine.VAULT() == p.vault.address
    assert p.engine.ORACLE() == p.oracle.address
    assert p.engine.pool() == p.pool.address
    assert p.engine.insurance_fund() == p.fund
    assert p.engine.market_count() == 2
    assert p.engine.CONFIGURATOR() == p.configurator.address
    assert p.engine.DELEVERAGER() == p.deleverager.address
    assert p.configurator.engine() == p.engine.address
    assert p.configurator.pool() == p.pool.address
    assert p.configurator.insurance_fund() == p.fund
    assert p.configurator.market_count() == 2
    assert p.deleverager.engine() == p.engine.address
    assert p.deleverager.CONFIGURATOR() == p.configurator.address
    assert p.deleverager.oracle() == p.oracle.address
    assert p.lens.CONFIGURATOR() == p.configurator.address
    assert p.pool.asset() == p.token.address
    assert p.pool.VAULT() == p.vault.address
    assert p.pool.ENGINE() == p.engine.address
    assert p.pool.decimals() == p.decimals + 3
    for market, feed in enumerate(p.feeds):
        assert p.oracle.feeds(market).aggregator == feed.address
    for contract in (p.vault, p.oracle, p.configurator, p.insurance):
        assert contract.owner() == p.owner
        assert contract.pending_owner() == "0x0000000000000000000000000000000000000000"
