"""Multistage flight simulation: integrate every object from launch to impact.

Timeline of the launched stack (object ``rv``): stage k burns for its burn time (one
integration segment per burn, split at guidance breakpoints; an engine cut-off
``cutoff_time_s`` ends the burn early and the spent stage keeps the unburnt propellant,
:class:`~trackers.sim.vehicle.Stage`), ``burnout`` is followed after
``separation_delay_s`` by ``separation`` (the spent stage becomes a new object), a coast of
``coast_s[k]`` and the next ``ignition``. After the last burnout (and separation unless
``keep_last_stage``) the remaining stack is the RV, flying ballistically to ``impact`` at
altitude 0 above the reference surface. Each spent stage and debris fragment is integrated on
its own to impact. Equations of motion: :mod:`trackers.sim.dynamics`.

Integration: ``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-10, atol 1e-6) per segment with
events ``apogee`` (r . v = 0 decreasing; the geocentric apogee, within metres of the geodetic
one) and ``impact`` (terminal). Samples at ``rate_hz`` plus every event instant come from the
dense output; accelerations at the samples are recomputed from the same right-hand side.

Separation (momentum-conserving split of a relative speed dv along the stack axis u, the
thrust direction at burnout):

    v_spent = v - dv u m_upper / (m_upper + m_spent),   v_upper = v + dv u m_spent / (...)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp

from trackers.sim.dynamics import FastEarth, accel_batch, cd_batch, make_rhs
from trackers.sim.guidance import LaunchFrame, direction_function
from trackers.sim.truth import Event, Flight, ObjectTrajectory

if TYPE_CHECKING:
    from trackers.sim.scenario import Scenario

#: Order of simultaneous events (same t_s): the physical sequence of one instant. A stage
#: burns out, then separates (``separation_delay_s`` = 0), then its fragments are released,
#: then the next stage ignites (zero coast); launch is stage 1's ignition at t = 0.
EVENT_ORDER = ("launch", "burnout", "separation", "debris", "ignition", "apogee", "impact")

RTOL = 1e-10
ATOL = 1e-6
#: Longest free flight integrated before giving up (the object would be in orbit) [s].
MAX_FLIGHT_S = 6 * 3600.0
#: Boundary between midcourse and reentry phases [m].
REENTRY_ALT_M = 100e3


class SimulationError(RuntimeError):
    """A flight that cannot be completed: an object reaches orbit or escapes, or the
    integration fails. The message names the object and what to check."""


@dataclass
class _Segment:
    t0: float
    t1: float
    sol: Callable[[ArrayLike], NDArray]  # scipy OdeSolution, callable on times -> (7, K)
    phase: str  # "boost-k", "coast" or "ballistic"
    drag: dict  # ref_area, cd0, cd_table
    # scalar rhs, used for accelerations on burning segments
    rhs: Callable[[float, Any], list] | None = None


@dataclass
class _Body:
    id: str
    role: str
    parent: str | None
    created_by: str
    segments: list[_Segment] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _events(fe: FastEarth) -> tuple:
    ab, b2, dab = fe.a * fe.b, fe.b * fe.b, fe.a * fe.a - fe.b * fe.b

    def impact(t: float, y: NDArray) -> float:
        x, yy, z = y[0], y[1], y[2]
        r2 = x * x + yy * yy + z * z
        return math.sqrt(r2) - ab / math.sqrt(b2 + dab * z * z / r2)

    impact.terminal = True  # type: ignore[attr-defined]
    impact.direction = -1  # type: ignore[attr-defined]

    def apogee(t: float, y: NDArray) -> float:
        return y[0] * y[3] + y[1] * y[4] + y[2] * y[5]

    apogee.direction = -1  # type: ignore[attr-defined]
    return impact, apogee


def _solve(rhs, t0: float, t1: float, y0: list[float], events: tuple):
    sol = solve_ivp(
        rhs, (t0, t1), y0, method="DOP853", rtol=RTOL, atol=ATOL, dense_output=True, events=events
    )
    if sol.status < 0:
        raise SimulationError(f"integration failed on [{t0}, {t1}] s: {sol.message}")
    return sol


class _Sim:
    """One simulation run (internal: builds bodies and segments)."""

    def __init__(self, scenario: Scenario, spent: bool = True) -> None:
        self.sc = scenario
        self.fe = FastEarth(scenario.earth)
        self.ev_impact, self.ev_apogee = _events(self.fe)
        self.spent = spent
        self.bodies: list[_Body] = []
        self.meta_stages: list[dict] = []
        lau = scenario.launch
        self.frame = LaunchFrame.at(lau.lat, lau.lon, lau.azimuth, self.fe.w)

    # -- integration of one free-flying body to impact ------------------------------------
    def _ballistic(self, body: _Body, t0: float, y0: list[float], drag: dict) -> None:
        rhs = make_rhs(self.fe, **drag)
        sol = _solve(rhs, t0, t0 + MAX_FLIGHT_S, y0, (self.ev_impact, self.ev_apogee))
        if sol.status != 1:
            raise SimulationError(
                f"object {body.id} did not impact within {MAX_FLIGHT_S:.0f} s of t = {t0:.1f} s "
                "(orbital or escaping: check the vehicle and guidance)"
            )
        t_imp = float(sol.t_events[0][0])
        body.segments.append(_Segment(t0, t_imp, sol.sol, "ballistic", drag))
        if len(sol.t_events[1]):
            # keep the highest of the apogee crossings (there is normally exactly one)
            ya = sol.y_events[1]
            i = int(np.argmax(np.einsum("ij,ij->i", ya[:, :3], ya[:, :3])))
            body.events.append(Event(float(sol.t_events[1][i]), body.id, "apogee"))
        body.events.append(Event(t_imp, body.id, "impact"))

    def run(self) -> None:
        sc, fe = self.sc, self.fe
        veh, gd = sc.vehicle, sc.guidance
        n = len(veh.stages)
        lau = sc.launch
        r0 = sc.earth.to_ecef(lau.lat, lau.lon, lau.alt_m)
        y = [*map(float, r0), 0.0, 0.0, 0.0, veh.liftoff_mass_kg]
        stack = _Body("rv", "rv", None, "launch")
        self.bodies.append(stack)
        stack.events.append(Event(0.0, "rv", "launch"))
        breaks = gd.breakpoints()
        t = 0.0
        rng = np.random.default_rng(sc.seed)
        for k, stage in enumerate(veh.stages):
            burn = stage.burn_time
            t_bo = t + burn
            u = direction_function(gd, k, self.frame)
            rhs = make_rhs(
                fe,
                ref_area=stage.reference_area_m2,
                cd0=stage.cd,
                cd_table=stage.cd_mach,
                mdot=stage.mdot,
                ve=veh.isp_g0_mps2 * stage.isp_vac_s,  # effective exhaust velocity g0 Isp_vac
                exit_area=stage.exit_area_for(veh.isp_g0_mps2),
                direction=u,
            )
            stack.events.append(Event(t, "rv", "ignition", f"stage-{k + 1}"))
            cuts = [t] + [b for b in breaks if t + 1e-9 < b < t_bo - 1e-9] + [t_bo]
            drag = {"ref_area": stage.reference_area_m2, "cd0": stage.cd, "cd_table": stage.cd_mach}
            for a, b in itertools.pairwise(cuts):
                sol = _solve(rhs, a, b, y, (self.ev_impact,))
                if sol.status == 1:  # hit the ground while burning
                    t_imp = float(sol.t_events[0][0])
                    stack.segments.append(_Segment(a, t_imp, sol.sol, f"boost-{k + 1}", drag, rhs))
                    stack.events.append(Event(t_imp, "rv", "impact", "during boost"))
                    return
                stack.segments.append(_Segment(a, b, sol.sol, f"boost-{k + 1}", drag, rhs))
                y = sol.y[:, -1].tolist()
            y[6] = veh.mass_above(k) + stage.burnout_mass_kg  # exact (m' is constant)
            stack.events.append(Event(t_bo, "rv", "burnout", f"stage-{k + 1}"))
            self._record_burnout(k, t_bo, y)
            last = k == n - 1
            if last and veh.keep_last_stage:
                break
            # burnout -> separation (stack coasts with the spent stage attached)
            t_sep = t_bo + veh.separation_delay_s
            axis = u(t_bo, *y[:6])
            if t_sep > t_bo:
                y = self._coast(stack, t_bo, t_sep, y, drag, "coast" if not last else "ballistic")
                if y is None:
                    return
            m_spent = stage.burnout_mass_kg  # dry + propellant left by an engine cut-off
            m_up = y[6] - m_spent
            dv = veh.separation_speed_mps
            y_sp = [*y[:3]] + [y[3 + i] - dv * axis[i] * m_up / y[6] for i in range(3)] + [m_spent]
            y = [*y[:3]] + [y[3 + i] + dv * axis[i] * m_spent / y[6] for i in range(3)] + [m_up]
            sid = f"stage-{k + 1}"
            stack.events.append(Event(t_sep, sid, "separation", "from rv"))
            if self.spent:
                body = _Body(sid, sid, "rv", "separation")
                self.bodies.append(body)
                tdrag = {"ref_area": stage.tumble_area_m2, "cd0": stage.tumble_cd}
                self._ballistic(body, t_sep, y_sp, tdrag)
                if sc.debris is not None and sc.debris.at_separation == sid:
                    self._debris(sid, t_sep, y_sp, rng)
            if not last:
                t_ign = t_bo + veh.coast_s[k]
                nxt = veh.stages[k + 1]
                ndrag = {"ref_area": nxt.reference_area_m2, "cd0": nxt.cd, "cd_table": nxt.cd_mach}
                if t_ign > t_sep:
                    y = self._coast(stack, t_sep, t_ign, y, ndrag, "coast")
                    if y is None:
                        return
                t = t_ign
        # final ballistic flight of the RV (with the last stage if kept attached)
        m = y[6]
        if veh.keep_last_stage:
            top = veh.stages[-1]
            drag = {"ref_area": top.reference_area_m2, "cd0": top.cd, "cd_table": top.cd_mach}
        else:
            drag = {"ref_area": m / veh.rv_beta_kgpm2, "cd0": 1.0}
        if veh.rv_lift_to_drag > 0.0:
            drag["lift_to_drag"] = veh.rv_lift_to_drag
        t0 = stack.segments[-1].t1
        self._ballistic(stack, t0, y, drag)

    def _coast(self, body: _Body, t0: float, t1: float, y: list, drag: dict, phase: str):
        rhs = make_rhs(self.fe, **drag)
        sol = _solve(rhs, t0, t1, y, (self.ev_impact,))
        if sol.status == 1:
            t_imp = float(sol.t_events[0][0])
            body.segments.append(_Segment(t0, t_imp, sol.sol, phase, drag))
            body.events.append(Event(t_imp, body.id, "impact", "during coast"))
            return None
        body.segments.append(_Segment(t0, t1, sol.sol, phase, drag))
        return sol.y[:, -1].tolist()

    def _debris(self, sid: str, t0: float, y: list, rng: np.random.Generator) -> None:
        d = self.sc.debris
        assert d is not None  # called only when the scenario has debris
        dvs = rng.normal(0.0, d.speed_sigma_mps, size=(d.count, 3))
        betas = np.exp(rng.uniform(np.log(d.beta_min_kgpm2), np.log(d.beta_max_kgpm2), d.count))
        base = sum(1 for b in self.bodies if b.role.startswith("debris-"))
        for j in range(d.count):
            did = f"debris-{base + j + 1}"
            body = _Body(did, did, sid, "debris")
            self.bodies.append(body)
            body.events.append(Event(t0, did, "debris", f"from {sid}"))
            yj = [*y[:3], *(y[3 + i] + float(dvs[j, i]) for i in range(3)), d.mass_kg]
            self._ballistic(body, t0, yj, {"ref_area": d.mass_kg / float(betas[j]), "cd0": 1.0})

    def _record_burnout(self, k: int, t: float, y: list[float]) -> None:
        r, v = np.array(y[:3]), np.array(y[3:6])
        w = np.array([0.0, 0.0, self.fe.w])
        alt = self.sc.earth.altitude(r)
        up = r / np.linalg.norm(r)
        sp = float(np.linalg.norm(v))
        self.meta_stages.append(
            {
                "stage": k + 1,
                "t_s": t,
                "alt_m": float(alt),
                "speed_mps": sp,
                "speed_inertial_mps": float(np.linalg.norm(v + np.cross(w, r))),
                "flight_path_angle_deg": math.degrees(math.asin(float(up @ v) / sp)),
                "mass_kg": y[6],
            }
        )


def _sample_times(t0: float, t1: float, rate: float, extra: list[float]) -> NDArray:
    """Grid k / rate inside [t0, t1] plus ``extra`` instants (kept over grid points < 1 us)."""
    k0, k1 = math.ceil(t0 * rate - 1e-9), math.floor(t1 * rate + 1e-9)
    grid = np.arange(k0, k1 + 1) / rate
    ev = np.unique(np.clip(np.array([t0, t1, *extra], float), t0, t1))
    if grid.size:
        i = np.clip(np.searchsorted(ev, grid), 1, len(ev) - 1)
        near = np.minimum(np.abs(grid - ev[i - 1]), np.abs(grid - ev[i])) < 1e-6
        grid = grid[~near]
    return np.union1d(grid, ev)


def _trajectory(sim: _Sim, body: _Body, rate: float) -> ObjectTrajectory:
    fe = sim.fe
    segs = body.segments
    t_all = _sample_times(segs[0].t0, segs[-1].t1, rate, [e.t_s for e in body.events])
    nk = len(t_all)
    y = np.empty((nk, 7))
    acc = np.empty((nk, 3))
    cda = np.empty(nk)
    phase = np.empty(nk, dtype=object)
    lo = 0
    for j, sg in enumerate(segs):
        last = j == len(segs) - 1
        hi = nk if last else int(np.searchsorted(t_all, sg.t1, side="left"))
        if hi <= lo:
            continue
        ts = t_all[lo:hi]
        ys = sg.sol(ts).T  # (K, 7)
        y[lo:hi] = ys
        if sg.rhs is not None:  # burning: scalar rhs per sample (few samples)
            acc[lo:hi] = [sg.rhs(float(tt), yy)[3:6] for tt, yy in zip(ts, ys, strict=True)]
            sp = np.linalg.norm(ys[:, 3:6], axis=-1)
            snd = fe.air_batch(fe.altitude_batch(ys[:, :3]))[2]
            cd = cd_batch(sg.drag["cd0"], sg.drag.get("cd_table", ()), sp / snd)
            cda[lo:hi] = sg.drag["ref_area"] * cd
        else:
            acc[lo:hi], cda[lo:hi] = accel_batch(fe, ys[:, :3], ys[:, 3:6], ys[:, 6], **sg.drag)
        phase[lo:hi] = sg.phase
        lo = hi
    r, v, m = y[:, :3], y[:, 3:6], y[:, 6]
    lat, lon, alt = sim.sc.earth.geodetic(r)
    # after burnout: "reentry" from the first sample descending below 100 km on (while below
    # 100 km: a pull-up does not return to midcourse), "midcourse" otherwise
    ball = phase == "ballistic"
    low = alt < REENTRY_ALT_M
    entering = ball & low & (np.einsum("ij,ij->i", r, v) < 0.0)
    started = np.cumsum(entering) > 0
    phase[ball] = np.where(low[ball] & started[ball], "reentry", "midcourse")
    with np.errstate(divide="ignore"):
        beta = np.where((cda > 0) & (fe.kind != "none"), m / np.where(cda > 0, cda, 1.0), np.inf)
    return ObjectTrajectory(
        id=body.id,
        role=body.role,
        parent=body.parent,
        created_by=body.created_by,
        t=t_all,
        r=r,
        v=v,
        a=acc,
        lat=lat,
        lon=lon,
        alt=alt,
        phase=phase.astype(str),
        mass=m,
        beta=beta,
    )


#: Accepted output sample rates [Hz].
RATE_RANGE_HZ = (0.01, 1000.0)


def check_rate_hz(rate_hz: float, name: str = "rate_hz") -> float:
    """``rate_hz`` as a float if it is a number in :data:`RATE_RANGE_HZ` [Hz], else
    ``TypeError`` / ``ValueError`` naming ``name`` (e.g. ``--rate``)."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, int | float):
        raise TypeError(f"{name} must be a number, got {rate_hz!r}")
    lo, hi = RATE_RANGE_HZ
    if not (math.isfinite(rate_hz) and lo <= rate_hz <= hi):
        raise ValueError(f"{name} = {rate_hz!r} is out of range; expected [{lo:g}, {hi:g}] Hz")
    return float(rate_hz)


