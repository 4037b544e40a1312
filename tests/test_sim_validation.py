"""Simulator checked against closed forms: energy, Kepler range, parabola, rocket equation.

Each check also has a negative case showing that the comparison can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trackers.earth.model import EarthModel
from trackers.earth.wgs84 import A as WGS84_A
from trackers.sim import Guidance, Launch, Scenario, Stage, Vehicle, simulate
from trackers.sim.dynamics import FastEarth, accel_batch, make_rhs
from trackers.sim.solve import flight_outcomes
from trackers.sim.vehicle import G0

VACUUM_SPHERE = EarthModel(
    shape="sphere", gravity="point-mass", rotating=False, atmosphere="none", radius=6371e3
)


def _stage(**kw: float) -> Stage:
    base = dict(
        wet_mass_kg=10000.0,
        propellant_mass_kg=8500.0,
        burn_time_s=60.0,
        isp_vac_s=280.0,
        isp_sl_s=250.0,
        reference_area_m2=1.5,
        tumble_area_m2=8.0,
    )
    base.update(kw)
    return Stage(**base)


def _scenario(
    earth: EarthModel,
    *,
    azimuth: float = 90.0,
    lat: float = 0.0,
    guidance: Guidance | None = None,
    stage: Stage | None = None,
    payload: float = 500.0,
) -> Scenario:
    return Scenario(
        id="test",
        description="validation shot",
        seed=1,
        launch=Launch(lat_deg=lat, lon_deg=0.0, azimuth_deg=azimuth, alt_m=0.0),
        vehicle=Vehicle(stages=(stage or _stage(),), payload_mass_kg=payload, rv_beta_kgpm2=3000.0),
        guidance=guidance or Guidance(program="gravity-turn", pitch_kick_deg=20.0),
        earth=earth,
    )


def _rv_after_separation(flight):
    rv = flight.object("rv")
    t_sep = next(e.t_s for e in flight.events if e.kind == "separation")
    k = np.searchsorted(rv.t, t_sep)
    return rv, k


@pytest.fixture(scope="module")
def vacuum_flight():
    return simulate(_scenario(VACUUM_SPHERE), rate_hz=2.0)


def test_energy_conserved_in_vacuum_coast(vacuum_flight) -> None:
    """Specific energy v^2/2 - mu/r of the coasting RV is constant to 1e-9 (relative)."""
    rv, k = _rv_after_separation(vacuum_flight)
    r = np.linalg.norm(rv.r[k:], axis=1)
    v2 = np.einsum("ij,ij->i", rv.v[k:], rv.v[k:])
    e = 0.5 * v2 - VACUUM_SPHERE.mu / r
    assert len(e) > 100
    assert np.max(np.abs(e / e[0] - 1.0)) < 1e-9
    # negative case: during the burn the energy is not conserved
    eb = 0.5 * np.einsum("ij,ij->i", rv.v[:k], rv.v[:k]) - VACUUM_SPHERE.mu / np.linalg.norm(
        rv.r[:k], axis=1
    )
    assert np.max(np.abs(eb / eb[-1] - 1.0)) > 1e-3


def _kepler_range_angle(r0: np.ndarray, v0: np.ndarray, mu: float, radius: float) -> float:
    """Central angle [rad] from r0 to the descending crossing of |r| = radius on the conic.

    e = ((v^2 - mu/r) r - (r.v) v)/mu, p = h^2/mu, r = p/(1 + e cos nu) (Vallado §2.3).
    """
    h = np.cross(r0, v0)
    p = float(h @ h) / mu
    rn = float(np.linalg.norm(r0))
    ev = ((float(v0 @ v0) - mu / rn) * r0 - float(r0 @ v0) * v0) / mu
    e = float(np.linalg.norm(ev))
    nu0 = math.acos(np.clip(float(ev @ r0) / (e * rn), -1, 1))
    if float(r0 @ v0) < 0:
        nu0 = 2 * math.pi - nu0
    nu_i = 2 * math.pi - math.acos((p / radius - 1.0) / e)
    return nu_i - nu0


def test_ballistic_range_matches_kepler(vacuum_flight) -> None:
    rv, k = _rv_after_separation(vacuum_flight)
    angle = _kepler_range_angle(rv.r[k], rv.v[k], VACUUM_SPHERE.mu, VACUUM_SPHERE.radius)
    u0, u1 = rv.r[k] / np.linalg.norm(rv.r[k]), rv.r[-1] / np.linalg.norm(rv.r[-1])
    sim_angle = math.acos(float(np.clip(u0 @ u1, -1, 1)))
    assert angle > 0.05  # a real shot (> 300 km)
    assert abs(sim_angle / angle - 1.0) < 1e-3
    assert abs(np.linalg.norm(rv.r[-1]) - VACUUM_SPHERE.radius) < 1e-3  # impact on the sphere


def test_kepler_check_fails_on_rotating_earth() -> None:
    """Negative case: the inertial conic does not predict the ECEF track of a rotating Earth."""
    rot = EarthModel(
        shape="sphere", gravity="point-mass", rotating=True, atmosphere="none", radius=6371e3
    )
    fl = simulate(_scenario(rot), rate_hz=1.0)
    rv, k = _rv_after_separation(fl)
    angle = _kepler_range_angle(rv.r[k], rv.v[k], rot.mu, rot.radius)
    u0, u1 = rv.r[k] / np.linalg.norm(rv.r[k]), rv.r[-1] / np.linalg.norm(rv.r[-1])
    sim_angle = math.acos(float(np.clip(u0 @ u1, -1, 1)))
    assert abs(sim_angle / angle - 1.0) > 1e-3


def test_flat_earth_parabola() -> None:
    """Constant-g, no-drag limit: the coasting arc is the textbook parabola.

    Construction: a sphere of radius R = 1e8 m with mu = 1e16 m^3/s^2 gives g = mu/R^2 =
    1 m/s^2, and over the ~8 km, ~2 km high shot the gravity direction turns by ~8e-5 rad and
    |g| changes by 2h/R ~ 4e-5, so the flat-Earth parabola holds to ~1e-4 (measured: 4e-5 in
    range, 7e-5 in flight time). A small rocket burns for 2 s;
    from the separation state (local height z0, vertical speed vz, horizontal speed vx,
    in the frame of the local vertical there) the parabola predicts
    t_f = (vz + sqrt(vz^2 + 2 g z0)) / g and ground range x_f = vx t_f, which we compare with
    the simulated impact (arc length R * central angle) and flight time.
    """
    big = EarthModel(
        shape="sphere", gravity="point-mass", rotating=False, atmosphere="none", radius=1e8, mu=1e16
    )
    g = big.mu / big.radius**2
    st = _stage(wet_mass_kg=100.0, propellant_mass_kg=10.0, burn_time_s=2.0, isp_vac_s=100.0,
                isp_sl_s=100.0)  # fmt: skip
    sc = _scenario(
        big,
        stage=st,
        payload=10.0,
        guidance=Guidance(program="inertial", vertical_rise_s=0.0, pitch_deg=45.0,
                          pitch_rate_dps=90.0),
    )  # fmt: skip
    fl = simulate(sc, rate_hz=10.0)
    rv, k = _rv_after_separation(fl)
    r0, v0 = rv.r[k], rv.v[k]
    up = r0 / np.linalg.norm(r0)
    z0 = float(np.linalg.norm(r0) - big.radius)
    vz = float(v0 @ up)
    vx = float(np.linalg.norm(v0 - vz * up))
    t_f = (vz + math.sqrt(vz * vz + 2 * g * z0)) / g
    x_f = vx * t_f
    u1 = rv.r[-1] / np.linalg.norm(rv.r[-1])
    x_sim = big.radius * math.acos(float(np.clip(up @ u1, -1, 1)))
    assert x_f > 1000.0
    assert abs(x_sim / x_f - 1.0) < 1e-4
    assert abs((rv.t[-1] - rv.t[k]) / t_f - 1.0) < 1e-4
    # negative case: the parabola with g0 instead of the actual g is far off
    assert abs(x_sim / (vx * (vz + math.sqrt(vz * vz + 2 * G0 * z0)) / G0) - 1.0) > 0.5


def test_rocket_equation_without_gravity() -> None:
    """Single stage, vacuum, (almost) no gravity: |dv| = g0 Isp ln(m0 / mf) within 0.1 %.

    The simulator's own burn right-hand side (make_rhs with the stage's mass flow, Isp and
    a fixed thrust direction) is integrated over the burn with mu = 1e10 on a 1e8 m sphere
    (g = 1e-6 m/s^2: gravity loss < 1e-4 m/s). (A whole ``simulate`` run cannot be used: the
    vehicle would never come back to impact.)
    """
    from scipy.integrate import solve_ivp

    zero_g = EarthModel(
        shape="sphere", gravity="point-mass", rotating=False, atmosphere="none", radius=1e8, mu=1e10
    )
    st = _stage()
    m0 = st.wet_mass_kg + 500.0
    mf = m0 - st.propellant_mass_kg
    d = (0.6, 0.0, 0.8)
    rhs = make_rhs(
        FastEarth(zero_g),
        ref_area=st.reference_area_m2,
        cd0=st.cd,
        mdot=st.mdot,
        ve=G0 * st.isp_vac_s,
        exit_area=st.exit_area,
        direction=lambda *a: d,
    )
    sol = solve_ivp(rhs, (0.0, st.burn_time), [1e8, 0, 0, 0, 0, 0, m0], method="DOP853",
                    rtol=1e-10, atol=1e-6)  # fmt: skip
    v_bo = float(np.linalg.norm(sol.y[3:6, -1]))
    dv = G0 * st.isp_vac_s * math.log(m0 / mf)
    assert abs(sol.y[6, -1] - mf) < 1e-6
    assert abs(v_bo / dv - 1.0) < 1e-3
    # negative case: with sea-level Isp the formula misses by > 0.1 %
    assert abs(v_bo / (G0 * st.isp_sl_s * math.log(m0 / mf)) - 1.0) > 1e-3


def _ranges(guidance: Guidance) -> dict[str, float]:
    vac = dict(shape="wgs84", gravity="j2", atmosphere="none")
    out = {}
    for name, earth, az in (
        ("east", EarthModel(**vac, rotating=True), 90.0),
        ("west", EarthModel(**vac, rotating=True), 270.0),
        ("still", EarthModel(**vac, rotating=False), 90.0),
    ):
        sc = _scenario(earth, azimuth=az, guidance=guidance)
        out[name] = flight_outcomes(sc, spent=False)["rv"]["range_m"]
    return out


def test_east_flies_farther_than_west_over_rotating_earth() -> None:
    """A flat (depressed) shot from the equator: east > non-rotating > west.

    The eastward shot starts with the surface speed omega a = 465 m/s of extra inertial
    speed (and feels the upward Eotvos/Coriolis term 2 omega v_east); the westward one loses it.
    """
    rng = _ranges(Guidance(pitch_kick_deg=75.0, pitch_rate_dps=4.0))
    assert rng["east"] > rng["still"] > rng["west"]
    assert rng["east"] / rng["west"] > 1.04


def test_lofted_shot_drifts_west_on_rotating_earth() -> None:
    """Negative case for the rule above: a steep lofted shot (flight path ~77 deg at burnout,
    ~1000 km apogee) spends long in vertical flight, where Coriolis -2 w x v pushes a rising
    body west and the ground turns east beneath it; the eastward shot then falls *short*.
    """
    rng = _ranges(Guidance(pitch_kick_deg=20.0, pitch_rate_dps=1.0))
    assert rng["east"] < rng["still"] < rng["west"]


def test_scalar_rhs_matches_vectorised_model() -> None:
    """The scalar fast path equals EarthModel's vectorised gravity + frame + drag terms."""
    earth = EarthModel()
    fe = FastEarth(earth)
    rng = np.random.default_rng(3)
    lat = rng.uniform(-1.4, 1.4, 50)
    lon = rng.uniform(-3, 3, 50)
    alt = rng.uniform(0, 900e3, 50)
    r = earth.to_ecef(lat, lon, alt)
    v = rng.normal(0, 3000, (50, 3))
    m = rng.uniform(100, 1000, 50)
    rhs = make_rhs(fe, ref_area=0.2, cd0=1.0, lift_to_drag=0.3)
    a_scalar = np.array([rhs(0.0, np.r_[r[i], v[i], m[i]])[3:6] for i in range(50)])
    a_vec, _ = accel_batch(fe, r, v, m, ref_area=0.2, cd0=1.0, lift_to_drag=0.3)
    assert np.allclose(a_scalar, a_vec, rtol=1e-12, atol=1e-12)
    # and both contain drag: removing it changes the result
    a_nodrag = earth.gravitation(r) + earth.frame_acceleration(r, v)
    assert np.max(np.abs(a_vec - a_nodrag)) > 1e-3


