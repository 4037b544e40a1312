"""Scenario files (validation, round trip), bad input, determinism, tuning, geography."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from trackers.earth.model import EarthModel
from trackers.sim import (
    Debris,
    Guidance,
    Launch,
    Scenario,
    Stage,
    Vehicle,
    list_scenarios,
    load_scenario,
    loads_scenario,
    simulate,
    solve_for,
)
from trackers.sim.geography import HOKKAIDO_WEST_COAST, JAPAN_EEZ_WEST, east_of, west_of
from trackers.sim.scenario import get_parameter, set_parameter

BASE = load_scenario("hokkaido-2023").to_toml().split("\n[sensors]")[0]  # tests add their own


def _edit(text: str, section: str, key: str, value: str | None) -> str:
    """Set (or delete, value=None) ``key`` in the first table named ``section``."""
    lines = text.split("\n")
    start = lines.index(section)
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("["):
            break
        if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
            if value is None:
                del lines[i]
            else:
                lines[i] = f"{key} = {value}"
            return "\n".join(lines)
    assert value is not None
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines)


def _second_stage(text: str, key: str, value: str) -> str:
    i = text.index("[[vehicle.stages]]", text.index("[[vehicle.stages]]") + 1)
    head, tail = text[:i], text[i:]
    tail = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", tail, count=1)
    return head + tail


@pytest.mark.parametrize("sid", [s for s, _ in list_scenarios()])
def test_round_trip(sid: str) -> None:
    sc = load_scenario(sid)
    text = sc.to_toml()
    again = loads_scenario(text)
    assert again == sc
    assert again.to_toml() == text


def test_load_by_path_and_unknown_id(tmp_path) -> None:
    p = tmp_path / "mine.toml"
    p.write_text(load_scenario("hokkaido-2023").to_toml())
    assert load_scenario(p) == load_scenario("hokkaido-2023")
    assert load_scenario(str(p)).id == "hokkaido-2023"
    with pytest.raises(ValueError, match="neither a built-in id"):
        load_scenario("no-such-scenario")


@pytest.mark.parametrize(
    ("text", "exc", "pattern"),
    [
        (_edit(BASE, "[vehicle]", "bogus_key", "1.0"), ValueError, r"vehicle\.bogus_key: unknown"),
        (_edit(BASE, "[vehicle]", "payload_mass_kg", None), ValueError,
         r"vehicle\.payload_mass_kg: missing"),
        (_edit(BASE, "[launch]", "lat_deg", '"north"'), TypeError, r"launch\.lat_deg must be a"),
        (_edit(BASE, "[launch]", "lat_deg", "95.0"), ValueError, r"launch\.lat_deg = 95"),
        (_edit(BASE, "[vehicle]", "payload_mass_kg", "-5.0"), ValueError,
         r"vehicle\.payload_mass_kg = -5"),
        (_second_stage(BASE, "isp_vac_s", "1200.0"), ValueError,
         r"vehicle\.stages\[1\]\.isp_vac_s = 1200"),
        (_second_stage(BASE, "isp_sl_s", "290.0"), ValueError,
         r"vehicle\.stages\[1\]\.isp_sl_s = 290.0 must not exceed"),
        (_second_stage(BASE, "burn_time_s", "0.0"), ValueError,
         r"vehicle\.stages\[1\]\.burn_time_s = 0"),
        (_second_stage(BASE, "propellant_mass_kg", "8000.0"), ValueError,
         r"vehicle\.stages\[1\]\.propellant_mass_kg = 8000.0 must be below wet_mass_kg"),
        (_second_stage(BASE, "wet_mass_kg", "-1.0"), ValueError,
         r"vehicle\.stages\[1\]\.wet_mass_kg = -1"),
        (_edit(BASE, "[vehicle]", "payload_mass_kg", "90000.0"), ValueError,
         r"vehicle: thrust-to-weight at liftoff"),
        (_edit(BASE, "[guidance]", "program", '"zigzag"'), ValueError, r"guidance\.program"),
        (_edit(BASE, "[earth]", "atmosphere", '"thick"'), ValueError, r"earth\.atmosphere"),
        (_edit(BASE, "[scenario]", "seed", "1.5"), TypeError, r"scenario\.seed must be an int"),
        (_edit(BASE, "[vehicle]", "keep_last_stage", "1"), TypeError,
         r"vehicle\.keep_last_stage must be a bool, got int 1"),
        (BASE + "\n[sensors]\nradars = [1, 2]\n", TypeError, r"sensors\.radars\[0\] must be a str"),
        (BASE + "\n[weather]\nwind = 1\n", ValueError, r"weather: unknown table"),
        ("[scenario\n", ValueError, r"not valid TOML"),
    ],
)  # fmt: skip
def test_bad_files_name_the_key(text: str, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        loads_scenario(text)


def test_sensors_table_is_kept() -> None:
    text = BASE + '\n[sensors]\nradars = ["fps5-sado", "tpy2-shariki"]\nnetwork = "jp-us"\n'
    sc = loads_scenario(text)
    assert sc.sensors.radars == ("fps5-sado", "tpy2-shariki")
    assert loads_scenario(sc.to_toml()).sensors.network == "jp-us"


def _stage(**kw: object) -> dict:
    base = dict(wet_mass_kg=1000.0, propellant_mass_kg=800.0, burn_time_s=30.0, isp_vac_s=280.0,
                isp_sl_s=250.0, reference_area_m2=1.0, tumble_area_m2=3.0)  # fmt: skip
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        (dict(wet_mass_kg=-1.0), "wet_mass_kg"),
        (dict(propellant_mass_kg=-1.0), "propellant_mass_kg"),
        (dict(burn_time_s=0.0), "burn_time_s"),
        (dict(propellant_mass_kg=1200.0), "propellant_mass_kg = 1200.0 must be below"),
        (dict(isp_sl_s=300.0), "isp_sl_s"),
        (dict(burn_time_s=None), "exactly one of burn_time_s and mass_flow_kgps"),
        (dict(cd_mach=((1.0, 0.2), (0.5, 0.3))), "cd_mach"),
    ],
)
def test_stage_validation(kw: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=re.escape(pattern)):
        Stage(**_stage(**kw))


def test_other_constructors_validate() -> None:
    with pytest.raises(ValueError, match="lat_deg"):
        Launch(lat_deg=-91.0, lon_deg=0.0, azimuth_deg=0.0)
    with pytest.raises(ValueError, match="epoch_utc"):
        Launch(lat_deg=0.0, lon_deg=0.0, azimuth_deg=0.0, epoch_utc="yesterday")
    with pytest.raises(ValueError, match="never leaves the pad"):
        Vehicle(stages=(Stage(**_stage()),), payload_mass_kg=6000.0, rv_beta_kgpm2=1000.0)
    with pytest.raises(ValueError, match="coast_s"):
        Vehicle(stages=(Stage(**_stage()),) * 2, payload_mass_kg=10.0, rv_beta_kgpm2=1e3)
    with pytest.raises(ValueError, match="stage_pitch_deg"):
        Guidance(stage_pitch_deg=(200.0,))
    with pytest.raises(ValueError, match="beta_max_kgpm2"):
        Debris(at_separation="stage-1", count=2, beta_min_kgpm2=100.0, beta_max_kgpm2=10.0)
    with pytest.raises(ValueError, match="rate_hz"):
        simulate(load_scenario("hokkaido-2023"), rate_hz=0.0)
    # a mass flow instead of a burn time is accepted and equivalent
    a = Stage(**_stage())
    b = Stage(**_stage(burn_time_s=None, mass_flow_kgps=800.0 / 30.0))
    assert b.burn_time == pytest.approx(a.burn_time) and b.exit_area == pytest.approx(a.exit_area)
    # thrust at sea level equals mdot g0 Isp_sl, in vacuum mdot g0 Isp_vac
    assert a.thrust(101325.0) == pytest.approx(a.mdot * 9.80665 * a.isp_sl_s)
    assert a.thrust(0.0) == pytest.approx(a.mdot * 9.80665 * a.isp_vac_s)


def test_deterministic_with_debris() -> None:
    sc = load_scenario("hokkaido-2023")
    sc = dataclasses.replace(sc, debris=Debris(at_separation="stage-2", count=3))
    f1, f2 = simulate(sc, rate_hz=2.0), simulate(sc, rate_hz=2.0)
    assert [o.id for o in f1.objects] == [o.id for o in f2.objects]
    ids = [o.id for o in f1.objects]  # creation order: debris right after their stage
    assert ids == ["rv", "stage-1", "stage-2", "debris-1", "debris-2", "debris-3", "stage-3"]
    for a, b in zip(f1.objects, f2.objects, strict=True):
        for name in ("t", "r", "v", "a", "alt", "mass", "beta"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), (a.id, name)
    assert f1.events == f2.events
    deb = f1.object("debris-1")
    assert deb.parent == "stage-2" and deb.created_by == "debris"
    # a different seed gives different fragments (the seed is really used)
    f3 = simulate(dataclasses.replace(sc, seed=sc.seed + 1), rate_hz=2.0)
    assert not np.array_equal(f3.object("debris-1").r[-1], deb.r[-1])
    assert np.array_equal(f3.object("rv").r, f1.object("rv").r)


def test_samples_and_accelerations_are_consistent() -> None:
    fl = simulate(load_scenario("hokkaido-2023"), rate_hz=10.0)
    rv = fl.object("rv")
    grid = rv.t[np.isclose(rv.t * 10, np.round(rv.t * 10), atol=1e-6)]
    assert len(grid) > 0.95 * len(rv.t)
    for e in fl.events:  # every event instant is a sample of its object (a spent stage
        assert np.any(fl.object(e.object).t == e.t_s), e  # starts at its separation)
    # central difference of v approximates a (coasting samples 0.1 s apart)
    mid = np.flatnonzero(rv.phase == "midcourse")
    k = mid[len(mid) // 2]
    fd = (rv.v[k + 1] - rv.v[k - 1]) / (rv.t[k + 1] - rv.t[k - 1])
    assert np.allclose(fd, rv.a[k], atol=1e-5)
    # boost acceleration includes thrust: well above gravity
    boost = np.flatnonzero(rv.phase == "boost-3")
    assert np.linalg.norm(rv.a[boost[-2]]) > 30.0
    # Hermite interpolation of the truth reproduces a dense sample
    s = rv.state_at(rv.t[k] + 0.05)
    assert np.allclose(s[:3], rv.r[k] + 0.05 * rv.v[k] + 0.5 * 0.05**2 * rv.a[k], atol=1e-3)


def test_solve_for_range_and_apogee() -> None:
    sc = load_scenario("hokkaido-2023")
    res = solve_for(sc, "guidance.stage_pitch_deg[2]", target_range_m=1.1e6, bracket=(-10, 20))
    assert res.achieved["range_m"] == pytest.approx(1.1e6, rel=1e-6)
    assert get_parameter(res.scenario, "guidance.stage_pitch_deg[2]") == res.value
    res2 = solve_for(sc, "vehicle.payload_mass_kg", target_apogee_m=2.5e6, bracket=(800, 1500))
    assert res2.achieved["apogee_m"] == pytest.approx(2.5e6, rel=1e-6)
    assert res2.value > sc.vehicle.payload_mass_kg  # heavier payload, lower apogee
    with pytest.raises(ValueError, match="does not enclose"):
        solve_for(sc, "guidance.stage_pitch_deg[2]", target_range_m=9e6, bracket=(-10, 20))
    with pytest.raises(ValueError, match="exactly one"):
        solve_for(sc, "guidance.pitch_kick_deg")


def test_parameter_paths() -> None:
    sc = load_scenario("hokkaido-2023")
    s2 = set_parameter(sc, "vehicle.stages[1].isp_vac_s", 290.0)
    assert s2.vehicle.stages[1].isp_vac_s == 290.0 and sc.vehicle.stages[1].isp_vac_s == 287.0
    with pytest.raises(ValueError, match="no field"):
        get_parameter(sc, "vehicle.nothing")
    with pytest.raises(ValueError, match="isp_sl_s"):
        set_parameter(sc, "vehicle.stages[1].isp_vac_s", 100.0)  # below Isp_sl


def test_validation_earths_accepted() -> None:
    sc = load_scenario("hokkaido-2023")
    for earth in (
        EarthModel(rotating=False),
        EarthModel(shape="sphere", gravity="point-mass", atmosphere="exponential"),
        EarthModel(atmosphere="none"),
    ):
        text = dataclasses.replace(sc, earth=earth).to_toml()
        assert loads_scenario(text).earth == earth


def test_west_of_polyline() -> None:
    # Sea of Japan mid-basin is west of the EEZ limit; Sado island (38.0N 138.4E) is east
    assert west_of(41.0, 134.0, JAPAN_EEZ_WEST)
    assert not west_of(38.1, 138.4, JAPAN_EEZ_WEST)
    assert east_of(38.1, 138.4, JAPAN_EEZ_WEST)
    # outside the polyline's latitude span nothing is west or east of it
    assert not west_of(30.0, 120.0, JAPAN_EEZ_WEST) and not east_of(30.0, 150.0, JAPAN_EEZ_WEST)
    # Hakodate-area interior is east of Hokkaido's west coast, Okushiri strait west of it
    assert east_of(42.1, 140.3, HOKKAIDO_WEST_COAST)
    assert west_of(42.1, 139.2, HOKKAIDO_WEST_COAST)
    with pytest.raises(ValueError, match="vertices"):
        west_of(40.0, 135.0, [(40.0, 135.0)])


def test_scenario_level_checks() -> None:
    sc = load_scenario("hokkaido-2023")
    with pytest.raises(ValueError, match=r"debris\.at_separation"):
        dataclasses.replace(sc, debris=Debris(at_separation="stage-7", count=1))
    with pytest.raises(ValueError, match="stage_pitch_deg must have 0 or n_stages"):
        dataclasses.replace(sc, guidance=Guidance(stage_pitch_deg=(1.0, 2.0)))
    with pytest.raises(ValueError, match="id"):
        dataclasses.replace(sc, id="Bad Id")
    assert isinstance(sc, Scenario)
