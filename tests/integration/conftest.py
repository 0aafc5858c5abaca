"""Integration tests: the ape scripts and the keeper bot against a real local node.

pytest runs with `-p no:ape_test` (pyproject.toml): the unit tests use titanoboa
directly. So ape is driven the way a user drives it, in a subprocess. Each run
gets a free port through APE_FOUNDRY_HOST, which ape-foundry reads before its
configured host: the tests neither clash with each other nor attach to an
anvil already serving ape-config.yaml's port 8545 (a keeper's, a developer's).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ANVIL_BIN = ROOT / "node_modules" / ".bin"
NETWORK = "ethereum:local:foundry"


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(host: str) -> dict:
    # anvil for ape-foundry; the venv's bin for ape itself and the vyper that ape-vyper looks up.
    path = os.pathsep.join([str(ANVIL_BIN), str(VENV_BIN), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "APE_FOUNDRY_HOST": host}


def ape_run(*args: str, host: str | None = None) -> subprocess.CompletedProcess:
    """`ape run ARGS` from the project root, on the node at `host` (default: a fresh anvil on a free port)."""
    if not (ANVIL_BIN / "anvil").exists():
        pytest.fail(f"no anvil at {ANVIL_BIN}: run `make install`")
    result = subprocess.run(
        [str(VENV_BIN / "ape"), "run", *args, "--network", NETWORK],
        cwd=ROOT, env=_env(host or f"http://127.0.0.1:{free_port()}"), capture_output=True, text=True, timeout=600,
    )
    command = " ".join(args)
    assert result.returncode == 0, f"ape run {command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def interrupt(process, timeout: float = 15):
    """Stop `process` as Ctrl-C would (silverback shuts down cleanly on it and
    ignores SIGTERM for a while; anvil writes its state), killed if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def anvil():
    """Factory: start an anvil node on a free port (stopped after the test); returns its URL."""
    nodes = []

    def _start() -> str:
        port = free_port()
        nodes.append(subprocess.Popen(
            [str(ANVIL_BIN / "anvil"), "--port", str(port), "--hardfork", "cancun"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"http://127.0.0.1:{port}"
            time.sleep(0.1)
        pytest.fail(f"anvil did not listen on port {port}")

    yield _start
    for node in nodes:
        node.terminate()
        node.wait(timeout=10)





def pytest_configure(config):
    # Registered here, next to the only tests that use it (pyproject runs --strict-markers).
    config.addinivalue_line(
        "markers",
        "anvil: runs `ape run ...` in a subprocess against its own anvil node (seconds per test; "
        "needs node_modules/.bin/anvil from `make install`)",
    )
