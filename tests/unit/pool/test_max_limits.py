"""maxWithdraw / maxRedeem: an LP's own assets, capped by what the engine lets the pool
withdraw now (`free_collateral(pool)` = min(collateral, equity - initial margin)).

Hand-computed (pool 1M USD, ETH: mark 2000, imr 10%, skew_scale 100,000):
  a trader buying 4,000 ETH fills at 2040; the pool is short 4,000 at 2040 with
  initial margin 800,000, equity 1,164,080, so only 364,080 may leave: margin-bound.
  a trader buying 400 ETH (fill 2004) then a drop to 1600 leaves the pool ~161,600
  in unrealised profit: equity - margin exceeds its collateral, so it is collateral-bound.
"""

import boa

from tests.invariants import assert_invariants
from tests.unit.pool.helpers import ETH


def _free_units(p):
    return p.lens.free_collateral(p.pool.address) // p.vault.SCALE()


def test_maxWithdraw__flat_pool__all_of_owners_assets(protocol, lp):
    p = protocol
    assert p.pool.maxWithdraw(lp) == p.pool.convertToAssets(p.pool.balanceOf(lp)) == p.units(1_000_000)
    assert p.pool.maxRedeem(lp) == p.pool.balanceOf(lp)


def test_maxWithdraw__no_shares__zero(protocol, attacker):
    assert protocol.pool.maxWithdraw(attacker) == 0
    assert protocol.pool.maxRedeem(attacker) == 0


def test_maxWithdraw__pool_margin_bound__capped_by_free_collateral(protocol, lp, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, 4_000, 1_000_000)
    owned = p.pool.convertToAssets(p.pool.balanceOf(lp))
    free = _free_units(p)
    assert free < owned

    assert p.pool.maxWithdraw(lp) == free == p.units(364_080)
    assert p.pool.maxRedeem(lp) == p.pool.convertToShares(free) < p.pool.balanceOf(lp)


def test_maxWithdraw__small_holder_under_cap__own_assets(protocol, trader, other_trader, open_position, deposit):
    p = protocol
    shares = deposit(p, other_trader, p.units(1_000))
    open_position(p, trader, ETH, 4_000, 1_000_000)

    assert p.pool.maxWithdraw(other_trader) == p.pool.convertToAssets(shares) < _free_units(p)
    assert p.pool.maxRedeem(other_trader) == shares


def test_withdraw__up_to_maxWithdraw__succeeds_and_one_more_unit_reverts_insufficient_margin(
    protocol, lp, trader, open_position
):
    p = protocol
    open_position(p, trader, ETH, 4_000, 1_000_000)
    limit = p.pool.maxWithdraw(lp)

    with boa.env.prank(lp):
        with boa.reverts("Clearinghouse: insufficient margin"):
            p.pool.withdraw(limit + 1)
        p.pool.withdraw(limit)

    pool = p.pool.address
    assert p.token.balanceOf(lp) == limit
    assert p.lens.equity(pool) >= p.lens.initial_req(pool)
    assert _free_units(p) == 0
    assert p.pool.maxWithdraw(lp) == 0
    assert_invariants(p, [trader, lp])


def test_redeem__up_to_maxRedeem__succeeds_and_beyond_reverts_insufficient_margin(protocol, lp, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, 4_000, 1_000_000)
    limit = p.pool.maxRedeem(lp)
    beyond = p.pool.previewWithdraw(p.pool.maxWithdraw(lp) + 1)
    assert p.pool.previewRedeem(beyond) > _free_units(p)

    with boa.env.prank(lp):
        with boa.reverts("Clearinghouse: insufficient margin"):
            p.pool.redeem(beyond)
        paid = p.pool.redeem(limit)

    assert paid <= p.units(364_080)
    assert p.lens.equity(p.pool.address) >= p.lens.initial_req(p.pool.address)
    assert_invariants(p, [trader, lp])


def test_maxWithdraw__pool_collateral_bound__capped_by_collateral(protocol, lp, trader, open_position):
    p = protocol
    open_position(p, trader, ETH, 400, 200_000)
    p.set_price(ETH, 1_600)
    pool = p.pool.address
    collateral = p.vault.collateral(pool)
    assert p.lens.equity(pool) - p.lens.initial_req(pool) > collateral

    assert p.pool.maxWithdraw(lp) == collateral // p.vault.SCALE() == _free_units(p)
    assert p.pool.maxWithdraw(lp) < p.pool.convertToAssets(p.pool.balanceOf(lp))


def test_withdraw__beyond_collateral_with_unrealised_profit__reverts_insufficient_collateral(
    protocol, lp, trader, open_position
):
    p = protocol
    open_position(p, trader, ETH, 400, 200_000)
    p.set_price(ETH, 1_600)
    limit = p.pool.maxWithdraw(lp)

    with boa.env.prank(lp):
        with boa.reverts("Clearinghouse: insufficient collateral"):
            p.pool.withdraw(limit + 1)
        p.pool.withdraw(limit)

    assert p.vault.collateral(p.pool.address) < p.vault.SCALE()
    assert_invariants(p, [trader, lp])