def test_fast_altitude_and_air_match_exact_model() -> None:
    earth = EarthModel()
    fe = FastEarth(earth)
    rng = np.random.default_rng(4)
    lat, lon = rng.uniform(-1.57, 1.57, 200), rng.uniform(-3.1, 3.1, 200)
    for h, tol in ((0.0, 1e-6), (100e3, 0.6), (1000e3, 6.0)):
        r = earth.to_ecef(lat, lon, np.full(200, h))
        assert np.max(np.abs(fe.altitude_batch(r) - h)) < tol
    hs = np.linspace(0, 999e3, 3001)
    rho = np.array([fe.air(float(x))[0] for x in hs])
    assert np.max(np.abs(rho / earth.air.density(hs) - 1.0)) < 1e-12
    assert WGS84_A - fe.a == 0.0


def test_rv_coast_matches_independent_integration() -> None:
    """End-to-end check of the fast path: re-integrate the hokkaido-2023 RV from its state
    after the last separation with a right-hand side built only from ``EarthModel``
    (vectorised J2 gravity, frame terms, exact geodetic altitude, US76 density) and a
    different integrator (LSODA); impact point and time must agree.
    """
    from scipy.integrate import solve_ivp

    from trackers.sim import load_scenario

    sc = load_scenario("hokkaido-2023")
    fl = simulate(sc, rate_hz=1.0)
    rv = fl.object("rv")
    t_sep = max(e.t_s for e in fl.events if e.kind == "separation")
    k = int(np.flatnonzero(rv.t == t_sep)[0])
    earth, beta = sc.earth, sc.vehicle.rv_beta_kgpm2

    def f(t: float, y: np.ndarray) -> np.ndarray:
        r, v = y[:3], y[3:]
        rho = earth.air.density(earth.altitude(r))
        a = earth.gravitation(r) + earth.frame_acceleration(r, v)
        return np.r_[v, a - rho * np.linalg.norm(v) * v / (2.0 * beta)]

    def ground(t: float, y: np.ndarray) -> float:
        return float(earth.altitude(y[:3]))

    ground.terminal, ground.direction = True, -1
    sol = solve_ivp(f, (t_sep, t_sep + 4000.0), np.r_[rv.r[k], rv.v[k]], method="LSODA",
                    rtol=1e-11, atol=1e-6, events=ground)  # fmt: skip
    t_imp = float(sol.t_events[0][0])
    r_imp = sol.y_events[0][0][:3]
    assert abs(t_imp - rv.t[-1]) < 0.01
    assert np.linalg.norm(r_imp - rv.r[-1]) < 1.0
    # negative case: without drag the RV arrives seconds earlier (steep reentry: the impact
    # point itself moves only metres)
    sol2 = solve_ivp(lambda t, y: np.r_[y[3:], earth.acceleration(y[:3], y[3:])],
                     (t_sep, t_sep + 4000.0), np.r_[rv.r[k], rv.v[k]], method="LSODA",
                     rtol=1e-11, atol=1e-6, events=ground)  # fmt: skip
    assert rv.t[-1] - float(sol2.t_events[0][0]) > 1.0


