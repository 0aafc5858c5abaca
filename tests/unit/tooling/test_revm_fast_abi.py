"""revm_chain's hand-rolled ABI paths for the batch views give exactly what eth_abi gives."""

from eth_abi import decode, encode

from backstop.protocol import harness

from backstop.chain import revm_chain
from backstop.chain.revm_chain import _encode_accounts, _wrap


def test_batch_views__fast_paths__match_eth_abi():
    chain = revm_chain.Chain()
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=chain)
    p.fund_pool(str(harness.actor("lp")), 1_000_000)
    traders = [str(harness.actor(f"fast-abi-{i}")) for i in range(5)]
    for i, t in enumerate(traders[:3]):
        p.fund_trader(t, 10_000)
        with chain.prank(t):
            p.engine.trade(0, -2 * 10**18 if i == 1 else 10**18)
    p.set_price(0, 1_500)  # signed values of both signs, a pool in profit
    accounts = traders + [str(p.pool.address)]
    cases = [(p.lens.health, (accounts,)), (p.lens.positions, (accounts, 0)), (p.lens.collaterals, (accounts,)),
             (p.lens.adl_ranking, (accounts, 0))]
    for view, args in cases:
        (overload,) = view.overloads.values()
        assert overload.fast_decode and overload.fast_encode, view.name
        assert _encode_accounts(list(args), overload.types) == encode(overload.types, list(args))
        data = chain.call(view.contract.address, overload.selector + encode(overload.types, list(args)), None, False)
        assert view(*args) == _wrap(overload.outputs[0], decode(overload.output_types, data)[0]), view.name


def test_book__fast_encoding__matches_eth_abi_and_the_batch_views():
    # `book` takes (address[], uint256[16]): encoded by hand, its totals are
    # the sums of the batch views' rows.
    chain = revm_chain.Chain()
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=chain)
    p.fund_pool(str(harness.actor("lp")), 1_000_000)
    traders = [str(harness.actor(f"fast-abi-{i}")) for i in range(4)]
    for i, t in enumerate(traders):
        p.fund_trader(t, 10_000)
        with chain.prank(t):
            p.engine.trade(i % 2, (-1) ** i * 10**17)
    accounts = traders + [str(p.pool.address)]
    (overload,) = p.lens.book.overloads.values()
    assert overload.fast_encode
    # dev: at the entry prices, then with both markets moved (the book's
    #      collateral is the engine's equity less each position's PnL).
    for move in ({}, {0: 1_700, 1: 52_000}):
        for market, price in move.items():
            p.set_price(market, price)
        marks = [p.oracle.last(m).price for m in range(p.engine.market_count())]
        marks += [0] * (16 - len(marks))
        assert _encode_accounts([accounts, marks], overload.types) == encode(overload.types, [accounts, marks])
        book = p.lens.book(accounts, marks)
        health = p.lens.health(accounts)
        assert book.collateral == sum(p.lens.collaterals(accounts))
        assert book.positive_equity == sum(max(h.equity, 0) for h in health)
        for m in range(p.engine.market_count()):
            positions = p.lens.positions(accounts, m)
            assert book.sizes[m] == sum(x.size for x in positions) == 0
            assert book.costs[m] == sum(x.cost for x in positions)
            assert book.upnl[m] == sum(x.size * marks[m] // 10**18 - x.cost for x in positions)
            assert book.longs[m] == sum(x.size for x in positions if x.size > 0)
            assert book.shorts[m] == -sum(x.size for x in positions if x.size < 0)
            assert book.open_positions[m] == sum(1 for x in positions if x.size)


def test_encode_accounts__unusual_input__left_to_eth_abi():
    assert _encode_accounts([["not an address"]]) is None
    assert _encode_accounts([["0x" + "zz" * 20]]) is None
    assert _encode_accounts([[], -1]) is None
    assert _encode_accounts([[], 2**256]) is None
    assert _encode_accounts([[], [0] * 15], ["address[]", "uint256[16]"]) is None
    assert _encode_accounts([[], 5], ["address[]", "uint256[16]"]) is None
    assert _encode_accounts([[], [0] * 16], ["address[]", "uint256"]) is None


def test_struct_array__internal_type_with_brackets__named_after_the_struct():
    from backstop.chain.revm_chain import _array_decoder

    outputs = [{"type": "tuple[]", "internalType": "struct IClearinghouse.Position[]",
                "components": [{"name": "size", "type": "int256"}, {"name": "cost", "type": "int256"}]}]
    data = encode(["(int256,int256)[]"], [[(-3, 7)]])
    (row,) = _array_decoder(outputs)(data)
    assert type(row).__name__ == "Position" and (row.size, row.cost) == (-3, 7)
    assert _wrap(outputs[0], decode(["(int256,int256)[]"], data)[0]) == [row]


def test_events__fast_decoder__matches_eth_abi():
    # Events of static words are decoded by hand (the simulator records every
    # event of a run): the same named tuples as the eth_abi path, for every
    # event a trade, a liquidation, a stake, an LP deposit and a price round emit.
    chain = revm_chain.Chain()
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=chain)
    contracts = [p.engine, p.vault, p.pool, p.insurance, p.oracle, p.token, p.deleverager, *p.feeds]
    seen = set()

    def compare():
        for log in chain.last_logs:
            for contract in contracts:
                fast = contract.decode(log)
                saved, contract._fast_events = contract._fast_events, {}
                try:
                    slow = contract.decode(log)
                finally:
                    contract._fast_events = saved
                assert fast == slow and type(fast).__name__ == type(slow).__name__, (fast, slow)
                if fast is not None:
                    assert type(fast)._fields == type(slow)._fields
                    seen.add(type(fast).__name__)

    p.fund_pool(str(harness.actor("lp")), 1_000_000)
    compare()
    p.stake(str(harness.actor("staker")), 1_000)
    compare()
    trader = str(harness.actor("fast-events"))
    p.fund_trader(trader, 1_000)
    compare()
    with chain.prank(trader):
        p.engine.trade(0, -4 * 10**18)
    compare()
    p.set_price(0, 2_200)
    compare()
    with chain.prank(str(harness.actor("keeper"))):
        p.engine.liquidate(trader)
    compare()
    assert {"Trade", "Liquidation", "Deposit"} <= seen and len(seen) >= 6, seen