def simulate(scenario: Scenario, rate_hz: float = 10.0) -> Flight:
    """Simulate every object of ``scenario`` and sample it at ``rate_hz`` [Hz].

    Returns a :class:`~trackers.sim.truth.Flight` whose objects are the RV (the launched
    stack), then the spent stages and debris in creation order; events are sorted by time.
    ``Flight.meta`` holds the scenario's calibration record, the guidance and vehicle
    parameters used, and per-stage burnout states. Deterministic: the only randomness (debris)
    comes from ``numpy.random.default_rng(scenario.seed)``.
    """
    from trackers.sim.scenario import Scenario

    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"scenario must be a Scenario (see trackers.sim.load_scenario), got "
            f"{type(scenario).__name__}"
        )
    rate_hz = check_rate_hz(rate_hz)
    sim = _Sim(scenario)
    sim.run()
    objects = tuple(_trajectory(sim, b, float(rate_hz)) for b in sim.bodies)
    # by time; simultaneous events in their physical order (EVENT_ORDER), then as created
    events = sorted(
        (e for b in sim.bodies for e in b.events), key=lambda e: (e.t_s, EVENT_ORDER.index(e.kind))
    )
    meta = {
        "scenario": scenario.id,
        "description": scenario.description,
        "seed": scenario.seed,
        "rate_hz": float(rate_hz),
        "integrator": {"method": "DOP853", "rtol": RTOL, "atol": ATOL},
        "earth": asdict(scenario.earth),
        "launch": asdict(scenario.launch),
        "guidance": asdict(scenario.guidance),
        "vehicle": {
            **asdict(scenario.vehicle),  # every stage's masses, Isp, burn time, areas, Cd
            "liftoff_mass_kg": scenario.vehicle.liftoff_mass_kg,
            "n_stages": len(scenario.vehicle.stages),
        },
        "debris": None if scenario.debris is None else asdict(scenario.debris),
        "burnout": sim.meta_stages,
        "calibration": asdict(scenario.calibration),
    }
    return Flight(scenario.id, scenario.launch.epoch_utc, objects, tuple(events), meta)