def test_sim_uses_only_public_names_of_other_packages() -> None:
    """trackers.sim reads the Earth model through public names only (no ``module._private``).

    Negative case: the checker flags a private attribute of an imported module.
    """
    import ast
    from pathlib import Path

    import trackers.sim

    def private_uses(source: str, package: str) -> list[str]:
        tree = ast.parse(source)
        modules: set[str] = set()  # local names bound to modules of other trackers packages
        bad = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trackers."):
                other = not node.module.startswith(package)
                for a in node.names:
                    if other and a.name.startswith("_"):
                        bad.append(f"{node.module}.{a.name}")
                    if other:
                        modules.add(a.asname or a.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"{node.value.id}.{node.attr}")
        return bad

    root = Path(trackers.sim.__file__).parent
    found = {p.name: private_uses(p.read_text(), "trackers.sim") for p in root.glob("*.py")}
    assert {k: v for k, v in found.items() if v} == {}
    probe = "from trackers.earth import atmosphere as atm\nx = atm._H_B\n"
    assert private_uses(probe, "trackers.sim") == ["atm._H_B"]


def test_integrated_thrust_has_back_pressure() -> None:
    """The burning right-hand side applies F(h) = mdot g0 Isp_vac - p(h) A_e along u.

    Thrust acceleration = rhs(burning) - rhs(coasting) at the same state: at sea level it is
    mdot g0 Isp_sl / m (A_e derived from Isp_sl and p0), at 20 km F(p_US76(20 km)) / m, above
    the sensible atmosphere mdot g0 Isp_vac / m. Negative case: sea level and vacuum differ by
    the Isp ratio (> 10 % here), so dropping the p A_e term would fail the first check.
    """
    earth = EarthModel(shape="sphere", gravity="point-mass", rotating=False, radius=6371e3)
    fe = FastEarth(earth)
    st = _stage()
    u = (0.0, 0.6, 0.8)
    burn = make_rhs(fe, mdot=st.mdot, ve=G0 * st.isp_vac_s, exit_area=st.exit_area,
                    direction=lambda *a: u)  # fmt: skip
    coast = make_rhs(fe)
    m = 7000.0
    for h, p in ((0.0, 101325.0), (20e3, float(earth.air.properties(20e3).pressure)),
                 (300e3, 0.0)):  # fmt: skip
        y = np.array([6371e3 + h, 0.0, 0.0, 10.0, 20.0, 30.0, m])
        a = np.subtract(burn(0.0, y), coast(0.0, y))
        expect = st.thrust(p) / m
        assert np.allclose(a[3:6], expect * np.array(u), rtol=1e-6, atol=1e-9), h
        assert a[6] == pytest.approx(-st.mdot)
    f_sl, f_vac = st.thrust(101325.0), st.thrust(0.0)
    assert f_sl == pytest.approx(st.mdot * G0 * st.isp_sl_s)
    assert f_vac / f_sl - 1.0 > 0.1
