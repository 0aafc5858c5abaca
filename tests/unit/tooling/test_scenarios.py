"""Crash scenarios (backstop/sim/scenario.py, scenarios/*.yaml): every shipped file
loads, a bad file fails naming its field, paths are deterministic, and the
depth model turns forced flow into the next price's displacement."""

import copy

import pytest
import yaml

from backstop.protocol.deployment import ParamsError
from backstop.sim.scenario import SCENARIOS, DepthModel, load_scenario, parse_scenario, price_path

SHIPPED = ["flash-crash", "eth-2020-03-12", "eth-2021-05-19", "cascade-2025-10-10", "gbm-jumps", "calm"]


def _raw(name="flash-crash"):
    return yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_load_scenario__shipped_file__loads_with_its_sources(name):
    s = load_scenario(name)
    assert s.name == name and s.sources and s.steps > 0
    assert len(price_path(s, seed=1)) == s.steps + 1


def test_load_scenario__every_file_in_the_folder__loads():
    assert sorted(p.stem for p in SCENARIOS.glob("*.yaml")) == sorted(SHIPPED)


def test_load_scenario__unknown_name__error_lists_the_known_ones():
    with pytest.raises(ParamsError, match="no such scenario .*flash-crash"):
        load_scenario("flash-crush")


def test_load_scenario__not_yaml__error_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_scenario(bad)


def _mutated(edit):
    data = copy.deepcopy(_raw())
    edit(data)
    return data


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d.pop("steps"), "steps"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d.update(start_price=-2000), "start_price"),
        (lambda d: d.update(market="DOGE"), "market"),
        (lambda d: d.update(sources=[]), "sources"),
        (lambda d: d["path"].update(kind="sine"), "path.kind"),
        (lambda d: d["path"]["keyframes"][2].update(change=-1.0), "path.keyframes[2].change"),
        (lambda d: d["path"]["keyframes"][2].update(step=3), "path.keyframes[2].step"),
        (lambda d: d["path"]["keyframes"][0].update(step=1), "path.keyframes[0].step"),
        (lambda d: d["population"]["leverage"].update(min=10), "population.leverage.max"),
        (lambda d: d["population"].update(long_share=1.5), "population.long_share"),
        (lambda d: d["population"].update(traders=0), "population.traders"),
        (lambda d: d["market_depth"].update(usd_per_pct=0), "market_depth.usd_per_pct"),
        (lambda d: d["market_depth"].update(usd_per_pct="deep"), "market_depth.usd_per_pct"),
    ],
    ids=["missing", "unknown key", "negative price", "unknown market", "no source", "bad kind",
         "price to zero", "unordered frames", "late start", "leverage bounds", "share above 1",
         "no traders", "zero depth", "depth not a number"],
)
def test_parse_scenario__bad_field__error_names_it(edit, field):
    with pytest.raises(ParamsError) as e:
        parse_scenario(_mutated(edit))
    assert e.value.field == field


def test_price_path__keyframes__exact_at_points_and_linear_between():
    s = load_scenario("flash-crash")  # 0 until step 5, -30% at step 8, -15% at 20 and after
    path = price_path(s, seed=0)
    assert path[5] == 2000 and path[8] == pytest.approx(1400) and path[20] == pytest.approx(1700)
    assert path[6] == pytest.approx(2000 - 600 / 3)
    assert path[-1] == pytest.approx(1700)


def test_price_path__gbm__same_seed_same_path_other_seed_differs():
    s = load_scenario("gbm-jumps")
    assert price_path(s, seed=7) == price_path(s, seed=7)
    assert price_path(s, seed=7) != price_path(s, seed=8)
    assert all(p > 0 for p in price_path(s, seed=7))


def test_depth_model__infinite__never_moves_the_price():
    depth = DepthModel(None, 0.1)
    assert [depth.step(flow) for flow in (0, 5e6, -5e6)] == [1.0, 1.0, 1.0]


def test_depth_model__selling_pushes_down_and_recovers():
    depth = DepthModel(2_000_000, 0.5)
    assert depth.step(2_000_000) == pytest.approx(0.99)  # 2M USD of selling at 2M per 1%: -1%
    assert depth.step(0) == pytest.approx(0.995)  # half of the displacement recovered
    assert depth.step(-1_000_000) == pytest.approx(1.0025)  # half recovers again (-0.25%), then 1M of buying: +0.5%


def test_depth_model__huge_flow__price_stays_positive():
    assert DepthModel(1, 0.0).step(1e18) > 0
