"""Vehicle description: stages, the payload/RV, the launch site and optional debris.

Every configured object is a frozen dataclass whose field names carry their units (they are
also the scenario-file keys, see :mod:`trackers.sim.scenario`) and whose metadata holds
``{"units": ...}``. Construction validates every field and raises ``ValueError`` naming the
field, the value and the expected range (docs/architecture.md).

Propulsion (Sutton & Biblarz, *Rocket Propulsion Elements*, 9th ed., eqs. 2-14, 3-29):

    mdot = m_prop / t_burn                               mass flow [kg/s]
    F(h) = mdot g0 Isp_vac - p_atm(h) A_exit             thrust with nozzle back-pressure [N]
    A_exit = mdot g0 (Isp_vac - Isp_sl) / p0             (when A_exit is not given)

with g0 the standard gravity of the Isp convention (``Vehicle.isp_g0_mps2``, default
:data:`G0` = 9.80665 m/s^2), so that F(0) = mdot g0 Isp_sl and F(vacuum) = mdot g0 Isp_vac.
``burn_time_s`` therefore sets the *thrust level* (mdot), not how much propellant burns: the
whole ``propellant_mass_kg`` is always burnt unless an engine cut-off is given. With
``cutoff_time_s`` = t_c the engine stops at t_c after ignition with the same mdot (thrust
unchanged), burning m_b = mdot t_c and keeping m_prop - m_b unburnt in the spent stage; the
ideal velocity gain is then (Tsiolkovsky, Sutton & Biblarz eq. 4-6)

    dv = g0 Isp ln(m_0 / (m_0 - mdot t_c))               m_0 = mass at ignition [kg]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Standard gravity [m/s^2]: the conventional g0 that turns a specific impulse in seconds into
#: an effective exhaust velocity, ve = g0 Isp (CGPM 1901, 3rd General Conference on Weights and
#: Measures; Sutton & Biblarz, ch. 2). The default of ``Vehicle.isp_g0_mps2``; a scenario may
#: set another convention (e.g. 9.81) to match another simulator.
G0 = 9.80665
#: Longest burn a stage may have [s]: the bound on ``burn_time_s``, ``cutoff_time_s`` and on the
#: full burn time m_prop / mdot implied by ``mass_flow_kgps``.
MAX_BURN_S = 1e4
#: Sea-level pressure [Pa] used to derive the nozzle exit area from Isp_sl.
P0 = 101325.0


def check_range(
    name: str,
    value: object,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``value`` as float if it is a finite number in the interval, else raise.

    ``name`` is the field name used in the message; the interval is [lo, hi] with optional
    open ends.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = (
        not math.isfinite(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi)
    )
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{name} = {value!r} is out of range; expected {left}{lo}, {hi}{right}")
    return v


def _units(u: str, **kw: Any) -> Any:
    # Any, like dataclasses.field() itself: the result stands in for the field's default
    return field(metadata={"units": u}, **kw)


@dataclass(frozen=True)
class Stage:
    """One rocket stage.

    Attributes
    ----------
    wet_mass_kg : float
        Stage mass with propellant [kg] (> 0).
    propellant_mass_kg : float
        Usable propellant [kg], 0 < m_prop < wet mass.
    isp_vac_s, isp_sl_s : float
        Specific impulse in vacuum and at sea level [s], 0 < Isp_sl <= Isp_vac <= 1000.
    reference_area_m2 : float
        Aerodynamic reference (cross-section) area of the stack while this stage burns [m^2].
    tumble_area_m2 : float
        Broadside area of the spent, tumbling stage [m^2] (its drag area is
        ``tumble_cd * tumble_area_m2``, giving a low ballistic coefficient).
    burn_time_s : float or None
        Burn duration [s] (> 0). Exactly one of ``burn_time_s`` / ``mass_flow_kgps``.
    mass_flow_kgps : float or None
        Propellant mass flow [kg/s] (> 0); burn time = propellant / mass flow, which must not
        exceed :data:`MAX_BURN_S` (the bound on ``burn_time_s``).
    cutoff_time_s : float or None
        Engine cut-off [s after ignition], 0 < t_c <= propellant / mass flow; None (default)
        burns all the propellant. The mass flow (thrust) is unchanged; the unburnt propellant
        stays in the spent stage. This is the key that shortens a burn: lowering
        ``burn_time_s`` instead raises the thrust and still burns everything.
    nozzle_exit_area_m2 : float or None
        Nozzle exit area [m^2]; by default derived from Isp_sl (module docstring).
    cd : float
        Zero-lift drag coefficient of the stack [-] when no Mach table is given.
    cd_mach : tuple of (Mach, Cd)
        Optional drag coefficient table vs Mach number, linearly interpolated, held constant
        outside the table; Mach strictly increasing.
    tumble_cd : float
        Drag coefficient of the tumbling spent stage [-] (~1 for a broadside cylinder).
    """

    wet_mass_kg: float = _units("kg")
    propellant_mass_kg: float = _units("kg")
    isp_vac_s: float = _units("s")
    isp_sl_s: float = _units("s")
    reference_area_m2: float = _units("m^2")
    tumble_area_m2: float = _units("m^2")
    burn_time_s: float | None = _units("s", default=None)
    mass_flow_kgps: float | None = _units("kg/s", default=None)
    nozzle_exit_area_m2: float | None = _units("m^2", default=None)
    cutoff_time_s: float | None = _units("s", default=None)
    cd: float = _units("-", default=0.15)
    cd_mach: tuple[tuple[float, float], ...] = _units("(-, -)", default=())
    tumble_cd: float = _units("-", default=1.0)

    def __post_init__(self) -> None:
        check_range("wet_mass_kg", self.wet_mass_kg, 0.0, 1e7, lo_open=True)
        check_range("propellant_mass_kg", self.propellant_mass_kg, 0.0, 1e7, lo_open=True)
        if self.propellant_mass_kg >= self.wet_mass_kg:
            raise ValueError(
                f"propellant_mass_kg = {self.propellant_mass_kg!r} must be below "
                f"wet_mass_kg = {self.wet_mass_kg!r} (the stage needs a dry mass > 0)"
            )
        check_range("isp_vac_s", self.isp_vac_s, 0.0, 1000.0, lo_open=True)
        check_range("isp_sl_s", self.isp_sl_s, 0.0, 1000.0, lo_open=True)
        if self.isp_sl_s > self.isp_vac_s:
            raise ValueError(
                f"isp_sl_s = {self.isp_sl_s!r} must not exceed isp_vac_s = {self.isp_vac_s!r}"
            )
        check_range("reference_area_m2", self.reference_area_m2, 0.0, 1e3, lo_open=True)
        check_range("tumble_area_m2", self.tumble_area_m2, 0.0, 1e3, lo_open=True)
        if (self.burn_time_s is None) == (self.mass_flow_kgps is None):
            raise ValueError(
                "exactly one of burn_time_s and mass_flow_kgps must be given, got "
                f"burn_time_s = {self.burn_time_s!r}, mass_flow_kgps = {self.mass_flow_kgps!r}"
            )
        if self.burn_time_s is not None:
            check_range("burn_time_s", self.burn_time_s, 0.0, MAX_BURN_S, lo_open=True)
        if self.mass_flow_kgps is not None:
            check_range("mass_flow_kgps", self.mass_flow_kgps, 0.0, 1e6, lo_open=True)
            implied = self.propellant_mass_kg / self.mass_flow_kgps  # m_prop / mdot [s]
            if implied > MAX_BURN_S:
                lowest = self.propellant_mass_kg / MAX_BURN_S
                raise ValueError(
                    f"mass_flow_kgps = {self.mass_flow_kgps!r} implies a burn of "
                    f"propellant_mass_kg / mass_flow_kgps = {implied:.6g} s, longer than the "
                    f"limit of {MAX_BURN_S:g} s on a burn; expected mass_flow_kgps >= "
                    f"{lowest:.6g} (or cutoff_time_s to stop the engine early)"
                )
        if self.cutoff_time_s is not None:
            full = self.full_burn_time
            check_range("cutoff_time_s", self.cutoff_time_s, 0.0, MAX_BURN_S, lo_open=True)
            if self.cutoff_time_s > full * (1.0 + 1e-12):
                raise ValueError(
                    f"cutoff_time_s = {self.cutoff_time_s!r} is after the propellant runs out "
                    f"at {full:.6g} s (propellant_mass_kg / mass flow); expected "
                    f"(0, {full:.6g}]"
                )
        if self.nozzle_exit_area_m2 is not None:
            check_range("nozzle_exit_area_m2", self.nozzle_exit_area_m2, 0.0, 1e2)
        check_range("cd", self.cd, 0.0, 10.0)
        check_range("tumble_cd", self.tumble_cd, 0.0, 10.0)
        prev = -math.inf
        for i, row in enumerate(self.cd_mach):
            if len(row) != 2:
                raise ValueError(f"cd_mach[{i}] must be a pair [mach, cd], got {row!r}")
            m = check_range(f"cd_mach[{i}][0] (Mach)", row[0], 0.0, 100.0)
            check_range(f"cd_mach[{i}][1] (Cd)", row[1], 0.0, 10.0)
            if m <= prev:
                raise ValueError(f"cd_mach Mach values must be strictly increasing at row {i}")
            prev = m

    @property
    def dry_mass_kg(self) -> float:
        """Burnt-out stage mass [kg] = wet - propellant."""
        return self.wet_mass_kg - self.propellant_mass_kg

    @property
    def mdot(self) -> float:
        """Propellant mass flow [kg/s]."""
        if self.mass_flow_kgps is not None:
            return float(self.mass_flow_kgps)
        return self.propellant_mass_kg / float(self.burn_time_s)  # type: ignore[arg-type]

    @property
    def full_burn_time(self) -> float:
        """Time [s] to burn all the propellant at the mass flow: m_prop / mdot."""
        if self.burn_time_s is not None:
            return float(self.burn_time_s)
        return self.propellant_mass_kg / float(self.mass_flow_kgps)  # type: ignore[arg-type]

    @property
    def burn_time(self) -> float:
        """Actual burn duration [s]: the engine cut-off if given, else the full burn time."""
        if self.cutoff_time_s is not None:
            return float(self.cutoff_time_s)
        return self.full_burn_time

    @property
    def burnout_mass_kg(self) -> float:
        """Stage mass at burnout [kg]: wet - mdot * burn time (dry + unburnt propellant)."""
        if self.cutoff_time_s is None:
            return self.dry_mass_kg
        return self.wet_mass_kg - self.mdot * self.burn_time

    @property
    def exit_area(self) -> float:
        """Nozzle exit area [m^2] with the standard g0 (:meth:`exit_area_for`)."""
        return self.exit_area_for(G0)

    def exit_area_for(self, g0: float = G0) -> float:
        """Nozzle exit area [m^2]: given, or A_e = mdot g0 (Isp_vac - Isp_sl) / p0.

        ``g0`` [m/s^2] is the Isp convention's standard gravity (``Vehicle.isp_g0_mps2``).
        """
        if self.nozzle_exit_area_m2 is not None:
            return float(self.nozzle_exit_area_m2)
        return self.mdot * g0 * (self.isp_vac_s - self.isp_sl_s) / P0

    def thrust(self, p_atm: float, g0: float = G0) -> float:
        """Thrust [N] at ambient pressure ``p_atm`` [Pa]: mdot g0 Isp_vac - p A_e (>= 0).

        ``g0`` [m/s^2]: the Isp convention's standard gravity (``Vehicle.isp_g0_mps2``).
        """
        return max(self.mdot * g0 * self.isp_vac_s - p_atm * self.exit_area_for(g0), 0.0)


@dataclass(frozen=True)
class Vehicle:
    """A multistage vehicle and its payload (the reentry vehicle, RV, plus any bus).

    Attributes
    ----------
    stages : tuple of Stage
        Bottom (first) stage first; 1 to 4 stages.
    payload_mass_kg : float
        Mass above the last stage [kg] (RV/PBV); it becomes the ``rv`` object.
    rv_beta_kgpm2 : float
        Ballistic coefficient m / (Cd A) of the RV [kg/m^2].
    coast_s : tuple of float
        Coast [s] from burnout of stage k to ignition of stage k+1 (length n_stages - 1).
    separation_delay_s : float
        Time [s] from a stage's burnout to its separation (<= the following coast).
    separation_speed_mps : float
        Relative speed [m/s] pushing the spent stage backwards along the stack axis at
        separation (split between the two bodies by momentum conservation).
    keep_last_stage : bool
        True: the last stage stays attached to the RV (no final separation).
    rv_lift_to_drag : float
        Lift-to-drag ratio of the RV in [0, 3] (0 = purely ballistic); lift acts in the
        vertical plane, upwards, as a simple model of a pull-up / gliding manoeuvre
        (trackers.sim.dynamics.make_rhs).
    isp_g0_mps2 : float
        Standard gravity [m/s^2] of the specific-impulse convention, ve = g0 Isp, in
        [9.5, 10.0]; default :data:`G0` = 9.80665 (exact, by definition). Some simulators use
        9.81 (+0.034 % thrust and exhaust velocity). Written to a file only when not the
        default.
    """

    stages: tuple[Stage, ...]
    payload_mass_kg: float = _units("kg")
    rv_beta_kgpm2: float = _units("kg/m^2")
    coast_s: tuple[float, ...] = _units("s", default=())
    separation_delay_s: float = _units("s", default=0.0)
    separation_speed_mps: float = _units("m/s", default=2.0)
    keep_last_stage: bool = False
    rv_lift_to_drag: float = _units("-", default=0.0)
    isp_g0_mps2: float = field(default=G0, metadata={"units": "m/s^2", "omit_default": True})

    def __post_init__(self) -> None:
        n = len(self.stages)
        if not 1 <= n <= 4:
            raise ValueError(f"stages must hold 1 to 4 stages, got {n}")
        for i, s in enumerate(self.stages):
            if not isinstance(s, Stage):
                raise TypeError(f"stages[{i}] must be a Stage, got {type(s).__name__}")
        check_range("payload_mass_kg", self.payload_mass_kg, 0.0, 1e6, lo_open=True)
        check_range("rv_beta_kgpm2", self.rv_beta_kgpm2, 0.0, 1e6, lo_open=True)
        if len(self.coast_s) != n - 1:
            raise ValueError(
                f"coast_s must have n_stages - 1 = {n - 1} entries, got {len(self.coast_s)}"
            )
        check_range("separation_delay_s", self.separation_delay_s, 0.0, 1e3)
        for i, c in enumerate(self.coast_s):
            check_range(f"coast_s[{i}]", c, 0.0, 1e4)
            if c < self.separation_delay_s:
                raise ValueError(
                    f"coast_s[{i}] = {c!r} must be >= separation_delay_s = "
                    f"{self.separation_delay_s!r} (a stage separates before the next ignites)"
                )
        check_range("separation_speed_mps", self.separation_speed_mps, 0.0, 100.0)
        check_range("rv_lift_to_drag", self.rv_lift_to_drag, 0.0, 3.0)
        check_range("isp_g0_mps2", self.isp_g0_mps2, 9.5, 10.0)
        if not isinstance(self.keep_last_stage, bool):
            raise TypeError(f"keep_last_stage must be a bool, got {self.keep_last_stage!r}")
        # sea-level thrust over the weight at standard gravity
        t2w = self.stages[0].thrust(P0, self.isp_g0_mps2) / (self.liftoff_mass_kg * G0)
        if t2w <= 1.0:
            raise ValueError(
                f"thrust-to-weight at liftoff = {t2w:.3f} must exceed 1 (the vehicle never "
                "leaves the pad): raise stages[0] thrust (isp_sl_s, burn_time_s) or lower "
                "the masses"
            )

    @property
    def liftoff_mass_kg(self) -> float:
        """Total mass at ignition of stage 1 [kg]."""
        return self.payload_mass_kg + sum(s.wet_mass_kg for s in self.stages)

    def mass_above(self, k: int) -> float:
        """Mass [kg] of everything above stage ``k`` (0-based): upper stages plus payload."""
        return self.payload_mass_kg + sum(s.wet_mass_kg for s in self.stages[k + 1 :])


@dataclass(frozen=True)
class Launch:
    """Launch site, azimuth and epoch (degrees at the edge; radians via properties).

    Attributes
    ----------
    lat_deg, lon_deg : float
        Geodetic latitude in [-90, 90] and longitude in [-180, 360] [deg].
    alt_m : float
        Pad height above the ellipsoid [m].
    azimuth_deg : float
        Launch azimuth from north, clockwise, in [0, 360) [deg].
    epoch_utc : str
        ISO-8601 UTC time of t = 0 (ignition), e.g. ``"2023-04-12T22:22:00Z"``.
    """

    lat_deg: float = _units("deg")
    lon_deg: float = _units("deg")
    azimuth_deg: float = _units("deg")
    alt_m: float = _units("m", default=0.0)
    epoch_utc: str = "2000-01-01T00:00:00Z"

    def __post_init__(self) -> None:
        check_range("lat_deg", self.lat_deg, -90.0, 90.0)
        check_range("lon_deg", self.lon_deg, -180.0, 360.0)
        check_range("azimuth_deg", self.azimuth_deg, 0.0, 360.0, hi_open=True)
        check_range("alt_m", self.alt_m, -500.0, 9000.0)
        if not isinstance(self.epoch_utc, str):
            raise TypeError(f"epoch_utc must be an ISO-8601 string, got {self.epoch_utc!r}")
        try:
            datetime.fromisoformat(self.epoch_utc.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"epoch_utc = {self.epoch_utc!r} is not ISO-8601 (e.g. 2023-04-12T22:22:00Z)"
            ) from exc

    @property
    def lat(self) -> float:
        """Latitude [rad]."""
        return math.radians(self.lat_deg)

    @property
    def lon(self) -> float:
        """Longitude [rad]."""
        return math.radians(self.lon_deg)

    @property
    def azimuth(self) -> float:
        """Azimuth [rad]."""
        return math.radians(self.azimuth_deg)


@dataclass(frozen=True)
class Debris:
    """Debris fragments released at one separation (for stress scenarios).

    Each fragment starts at the spent stage's separation state with an extra velocity drawn
    from N(0, speed_sigma_mps^2 I_3) and a ballistic coefficient drawn log-uniformly in
    [beta_min, beta_max]; draws come from ``numpy.random.default_rng(scenario seed)``.

    Attributes
    ----------
    at_separation : str
        Id of the spent stage whose separation releases the fragments, e.g. ``"stage-2"``.
    count : int
        Number of fragments, 0 to 200.
    speed_sigma_mps : float
        Per-axis standard deviation of the fragment velocity perturbation [m/s].
    beta_min_kgpm2, beta_max_kgpm2 : float
        Range of fragment ballistic coefficients [kg/m^2].
    mass_kg : float
        Mass of each fragment [kg].
    """

    at_separation: str
    count: int
    speed_sigma_mps: float = _units("m/s", default=5.0)
    beta_min_kgpm2: float = _units("kg/m^2", default=20.0)
    beta_max_kgpm2: float = _units("kg/m^2", default=500.0)
    mass_kg: float = _units("kg", default=10.0)

    def __post_init__(self) -> None:
        if not (isinstance(self.at_separation, str) and self.at_separation.startswith("stage-")):
            raise ValueError(
                f"at_separation must name a spent stage like 'stage-2', got {self.at_separation!r}"
            )
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise TypeError(f"count must be an integer, got {self.count!r}")
        check_range("count", self.count, 0, 200)
        check_range("speed_sigma_mps", self.speed_sigma_mps, 0.0, 1e3)
        check_range("beta_min_kgpm2", self.beta_min_kgpm2, 0.0, 1e5, lo_open=True)
        check_range("beta_max_kgpm2", self.beta_max_kgpm2, 0.0, 1e5, lo_open=True)
        if self.beta_max_kgpm2 < self.beta_min_kgpm2:
            raise ValueError(
                f"beta_max_kgpm2 = {self.beta_max_kgpm2!r} must be >= beta_min_kgpm2 = "
                f"{self.beta_min_kgpm2!r}"
            )
        check_range("mass_kg", self.mass_kg, 0.0, 1e5, lo_open=True)
