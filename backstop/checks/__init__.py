"""Checks read from the chain: I1-I4 over a book (invariants) and I7, no
higher-ranked eligible account skipped by an ADL call (adl_audit)."""
