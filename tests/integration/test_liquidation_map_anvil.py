"""`ape run liquidation-map` on anvil, as the README runs it: deploy, open
positions (two of them cross-margined in ETH and BTC), print the map; its
totals are the lens's liquidation prices times the sizes. A bad market id is
one line naming the option."""

import json
import subprocess

import pytest

from backstop.chain.web3_chain import Web3Chain
from backstop.units import WAD
from tests.integration.conftest import NETWORK, ROOT, VENV_BIN, _env, ape_run

pytestmark = pytest.mark.anvil


def _traders(populate_stdout: str) -> list[str]:
    return [line.split()[0] for line in populate_stdout.splitlines() if line.startswith("0x")]


def test_liquidation_map__populated_deployment__names_the_markets_and_the_lens_totals(anvil, tmp_path):
    node, record, out = anvil(), tmp_path / "deployment.json", tmp_path / "map.json"
    ape_run("deploy", "--out", str(record), host=node)
    eth = _traders(ape_run("populate", "--deployment", str(record), "--traders", "4", "--both-sides",
                           host=node).stdout)
    btc = _traders(ape_run("populate", "--deployment", str(record), "--traders", "2", "--market", "1",
                           "--leverage", "2", host=node).stdout)
    assert len(eth) == 4 and btc == eth[:2]  # the first two hold both markets
    shown = ape_run("liquidation-map", "--deployment", str(record), "--bins", "20", "--json", str(out),
                    host=node).stdout
    assert "4 accounts traded" in shown and "ETH / USD: mark 2,000.00" in shown and "BTC / USD: mark 50,000.00" in shown
    saved = json.loads(out.read_text())
    assert sorted(saved["accounts"]) == sorted(eth)
    # The lens, asked account by account: every open position's notional at its liquidation price.
    chain = Web3Chain(node)
    lens = chain.at("ClearinghouseLens", json.loads(record.read_text())["addresses"]["lens"])
    for m, traders in ((0, eth), (1, btc)):
        longs = shorts = 0
        for t in traders:
            size, price = lens.positions([t], m)[0].size, lens.liquidation_price(t, m)
            if size > 0:
                longs += -(-size * price // WAD)
            else:
                shorts += -(-(-size) * price // WAD)
        d = saved["maps"][m]
        assert d["open_positions"] == len(traders)
        assert d["already_liquidatable"]["long"]["positions"] == d["already_liquidatable"]["short"]["positions"] == 0
        assert d["long_total_usd"] + d["outside_span"]["below"]["usd"] == pytest.approx(longs / WAD, rel=1e-12)
        assert d["short_total_usd"] + d["outside_span"]["above"]["usd"] == pytest.approx(shorts / WAD, rel=1e-12)
        assert (longs + shorts) > 0
    eth_map = saved["maps"][0]
    assert f"longs {eth_map['long_total_usd']:,.2f} USD" in shown and f"shorts {eth_map['short_total_usd']:,.2f} USD" in shown
    # A market that does not exist: one line naming the option, no traceback.
    bad = subprocess.run([str(VENV_BIN / "ape"), "run", "liquidation-map", "--deployment", str(record), "--market",
                          "7", "--network", NETWORK], cwd=ROOT, env=_env(node), capture_output=True, text=True,
                         timeout=120)
    errors = [line for line in bad.stderr.splitlines() if "Error" in line]
    assert bad.returncode != 0 and len(errors) == 1 and "--market" in errors[0] and "no market 7" in errors[0], bad.stderr
    assert "Traceback" not in bad.stderr
