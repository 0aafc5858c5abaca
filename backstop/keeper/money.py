"""What a keeper round earns and costs, in USD, for the operator: the round's
line in the bot's log, and the minimum-profit gate a batch must pass.

The reward of a liquidation is known only once it is settled (it depends on
how much the partial close takes), so the gate uses its bound: the keeper's
share of the penalty on the account's whole notional, clamped to
[min_reward, max_reward] (SPEC 5.3). A batch is held back only when even that
bound, less the gas the batch would cost, is below the minimum profit: a
profitable batch is never held back by the estimate."""

from decimal import Decimal

from backstop.keeper.logic import GAS_BASE, GAS_PER_ACCOUNT, short  # noqa: F401  (the bot imports short from here)
from backstop.units import WAD


def usd(wad: int) -> str:
    return f"{Decimal(wad) / WAD:,.2f} USD"


def reward_bound_wad(notional_wad: int, liquidation) -> int:
    """The most a liquidation of an account with this notional can reward its
    keeper (`liquidation`: backstop.protocol.params.LiquidationParams)."""
    share = Decimal(notional_wad) * liquidation.liq_fee * liquidation.keeper_share
    return int(min(max(share, liquidation.min_reward * WAD), liquidation.max_reward * WAD))


class ProfitGate:
    """`gate(batch, rows)`: (send, why) for a batch of accounts whose health
    rows are `rows[account]`. `gas_price()` in wei, `native_usd()` the gas
    token's price in USD (None when unknown: nothing is held back then)."""

    def __init__(self, liquidation, min_profit_usd: Decimal, gas_price, native_usd):
        self.liquidation = liquidation
        self.min_profit = Decimal(min_profit_usd)
        self.gas_price = gas_price
        self.native_usd = native_usd

    def __call__(self, batch, rows) -> tuple[bool, str]:
        price = self.native_usd()
        if price is None:
            return True, "the gas token's price is unknown"
        reward = Decimal(sum(reward_bound_wad(rows[a].notional, self.liquidation) for a in batch)) / WAD
        gas = Decimal((GAS_BASE + GAS_PER_ACCOUNT * len(batch)) * self.gas_price()) / 10**18 * Decimal(price)
        profit = reward - gas
        why = (f"at most {reward:,.2f} USD of rewards against ~{gas:,.2f} USD of gas: {profit:+,.2f} USD, "
               f"minimum {self.min_profit:,.2f} USD")
        return profit >= self.min_profit, why


def round_line(block: int, report, native_usd, totals: dict) -> str:
    """The bot's line for one round: accounts, reward, gas, net, and the
    session's running net (`totals` is updated: reward_wad, gas_wei, net_usd)."""
    gas_eth = Decimal(report.gas_wei) / 10**18
    reward = Decimal(report.reward_wad) / WAD
    totals["reward_wad"] = totals.get("reward_wad", 0) + report.reward_wad
    totals["gas_wei"] = totals.get("gas_wei", 0) + report.gas_wei
    names = ", ".join(short(a) for a in report.liquidated[:5]) + (" …" if len(report.liquidated) > 5 else "")
    line = (f"block {block}: {len(report.liquidatable)} liquidatable, {len(report.liquidated)} liquidated"
            f"{f' ({names})' if names else ''}, reward {reward:,.2f} USD, gas {gas_eth:.9f} ETH")
    if native_usd is not None:
        gas_usd = gas_eth * Decimal(native_usd)
        net = reward - gas_usd
        totals["net_usd"] = totals.get("net_usd", Decimal(0)) + net
        line += f" ({gas_usd:,.2f} USD), net {net:+,.2f} USD; session {totals['net_usd']:+,.2f} USD"
    extra = [f"{n} {what}" for n, what in ((report.skipped, "lost to other keepers"),
                                           (len(report.unprofitable), "held back below the minimum profit"),
                                           (len(report.deferred), "waiting for the pool's margin"),
                                           (len(report.adl_fills), "ADL fills"),
                                           (report.failed_batches, "failed batches")) if n]
    return line + (f"; {', '.join(extra)}" if extra else "")
