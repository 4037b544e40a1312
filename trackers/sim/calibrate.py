"""Calibrate a scenario: tune parameters to meet objectives, or say that it did not.

A scenario file's ``[calibration]`` table lists the tuned parameter paths (``tuned``), their
search intervals (``tuned_bounds``) and the objectives (``objectives``), each a string
``"<object>.<quantity> = <value>"`` with quantity one of ``apogee_m``, ``range_m``,
``flight_time_s``, ``impact_lat_deg``, ``impact_lon_deg``, e.g. ``"rv.apogee_m = 2900000"``
or ``"stage-1.range_m = 149000"``. :func:`calibrate` solves

    min_x  sum_i res_i(x)^2,   res_i = achieved_i(x) / target_i - 1        (m and s)
                               res_i = (achieved_i(x) - target_i) / 10      (degrees)

and reports ``converged = max_i |res_i| <= tol`` (default 1e-5: 27 m on a 2700 km range,
1e-4 deg on an impact latitude). Ranges are signed (negative behind the launch site) so the
residual stays monotonic when a pitch parameter crosses the vertical.

Methods
-------
* One parameter, one objective, finite bounds: bracketing. The residual is evaluated at both
  bounds and, if they do not enclose a sign change, on ``SCAN_POINTS`` evenly spaced points
  (range is not monotonic in every parameter); Brent's method (``scipy.optimize.brentq``;
  R. P. Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 4) then finds the
  root on the first bracket. No bracket: the target is out of reach, and the message gives the
  span of achieved values.
* Otherwise: bounded trust-region least squares (``scipy.optimize.least_squares``, "trf";
  Branch, Coleman & Li, SIAM J. Sci. Comput. 21(1), 1999) with a forward-difference Jacobian
  whose step is scaled to each parameter and to the noise of the simulation:

      h_j = sqrt(eta) * max(|x_j|, s_j),    s_j = 1e-3 (hi_j - lo_j)  (1 if unbounded)
      J_ij = (res_i(x + h_j e_j) - res_i(x)) / h_j       (h_j < 0 at the upper bound)

  which balances truncation error (~h f'') against noise (~eta |f| / h) (Gill, Murray &
  Wright, *Practical Optimization*, 1981, §8.6). The outcomes of the adaptive DOP853
  integration (rtol 1e-10) jitter by up to ``NOISE_REL`` = 1e-7 relative when a parameter
  moves by less than ~1e-6 relative (the step sequence and the event location change), so
  h_j ~ 3e-4 |x_j|; a fixed step of 1e-7 |x_j| gives differences made of noise alone
  (derivatives of the wrong sign).

Warnings (``CalibrationResult.warnings``): a tuned parameter with no effect on any objective,
found structurally (a gravity-turn kick reached only after the burn ends, a pitch of a stage
that does not fly that program, a spent-stage drag key tuned against an RV objective, see
:func:`inactive_reason`) or numerically (every residual unchanged by its step, at the start or
at the end); and a parameter that ends on a bound while the targets are not met.

Command line (prints the tuned values, what they achieve and any warning; exit status 1 with a
message if the targets are not met; ``--write`` writes a *new* file that keeps the original's
comments and layout, refusing to overwrite an existing one)::

    python -m trackers.sim.calibrate irbm-2022-10 [--tol 1e-5] [--max-evals 200] [--write NEW]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq, least_squares

from trackers.sim.scenario import (
    Scenario,
    get_parameter,
    load_scenario,
    loads_scenario,
    read_scenario_text,
    set_parameter,
)
from trackers.sim.solve import flight_outcomes

QUANTITIES = ("apogee_m", "range_m", "flight_time_s", "impact_lat_deg", "impact_lon_deg")
_OBJ = re.compile(r"^\s*([a-z0-9-]+)\.([a-z_]+)\s*=\s*([-+0-9.eE]+)\s*$")

#: Relative jitter of a simulated outcome under a tiny parameter change (measured, see above).
NOISE_REL = 1e-7
#: Relative finite-difference step sqrt(eta) (Gill, Murray & Wright 1981, §8.6).
DIFF_STEP = math.sqrt(NOISE_REL)
#: Default convergence tolerance on max |residual|.
TOL = 1e-5
#: Interior points scanned for a bracket in the one-parameter case.
SCAN_POINTS = 8
#: Residual returned for a flight that cannot be simulated (orbit, escape, invalid vehicle).
_FAILED = 10.0


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
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    scenario : Scenario
        The scenario with the tuned values (10 significant digits, what a file holds) and an
        updated ``calibration`` record.
    achieved : dict of str to float
        ``"<object>.<quantity>"`` -> achieved value [m, s or deg] at the tuned values.
    residuals : (n_objectives,) array
        Final residuals (module docstring).
    converged : bool
        ``max |residuals| <= tol``.
    nfev : int
        Number of flight simulations run.
    message : str
        One line: how it converged, or which targets were missed and by how much.
    warnings : tuple of str
        No-effect parameters, parameters stuck on a bound (module docstring).
    """

    scenario: Scenario
    achieved: dict[str, float]
    residuals: NDArray
    converged: bool = True
    nfev: int = 0
    message: str = ""
    warnings: tuple[str, ...] = ()


