"""The chains behind the `Contract` handle: revm in process (revm_chain) and a
node over raw JSON-RPC (web3_chain), with the same calls, recorder and queries."""
