"""2-D impact NEES of a tracker's rv track per time-to-go, against the chi-square band.

Question (issue: impact prediction): is the 2-D impact error of the separation-aware tracker
consistent, i.e. is the run-averaged NEES inside its 95 % band, at each time-to-go in
midcourse?

Workload: ``--runs`` radar-noise draws of ``--scenario`` (default hokkaido-2023; one flight,
:func:`trackers.alert_study.simulate_reports`), tracked by the ``--preset`` tracker with
snapshots on a 10 s grid plus the times t_imp - ttg for each ``--ttg`` (t_imp the true rv
impact time). The confirmed track on the rv is the one the scoring assigns to it at that epoch
by the optimal assignment (:func:`trackers.metrics.tracking.evaluate`,
``keep_correspondence=False``: CLEAR MOT persistence with the 20 km cut-off can keep the rv
matched to a track that drifted onto stage 3, a few hundred metres away); the
tracker itself never sees the truth. Its belief N(x, P) is flown to the ground with the
tracker's drag-free ballistic model (:func:`trackers.impact.predict.predict_impact`,
``--method``), and compared with the true rv impact point in the tangent plane of the
prediction: NEES = e' C^-1 e (2 dof, :mod:`trackers.impact.consistency`), averaged over the runs
with an rv track, against chi2.ppf([0.025, 0.975], 2 R) / R.

The runs are drawn in blocks of ``--chunk`` (block i with seed ``--seed`` + i, its own radar
noise): a block whose tracking raises (e.g. non-finite IMM mode probabilities) is reported
under ``failed_blocks`` and left out of the averages instead of losing the whole study.

Also reported per time-to-go: the runs with an rv track, the RMS ground error [km], the RMS of
the predicted 1-sigma ellipse (sqrt(trace C / 2)) [km], the mean error vector (east, north)
[km] (a bias the covariance cannot cover shows up there), and the NEES with the mean error
removed (what remains if the bias were modelled), and the share of runs whose NEES exceeds
chi2_2 99 % (9.21: outliers such as a track on the wrong object).

Usage::

    .venv/bin/python benchmarks/impact_nees.py --runs 100 --json FILE

``FILE`` must not exist (it is never overwritten).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

from trackers.alert_study import simulate_reports
from trackers.filters.gaussian import Gaussian
from trackers.impact.consistency import ground_error, impact_nees, summarise_nees
from trackers.impact.predict import predict_impact
from trackers.metrics.consistency import nees
from trackers.metrics.tracking import ScoreConfig, evaluate
from trackers.models import Ballistic
from trackers.tracking import ScanSequence, preset, track

DEFAULT_TTG = (1500.0, 1200.0, 900.0, 600.0, 300.0, 120.0, 60.0)
CHI2_2_99 = float(chi2.ppf(0.99, 2))  # 9.21: a single 2-D NEES beyond it is a 1 % outlier


def _chunk(
    runs: int, seed: int, scenario: str, tracker: str, ttg: NDArray, method: str, grid_s: float
) -> tuple[NDArray, NDArray, NDArray, NDArray, float, float]:
    """One seeded block of runs: (NEES (R, T), error (R, T, 2) [m], ground cov (R, T, 2, 2),
    sigma (R, T) [m], true impact time [s], tracking wall time [s])."""
    w0 = time.perf_counter()
    _sc, flight, radars, det = simulate_reports(scenario, runs, seed)
    rv_i = next(i for i, o in enumerate(flight.objects) if o.role == "rv")
    rv = flight.objects[rv_i]
    t_imp = float(rv.t[-1])
    lat_t, lon_t = float(rv.lat[-1]), float(rv.lon[-1])
    t_dec = t_imp - ttg
    epochs = np.union1d(np.arange(grid_s, t_imp, grid_s), t_dec)
    scans = ScanSequence.from_detections(det, radars)
    res = track(scans, radars, preset(tracker), epochs=epochs)
    t_track = time.perf_counter() - w0
    ev = evaluate(res.log, flight, det, ScoreConfig(keep_correspondence=False))
    cols = np.searchsorted(res.log.epochs, t_dec)
    rows = ev.assignment.row[:, cols, rv_i]  # (runs, T) log row of the rv track, -1 none
    have = rows >= 0
    log = res.log
    r = rows[have]
    model = Ballistic()  # the tracker's ballistic model: J2, rotation, no drag
    values = np.full(rows.shape, np.nan)
    err = np.full(rows.shape + (2,), np.nan)
    cov = np.full(rows.shape + (2, 2), np.nan)
    if r.size:
        pred = predict_impact(Gaussian(log.x[r], log.P[r]), model, log.t[r], method=method)
        values[have] = impact_nees(pred, lat_t, lon_t, model.earth)
        err[have] = ground_error(pred, lat_t, lon_t, model.earth)
        cov[have] = pred.cov_ground
    sig = np.sqrt(0.5 * np.trace(cov, axis1=-2, axis2=-1))  # rms 1-sigma of the ellipse
    return values, err, cov, sig, t_imp, t_track


def study(
    runs: int,
    seed: int = 0,
    scenario: str = "hokkaido-2023",
    tracker: str = "separation-aware",
    ttg: tuple[float, ...] = DEFAULT_TTG,
    method: str = "linear",
    grid_s: float = 10.0,
    chunk: int = 25,
) -> dict:
    """Run the study (module docstring) in blocks of ``chunk`` runs, block i drawn with seed
    ``seed + i``; a block whose tracking fails is reported and left out. JSON-ready table."""
    w0 = time.perf_counter()
    ttg_a = np.asarray(ttg, float)
    parts, failed, t_track, t_imp = [], [], 0.0, float("nan")
    for i, lo in enumerate(range(0, runs, chunk)):
        n = min(chunk, runs - lo)
        try:
            *arrays, t_imp, tt = _chunk(n, seed + i, scenario, tracker, ttg_a, method, grid_s)
        except (ValueError, FloatingPointError) as exc:  # a tracker failure: report it
            failed.append({"seed": seed + i, "runs": n, "error": f"{type(exc).__name__}: {exc}"})
            print(f"block seed {seed + i} ({n} runs) failed: {exc}", file=sys.stderr)
            continue
        parts.append(arrays)
        t_track += tt
    if not parts:
        raise RuntimeError(f"every block failed: {failed}")
    values, err, cov, sig = (np.concatenate(a) for a in zip(*parts, strict=True))
    summ = summarise_nees(values)
    # NEES with the run-mean error removed per time-to-go (bias part vs spread part)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no rv track)
        mean_err = np.nanmean(err, axis=0)  # (T, 2)
    unbiased = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    if ok.any():
        unbiased[ok] = nees((err - mean_err[None])[ok], cov[ok])
    summ_u = summarise_nees(unbiased)
    table = []
    for j, tg in enumerate(ttg_a):
        e_j = err[:, j][np.isfinite(err[:, j, 0])]
        s_j = sig[:, j][np.isfinite(sig[:, j])]
        table.append(
            {
                "time_to_go_s": float(tg),
                "t_s": float(t_imp - tg),
                "runs_with_rv_track": int(summ.n_runs[j]),
                "nees_mean": _f(summ.mean[j]),
                "band": [_f(b) for b in summ.band[j]],
                "inside": bool(summ.inside[j]),
                "side": int(summ.side[j]),
                "rms_error_km": _f(np.sqrt(np.mean(np.sum(e_j**2, -1))) / 1e3)
                if e_j.size
                else None,
                "rms_sigma_km": _f(np.sqrt(np.mean(s_j**2)) / 1e3) if s_j.size else None,
                "mean_error_en_km": [_f(x / 1e3) for x in mean_err[j]],
                "nees_mean_bias_removed": _f(summ_u.mean[j]),
                "median_nees": _f(np.nanmedian(values[:, j])) if summ.n_runs[j] else None,
                "share_nees_above_chi2_99": _f(np.mean(values[:, j][ok[:, j]] > CHI2_2_99))
                if summ.n_runs[j]
                else None,
            }
        )
    return {
        "scenario": scenario,
        "tracker": tracker,
        "method": method,
        "runs": runs,
        "runs_scored": int(values.shape[0]),
        "seed": seed,
        "chunk": chunk,
        "failed_blocks": failed,
        "true_impact_time_s": t_imp,
        "tracking_wall_s": round(t_track, 1),
        "wall_s": round(time.perf_counter() - w0, 1),
        "table": table,
    }


def _f(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario", default="hokkaido-2023")
    ap.add_argument("--preset", default="separation-aware")
    ap.add_argument("--ttg", type=float, nargs="+", default=list(DEFAULT_TTG))
    ap.add_argument("--method", choices=["linear", "unscented"], default="linear")
    ap.add_argument("--chunk", type=int, default=25, help="runs per seeded block (seed + i)")
    ap.add_argument("--json", type=Path, default=None, help="write the table here (must not exist)")
    args = ap.parse_args(argv)
    if args.json is not None and args.json.exists():
        print(f"refusing to overwrite {args.json}", file=sys.stderr)
        return 2
    if args.runs < 1 or any(t <= 0 for t in args.ttg):
        ap.error("--runs must be >= 1 and every --ttg > 0")
    out = study(
        args.runs, args.seed, args.scenario, args.preset, tuple(args.ttg), args.method,
        chunk=args.chunk,
    )  # fmt: skip
    print(
        f"{out['scenario']}, {out['tracker']} tracker, {out['method']} prediction, "
        f"{out['runs_scored']} of {out['runs']} runs scored (blocks of {out['chunk']}, seeds "
        f"{out['seed']}+; tracking {out['tracking_wall_s']} s, total {out['wall_s']} s)"
    )
    for f in out["failed_blocks"]:
        print(f"  FAILED block seed {f['seed']} ({f['runs']} runs): {f['error']}")
    print(
        f"{'ttg[s]':>7} {'runs':>5} {'NEES':>8} {'band 95%':>15} {'in':>3} {'rms err km':>10} "
        f"{'rms sig km':>10} {'bias E,N km':>16} {'NEES-bias':>9} {'>chi2_99':>8}"
    )
    for row in out["table"]:
        band = row["band"]
        bias = row["mean_error_en_km"]
        print(
            f"{row['time_to_go_s']:7.0f} {row['runs_with_rv_track']:5d} "
            f"{_s(row['nees_mean']):>8} "
            f"{'[' + _s(band[0]) + ', ' + _s(band[1]) + ']':>15} "
            f"{'yes' if row['inside'] else 'NO':>3} {_s(row['rms_error_km']):>10} "
            f"{_s(row['rms_sigma_km']):>10} {_s(bias[0]) + ',' + _s(bias[1]):>16} "
            f"{_s(row['nees_mean_bias_removed']):>9} {_s(row['share_nees_above_chi2_99']):>8}"
        )
    if args.json is not None:
        meta = {"python": platform.python_version(), "numpy": np.__version__}
        args.json.write_text(json.dumps({"meta": meta, **out}, indent=2) + "\n")
    return 0


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


if __name__ == "__main__":
    raise SystemExit(main())