def _residuals(out: dict, objectives: list[Objective]) -> NDArray:
    """res_i (module docstring) from :func:`~trackers.sim.solve.flight_outcomes` output."""
    res = []
    for o in objectives:
        q = "downrange_m" if o.quantity == "range_m" else o.quantity
        got = out[o.object][q]
        res.append((got - o.value) / 10.0 if o.quantity.endswith("_deg") else got / o.value - 1)
    return np.array(res)


def _burn_windows(scenario: Scenario) -> list[tuple[float, float]]:
    """(ignition, burnout) [s after launch] of each stage, from burn times and coasts."""
    out, t = [], 0.0
    veh = scenario.vehicle
    for k, st in enumerate(veh.stages):
        out.append((t, t + st.burn_time))
        if k < len(veh.coast_s):
            t = t + st.burn_time + veh.coast_s[k]
    return out


def inactive_reason(scenario: Scenario, path: str, objects: set[str]) -> str | None:
    """Why parameter ``path`` cannot affect the objectives on ``objects``, or None.

    Structural checks only (the numerical check is in :func:`calibrate`):

    * ``guidance.pitch_kick_deg``: the gravity-turn direction depends on the kick only through
      the end of the pitch-over t_k = vertical_rise_s + kick / pitch_rate_dps, so only if some
      gravity-turn stage is burning at t_k (ignition < t_k < burnout);
    * ``guidance.pitch_deg`` / ``guidance.stage_pitch_deg[k]``: only for stages flying the
      ``inertial`` program (``pitch_deg`` only where ``stage_pitch_deg`` is empty) that still
      burn after the vertical rise;
    * ``vehicle.stages[k].tumble_*``: only the spent stage ``stage-<k+1>``;
      ``vehicle.rv_beta_kgpm2`` / ``rv_lift_to_drag``: only the ``rv`` object.
    """
    gd = scenario.guidance
    windows = _burn_windows(scenario)
    tv = float(gd.vertical_rise_s)
    n = len(windows)
    if path == "guidance.pitch_kick_deg":
        t_k = tv + gd.pitch_kick_deg / gd.pitch_rate_dps
        turn = [k for k in range(n) if gd.stage_program(k) == "gravity-turn"]
        if not turn:
            return "no stage flies the gravity-turn program"
        if not any(windows[k][0] < t_k < windows[k][1] for k in turn):
            spans = ", ".join(
                f"stage {k + 1} {windows[k][0]:.1f}-{windows[k][1]:.1f} s" for k in turn
            )
            return (
                f"the pitch-over ends at t = {t_k:.1f} s (vertical_rise_s + kick / "
                f"pitch_rate_dps), outside every gravity-turn burn ({spans}): the thrust "
                "direction does not depend on the kick"
            )
        return None
    m = re.fullmatch(r"guidance\.stage_pitch_deg\[(\d+)\]", path)
    if path == "guidance.pitch_deg" or m:
        ks = [int(m.group(1))] if m else [k for k in range(n) if not gd.stage_pitch_deg]
        used = [k for k in ks if k < n and gd.stage_program(k) == "inertial" and windows[k][1] > tv]
        if not used:
            return "no stage that uses it flies the inertial program after the vertical rise"
        return None
    m = re.fullmatch(r"vehicle\.stages\[(\d+)\]\.tumble_\w+", path)
    if m and f"stage-{int(m.group(1)) + 1}" not in objects:
        return f"it only shapes the spent stage-{int(m.group(1)) + 1}, not {sorted(objects)}"
    if path in ("vehicle.rv_beta_kgpm2", "vehicle.rv_lift_to_drag") and "rv" not in objects:
        return f"it only shapes the rv after the last separation, not {sorted(objects)}"
    return None


