"""Open-loop guidance: where the thrust points, per stage.

Three programs, all starting with a vertical rise of ``vertical_rise_s`` seconds along the
launch site's ellipsoid normal U0 (Zipfel, *Modeling and Simulation of Aerospace Vehicle
Dynamics*, 2nd ed., §10.3; Wiesel, *Spaceflight Dynamics*, §6.4):

* ``gravity-turn``: pitch over in the launch plane at ``pitch_rate_dps`` until the thrust is
  ``pitch_kick_deg`` from vertical, then thrust along the Earth-relative velocity
  (u = v / |v|, a zero-lift gravity turn). A larger kick gives a flatter (depressed)
  trajectory, a smaller one a lofted trajectory.
* ``inertial``: pitch over at ``pitch_rate_dps`` to ``pitch_deg`` from vertical (either sign;
  negative is uprange) and hold that direction fixed in inertial space,
  u = R3(omega t) (cos p U0 + sin p H0), with H0 = cos(Az) N0 + sin(Az) E0 the launch
  direction at the site.
* ``pitch-schedule``: p(t) from a piecewise-linear table (``schedule_t_s``,
  ``schedule_pitch_deg``; t since launch, held constant outside), same inertial direction.

Per stage the program can be overridden (``stage_programs``) and an ``inertial`` stage can have
its own pitch (``stage_pitch_deg``): a standard first stage followed by lofted upper stages is
``program = "gravity-turn"``, ``stage_programs = ["gravity-turn", "inertial", "inertial"]``,
``stage_pitch_deg = [0, 20, 20]``. A ``gravity-turn`` upper stage simply thrusts along the
velocity. R3(omega t) turns a fixed inertial (ECI at t = 0) direction into ECEF
(trackers.earth.rotation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from trackers.sim.tables import piecewise_linear
from trackers.sim.vehicle import check_range

PROGRAMS = ("gravity-turn", "inertial", "pitch-schedule")

#: u(t, x, y, z, vx, vy, vz) -> (ux, uy, uz): unit thrust direction in ECEF.
Direction = Callable[[float, float, float, float, float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Guidance:
    """Guidance program parameters (module docstring has the equations).

    Attributes
    ----------
    program : str
        ``gravity-turn``, ``inertial`` or ``pitch-schedule`` (stage 1 and default for all).
    vertical_rise_s : float
        Vertical flight after liftoff [s].
    pitch_rate_dps : float
        Pitch-over rate after the vertical rise [deg/s].
    pitch_kick_deg : float
        Gravity turn: pitch from vertical at the end of the pitch-over [deg], in [0, 90).
    pitch_deg : float
        Inertial program: held pitch from the launch vertical towards downrange [deg], in
        [-90, 120] (negative tilts the thrust back uprange: a strongly lofted upper stage).
    schedule_t_s, schedule_pitch_deg : tuple of float
        Pitch-schedule table: times since launch [s] (increasing) and pitch from vertical
        [deg] in [-90, 120], the range of ``pitch_deg`` (negative tilts uprange).
    stage_programs : tuple of str
        Optional per-stage program (one entry per stage); empty = ``program`` for all.
    stage_pitch_deg : tuple of float
        Optional per-stage pitch for ``inertial`` stages [deg] in [-90, 120]; empty =
        ``pitch_deg``.
    """

    program: str = "gravity-turn"
    vertical_rise_s: float = field(default=6.0, metadata={"units": "s"})
    pitch_rate_dps: float = field(default=1.0, metadata={"units": "deg/s"})
    pitch_kick_deg: float = field(default=5.0, metadata={"units": "deg"})
    pitch_deg: float = field(default=45.0, metadata={"units": "deg"})
    schedule_t_s: tuple[float, ...] = field(default=(), metadata={"units": "s"})
    schedule_pitch_deg: tuple[float, ...] = field(default=(), metadata={"units": "deg"})
    stage_programs: tuple[str, ...] = ()
    stage_pitch_deg: tuple[float, ...] = field(default=(), metadata={"units": "deg"})

    def __post_init__(self) -> None:
        if self.program not in PROGRAMS:
            raise ValueError(f"program = {self.program!r}; expected one of {PROGRAMS}")
        check_range("vertical_rise_s", self.vertical_rise_s, 0.0, 600.0)
        check_range("pitch_rate_dps", self.pitch_rate_dps, 0.0, 90.0, lo_open=True)
        check_range("pitch_kick_deg", self.pitch_kick_deg, 0.0, 90.0, hi_open=True)
        check_range("pitch_deg", self.pitch_deg, -90.0, 120.0)
        for i, prog in enumerate(self.stage_programs):
            if prog not in PROGRAMS:
                raise ValueError(f"stage_programs[{i}] = {prog!r}; expected one of {PROGRAMS}")
        for i, p in enumerate(self.stage_pitch_deg):
            check_range(f"stage_pitch_deg[{i}]", p, -90.0, 120.0)
        if len(self.schedule_t_s) != len(self.schedule_pitch_deg):
            raise ValueError(
                f"schedule_t_s ({len(self.schedule_t_s)} entries) and schedule_pitch_deg "
                f"({len(self.schedule_pitch_deg)}) must have the same length"
            )
        uses_schedule = self.program == "pitch-schedule" or "pitch-schedule" in self.stage_programs
        if uses_schedule and len(self.schedule_t_s) < 1:
            raise ValueError("schedule_t_s must have >= 1 entry for the pitch-schedule program")
        for i, (t, p) in enumerate(zip(self.schedule_t_s, self.schedule_pitch_deg, strict=True)):
            check_range(f"schedule_t_s[{i}]", t, 0.0, 1e4)
            check_range(f"schedule_pitch_deg[{i}]", p, -90.0, 120.0)
            if i and t <= self.schedule_t_s[i - 1]:
                raise ValueError(f"schedule_t_s must be strictly increasing at entry {i}")

    def check_stages(self, n_stages: int) -> None:
        """Raise if the per-stage lists do not match ``n_stages``."""
        for name in ("stage_programs", "stage_pitch_deg"):
            n = len(getattr(self, name))
            if n not in (0, n_stages):
                raise ValueError(f"{name} must have 0 or n_stages = {n_stages} entries, got {n}")

    def stage_program(self, k: int) -> str:
        """Program of stage ``k`` (0-based)."""
        return self.stage_programs[k] if self.stage_programs else self.program

    def stage_pitch(self, k: int) -> float:
        """Inertial pitch of stage ``k`` (0-based) [deg]."""
        return self.stage_pitch_deg[k] if self.stage_pitch_deg else self.pitch_deg

    def breakpoints(self) -> list[float]:
        """Times [s] where the commanded direction is not smooth (segment splits)."""
        tv = float(self.vertical_rise_s)
        pts = [tv]
        p1 = self.pitch_kick_deg if self.stage_program(0) == "gravity-turn" else self.stage_pitch(0)
        if self.stage_program(0) != "pitch-schedule":
            pts.append(tv + abs(p1) / self.pitch_rate_dps)
        if self.program == "pitch-schedule" or "pitch-schedule" in self.stage_programs:
            pts.extend(float(t) for t in self.schedule_t_s)
        return sorted(set(p for p in pts if p > 0.0))


@dataclass(frozen=True)
class LaunchFrame:
    """Unit vectors at the launch site in ECEF at t = 0: up U0 and launch direction H0."""

    up: tuple[float, float, float]
    downrange: tuple[float, float, float]
    omega: float

    @classmethod
    def at(cls, lat: float, lon: float, azimuth: float, omega: float) -> LaunchFrame:
        """Frame at geodetic (lat, lon) [rad] with azimuth [rad]; ``omega`` Earth rate [rad/s]."""
        sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
        east = (-so, co, 0.0)
        north = (-sl * co, -sl * so, cl)
        up = (cl * co, cl * so, sl)
        ca, sa = math.cos(azimuth), math.sin(azimuth)
        h = tuple(ca * n + sa * e for n, e in zip(north, east, strict=True))
        return cls(up, h, omega)  # type: ignore[arg-type]


def direction_function(guidance: Guidance, k: int, frame: LaunchFrame) -> Direction:
    """Scalar thrust-direction callable for stage ``k`` (0-based); see the module docstring."""
    ux0, uy0, uz0 = frame.up
    hx0, hy0, hz0 = frame.downrange
    w = frame.omega
    tv = float(guidance.vertical_rise_s)
    rate = math.radians(guidance.pitch_rate_dps)
    program = guidance.stage_program(k)

    def tilt(p: float) -> tuple[float, float, float]:
        c, s = math.cos(p), math.sin(p)
        return c * ux0 + s * hx0, c * uy0 + s * hy0, c * uz0 + s * hz0

    def inertial(t: float, p: float) -> tuple[float, float, float]:
        dx, dy, dz = tilt(p)
        c, s = math.cos(w * t), math.sin(w * t)
        return c * dx + s * dy, -s * dx + c * dy, dz

    if program == "gravity-turn":
        kick = math.radians(guidance.pitch_kick_deg)
        t_end = tv + kick / rate

        def u_turn(t, x, y, z, vx, vy, vz):
            if t < tv:
                return ux0, uy0, uz0
            if t < t_end:
                return tilt(rate * (t - tv))
            sp = math.sqrt(vx * vx + vy * vy + vz * vz)
            if sp < 1e-6:  # still on the pad (no kick, no vertical rise): go up
                return ux0, uy0, uz0
            return vx / sp, vy / sp, vz / sp

        return u_turn

    if program == "inertial":
        pitch = math.radians(guidance.stage_pitch(k))

        def u_inertial(t, x, y, z, vx, vy, vz):
            if t < tv:
                return ux0, uy0, uz0
            return inertial(t, math.copysign(min(abs(pitch), rate * (t - tv)), pitch))

        return u_inertial

    pitch_at = piecewise_linear(
        guidance.schedule_t_s, [math.radians(p) for p in guidance.schedule_pitch_deg]
    )

    def u_schedule(t, x, y, z, vx, vy, vz):
        if t < tv:
            return ux0, uy0, uz0
        return inertial(t, pitch_at(t))

    return u_schedule
