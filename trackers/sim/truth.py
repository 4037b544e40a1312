"""Ground truth produced by the simulator: sampled object trajectories and flight events.

This is the contract between ``sim/`` (which writes it) and ``sensors/``, ``metrics/``,
``io/`` and the CLI (which read it). Arrays are SI, ECEF (WGS-84) unless stated.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: Flight phases an object can be in at a sample.
PHASES = ("boost-1", "boost-2", "boost-3", "boost-4", "coast", "midcourse", "reentry")

#: Event kinds in the events table.
EVENT_KINDS = ("launch", "ignition", "burnout", "separation", "apogee", "impact", "debris")


@dataclass(frozen=True, eq=False)
class ObjectTrajectory:
    """One simulated object sampled at a fixed rate plus its event instants.

    Attributes
    ----------
    id : str
        Unique object id within the flight, e.g. ``"rv"``, ``"stage-1"``, ``"debris-3"``.
    role : str
        ``"rv"`` (the reentry vehicle / payload stack), ``"stage-k"`` or ``"debris-k"``.
    parent : str or None
        Id of the object it separated from (None for the launched stack).
    created_by : str
        Event kind that created it (``"launch"``, ``"separation"``, ``"debris"``).
    t : (K,) float
        Sample times [s since epoch], strictly increasing.
    r, v, a : (K, 3) float
        ECEF position [m], velocity [m/s] and acceleration [m/s^2] (rotating-frame).
    lat, lon, alt : (K,) float
        Geodetic latitude, longitude [rad] and height above the ellipsoid [m].
    phase : (K,) str
        One of :data:`PHASES`.
    mass : (K,) float
        Mass [kg].
    beta : (K,) float
        Ballistic coefficient m / (Cd A) [kg/m^2] (inf where drag is off).
    """

    id: str
    role: str
    parent: str | None
    created_by: str
    t: NDArray
    r: NDArray
    v: NDArray
    a: NDArray
    lat: NDArray
    lon: NDArray
    alt: NDArray
    phase: NDArray
    mass: NDArray
    beta: NDArray

    def __post_init__(self) -> None:
        k = np.shape(self.t)
        if len(k) != 1 or k[0] < 2:
            raise ValueError(f"object {self.id}: t must be 1-D with >= 2 samples, got {k}")
        if np.any(np.diff(self.t) <= 0):
            raise ValueError(f"object {self.id}: t must be strictly increasing")
        for name in ("r", "v", "a"):
            if np.shape(getattr(self, name)) != (k[0], 3):
                raise ValueError(
                    f"object {self.id}: {name} must have shape ({k[0]}, 3), "
                    f"got {np.shape(getattr(self, name))}"
                )
        for name in ("lat", "lon", "alt", "phase", "mass", "beta"):
            if np.shape(getattr(self, name)) != k:
                raise ValueError(
                    f"object {self.id}: {name} must have shape {k}, got "
                    f"{np.shape(getattr(self, name))}"
                )

    @property
    def t_start(self) -> float:
        return float(self.t[0])

    @property
    def t_end(self) -> float:
        return float(self.t[-1])

    def state_at(self, t: NDArray | float) -> NDArray:
        """ECEF state [r, v] ``(..., 6)`` at times within [t_start, t_end] (cubic Hermite).

        Positions use the cubic Hermite interpolant on (r, v); velocities its derivative.
        Times outside the span give NaN.
        """
        tq = np.asarray(t, float)
        i = np.clip(np.searchsorted(self.t, tq, side="right") - 1, 0, len(self.t) - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        h = (t1 - t0)[..., None]
        s = ((tq - t0) / (t1 - t0))[..., None]
        r0, r1, v0, v1 = self.r[i], self.r[i + 1], self.v[i], self.v[i + 1]
        h00, h10, h01, h11 = (
            2 * s**3 - 3 * s**2 + 1,
            s**3 - 2 * s**2 + s,
            -2 * s**3 + 3 * s**2,
            s**3 - s**2,
        )
        r = h00 * r0 + h10 * h * v0 + h01 * r1 + h11 * h * v1
        d00, d10, d01, d11 = (
            6 * s**2 - 6 * s,
            3 * s**2 - 4 * s + 1,
            -6 * s**2 + 6 * s,
            3 * s**2 - 2 * s,
        )
        v = (d00 * r0 + d01 * r1) / h + d10 * v0 + d11 * v1
        out = np.concatenate([r, v], axis=-1)
        bad = (tq < self.t[0]) | (tq > self.t[-1])
        out[bad] = np.nan
        return out


@dataclass(frozen=True)
class Event:
    """A flight event: time [s since epoch], the object it concerns, and its kind."""

    t_s: float
    object: str
    kind: str
    detail: str = ""


@dataclass(frozen=True, eq=False)
class Flight:
    """Result of simulating one scenario.

    ``objects`` lists every object (the stack/RV first, then stages and debris in creation
    order); ``events`` is sorted by time. ``epoch_utc`` is the ISO-8601 UTC epoch of t = 0.
    """

    scenario_id: str
    epoch_utc: str
    objects: tuple[ObjectTrajectory, ...]
    events: tuple[Event, ...]
    meta: dict = field(default_factory=dict)

    def object(self, object_id: str) -> ObjectTrajectory:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise KeyError(f"no object {object_id!r}; have {[o.id for o in self.objects]}")

    def write_truth_csv(self, path: str | Path) -> None:
        """Write every object's samples to one CSV (long format, one row per object-sample).

        Fixed-point formatting: positions to 0.1 mm, velocities/accelerations to 1e-6,
        angles to 1e-9 deg (~0.1 mm), times to 1 us.
        """
        header = ["object", "role", "t_s", "x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps",
                "ax_mps2", "ay_mps2", "az_mps2", "lat_deg", "lon_deg", "alt_m", "phase",
                "mass_kg", "beta_kgpm2"]  # fmt: skip
        with open(path, "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow(header)
            fmt = "%s,%s,%.6f" + ",%.4f" * 3 + ",%.6f" * 6 + ",%.9f,%.9f,%.4f,%s,%.4f,%.8g\n"
            for o in self.objects:
                lat, lon = np.degrees(o.lat), np.degrees(o.lon)
                num = np.column_stack((o.t, *o.r.T, *o.v.T, *o.a.T, lat, lon, o.alt)).tolist()
                ph, mass, beta = o.phase.tolist(), o.mass.tolist(), o.beta.tolist()
                fh.writelines(
                    fmt % (o.id, o.role, *row, ph[k], mass[k], beta[k]) for k, row in enumerate(num)
                )

    def write_events_csv(self, path: str | Path) -> None:
        """Write the events table: t_s, object, kind, detail."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["t_s", "object", "kind", "detail"])
            for e in self.events:
                w.writerow([f"{e.t_s:.6f}", e.object, e.kind, e.detail])
