"""Data links, network/radar files (presets and malformed user files), scenario glue."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from trackers.sensors import (
    Link,
    load_network,
    load_radar_file,
    load_radars,
    observe,
    preset_networks,
    sensors_for_scenario,
)
from trackers.sensors.synthetic import kepler_flight

PRESET_IDS = {
    "fps5-shimokoshiki", "fps5-sado", "fps5-ominato", "fps5-yozadake", "tpy2-shariki",
    "tpy2-kyogamisaki", "greenpine-north", "greenpine-south", "greenpine-busan", "aegis-soj",
}  # fmt: skip


def test_presets_cover_every_scenario_radar_with_assumptions():
    radars = load_radars()
    assert {r.id for r in radars} == PRESET_IDS
    for r in radars:
        assert r.assumptions and r.source  # every assumed value is labelled
        assert r.noise_cov().shape == (r.ndim_meas, r.ndim_meas)
    gp = load_radars(["greenpine-north"])[0]
    assert gp.nation == "KR"
    # docs/scenarios.md generic values, for every preset: range sigma 10-100 m, angle sigma
    # 0.3-1 mrad, range-rate sigma 1-10 m/s, revisit 1-10 s; instrumented range Green Pine
    # ~500-800 km (Block C included), AN/TPY-2 > 1000 km, ship ~1000 km
    for r in radars:
        assert 10.0 <= r.sigma_range <= 100.0, r.id
        assert 0.3e-3 <= min(r.sigma_az, r.sigma_el) <= max(r.sigma_az, r.sigma_el) <= 1e-3, r.id
        assert not r.measures_range_rate or 1.0 <= r.sigma_range_rate <= 10.0, r.id
        assert 1.0 <= r.revisit <= 10.0, r.id
        kind = r.id.split("-")[0]
        lo, hi = {"greenpine": (500e3, 800e3), "tpy2": (1000e3, 1e7), "aegis": (800e3, 1200e3),
                  "fps5": (1000e3, 1e7)}[kind]  # fmt: skip
        assert lo <= r.max_range <= hi, (r.id, r.max_range)
    assert math.degrees(load_radars(["fps5-sado"])[0].lat) == pytest.approx(38.1)
    with pytest.raises(ValueError, match="unknown radar id"):
        load_radars(["nope"])


def test_preset_networks_paths_and_total_latency():
    nets = preset_networks()
    assert set(nets) == {"japan-only", "korea-only", "linked-via-hub"}
    hub = nets["linked-via-hub"]
    path = hub.path("greenpine-north", "japan")
    assert [(p.source, p.target) for p in path] == [
        ("greenpine-north", "korea"), ("korea", "hub"), ("hub", "japan")]  # fmt: skip
    rng = np.random.default_rng(0)
    lat = hub.path_latency("greenpine-north", rng, (200_000,), "japan")
    expected = sum(p.mean_latency for p in path)  # 0.75 + 3 + 3
    assert expected == pytest.approx(6.75)
    sd = math.sqrt(0.5**2 / 12 + 1.0 + 1.0)
    assert abs(lat.mean() - expected) < 4 * sd / math.sqrt(lat.size)
    assert lat.min() >= 0.5 + 2.0 + 2.0
    with pytest.raises(ValueError, match="does not report"):
        nets["japan-only"].path("greenpine-north")


def test_arrivals_after_measurement_and_out_of_order_across_radars():
    fl = kepler_flight(separations=(60.0,), duration_s=600.0)
    radars = load_radars(["greenpine-north", "tpy2-kyogamisaki", "fps5-shimokoshiki"])
    det = observe(fl, radars, "linked-via-hub", np.random.default_rng(1), runs=3)
    assert det.consumer == "japan" and len(det) > 100
    assert np.all(det.t_arrival >= det.t_meas)
    for r in range(3):
        d = det.for_run(r)
        assert np.all(np.diff(d.t_arrival) >= 0)  # sorted by arrival
        assert np.any(np.diff(d.t_meas) < 0)  # some arrive out of measurement order
        for s in d.sensors:  # FIFO per radar
            assert np.all(np.diff(d.for_sensors(s).t_meas) >= 0)
    gp = det.for_sensors("greenpine-north")
    assert (gp.t_arrival - gp.t_meas).min() >= 4.5  # radar->korea->hub->japan fixed parts
    # negative case: without a network nothing is late and nothing is out of order
    det0 = observe(fl, radars, None, np.random.default_rng(1), runs=1)
    assert np.array_equal(det0.t_arrival, det0.t_meas) and np.all(np.diff(det0.t_meas) >= 0)
    # another consumer gives other latencies
    det_k = observe(fl, radars, "linked-via-hub", np.random.default_rng(1), runs=1,
                    consumer="korea")  # fmt: skip
    g = det_k.for_sensors("greenpine-north")
    assert (g.t_arrival - g.t_meas).max() <= 1.0


GOOD_NET = """
[networks.mine]
consumer = "c2"
nodes = ["c2"]
[[networks.mine.reports]]
radars = ["fps5-sado"]
to = "c2"
latency_s = 0.5
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD_NET.replace('consumer = "c2"', 'consumer = "c2"\nfoo = 1'), "unknown key"),
        (GOOD_NET.replace("latency_s = 0.5", "latency_s = -0.5"), "expected >= 0"),
        (GOOD_NET.replace('["fps5-sado"]', '["fps5-nowhere"]'), "unknown radar id"),
        (GOOD_NET.replace("latency_s = 0.5", ""), "missing required key 'latency_s'"),
        (GOOD_NET.replace('consumer = "c2"', 'consumer = "hub"'), "consumer 'hub'"),
        (GOOD_NET.replace('to = "c2"', 'to = "c2"\njitter = "gauss"'), "jitter"),
        (GOOD_NET.replace('nodes = ["c2"]', ""), "missing required key 'nodes'"),
        # a bare string where a list belongs used to be split into characters
        (
            GOOD_NET.replace('["fps5-sado"]', '"fps5-sado"'),
            r"'radars' = 'fps5-sado', expected a list",
        ),
        (
            GOOD_NET.replace("latency_s = 0.5", 'latency_s = 0.5\nshares = "tracks"'),
            r"'shares' = 'tracks', expected a list",
        ),
        (
            GOOD_NET.replace("latency_s = 0.5", 'latency_s = 0.5\nbidirectional = "yes"'),
            "bidirectional",
        ),
        (GOOD_NET.replace('nodes = ["c2"]', 'nodes = ["c2", 7]'), "'nodes'"),
    ],
)
def test_malformed_network_files_give_clear_errors(tmp_path: Path, text: str, match: str):
    p = tmp_path / "net.toml"
    p.write_text(GOOD_NET)
    assert load_network(p).path("fps5-sado")[0].latency == 0.5  # the good file loads
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_network(p)


