"""What every handle on a deployed protocol has, whichever chain it is on
(titanoboa or revm or a node: `harness.Protocol`; ape: `deployment.Deployment`):
the contracts by role, as `wiring.wire` returns them, and the `Params` they
were deployed with."""

from dataclasses import dataclass

from backstop.units import scaled


@dataclass
class ProtocolContracts:
    token: object
    vault: object
    oracle: object
    engine: object
    pool: object
    feeds: list
    # The insurance fund's vault account: the InsuranceFund contract's address.
    fund: str
    owner: str
    # The InsuranceFund (staking, withdrawal requests) and the read-only lens.
    insurance: object
    lens: object
    # Owner setters of the engine, and auto-deleveraging.
    configurator: object
    deleverager: object
    # The parameters it was deployed with (backstop.protocol.params.Params).
    params: object

    @property
    def decimals(self) -> int:
        """The collateral token's decimals."""
        return self.params.collateral.decimals

    @property
    def markets(self) -> tuple:
        """Each market's parameters (backstop.protocol.params.MarketParams), by market id."""
        return self.params.markets

    def units(self, usd) -> int:
        """A USD amount in collateral token units."""
        return scaled(usd, self.decimals)


@dataclass
class Protocol(ProtocolContracts):
    """A protocol on a chain that sends as whoever `env.prank(address)` names:
    titanoboa's `boa.env`, a `revm_chain.Chain` or a `web3_chain.Web3Chain`."""

    env: object = None

    def fund_trader(self, account, usd) -> int:
        """Mint `usd` of collateral to `account` and deposit it as margin; return token units."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.vault.address, amount)
            self.vault.deposit(amount)
        return amount

    def fund_pool(self, account, usd) -> int:
        """Mint `usd` to `account` and deposit it into the LiquidityPool; return token units."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.pool.address, amount)
            self.pool.deposit(amount)
        return amount

    def stake(self, account, usd) -> int:
        """Mint `usd` to `account` and stake it in the InsuranceFund; return shares minted."""
        amount = self.units(usd)
        self.token.mint(account, amount)
        with self.env.prank(account):
            self.token.approve(self.insurance.address, amount)
            return self.insurance.stake(amount)

    def set_price(self, market, price):
        """Publish a new feed round for `market` at `price` USD."""
        self.feeds[market].set_answer(self.markets[market].feed_units(price))


def deploy_on(chain, owner, params, contracts: dict | None = None, replace: dict | None = None) -> Protocol:
    """`params`' protocol on `chain` (revm or a node), deployed by `owner` through the one wiring."""
    from backstop.protocol.wiring import ChainDeployer, wire

    deployer = ChainDeployer(chain, owner, contracts=contracts, replace=replace)
    return Protocol(**wire(params, deployer), params=params, env=chain)
