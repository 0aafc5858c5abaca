"""The protocol as deployed: the one parameter model (params, validation), the
one wiring (wiring), the handle every chain returns (handles), ape's deployment
and address records (deployment) and titanoboa's deployer for the tests (harness)."""
