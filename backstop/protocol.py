"""What every handle on a deployed protocol has, whichever harness deployed it
(titanoboa: `harness.Protocol`; ape: `deployment.Deployment`)."""

from dataclasses import dataclass
from decimal import Decimal


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

    def units(self, usd) -> int:
        """A USD amount in collateral token units (the subclass says `decimals`)."""
        return int(Decimal(str(usd)) * 10**self.decimals)
