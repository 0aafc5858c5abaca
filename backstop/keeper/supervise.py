"""Keep a keeper running across node restarts.

    python -m backstop.keeper.supervise [--node URL] -- silverback run bots.keeper:bot --network ...

Runs the command and watches the node it uses (`--node`, default
APE_FOUNDRY_HOST or http://127.0.0.1:8545) with `eth_blockNumber` every
`--poll` seconds. When the node stops answering, the keeper is stopped (a
bot whose node is gone fails in ways of its own: a long traceback, or a
hang), one line says so, and the supervisor waits for the node with a
growing pause; once the node answers again the keeper is started again, and
its saved cursor makes it read only the blocks it has not read. A traceback
printed while the node is down is folded to its last line. A keeper that
exits on its own while the node is up is started again after a pause, up to
`--max-crashes` times in a row; then the supervisor exits with its code.
Ctrl-C stops both.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request


def node_answers(url: str, timeout: float = 2.0) -> int | None:
    """The node's block number, or None when it does not answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError):
        return None


class Supervisor:
    def __init__(self, command: list[str], node: str, poll: float = 2.0, max_crashes: int = 5, out=sys.stdout):
        self.command, self.node, self.poll, self.max_crashes, self.out = command, node, poll, max_crashes, out
        self.node_down = threading.Event()
        self.stopping = False
        self.child = None
        self.starts = 0

    def say(self, text: str):
        print(f"[supervise] {text}", file=self.out, flush=True)

    def _forward(self, stream):
        # dev: tracebacks are held until their last line, then printed whole, or
        #      folded to that line when the node was down (the expected failure).
        held = []
        for line in iter(stream.readline, ""):
            if line.startswith("Traceback (most recent call last)"):
                held = [line]
                continue
            if held:
                held.append(line)
                if line[:1].isspace():
                    continue
                if self.node_down.is_set():
                    self.out.write(f"[supervise] (traceback folded) {line}")
                else:
                    self.out.writelines(held)
                held = []
                self.out.flush()
                continue
            self.out.write(line)
            self.out.flush()
        if held:
            self.out.writelines(held)

    def _start(self):
        self.starts += 1
        self.child = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      bufsize=1)
        threading.Thread(target=self._forward, args=(self.child.stdout,), daemon=True).start()

    def _stop_child(self):
        if self.child is None or self.child.poll() is not None:
            return
        self.child.send_signal(signal.SIGINT)
        try:
            self.child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    def _wait_for_node(self):
        pause = self.poll
        while not self.stopping:
            if (block := node_answers(self.node)) is not None:
                self.node_down.clear()
                self.say(f"node at {self.node} answers again (block {block}): starting the keeper")
                return
            time.sleep(pause)
            pause = min(pause * 2, 30)

    def run(self) -> int:
        crashes = 0
        if node_answers(self.node) is None:
            self.node_down.set()
            self.say(f"node at {self.node} does not answer: waiting for it")
            self._wait_for_node()
        while not self.stopping:
            self._start()
            while not self.stopping and self.child.poll() is None:
                time.sleep(self.poll)
                if node_answers(self.node) is None:
                    self.node_down.set()
                    self.say(f"node at {self.node} dropped: stopping the keeper until it answers")
                    self._stop_child()
                    self._wait_for_node()
                    crashes = 0
                    break
            else:
                if self.stopping:
                    break
                code = self.child.returncode
                if node_answers(self.node) is None:
                    self.node_down.set()
                    self.say(f"keeper exited ({code}) and the node at {self.node} is down: waiting for it")
                    self._wait_for_node()
                    continue
                crashes += 1
                if crashes > self.max_crashes:
                    self.say(f"keeper exited ({code}) {crashes} times in a row with the node up: giving up")
                    return code or 1
                self.say(f"keeper exited ({code}) with the node up: starting it again in {5 * crashes} s")
                time.sleep(5 * crashes)
        self._stop_child()
        return 0

    def stop(self, *_):
        self.stopping = True
        self._stop_child()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backstop.keeper.supervise", description=__doc__.split("\n")[0])
    parser.add_argument("--node", default=os.environ.get("APE_FOUNDRY_HOST", "http://127.0.0.1:8545"),
                        help="JSON-RPC URL of the node the keeper uses")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between node checks")
    parser.add_argument("--max-crashes", type=int, default=5, help="restarts in a row with the node up")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the keeper's command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the keeper's command after --, e.g. -- silverback run bots.keeper:bot --network ...")
    supervisor = Supervisor(command, args.node, args.poll, args.max_crashes)
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
