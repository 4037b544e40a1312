"""Scenario-file problems reported all at once and naming the file; encodings; burn-time limit
of a mass flow; event order at one instant; range on the scenario's own Earth; the Isp g0."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from trackers.earth.model import EarthModel
from trackers.earth.wgs84 import geodesic_distance
from trackers.sim import (
    Guidance,
    Launch,
    Scenario,
    ScenarioError,
    SimulationError,
    Stage,
    Vehicle,
    flight_summary,
    load_scenario,
    loads_scenario,
    simulate,
)
from trackers.sim.scenario import _TOP, scenario_from_dict
from trackers.sim.simulate import EVENT_ORDER
from trackers.sim.solve import flight_outcomes
from trackers.sim.vehicle import G0, MAX_BURN_S

VACUUM_SPHERE = EarthModel(
    shape="sphere", gravity="point-mass", rotating=False, atmosphere="none", radius=6371e3
)
TEXT = load_scenario("hokkaido-2023").to_toml()


def _stage(**kw: float) -> Stage:
    base = dict(wet_mass_kg=10000.0, propellant_mass_kg=8500.0, burn_time_s=60.0,
                isp_vac_s=280.0, isp_sl_s=250.0, reference_area_m2=1.5,
                tumble_area_m2=8.0)  # fmt: skip
    base.update(kw)
    return Stage(**base)


def _shot(earth: EarthModel = VACUUM_SPHERE, **vehicle: object) -> Scenario:
    veh = dict(stages=(_stage(),), payload_mass_kg=500.0, rv_beta_kgpm2=3000.0)
    veh.update(vehicle)
    return Scenario(
        id="test",
        description="hardening shot",
        seed=1,
        launch=Launch(lat_deg=40.0, lon_deg=127.0, azimuth_deg=70.0),
        vehicle=Vehicle(**veh),
        guidance=Guidance(program="gravity-turn", pitch_kick_deg=20.0),
        earth=earth,
    )


# ---- every problem of a file at once, naming the file --------------------------------------


def test_all_problems_of_a_file_are_reported_at_once(tmp_path) -> None:
    bad = (
        TEXT.replace("seed = ", 'colour = "red"\nseed = ', 1)
        .replace("lat_deg = 39.", "lat_deg = 95.", 1)
        .replace('shape = "wgs84"', 'shape = "cube"', 1)
        .replace("isp_vac_s = 267.1", 'isp_vac_s = "high"', 1)
    )
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert len(problems) == 4, problems
    text = str(info.value)
    assert text.startswith(f"{path}: 4 problems:")
    for key in ("scenario.colour", "launch.lat_deg = 95", "earth.shape", "stages[0].isp_vac_s"):
        assert key in text
    # negative case: one problem is reported alone, with its own type and the file name
    path.write_text(TEXT.replace("lat_deg = 39.", "lat_deg = 95.", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^{path}: launch\.lat_deg = 95") as one:
        load_scenario(path)
    assert one.value.problems == (one.value.problems[0],)


def test_missing_tables_are_all_listed() -> None:
    with pytest.raises(ScenarioError, match="5 problems") as info:
        scenario_from_dict({"weather": {}, "launch": {"lat_deg": 1.0}})
    assert info.value.problems == (
        f"weather: unknown table; allowed tables are {list(info.value.problems and _TOP)}",
        "[scenario]: missing required table",
        "[vehicle]: missing required table",
        "launch.lon_deg: missing required key",
        "launch.azimuth_deg: missing required key",
    )


# ---- encodings ----------------------------------------------------------------------------


def test_utf8_byte_order_mark_is_accepted(tmp_path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert load_scenario(path) == load_scenario("hokkaido-2023")
    assert loads_scenario("\ufeff" + TEXT) == load_scenario("hokkaido-2023")


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (TEXT.encode("utf-16"), "UTF-16-encoded"),
        (TEXT.replace("description = \"", "description = \"\xf4", 1).encode("latin-1"),
         r"not a UTF-8 text file: byte 0xf4"),
        (bytes(range(256)) * 4, "not a UTF-8 text file"),
        (b"\x00\x01\x02 binary", "not a text file: NUL byte"),
        (b"[scenario\nid = 1\n", r"not valid TOML.*line 1"),
    ],
)  # fmt: skip
def test_undecodable_or_broken_files_are_named(tmp_path, data: bytes, pattern: str) -> None:
    path = tmp_path / "junk.toml"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path))


# ---- a mass flow implying too long a burn --------------------------------------------------


def test_mass_flow_implying_a_burn_beyond_the_limit_is_refused() -> None:
    slow = 8500.0 / (2.0 * MAX_BURN_S)  # a 20 000 s burn
    with pytest.raises(ValueError, match=r"mass_flow_kgps = .* implies a burn of .*20000 s"):
        _stage(burn_time_s=None, mass_flow_kgps=slow)
    path_text = TEXT.replace("burn_time_s = 70.0", f"mass_flow_kgps = {slow!r}", 1)
    with pytest.raises(ValueError, match=r"vehicle\.stages\[0\]\.mass_flow_kgps"):
        loads_scenario(path_text)
    # negative case: exactly at the limit is accepted
    ok = _stage(burn_time_s=None, mass_flow_kgps=8500.0 / MAX_BURN_S)
    assert ok.burn_time == pytest.approx(MAX_BURN_S)


# ---- simultaneous events -------------------------------------------------------------------


def test_zero_coast_orders_burnout_separation_ignition() -> None:
    upper = _stage(wet_mass_kg=3000.0, propellant_mass_kg=2500.0, burn_time_s=40.0)
    sc = _shot(stages=(_stage(), upper), coast_s=(0.0,), separation_delay_s=0.0)
    flight = simulate(sc, rate_hz=1.0)
    t_bo = flight.events[[e.kind for e in flight.events].index("burnout")].t_s
    same = [(e.kind, e.object) for e in flight.events if e.t_s == t_bo]
    assert same == [("burnout", "rv"), ("separation", "stage-1"), ("ignition", "rv")]
    kinds = [EVENT_ORDER.index(e.kind) for e in flight.events]
    times = [e.t_s for e in flight.events]
    assert all(
        (t0, k0) <= (t1, k1)
        for t0, k0, t1, k1 in zip(times, kinds, times[1:], kinds[1:], strict=False)
    )


# ---- ground range on the scenario's own Earth ----------------------------------------------


def test_range_on_a_sphere_is_the_great_circle_of_its_radius() -> None:
    sc = _shot()
    flight = simulate(sc, rate_hz=1.0)
    rv = flight.object("rv")
    u0, u1 = (rv.r[i] / np.linalg.norm(rv.r[i]) for i in (0, -1))
    arc = VACUUM_SPHERE.radius * math.acos(float(np.clip(u0 @ u1, -1.0, 1.0)))  # oracle
    summary = {o["id"]: o for o in flight_summary(flight)["objects"]}
    assert summary["rv"]["range_m"] == pytest.approx(arc, rel=1e-9)
    assert flight_outcomes(sc)["rv"]["range_m"] == pytest.approx(arc, rel=1e-9)
    # negative case: the WGS-84 geodesic between the same points is ~0.1 % longer
    lat1, lon1 = float(rv.lat[-1]), float(rv.lon[-1])
    wgs = float(geodesic_distance(rv.lat[0], rv.lon[0], lat1, lon1))
    assert wgs / arc - 1.0 > 5e-4


# ---- standard gravity of the Isp convention ------------------------------------------------


def test_isp_g0_option_scales_thrust_and_round_trips() -> None:
    st = _stage()
    assert st.thrust(0.0, 9.81) / st.thrust(0.0) == pytest.approx(9.81 / G0, rel=1e-12)
    assert st.thrust(101325.0, 9.81) == pytest.approx(st.mdot * 9.81 * st.isp_sl_s)
    base = _shot()
    alt = dataclasses.replace(base, vehicle=dataclasses.replace(base.vehicle, isp_g0_mps2=9.81))
    assert "isp_g0_mps2" not in base.to_toml()  # the default is not written: old files stay
    assert "isp_g0_mps2 = 9.81" in alt.to_toml()
    assert loads_scenario(alt.to_toml()) == alt
    v0 = simulate(base, rate_hz=1.0).meta["burnout"][0]["speed_mps"]
    v1 = simulate(alt, rate_hz=1.0).meta["burnout"][0]["speed_mps"]
    # dv = g0 Isp ln(m0/m1) minus a gravity loss that does not scale: a bit over 9.81 / g0
    assert 9.81 / G0 < v1 / v0 < 1.0 + 1.5 * (9.81 / G0 - 1.0)
    with pytest.raises(ValueError, match=r"isp_g0_mps2 = 32\.2"):
        dataclasses.replace(base.vehicle, isp_g0_mps2=32.2)  # ft/s^2 by mistake


# ---- a flight that does not come down ------------------------------------------------------


def test_orbit_raises_simulation_error() -> None:
    strong = _stage(isp_vac_s=1000.0, isp_sl_s=950.0, propellant_mass_kg=9500.0)
    sc = _shot(stages=(strong,), payload_mass_kg=50.0)
    sc = dataclasses.replace(sc, guidance=Guidance(program="gravity-turn", pitch_kick_deg=45.0))
    with pytest.raises(SimulationError, match="did not impact"):
        simulate(sc, rate_hz=0.1)
    assert issubclass(SimulationError, RuntimeError)  # calibrate's fallback still catches it