def _fmt_value(quantity: str, value: float) -> str:
    if quantity.endswith("_m"):
        return f"{value / 1e3:.3f} km"
    if quantity.endswith("_s"):
        return f"{value:.2f} s"
    return f"{value:.5f} deg"


def _miss(objectives: list[Objective], out: dict) -> list[str]:
    """'<obj.qty> achieved X, target Y (+e%)' for every objective."""
    lines = []
    for o in objectives:
        q = "downrange_m" if o.quantity == "range_m" else o.quantity
        got = out[o.object][q]
        err = (
            f"{got - o.value:+.5f} deg"
            if o.quantity.endswith("_deg")
            else f"{got / o.value - 1:+.3%}"
        )
        lines.append(
            f"{o.object}.{o.quantity} achieved {_fmt_value(o.quantity, got)}, target "
            f"{_fmt_value(o.quantity, o.value)} ({err})"
        )
    return lines


class _Target(Exception):
    """Raised inside the optimiser to stop as soon as the residuals are small enough."""


def calibrate(
    scenario: Scenario,
    *,
    tol: float = TOL,
    max_evals: int = 200,
    verbose: bool = False,
) -> CalibrationResult:
    """Tune ``scenario.calibration.tuned`` to meet ``scenario.calibration.objectives``.

    Parameters
    ----------
    scenario : Scenario
        Starting point: the file's values, clipped into ``tuned_bounds``.
    tol : float
        Convergence tolerance on max |residual| (module docstring), in (0, 0.5].
    max_evals : int
        Cap on flight simulations (~0.05-0.3 s each), >= 2.
    verbose : bool
        Print every evaluation (parameters and residuals).

    Returns
    -------
    CalibrationResult
        Check ``converged``: a result that misses its targets is returned, not raised, with
        the miss in ``message``.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol <= 0.5:
        raise ValueError(f"tol = {tol!r}: expected a number in (0, 0.5]")
    if isinstance(max_evals, bool) or not isinstance(max_evals, int) or max_evals < 2:
        raise ValueError(f"max_evals = {max_evals!r}: expected an integer >= 2")
    cal = scenario.calibration
    if not cal.tuned or not cal.objectives:
        raise ValueError(f"scenario {scenario.id}: calibration.tuned and objectives are empty")
    objectives = [parse_objective(s) for s in cal.objectives]
    objects = {o.object for o in objectives}
    spent = objects != {"rv"}
    bounds = cal.tuned_bounds or tuple((-np.inf, np.inf) for _ in cal.tuned)
    lo = np.array([b[0] for b in bounds], float)
    hi = np.array([b[1] for b in bounds], float)
    x0 = np.clip([float(get_parameter(scenario, p)) for p in cal.tuned], lo, hi)
    floor = np.where(np.isfinite(hi - lo), 1e-3 * (hi - lo), 1.0)  # s_j

    def with_x(x: NDArray) -> Scenario:
        sc = scenario
        for path, value in zip(cal.tuned, x, strict=True):
            sc = set_parameter(sc, path, float(value))
        return sc

    cache: dict[bytes, NDArray] = {}
    best: list[Any] = [None, np.inf]  # x with the smallest max |res| so far, and that value
    n_eval = [0]

    def fun(x: NDArray) -> NDArray:
        x = np.asarray(x, float)
        key = x.tobytes()
        if key in cache:
            return cache[key]
        if n_eval[0] >= max_evals:
            raise _Target  # evaluation budget spent: stop with the best point so far
        n_eval[0] += 1
        try:
            r = _residuals(flight_outcomes(with_x(x), spent=spent), objectives)
        except (RuntimeError, ValueError):  # orbit/escape or invalid vehicle: push back
            r = np.full(len(objectives), _FAILED)
        cache[key] = r
        worst = float(np.max(np.abs(r)))
        if worst < best[1]:
            best[0], best[1] = x.copy(), worst
        if verbose:
            print(np.array2string(x, precision=8), np.array2string(r, precision=3))
        if worst <= 0.01 * tol:  # well inside the tolerance: more steps only chase noise
            raise _Target
        return r

    dead: dict[int, str] = {}

    def jac(x: NDArray) -> NDArray:
        # forward differences, h_j = sqrt(eta) max(|x_j|, s_j), stepping inwards at a bound
        f0 = fun(x)
        J = np.empty((len(f0), len(x)))
        for j in range(len(x)):
            h = DIFF_STEP * max(abs(x[j]), floor[j])
            if x[j] + h > hi[j]:
                h = -h
            xj = x.copy()
            xj[j] += h
            df = fun(xj) - f0
            J[:, j] = df / h
            if np.all(np.abs(df) <= 3.0 * NOISE_REL):  # |change| at noise level: no effect
                dead.setdefault(j, f"at {cal.tuned[j]} = {x[j]:.10g}")
        return J

    warnings = []
    for path in cal.tuned:
        why = inactive_reason(with_x(x0), path, objects)
        if why:
            warnings.append(f"{path} has no effect on the objectives: {why}")

    method = "least squares"
    try:
        if len(cal.tuned) == 1 and len(objectives) == 1 and np.isfinite(lo[0] + hi[0]):
            method = "bracketing + Brent"
            x_root, f_min, f_max = _bracket_root(fun, float(lo[0]), float(hi[0]))
            if x_root is None:
                o = objectives[0]
                span = (
                    f"{o.value + 10 * f_min:.6g} to {o.value + 10 * f_max:.6g}"
                    if o.quantity.endswith("_deg")
                    else f"{o.value * (1 + f_min):.6g} to {o.value * (1 + f_max):.6g}"
                )
                warnings.append(
                    f"no bracket: {cal.tuned[0]} in [{lo[0]:g}, {hi[0]:g}] gives "
                    f"{o.object}.{o.quantity} from {span} ({SCAN_POINTS + 2} points), which "
                    f"does not reach the target {o.value:g}"
                )
            jac(np.array([x_root if x_root is not None else best[0][0]]))
        else:
            scale = np.where(np.isfinite(hi - lo), (hi - lo) / 10.0, 1.0)
            least_squares(fun, x0, jac=jac, bounds=(lo, hi), x_scale=scale, xtol=1e-12,
                          ftol=1e-12, gtol=1e-12, max_nfev=max_evals)  # fmt: skip
    except _Target:
        pass
    x_best = best[0] if best[0] is not None else x0
    x = np.array([float(f"{v:.10g}") for v in x_best])  # what the file will hold
    sc = with_x(x)
    out = flight_outcomes(sc, spent=spent)
    n_eval[0] += 1
    res = _residuals(out, objectives)
    worst = float(np.max(np.abs(res)))
    converged = worst <= tol
    for path in cal.tuned:  # structural check again at the end point
        why = inactive_reason(sc, path, objects)
        if why and not any(w.startswith(f"{path} has no effect") for w in warnings):
            warnings.append(f"{path} has no effect on the objectives at the end point: {why}")
    for j in sorted(dead):
        if any(w.startswith(f"{cal.tuned[j]} has no effect") for w in warnings):
            continue  # already explained structurally
        warnings.append(
            f"{cal.tuned[j]} has no effect on the objectives: a step of "
            f"{DIFF_STEP:.1e} relative changes no residual ({dead[j]}); it is not determined "
            "by this calibration"
        )
    if not converged:
        for j, path in enumerate(cal.tuned):
            near = 1e-6 * (hi[j] - lo[j]) if np.isfinite(hi[j] - lo[j]) else 0.0
            at = "lower" if x[j] <= lo[j] + near else ("upper" if x[j] >= hi[j] - near else "")
            if at:
                warnings.append(
                    f"{path} = {x[j]:.10g} is on its {at} bound: the target may lie beyond "
                    "tuned_bounds (widen them) or beyond what this parameter can do"
                )
    miss = "; ".join(_miss(objectives, out))
    if converged:
        message = f"converged ({method}, {n_eval[0]} flights): max |residual| = {worst:.2g}"
    else:
        message = (
            f"targets NOT met within tol = {tol:g} after {n_eval[0]} flights ({method}): "
            f"max |residual| = {worst:.3g}; {miss}"
        )
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
    return CalibrationResult(sc, achieved, res, converged, n_eval[0], message, tuple(warnings))


def _bracket_root(fun, lo: float, hi: float) -> tuple[float | None, float, float]:
    """Root of the scalar residual on [lo, hi] by bracketing + Brent.

    Returns (root or None, smallest residual seen, largest residual seen). The ends are tried
    first; without a sign change there, ``SCAN_POINTS`` interior points.
    """
    xs = np.linspace(lo, hi, SCAN_POINTS + 2)
    f = {i: float(fun(np.array([xs[i]]))[0]) for i in (0, len(xs) - 1)}
    if f[0] * f[len(xs) - 1] > 0:
        for i in range(1, len(xs) - 1):
            f[i] = float(fun(np.array([xs[i]]))[0])
    known = sorted(f)
    for a, b in itertools.pairwise(known):
        if f[a] == 0.0:
            return float(xs[a]), min(f.values()), max(f.values())
        if f[a] * f[b] < 0:
            root = brentq(lambda v: float(fun(np.array([v]))[0]), xs[a], xs[b],
                          xtol=1e-12 * max(1.0, abs(xs[b])), rtol=1e-12)  # fmt: skip
            return float(root), min(f.values()), max(f.values())
    return None, min(f.values()), max(f.values())


# ---- checking and writing files -----------------------------------------------------------


class CheckRow(NamedTuple):
    """One checked quantity: ``name``, ``target``, ``achieved``, relative or absolute error,
    ``ok``. ``kind`` is "published" (vs the file's published target and tolerance),
    "objective" (vs a tuning objective, at ``tol``) or "record" (vs the file's achieved_*)."""

    kind: str
    name: str
    target: float | None
    achieved: float
    error: float | None
    ok: bool


def check_scenario(scenario: Scenario, *, tol: float = 1e-4) -> list[CheckRow]:
    """Simulate ``scenario`` and compare it with its ``[calibration]`` table.

    Published targets (``apogee_m``, ``range_m``, ``flight_time_s`` of the RV) within the
    file's ``tolerance`` (relative); each objective within ``tol`` (relative; absolute deg for
    angles, x10); the recorded ``achieved_*`` within 1e-5 relative (a stale record is flagged).
    """
    cal = scenario.calibration
    objectives = [parse_objective(s) for s in cal.objectives]
    spent = any(o.object != "rv" for o in objectives)
    out = flight_outcomes(scenario, spent=spent)
    rv = out["rv"]
    rows = []
    for key in ("apogee_m", "range_m", "flight_time_s"):
        target = getattr(cal, key)
        if target is None:
            rows.append(CheckRow("published", key, None, rv[key], None, True))
            continue
        err = rv[key] / target - 1.0
        rows.append(CheckRow("published", key, target, rv[key], err, abs(err) <= cal.tolerance))
    for o in objectives:
        q = "downrange_m" if o.quantity == "range_m" else o.quantity
        got = out[o.object][q]
        err = got - o.value if o.quantity.endswith("_deg") else got / o.value - 1.0
        ok = abs(err) <= (10 * tol if o.quantity.endswith("_deg") else tol)
        rows.append(CheckRow("objective", f"{o.object}.{o.quantity}", o.value, got, err, ok))
    for key in ("apogee_m", "range_m", "flight_time_s"):
        rec = getattr(cal, f"achieved_{key}")
        if rec is not None:
            err = rv[key] / rec - 1.0
            rows.append(CheckRow("record", f"achieved_{key}", rec, rv[key], err, abs(err) <= 1e-5))
    return rows


def _set_path(doc: Any, path: str, value: float) -> None:
    """Set ``path`` (``a.b[i].c``) in a tomlkit document, creating a missing last key."""
    from trackers.sim.scenario import _parse_path

    steps = _parse_path(path)
    if steps[0][0] == "launch" and steps[-1][0] == "epoch_utc":  # pragma: no cover
        raise ValueError("launch.epoch_utc is not a number")
    node = doc
    for i, (name, idx) in enumerate(steps):
        last = i == len(steps) - 1
        if last and idx is None:
            node[name] = value
            return
        if name not in node:
            raise ValueError(f"parameter path {path!r}: [{name}] is not in the file")
        if last:
            node[name][idx] = value
            return
        node = node[name] if idx is None else node[name][idx]


def updated_toml(text: str, result: CalibrationResult) -> str:
    """The scenario file ``text`` with the tuned values and calibration record of ``result``.

    Edits the document with ``tomlkit``, so comments, key order and layout are kept; the
    result is checked to load back to exactly ``result.scenario`` (``ValueError`` if not).
    """
    import tomlkit

    doc = tomlkit.parse(text)
    sc = result.scenario
    cal = sc.calibration
    for path, value in zip(cal.tuned, cal.tuned_values, strict=True):
        _set_path(doc, path, float(value))
    if "calibration" not in doc:
        doc["calibration"] = tomlkit.table()
    tab = doc["calibration"]
    tab["tuned_values"] = [float(v) for v in cal.tuned_values]
    for key in ("achieved_apogee_m", "achieved_range_m", "achieved_flight_time_s",
                "burnout_speed_mps"):  # fmt: skip
        tab[key] = float(getattr(cal, key))
    new = tomlkit.dumps(doc)
    if loads_scenario(new) != sc:
        raise ValueError("the edited file does not load back to the calibrated scenario")
    return new


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring). Exit 0 converged, 1 targets missed, 2 bad input."""
    ap = argparse.ArgumentParser(
        prog="python -m trackers.sim.calibrate",
        description="Calibrate a scenario's [calibration] tuned parameters to its objectives",
    )
    ap.add_argument("scenario", help="built-in id or path to a TOML file")
    ap.add_argument(
        "--write",
        type=Path,
        metavar="NEW.toml",
        help="write the calibrated file here (comments kept); never overwrites",
    )
    ap.add_argument("--tol", type=float, default=TOL, help=f"max |residual| ({TOL:g})")
    ap.add_argument("--max-evals", type=int, default=200, help="cap on flight simulations")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.write is not None and args.write.exists():
            raise FileExistsError(
                f"--write {args.write}: file exists; existing files are never overwritten "
                "(choose a new name)"
            )
        text = read_scenario_text(args.scenario)
        res = calibrate(
            load_scenario(args.scenario), tol=args.tol, max_evals=args.max_evals,
            verbose=args.verbose,
        )  # fmt: skip
    except (ValueError, TypeError, FileExistsError) as exc:
        print(f"calibrate: error: {exc}", file=sys.stderr)
        return 2
    cal = res.scenario.calibration
    for path, value in zip(cal.tuned, cal.tuned_values, strict=True):
        print(f"{path} = {value!r}")
    objectives = [parse_objective(s) for s in cal.objectives]
    for o in objectives:
        got = res.achieved[f"{o.object}.{o.quantity}"]
        print(f"achieved {o.object}.{o.quantity} = {got:.10g}  (target {o.value:.10g})")
    for key in ("achieved_apogee_m", "achieved_range_m", "achieved_flight_time_s",
                "burnout_speed_mps"):  # fmt: skip
        print(f"{key} = {getattr(cal, key)!r}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not res.converged:
        print(f"calibrate: {res.message}", file=sys.stderr)
        if args.write is not None:
            print(f"calibrate: nothing written to {args.write}", file=sys.stderr)
        return 1
    print(res.message)
    if args.write is not None:
        try:
            new = updated_toml(text, res)
            with open(args.write, "x", encoding="utf-8") as fh:  # "x": never overwrite
                fh.write(new)
        except (ValueError, FileExistsError) as exc:
            print(f"calibrate: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
