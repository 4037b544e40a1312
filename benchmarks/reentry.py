"""Reentry-vehicle benchmark (docs/references.md §1): EKF, UKF and CKF over seeded Monte Carlo runs.

Variants
--------
ekfukf  EKF/UKF toolbox demo: sigma_range = 1e-3 km, sigma_bearing = 0.17e-3 rad, truth by one
        Euler step per 0.1 s. Published: EKF and UKF position RMSE about 8 m, both consistent.
stress  Julier & Uhlmann's "17 mrad" case: sigma_bearing = 17e-3 rad, truth by two Euler steps
        of 0.05 s per report. Published (qualitative): the EKF is over-confident, the UKF is not.

Truth: x0 ~ N([6500.4, 349.14, -1.8093, -6.7967, 0.6932], diag(1e-6, 1e-6, 1e-6, 1e-6, 0)); each
Euler substep of length h adds N(0, diag(2.4064e-5, 2.4064e-5, 0) h / 0.1) to (x3, x4, x5).
Filters start at [6500.4, 349.14, -1.8093, -6.7967, 0] with P0 = diag(1e-6, 1e-6, 1e-6, 1e-6, 1)
and use Q = diag(0, 0, 2.4064e-5, 2.4064e-5, 1e-6) per 0.1 s with one Euler step per report.
Reports every 0.1 s for 200 s (T = 2000).

Metrics (per filter, over runs i and epochs k):
  pos_rmse_m    1000 sqrt(mean_{i,k} |p_k^i - p_hat_k^i|^2)     [m]  (the toolbox's RMSE)
  anees_pos     mean_k (mean_i NEES_pos) / 2                    (1 if consistent)
  frac_in_band  fraction of epochs whose run-averaged position NEES is inside the two-sided
                95% chi2(2 N)/N band (about 0.95 if consistent)
  band          the epoch band divided by 2, i.e. the acceptance band used for anees_pos

Usage:  python benchmarks/reentry.py --variant ekfukf --runs 100 --seed 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.filters import CKF, EKF, UKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.metrics.consistency import anees, chi2_band, fraction_in_band
from trackers.models.reentry import ReentryMotion, ReentryRadar

VARIANTS = {
    "ekfukf": {"sigma_bearing": 0.17e-3, "truth_substeps": 1},
    "stress": {"sigma_bearing": 17e-3, "truth_substeps": 2},
}
DT = 0.1
HORIZON = 200.0
TRUE_M0 = np.array([6500.4, 349.14, -1.8093, -6.7967, 0.6932])
TRUE_P0 = np.diag([1e-6, 1e-6, 1e-6, 1e-6, 0.0])
TRUE_QC = np.array([2.4064e-5, 2.4064e-5, 0.0]) / 0.1  # PSD of (v1, v2, v3)
M0 = np.array([6500.4, 349.14, -1.8093, -6.7967, 0.0])
P0 = np.diag([1e-6, 1e-6, 1e-6, 1e-6, 1.0])
FILTERS = {"EKF": EKF(), "UKF": UKF(), "CKF": CKF()}


def simulate(variant: str, runs: int, rng: np.random.Generator):
    """Truth (runs, T, 5) and measurements (runs, T, 2) at t = 0.1, 0.2, ..., 200 s."""
    cfg = VARIANTS[variant]
    T = round(HORIZON / DT)
    sub = cfg["truth_substeps"]
    h = DT / sub
    truth_model = ReentryMotion(substeps=1)
    radar = ReentryRadar(sigma_bearing=cfg["sigma_bearing"])
    x = TRUE_M0 + rng.standard_normal((runs, 5)) * np.sqrt(np.diag(TRUE_P0))
    X = np.empty((runs, T, 5))
    for k in range(T):
        for _ in range(sub):
            x = truth_model.propagate(x, h)
            x[:, 2:] += rng.standard_normal((runs, 3)) * np.sqrt(h * TRUE_QC)
        X[:, k] = x
    Z = radar.measure(X) + rng.standard_normal((runs, T, 2)) * np.sqrt(np.diag(radar.noise_cov()))
    return DT * np.arange(1, T + 1), X, Z, radar


def evaluate(variant: str, runs: int = 100, seed: int = 1, names=tuple(FILTERS)) -> dict:
    """Run the benchmark and return the JSON-ready result dictionary."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    if runs < 2:
        raise ValueError(f"runs must be >= 2, got {runs}")
    rng = np.random.default_rng(seed)
    t, X, Z, radar = simulate(variant, runs, rng)
    stream = MeasurementStream(t, np.zeros(t.size, dtype=int), Z)
    model = ReentryMotion()
    band = chi2_band(2, runs) / 2.0
    out = {"variant": variant, "runs": runs, "seed": seed, "filters": {}}
    for name in names:
        t0 = time.perf_counter()
        res = run(
            Filter(FILTERS[name], model),
            Gaussian(M0, P0),
            stream,
            [radar],
            keep="final",
            truth=X,
            nees_groups={"pos": (0, 1), "state": tuple(range(5))},
        )
        s = res.stats
        mse_pos = float(np.mean(s.epoch_sq_err[:, :2].sum(axis=1)))
        out["filters"][name] = {
            "pos_rmse_m": 1000.0 * float(np.sqrt(mse_pos)),
            "anees_pos": anees(s.epoch_nees["pos"], 2),
            "frac_in_band": fraction_in_band(s.epoch_nees["pos"], 2, runs),
            "band": [float(band[0]), float(band[1])],
            "anees_state": anees(s.epoch_nees["state"], 5),
            "frac_nis_in_band": fraction_in_band(s.epoch_nis, 2, s.epoch_nis_count),
            "seconds": time.perf_counter() - t0,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", choices=sorted(VARIANTS), default="ekfukf")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="write the results to this file")
    a = p.parse_args(argv)
    res = evaluate(a.variant, a.runs, a.seed)
    print(f"reentry variant={a.variant} runs={a.runs} seed={a.seed}")
    print(f"{'filter':6s} {'pos RMSE [m]':>13s} {'ANEES pos':>10s} {'in band':>8s} {'band':>16s}")
    for name, r in res["filters"].items():
        lo, hi = r["band"]
        print(
            f"{name:6s} {r['pos_rmse_m']:13.2f} {r['anees_pos']:10.3f} {r['frac_in_band']:8.3f}"
            f"   [{lo:.3f}, {hi:.3f}]"
        )
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
