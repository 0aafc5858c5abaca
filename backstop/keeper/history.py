"""Which accounts ever traded, read from the engine's `Trade` logs in chunks a
provider accepts, resumed from a saved cursor.

Providers cap the block range of `eth_getLogs` (a few thousand blocks, or a
number of results), so the keeper never asks for `Trade` over the whole
history at once: it reads `[next, next + chunk)` at a time from a start block
(the deployment's block by default), and halves the chunk whenever the
provider refuses one, down to a single block. After every chunk it saves a
cursor (the next block to read and the accounts found so far) beside the
deployment record, so a restarted keeper reads only what is new. A cursor
of another deployment, or ahead of the chain's head (a node restarted
without its blocks), is not trusted: the scan starts again from the start.
"""

import json
import logging
from pathlib import Path

DEFAULT_CHUNK = 2_000


class HistoryScan:
    """`fetch(first, last)` gives the accounts of the `Trade` logs in blocks
    `first..last` inclusive (raising when the provider refuses the range).
    `scan_to(head)` reads every block not read yet, up to `head`."""

    def __init__(self, fetch, deployment_id: str, start_block: int, cursor_path=None, chunk: int = DEFAULT_CHUNK,
                 log: logging.Logger | None = None):
        if chunk < 1:
            raise ValueError(f"log chunk must be at least 1 block, got {chunk}")
        if start_block < 0:
            raise ValueError(f"start block must be at least 0, got {start_block}")
        self.fetch = fetch
        self.deployment_id = deployment_id
        self.start_block = start_block
        self.cursor_path = Path(cursor_path) if cursor_path else None
        self.chunk = chunk
        self.log = log or logging.getLogger("backstop.keeper.history")
        self.next_block, self.accounts = start_block, set()
        self.requests = 0  # eth_getLogs asked, refused ones included
        self._load()

    def _load(self):
        if self.cursor_path is None or not self.cursor_path.exists():
            return
        try:
            saved = json.loads(self.cursor_path.read_text())
            ours = saved["deployment"] == self.deployment_id and saved["next_block"] >= self.start_block
            next_block, accounts = int(saved["next_block"]), set(saved["accounts"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.warning("cursor %s unreadable (%s): scanning from block %d", self.cursor_path, e, self.start_block)
            return
        if not ours:
            self.log.warning("cursor %s is another deployment's: scanning from block %d", self.cursor_path,
                             self.start_block)
            return
        self.next_block, self.accounts = next_block, accounts
        self.log.info("resumed from cursor %s: block %d, %d accounts", self.cursor_path, next_block, len(accounts))

    def _save(self):
        if self.cursor_path is None:
            return
        tmp = self.cursor_path.with_suffix(self.cursor_path.suffix + ".tmp")
        tmp.write_text(json.dumps({"deployment": self.deployment_id, "next_block": self.next_block,
                                   "accounts": sorted(self.accounts)}, indent=1) + "\n")
        tmp.replace(self.cursor_path)

    def scan_to(self, head: int) -> set[str]:
        """Read blocks `next..head`; the accounts first seen in them."""
        if head < self.next_block - 1:
            # dev: the chain is behind what was read: a node restarted without its blocks, or another chain.
            self.log.warning("head %d is behind the cursor (%d): scanning again from block %d", head,
                             self.next_block, self.start_block)
            self.next_block, self.accounts = self.start_block, set()
        new = set()
        while self.next_block <= head:
            last = min(self.next_block + self.chunk - 1, head)
            self.requests += 1
            try:
                found = {str(a) for a in self.fetch(self.next_block, last)}
            except Exception as e:  # noqa: BLE001  (a provider's refusal has no common type)
                if last == self.next_block:
                    raise
                self.chunk = max(1, (last - self.next_block + 1) // 2)
                self.log.info("logs of blocks %d..%d refused (%s): chunks of %d blocks from now on",
                              self.next_block, last, str(e).splitlines()[0][:120] if str(e) else type(e).__name__,
                              self.chunk)
                continue
            new |= found - self.accounts
            self.accounts |= found
            self.next_block = last + 1
            self._save()
        return new
