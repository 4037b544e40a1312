"""Staging details: separation impulse, tumbling stages, attached last stage, Mach drag table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trackers.sim import load_scenario, simulate
from trackers.sim.dynamics import FastEarth, accel_batch, make_rhs
from trackers.sim.solve import flight_outcomes


@pytest.fixture(scope="module")
def hokkaido():
    sc = load_scenario("hokkaido-2023")
    return sc, simulate(sc, rate_hz=2.0)


def test_separation_splits_relative_speed_by_momentum(hokkaido) -> None:
    sc, fl = hokkaido
    rv = fl.object("rv")
    for k, st in enumerate(sc.vehicle.stages):
        stage = fl.object(f"stage-{k + 1}")
        t_sep = stage.t[0]
        i = int(np.flatnonzero(rv.t == t_sep)[0])
        dv = rv.v[i] - stage.v[0]
        # relative speed = separation_speed_mps, spent stage pushed backwards
        assert np.linalg.norm(dv) == pytest.approx(sc.vehicle.separation_speed_mps, rel=1e-9)
        assert float(dv @ rv.v[i]) > 0
        # momentum: m_up dv_up = m_spent dv_spent  ->  the light body gets the larger kick
        assert stage.mass[0] == pytest.approx(st.dry_mass_kg)
        assert np.array_equal(stage.r[0], rv.r[i])
        # along the stack (thrust) axis at burnout, not the velocity: the inertial upper
        # stages thrust 5-12 deg off the velocity here; thrust = a - gravity - frame terms at
        # the last boost sample (0.5 s before burnout at 2 Hz: the gravity turn of stage 1
        # turns by ~0.06 deg in that time, hence 0.2 deg)
        j = np.flatnonzero(rv.phase == f"boost-{k + 1}")[-1]
        thrust = rv.a[j] - sc.earth.acceleration(rv.r[j], rv.v[j])
        cos_axis = float(dv @ thrust) / (np.linalg.norm(dv) * np.linalg.norm(thrust))
        assert np.degrees(np.arccos(min(cos_axis, 1.0))) < 0.2
        if k > 0:  # negative case: the velocity direction is measurably off the axis
            cos_v = float(dv @ rv.v[i]) / (np.linalg.norm(dv) * np.linalg.norm(rv.v[i]))
            assert np.degrees(np.arccos(cos_v)) > 1.0


def test_spent_stages_tumble_with_low_beta(hokkaido) -> None:
    sc, fl = hokkaido
    rv = fl.object("rv")
    t_last_sep = max(e.t_s for e in fl.events if e.kind == "separation")
    assert np.allclose(rv.beta[rv.t >= t_last_sep], sc.vehicle.rv_beta_kgpm2)
    # before it (burnout -> separation) the stack still carries the spent stage
    assert rv.beta[np.searchsorted(rv.t, t_last_sep) - 1] != sc.vehicle.rv_beta_kgpm2
    for k, st in enumerate(sc.vehicle.stages):
        b = fl.object(f"stage-{k + 1}").beta
        expect = st.dry_mass_kg / (st.tumble_cd * st.tumble_area_m2)
        assert np.allclose(b, expect)
        assert expect < 0.2 * sc.vehicle.rv_beta_kgpm2
    # phases of the launched stack: boosts, coasts between stages, midcourse, reentry
    runs = [p for i, p in enumerate(rv.phase) if i == 0 or p != rv.phase[i - 1]]
    assert runs == [
        "boost-1", "coast", "boost-2", "coast", "boost-3", "midcourse", "reentry",
    ]  # fmt: skip
    # mass drops by exactly the propellant over each burn
    for k, st in enumerate(sc.vehicle.stages):
        m = rv.mass[rv.phase == f"boost-{k + 1}"]
        assert m[0] - m[-1] <= st.propellant_mass_kg + 1e-6
        assert np.all(np.diff(m) < 0)


def test_keep_last_stage_attached() -> None:
    sc = load_scenario("hokkaido-2023")
    sc2 = dataclasses.replace(sc, vehicle=dataclasses.replace(sc.vehicle, keep_last_stage=True))
    fl = simulate(sc2, rate_hz=1.0)
    assert [o.id for o in fl.objects] == ["rv", "stage-1", "stage-2"]
    rv = fl.object("rv")
    last = sc.vehicle.stages[-1]
    assert rv.mass[-1] == pytest.approx(sc.vehicle.payload_mass_kg + last.dry_mass_kg)
    assert sum(e.kind == "separation" for e in fl.events) == 2


def test_mach_table_drag() -> None:
    """A Cd(M) table is interpolated in both code paths and changes the trajectory."""
    sc = load_scenario("srbm-depressed")
    st = sc.vehicle.stages[0]
    table = ((0.0, 0.2), (0.8, 0.25), (1.2, 0.45), (3.0, 0.3), (6.0, 0.25))
    sc2 = dataclasses.replace(
        sc,
        vehicle=dataclasses.replace(sc.vehicle, stages=(dataclasses.replace(st, cd_mach=table),)),
    )
    r1 = flight_outcomes(sc, spent=False)["rv"]["range_m"]
    r2 = flight_outcomes(sc2, spent=False)["rv"]["range_m"]
    assert r2 < r1  # transonic drag rise costs range
    fe = FastEarth(sc.earth)
    r = sc.earth.to_ecef(0.7, 2.2, np.array([1e3, 10e3, 20e3]))
    v = np.array([[100.0, 0, 0], [400.0, 0, 0], [900.0, 0, 0]])
    m = np.array([1000.0, 900.0, 800.0])
    rhs = make_rhs(fe, ref_area=0.75, cd_table=table)
    a_s = np.array([rhs(0.0, np.r_[r[i], v[i], m[i]])[3:6] for i in range(3)])
    a_v, cda = accel_batch(fe, r, v, m, ref_area=0.75, cd_table=table)
    assert np.allclose(a_s, a_v, rtol=1e-12, atol=1e-12)
    mach = 900.0 / float(fe.air(20e3)[2])
    assert cda[2] == pytest.approx(0.75 * np.interp(mach, *np.array(table).T))


def test_meta_is_json_and_records_parameters(hokkaido) -> None:
    import json

    sc, fl = hokkaido
    meta = json.loads(json.dumps(fl.meta))
    assert meta["scenario"] == "hokkaido-2023" and meta["rate_hz"] == 2.0
    assert meta["guidance"]["stage_pitch_deg"] == list(sc.guidance.stage_pitch_deg)
    assert meta["calibration"]["tuned_values"] == list(sc.calibration.tuned_values)
    assert [b["stage"] for b in meta["burnout"]] == [1, 2, 3]
    assert meta["earth"]["atmosphere"] == "us76"
    # the vehicle actually flown, stage by stage (not only payload and beta)
    for k, st in enumerate(sc.vehicle.stages):
        rec = meta["vehicle"]["stages"][k]
        assert rec["isp_vac_s"] == st.isp_vac_s and rec["burn_time_s"] == st.burn_time_s
        assert rec["tumble_area_m2"] == st.tumble_area_m2
    assert meta["vehicle"]["separation_speed_mps"] == sc.vehicle.separation_speed_mps
    assert meta["vehicle"]["payload_mass_kg"] == sc.vehicle.payload_mass_kg
    assert meta["debris"] is None


@pytest.mark.parametrize("pitch", [10.0, -10.0])
def test_inertial_pitch_over_ramps_for_either_sign(pitch: float) -> None:
    """After the vertical rise the pitch grows at pitch_rate_dps towards pitch_deg, also
    uprange (negative); it used to jump straight to a negative pitch at the end of the rise.
    """
    import math

    from trackers.sim import Guidance
    from trackers.sim.guidance import LaunchFrame, direction_function

    frame = LaunchFrame.at(0.7, 2.2, math.radians(60.0), 0.0)
    g = Guidance(program="inertial", vertical_rise_s=5.0, pitch_rate_dps=2.0, pitch_deg=pitch)
    u = direction_function(g, 0, frame)
    for t, expect in ((4.0, 0.0), (7.0, 4.0), (9.0, 8.0), (30.0, 10.0)):
        d = np.array(u(t, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
        got = math.degrees(math.atan2(d @ frame.downrange, d @ frame.up))
        assert got == pytest.approx(math.copysign(expect, pitch), abs=1e-9), t
    assert g.breakpoints() == [5.0, 10.0]


def test_pitch_schedule_accepts_the_inertial_pitch_range() -> None:
    """Schedule pitches share pitch_deg's range [-90, 120] (they were limited to [0, 120],
    so an uprange schedule entry could not be written although pitch_deg = -5 could)."""
    from trackers.sim import Guidance

    g = Guidance(program="pitch-schedule", schedule_t_s=(10.0, 60.0), schedule_pitch_deg=(0, -5))
    assert g.schedule_pitch_deg[1] == -5
    with pytest.raises(ValueError, match=r"schedule_pitch_deg\[1\].*\[-90.0, 120.0\]"):
        Guidance(program="pitch-schedule", schedule_t_s=(10.0, 60.0), schedule_pitch_deg=(0, -95))
