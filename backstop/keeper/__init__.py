"""The keeper's logic (logic): liquidation scans and batches, ADL ranking and
quantiles, over any chain; the silverback bot in bots/keeper.py drives it."""
