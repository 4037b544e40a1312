"""Re-run a scenario's calibration: tune several parameters to meet several objectives.

A scenario file's ``[calibration]`` table lists the tuned parameter paths (``tuned``), their
search intervals (``tuned_bounds``) and the objectives they were tuned to (``objectives``),
each a string ``"<object>.<quantity> = <value>"`` with quantity one of
``apogee_m``, ``range_m``, ``flight_time_s``, ``impact_lat_deg``, ``impact_lon_deg``, e.g.
``"rv.apogee_m = 2900000"`` or ``"stage-1.range_m = 149000"``. :func:`calibrate` solves

    min_x  sum_i res_i(x)^2,   res_i = achieved_i(x) / target_i - 1        (m and s)
                               res_i = (achieved_i(x) - target_i) / 10      (degrees)

with bounded trust-region least squares (``scipy.optimize.least_squares``, method "trf"),
starting from the file's values, and returns the scenario with the tuned values and the
updated record. Ranges are signed (negative behind the launch site) so the residual stays
monotonic when a pitch parameter crosses the vertical. With as many objectives as
parameters the solution is a root (residuals ~1e-9).

Command line (prints the tuned values; ``--write`` writes the re-serialised scenario, which
drops the file's comments)::

    python -m trackers.sim.calibrate hokkaido-2023 [--write PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.optimize import least_squares

from trackers.sim.scenario import Scenario, get_parameter, load_scenario, set_parameter
from trackers.sim.solve import flight_outcomes

QUANTITIES = ("apogee_m", "range_m", "flight_time_s", "impact_lat_deg", "impact_lon_deg")
_OBJ = re.compile(r"^\s*([a-z0-9-]+)\.([a-z_]+)\s*=\s*([-+0-9.eE]+)\s*$")


class Objective(NamedTuple):
    """One calibration objective: ``object``'s ``quantity`` should equal ``value``."""

    object: str
    quantity: str
    value: float


def parse_objective(text: str) -> Objective:
    """Parse ``"<object>.<quantity> = <value>"``; ``ValueError`` naming the problem."""
    m = _OBJ.match(text)
    if not m:
        raise ValueError(f"objective {text!r}: expected '<object>.<quantity> = <number>'")
    obj, qty, val = m.group(1), m.group(2), float(m.group(3))
    if qty not in QUANTITIES:
        raise ValueError(f"objective {text!r}: quantity must be one of {QUANTITIES}")
    if qty in ("apogee_m", "range_m", "flight_time_s") and not val > 0:
        raise ValueError(f"objective {text!r}: target must be > 0")
    return Objective(obj, qty, val)


class CalibrationResult(NamedTuple):
    """Tuned scenario, the achieved value of each objective and the final residuals."""

    scenario: Scenario
    achieved: dict[str, float]
    residuals: np.ndarray


def _residuals(out: dict, objectives: list[Objective]) -> np.ndarray:
    res = []
    for o in objectives:
        q = "downrange_m" if o.quantity == "range_m" else o.quantity
        got = out[o.object][q]
        res.append((got - o.value) / 10.0 if o.quantity.endswith("_deg") else got / o.value - 1)
    return np.array(res)


def calibrate(scenario: Scenario, *, verbose: bool = False) -> CalibrationResult:
    """Tune ``scenario.calibration.tuned`` to meet ``scenario.calibration.objectives``."""
    cal = scenario.calibration
    if not cal.tuned or not cal.objectives:
        raise ValueError(f"scenario {scenario.id}: calibration.tuned and objectives are empty")
    objectives = [parse_objective(s) for s in cal.objectives]
    spent = any(o.object != "rv" for o in objectives)
    bounds = cal.tuned_bounds or tuple((-np.inf, np.inf) for _ in cal.tuned)
    lo = np.array([b[0] for b in bounds], float)
    hi = np.array([b[1] for b in bounds], float)
    x0 = np.clip([float(get_parameter(scenario, p)) for p in cal.tuned], lo, hi)

    def with_x(x: np.ndarray) -> Scenario:
        sc = scenario
        for path, value in zip(cal.tuned, x, strict=True):
            sc = set_parameter(sc, path, float(value))
        return sc

    def fun(x: np.ndarray) -> np.ndarray:
        try:
            r = _residuals(flight_outcomes(with_x(x), spent=spent), objectives)
        except (RuntimeError, ValueError):  # orbit/escape or invalid vehicle: push back
            r = np.full(len(objectives), 10.0)
        if verbose:
            print(np.array2string(x, precision=6), np.array2string(r, precision=3))
        return r

    scale = np.where(np.isfinite(hi - lo), (hi - lo) / 10.0, 1.0)
    sol = least_squares(fun, x0, bounds=(lo, hi), x_scale=scale, xtol=1e-12, ftol=1e-12,
                        gtol=1e-12, diff_step=1e-7)  # fmt: skip
    x = np.array([float(f"{v:.10g}") for v in sol.x])  # what the file will hold
    sc = with_x(x)
    out = flight_outcomes(sc, spent=spent)
    achieved = {
        f"{o.object}.{o.quantity}": out[o.object][o.quantity] for o in objectives
    }  # fmt: skip
    rv = out["rv"]
    record = dataclasses.replace(
        sc.calibration,
        tuned_values=tuple(float(v) for v in x),
        achieved_apogee_m=round(rv["apogee_m"], 1),
        achieved_range_m=round(rv["range_m"], 1),
        achieved_flight_time_s=round(rv["flight_time_s"], 2),
        burnout_speed_mps=round(out["_burnout"][-1]["speed_mps"], 1),  # type: ignore[index]
    )
    sc = dataclasses.replace(sc, calibration=record)
    return CalibrationResult(sc, achieved, _residuals(out, objectives))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Re-run a scenario's calibration")
    ap.add_argument("scenario", help="built-in id or path to a TOML file")
    ap.add_argument("--write", type=Path, help="write the tuned scenario TOML here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    res = calibrate(load_scenario(args.scenario), verbose=args.verbose)
    cal = res.scenario.calibration
    for path, value in zip(cal.tuned, cal.tuned_values, strict=True):
        print(f"{path} = {value!r}")
    for key, value in res.achieved.items():
        print(f"achieved {key} = {value:.6g}")
    print(f"max |residual| = {np.max(np.abs(res.residuals)):.3g}")
    if args.write:
        args.write.write_text(res.scenario.to_toml())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
