"""State NEES of a single ballistic EKF on the reentry vehicle's own reports, per process noise q.

Question (issue: impact prediction): the separation-aware tracker's rv tracks, and their impact
ellipses, have a NEES far below the chi-square band (benchmarks/impact_nees.py). Is it the
multi-object tracker, or the filter's process noise against a truth that has none?

Workload: ``--runs`` radar-noise draws of hokkaido-2023 (:func:`trackers.alert_study.
simulate_reports`); only the reports whose truth tag is exactly ``"rv"`` (resolved, no clutter,
no merged reports) measured after ``--t0``, so association plays no part. One
``Filter(EKF(), Ballistic(q=q))`` per q in ``--q`` (J2, rotation, no drag: the simulated rv
flies this very model above the atmosphere), prior N(x_true(t0) + e0, P0) with
e0 ~ N(0, P0), P0 = diag(200 m, 5 m/s)^2, run by :func:`trackers.filters.run` over all runs at
once. Printed: the run-averaged 6-D NEES (and its position / velocity parts) at each time-to-go
in ``--ttg`` (mean over the 20 reports up to that time), with the 95 % band of the 6-D mean.

Expected: a filter whose Q is larger than the truth's keeps P = K R in steady state while its
actual error variance is K R / (2 - K) (scalar random walk with gain K; the sensitivity
analysis of A. Gelb (ed.), *Applied Optimal Estimation*, MIT Press 1974, ch. 7), so the NEES
settles near n / 2 = 3 for any q that reaches the steady state, and reaches n = 6 only when q is
so small that it does not.

Usage::

    python benchmarks/rv_ekf_nees.py [--runs 64] [--q 1 1e-2 1e-4 1e-6 1e-8 1e-10] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import chi2

from trackers.alert_study import simulate_reports
from trackers.filters import EKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.models import Ballistic


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=64)
    p.add_argument("--q", type=float, nargs="+", default=[1.0, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10])
    p.add_argument("--ttg", type=float, nargs="+", default=[900.0, 600.0, 300.0, 120.0, 60.0])
    p.add_argument("--t0", type=float, default=300.0, help="filter start [s after launch]")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    w0 = time.perf_counter()
    _sc, flight, radars, det = simulate_reports("hokkaido-2023", a.runs, a.seed)
    rv = flight.object("rv")
    t_imp = float(rv.t[-1])
    d = det.select((det.origin == "rv") & (det.t_meas > a.t0))
    # one stream slot per (time, sensor); runs without a report there hold NaN (a miss)
    key = np.stack([d.t_meas, d.sensor_index.astype(float)], 1)
    slots, inv = np.unique(key, axis=0, return_inverse=True)
    z = np.full((a.runs, len(slots), 4), np.nan)
    z[d.run, inv.ravel()] = d.z
    stream = MeasurementStream(slots[:, 0], slots[:, 1].astype(int), z)
    by_id = {r.id: r for r in radars}
    sensors = [by_id[s].measurement_model() for s in det.sensors]
    truth = np.broadcast_to(rv.state_at(stream.t), (a.runs, len(slots), 6))
    P0 = np.diag([200.0**2] * 3 + [5.0**2] * 3)
    rng = np.random.default_rng(a.seed + 1)
    mean0 = rv.state_at(a.t0) + rng.multivariate_normal(np.zeros(6), P0, size=a.runs)
    lo, hi = chi2.ppf([0.025, 0.975], 6 * a.runs) / a.runs
    print(f"hokkaido-2023, {a.runs} runs, rv-only reports after {a.t0:.0f} s "
          f"({len(slots)} slots); 6-D NEES band [{lo:.2f}, {hi:.2f}]")  # fmt: skip
    print("q [m^2/s^3]  " + "  ".join(f"ttg {t:4.0f} s: all / pos / vel" for t in a.ttg))
    for q in a.q:
        est = Filter(EKF(), Ballistic(q=q, max_step=10.0))
        prior = Gaussian(mean0, np.broadcast_to(P0, (a.runs, 6, 6)).copy())
        groups = {"pos": [0, 1, 2], "vel": [3, 4, 5], "all": list(range(6))}
        res = run(est, prior, stream, sensors, t0=a.t0, keep="all", truth=truth,
                  nees_groups=groups)  # fmt: skip
        ne = res.stats.epoch_nees
        cells = []
        for ttg in a.ttg:
            k = int(np.searchsorted(stream.t, t_imp - ttg))
            sl = slice(max(k - 19, 0), k + 1)
            cells.append(" / ".join(f"{np.mean(ne[g][sl]):4.2f}" for g in ("all", "pos", "vel")))
        print(f"{q:11.0e}  " + "  ".join(f"{c:>30}" for c in cells), flush=True)
    print(f"wall {time.perf_counter() - w0:.0f} s")


if __name__ == "__main__":
    main()