def test_static_paths__every_view_and_argument__match_eth_abi():
    # Arguments of word types are encoded by hand and outputs of static words
    # (a struct, a tuple, a static array inside a struct: `book`) decoded by
    # hand: byte for byte and value for value what eth_abi gives, for every
    # view of the lens, the engine and the oracle that the fast paths take.
    from backstop.chain.revm_chain import _encode_static

    chain = revm_chain.Chain()
    p = revm_chain.deploy(str(harness.actor("owner")), 6, chain=chain)
    p.fund_pool(str(harness.actor("lp")), 1_000_000)
    trader = str(harness.actor("static-paths"))
    p.fund_trader(trader, 10_000)
    with chain.prank(trader):
        p.engine.trade(0, -3 * 10**18)
    p.set_price(0, 2_300)  # negative PnL, a liquidatable account
    marks = [p.oracle.last(0).price, p.oracle.last(1).price] + [0] * 14
    cases = [(p.lens.book, ([trader, str(p.pool.address)], marks)), (p.lens.account_health, (trader,)),
             (p.engine.position, (trader, 0)), (p.engine.market_count, ()), (p.oracle.last, (0,)),
             (p.lens.margin_ratio, (trader,)), (p.lens.quote, (0, -10**18)), (p.vault.collateral, (trader,))]
    taken = 0
    for view, args in cases:
        overload = view.overloads[len(args)]
        if overload.static_encode:
            assert _encode_static(overload.types, list(args)) == encode(overload.types, list(args)), view.name
        data = chain.call(view.contract.address, overload.selector + encode(overload.types, list(args)), None, False)
        values = [_wrap(o, v) for o, v in zip(overload.outputs, decode(overload.output_types, data))]
        expected = values[0] if len(values) == 1 else tuple(values)
        assert view(*args) == expected and type(view(*args)) is type(expected), view.name
        taken += overload.static_decode is not None
    assert taken == len(cases)
    # Unusual arguments are left to eth_abi, which names what is wrong.
    for types, args in ((["uint256"], [True]), (["uint256"], [-1]), (["uint256"], [1.0]), (["int256"], [2**255]),
                        (["address"], ["0x1234"]), (["address"], ["0x" + "zz" * 20]), (["bool"], [1])):
        assert _encode_static(types, args) is None, (types, args)
    assert _encode_static(["int256", "address", "bool"], [-5, trader, True]) == \
        encode(["int256", "address", "bool"], [-5, trader, True])
