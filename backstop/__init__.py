"""Python tooling around the Backstop contracts: deployment, margin reports, harnesses."""
