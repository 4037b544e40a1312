"""The detections table: what a consumer receives from the radar network, plus scoring tags.

:class:`Detections` is a frozen dataclass of column arrays (one row per detection), sorted by
``(run, t_arrival)`` (ties: radar order, then scan, then objects / merged / clutter). Sensor
ids and origins are stored as small integer codes into the ``sensors`` / ``origins`` tuples
(the string columns are properties).
``origin`` is the truth tag kept only for scoring: an object id, several ids joined by ``"+"``
for an unresolved (merged) detection, or ``"clutter"``.

Measurement vectors are always 4 wide ``(range [m], az [rad], el [rad], range_rate [m/s])``;
range-rate is NaN for radars that do not measure it, and so is its sigma.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

CLUTTER = "clutter"

CSV_COLUMNS = ("run", "sensor", "t_meas_s", "t_arrival_s", "range_m", "az_rad", "el_rad",
               "range_rate_mps", "origin")  # fmt: skip
#: Extra columns written after the required ones so the noise covariance round-trips.
CSV_SIGMA_COLUMNS = ("sigma_range_m", "sigma_az_rad", "sigma_el_rad", "sigma_range_rate_mps")
#: Per-row column arrays of :class:`Detections` (the rest are per-table code tables).
ROW_COLUMNS = ("run", "sensor_index", "t_meas", "t_arrival", "z", "origin_index")


@dataclass(frozen=True, eq=False)
class Detections:
    """Column arrays of detections, ``n`` rows (equality is identity: compare columns).

    Attributes
    ----------
    run : (n,) int32
        Monte Carlo draw index in ``[0, runs)``.
    sensor_index : (n,) int16
        Index into ``sensors``.
    t_meas, t_arrival : (n,) float
        Measurement time and arrival time at the consumer [s since epoch]; t_arrival >= t_meas.
    z : (n, 4) float
        (range [m], azimuth [rad] in [0, 2 pi), elevation [rad], range-rate [m/s] or NaN).
    origin_index : (n,) int32
        Index into ``origins``.
    sensors : tuple[str, ...]
        Sensor ids.
    sensor_sigmas : (S, 4) float
        Noise 1-sigmas per sensor in measurement order (NaN range-rate if not measured).
    origins : tuple[str, ...]
        Origin labels (object ids, merged ``"a+b"``, ``"clutter"``).
    runs : int
        Number of Monte Carlo draws the table covers.
    consumer : str
        Node at which ``t_arrival`` is measured ("" if no network latency was applied).
    """

    run: NDArray[np.int32]
    sensor_index: NDArray[np.int16]
    t_meas: NDArray[np.float64]
    t_arrival: NDArray[np.float64]
    z: NDArray[np.float64]
    origin_index: NDArray[np.int32]
    sensors: tuple[str, ...]
    sensor_sigmas: NDArray[np.float64]
    origins: tuple[str, ...]
    runs: int = 1
    consumer: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = np.shape(self.run)[0] if np.ndim(self.run) == 1 else -1
        if n < 0:
            raise ValueError(f"Detections.run must be 1-D, got shape {np.shape(self.run)}")
        for name in ("sensor_index", "t_meas", "t_arrival", "origin_index"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(
                    f"Detections.{name} must have shape ({n},), got {np.shape(getattr(self, name))}"
                )
        if np.shape(self.z) != (n, 4):
            raise ValueError(f"Detections.z must have shape ({n}, 4), got {np.shape(self.z)}")
        if np.shape(self.sensor_sigmas) != (len(self.sensors), 4):
            raise ValueError(
                f"Detections.sensor_sigmas must have shape ({len(self.sensors)}, 4), "
                f"got {np.shape(self.sensor_sigmas)}"
            )

    def __len__(self) -> int:
        return int(self.run.shape[0])

    # ------------------------------------------------------------------ string columns
    @property
    def sensor(self) -> NDArray:
        """Sensor id per row, ``(n,)`` str."""
        return np.asarray(self.sensors, dtype=object)[self.sensor_index]

    @property
    def origin(self) -> NDArray:
        """Origin label per row, ``(n,)`` str."""
        return np.asarray(self.origins, dtype=object)[self.origin_index]

    @property
    def is_clutter(self) -> NDArray[np.bool_]:
        """True for false alarms, ``(n,)``."""
        if CLUTTER not in self.origins:
            return np.zeros(len(self), bool)
        return self.origin_index == self.origins.index(CLUTTER)

    @property
    def sigma(self) -> NDArray[np.float64]:
        """Noise 1-sigmas per row ``(n, 4)`` (NaN range-rate where not measured)."""
        return self.sensor_sigmas[self.sensor_index]

    @property
    def noise_cov(self) -> NDArray[np.float64]:
        """Diagonal noise covariance per row ``(n, 4, 4)``; NaN diagonal where not measured."""
        s2 = self.sigma**2
        out = np.zeros((len(self), 4, 4))
        i = np.arange(4)
        out[:, i, i] = s2
        return out

    # ------------------------------------------------------------------ selections
    def select(self, mask: NDArray | slice) -> Detections:
        """Rows where ``mask`` (bool ``(n,)``, integer indices or a slice) holds, same code
        tables."""
        return replace(self, **{c: getattr(self, c)[mask] for c in ROW_COLUMNS})

    def for_run(self, run: int) -> Detections:
        """Rows of one Monte Carlo draw (rows are sorted by run, so this is a slice)."""
        if not 0 <= run < self.runs:
            raise ValueError(f"run = {run} outside [0, {self.runs})")
        a, b = np.searchsorted(self.run, [run, run + 1])
        return self.select(slice(int(a), int(b)))

    def for_sensors(self, sensor_ids: str | Iterable[str]) -> Detections:
        """Rows from the given sensor id(s)."""
        ids = [sensor_ids] if isinstance(sensor_ids, str) else list(sensor_ids)
        unknown = [s for s in ids if s not in self.sensors]
        if unknown:
            raise ValueError(f"unknown sensor id(s) {unknown}; have {list(self.sensors)}")
        codes = [self.sensors.index(s) for s in ids]
        return self.select(np.isin(self.sensor_index, codes))

    # ------------------------------------------------------------------ CSV
    def to_csv(self, path: str | Path) -> None:
        """Write one row per detection; columns :data:`CSV_COLUMNS` then the sigmas.

        Floats are written with ``repr`` (exact round trip); an unmeasured range-rate (and its
        sigma) is an empty field.
        """

        def f(x: float) -> str:
            return "" if math.isnan(x) else repr(float(x))

        sens, orig, sig = self.sensors, self.origins, self.sensor_sigmas
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_COLUMNS + CSV_SIGMA_COLUMNS)
            for i in range(len(self)):
                s = int(self.sensor_index[i])
                z = self.z[i]
                w.writerow(
                    [int(self.run[i]), sens[s], f(self.t_meas[i]), f(self.t_arrival[i])]
                    + [f(z[0]), f(z[1]), f(z[2]), f(z[3]), orig[int(self.origin_index[i])]]
                    + [f(v) for v in sig[s]]
                )

    @classmethod
    def from_csv(cls, path: str | Path, runs: int | None = None) -> Detections:
        """Read a file written by :meth:`to_csv` (sigma columns optional: NaN if absent).

        Raises ``ValueError`` naming the first missing column or unparsable row.
        """
        with open(path, newline="") as fh:
            rd = csv.reader(fh)
            header = next(rd, None)
            if header is None:
                raise ValueError(f"{path}: empty file, expected header {list(CSV_COLUMNS)}")
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                raise ValueError(f"{path}: missing column(s) {missing}; header {header}")
            col = {c: header.index(c) for c in header}
            has_sigma = all(c in col for c in CSV_SIGMA_COLUMNS)
            rows = list(rd)

        def num(s: str) -> float:
            return float(s) if s != "" else math.nan

        n = len(rows)
        run = np.empty(n, np.int32)
        t_meas, t_arr = np.empty(n), np.empty(n)
        z = np.empty((n, 4))
        sensors: dict[str, int] = {}
        origins: dict[str, int] = {}
        sigmas: dict[str, list[float]] = {}
        s_idx, o_idx = np.empty(n, np.int16), np.empty(n, np.int32)
        zc = [col[c] for c in CSV_COLUMNS[4:8]]
        for i, row in enumerate(rows):
            try:
                run[i] = int(row[col["run"]])
                t_meas[i] = float(row[col["t_meas_s"]])
                t_arr[i] = float(row[col["t_arrival_s"]])
                z[i] = [num(row[j]) for j in zc]
                sid, org = row[col["sensor"]], row[col["origin"]]
                sig = [num(row[col[c]]) for c in CSV_SIGMA_COLUMNS] if has_sigma else [math.nan] * 4
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}: row {i + 2} unparsable: {row!r} ({exc})") from exc
            s_idx[i] = sensors.setdefault(sid, len(sensors))
            o_idx[i] = origins.setdefault(org, len(origins))
            sigmas.setdefault(sid, sig)
        sensor_sigmas = np.array([sigmas[s] for s in sensors]).reshape(len(sensors), 4)
        nruns = int(run.max()) + 1 if runs is None and n else (runs or 1)
        return cls(
            run=run, sensor_index=s_idx, t_meas=t_meas, t_arrival=t_arr, z=z,
            origin_index=o_idx, sensors=tuple(sensors), sensor_sigmas=sensor_sigmas,
            origins=tuple(origins), runs=nruns,
        )  # fmt: skip


def concatenate(parts: list[Detections]) -> Detections:
    """Stack tables of one study (same sensors, sigmas, origin codes and consumer), e.g. the
    run blocks of ``observe(..., first_run=...)`` computed apart.

    Rows are re-sorted by ``(run, t_arrival)`` (stable) and ``runs`` is the largest of the
    parts' (a block ``first_run = a`` covers runs ``[a, a + n)`` and has ``runs = a + n``).
    Raises ``ValueError`` if the code tables differ (their indices would be misread).
    """
    if not parts:
        raise ValueError("concatenate needs at least one Detections")
    p0 = parts[0]
    for i, p in enumerate(parts[1:], start=1):
        for name in ("sensors", "origins", "consumer"):
            if getattr(p, name) != getattr(p0, name):
                raise ValueError(
                    f"concatenate: parts[{i}].{name} = {getattr(p, name)!r} differs from "
                    f"parts[0].{name} = {getattr(p0, name)!r}"
                )
        if not np.array_equal(p.sensor_sigmas, p0.sensor_sigmas, equal_nan=True):
            raise ValueError(f"concatenate: parts[{i}].sensor_sigmas differ from parts[0]'s")
    cols = {c: np.concatenate([getattr(p, c) for p in parts]) for c in ROW_COLUMNS}
    order = np.lexsort((cols["t_arrival"], cols["run"]))
    meta = dict(p0.meta)
    if "first_run" in meta:
        meta["first_run"] = min(p.meta.get("first_run", 0) for p in parts)
    rows: dict[str, Any] = {c: a[order] for c, a in cols.items()}
    return replace(p0, **rows, runs=max(p.runs for p in parts), meta=meta)
