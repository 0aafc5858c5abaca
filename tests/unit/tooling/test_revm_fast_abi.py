"""revm_chain's hand-rolled ABI paths for the batch views give exactly what eth_abi gives."""

from eth_abi import decode, encode

from backstop import harness, revm_chain
from backstop.revm_chain import _encode_accounts, _wrap


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
        assert _encode_accounts(list(args)) == encode(overload.types, list(args))
        data = chain.call(view.contract.address, overload.selector + encode(overload.types, list(args)), None, False)
        assert view(*args) == _wrap(overload.outputs[0], decode(overload.output_types, data)[0]), view.name


def test_encode_accounts__unusual_input__left_to_eth_abi():
    assert _encode_accounts([["not an address"]]) is None
    assert _encode_accounts([["0x" + "zz" * 20]]) is None
    assert _encode_accounts([[], -1]) is None
    assert _encode_accounts([[], 2**256]) is None


def test_struct_array__internal_type_with_brackets__named_after_the_struct():
    from backstop.revm_chain import _array_decoder

    outputs = [{"type": "tuple[]", "internalType": "struct IClearinghouse.Position[]",
                "components": [{"name": "size", "type": "int256"}, {"name": "cost", "type": "int256"}]}]
    data = encode(["(int256,int256)[]"], [[(-3, 7)]])
    (row,) = _array_decoder(outputs)(data)
    assert type(row).__name__ == "Position" and (row.size, row.cost) == (-3, 7)
    assert _wrap(outputs[0], decode(["(int256,int256)[]"], data)[0]) == [row]