GOOD_RADAR = """
[radars.my-radar]
type = "test"
lat_deg = 37.0
lon_deg = 127.0
measures = ["range", "azimuth", "elevation", "range_rate"]
sigma_range_m = 25.0
sigma_az_mrad = 0.5
sigma_el_mrad = 0.5
sigma_range_rate_mps = 2.0
revisit_s = 2.0
max_range_km = 900.0
ref_range_km = 900.0
ref_pd = 0.9
pfa = 1e-6
range_cell_m = 100.0
beamwidth_mrad = 20.0
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD_RADAR + "colour = 'red'\n", "unknown key"),
        (GOOD_RADAR.replace("sigma_range_m = 25.0", ""), "missing required key.*sigma_range_m"),
        (GOOD_RADAR.replace("sigma_range_m = 25.0", "sigma_range_m = -25.0"), "sigma_range"),
        (GOOD_RADAR.replace("lat_deg = 37.0", "lat_deg = 137.0"), "'lat'"),
        (GOOD_RADAR.replace('"elevation", "range_rate"', '"range_rate"'), "measures"),
        (GOOD_RADAR.replace("ref_pd = 0.9", "ref_snr_db = 13.0\nref_pd = 0.9"), "exactly one"),
        (GOOD_RADAR.replace("type =", 'template = "nope"\ntype ='), "unknown template"),
        (GOOD_RADAR.replace("type =", 'template = ["fps5"]\ntype ='), "unknown template"),
        ("templates = 3\n" + GOOD_RADAR, "templates"),
        (GOOD_RADAR.replace("pfa = 1e-6", 'pfa = "small"'), "pfa"),
        (GOOD_RADAR.replace("ref_pd = 0.9", 'ref_pd = "0.9"'), "'ref_pd' = '0.9' must be"),
        (GOOD_RADAR.replace("ref_pd = 0.9", 'ref_snr_db = "13 dB"'), "'ref_snr_db'"),
        (GOOD_RADAR.replace("ref_pd = 0.9", "ref_snr_db = nan"), "'ref_snr_db'"),
    ],
)
def test_malformed_radar_files_give_clear_errors(tmp_path: Path, text: str, match: str):
    p = tmp_path / "radars.toml"
    p.write_text(GOOD_RADAR)
    (r,) = load_radar_file(p)
    # ref_pd 0.9 at 900 km: SNR = ln(Pfa)/ln(Pd) - 1; the Swerling-1 Pd there is 0.9 again
    assert 1e-6 ** (1 / (1 + r.snr(900e3, 1.0))) == pytest.approx(0.9)
    assert r.sigma_az == pytest.approx(5e-4) and r.max_range == 900e3
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_radar_file(p)


def test_link_validation():
    with pytest.raises(ValueError, match="latency"):
        Link("a", "b", latency=-1.0)
    with pytest.raises(ValueError, match="shares"):
        Link("a", "b", latency=1.0, shares=("video",))


def test_sensors_for_scenario_defaults_and_checks():
    radars, net = sensors_for_scenario(None)
    assert net.id == "linked-via-hub" and {r.id for r in radars} == PRESET_IDS
    radars, net = sensors_for_scenario({"network": "korea-only"})
    assert net.consumer == "korea" and all(r.nation == "KR" for r in radars)
    radars, net = sensors_for_scenario({"radars": ["fps5-sado"], "network": "japan-only"})
    assert [r.id for r in radars] == ["fps5-sado"]
    with pytest.raises(ValueError, match="do not report"):
        sensors_for_scenario({"radars": ["greenpine-north"], "network": "japan-only"})
    with pytest.raises(ValueError, match="unknown network"):
        sensors_for_scenario({"network": "carrier-pigeon"})
    with pytest.raises(ValueError, match="unknown key"):
        sensors_for_scenario({"radar": ["fps5-sado"]})

    class Hints:  # like trackers.sim.scenario.Sensors
        radars = ("greenpine-busan",)
        network = ""

    radars, net = sensors_for_scenario(Hints())
    assert [r.id for r in radars] == ["greenpine-busan"] and net.id == "linked-via-hub"


def test_only_links_sharing_detections_carry_detections(tmp_path: Path):
    text = (
        GOOD_NET.replace('nodes = ["c2"]', 'nodes = ["c2", "hub"]')
        + """
[[networks.mine.links]]
from = "c2"
to = "hub"
latency_s = 2.0
shares = ["tracks"]
"""
    )
    p = tmp_path / "net.toml"
    p.write_text(text)
    net = load_network(p)
    assert net.path("fps5-sado", "c2")[0].target == "c2"
    with pytest.raises(ValueError, match="no path carrying 'detections'"):
        net.path("fps5-sado", "hub")
    p.write_text(text.replace('shares = ["tracks"]', 'shares = ["tracks", "detections"]'))
    assert sum(lk.latency for lk in load_network(p).path("fps5-sado", "hub")) == 2.5
