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

The command line runs the study file ``benchmarks/studies/reentry-filters.toml`` through
:mod:`trackers.studies` (its ``variant`` axis cut to ``--variant``, its runs and seed replaced
by ``--runs`` and ``--seed``; ``--workers N`` for a Dask LocalCluster, ``--out DIR`` to keep
the results store, which a later call with the same options resumes) and prints the table
from the study's DataFrame of per-run metrics (run i, filter f, T report epochs):

  pos_rmse_m    1000 sqrt(mean_i pos_rmse_i^2)                  [m]  (the same pooled RMSE)
  anees_pos     mean_i anees_pos_i                              (the same ANEES)
  band          the epoch band as above, chi2(2 N)/(2 N) (the time average of correlated
                epochs is compared with the band of one epoch, as evaluate() does)
  in_band       band[0] <= anees_pos <= band[1]
  frac_in_band  None: the share of epochs in band needs per-epoch NEES, which the per-run
                table does not hold (evaluate() computes it)
  anees_state, nis_ratio   means over runs

Its runs draw from ``numpy.random.SeedSequence`` streams (:mod:`trackers.studies.seeds`), not
from evaluate()'s single generator: the same seed gives other draws than evaluate().

Usage:  python benchmarks/reentry.py --variant ekfukf --runs 100 --seed 1 --json out.json
        python benchmarks/reentry.py --variant all --workers 2 --out studies/reentry
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
STUDY_FILE = Path(__file__).resolve().parent / "studies" / "reentry-filters.toml"


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
    """The benchmark in one process with per-epoch statistics (``frac_in_band``: share of
    epochs whose run-averaged position NEES is in its band); JSON-ready dictionary. The
    command line runs the study instead (module docstring)."""
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


def study_for(variants: list[str], runs: int, seed: int, horizon_s: float | None = None):
    """``studies/reentry-filters.toml`` with its variant axis, runs and seed replaced."""
    from dataclasses import replace

    from trackers.studies import load_study

    study = load_study(STUDY_FILE)
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {bad[0]!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise ValueError(f"runs must be an integer >= 2, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    config = dict(study.config)
    if horizon_s is not None and horizon_s != study.kind_spec.params["horizon_s"].default:
        config["horizon_s"] = float(horizon_s)  # the default stays implicit: same cell keys
    return replace(study, runs=runs, seed=seed, config=config,
                   grid={**study.grid, "variant": list(variants)})  # fmt: skip


def table_from_results(df) -> dict:
    """JSON-ready table per variant and filter from the study's DataFrame (module docstring)."""
    out: dict = {}
    for (variant, name), g in df.groupby(["variant", "filter"], sort=False):
        n = len(g)
        lo, hi = chi2_band(2, n) / 2.0  # 95 % band of the run-averaged NEES / 2
        a = float(g["anees_pos"].mean())  # ANEES = mean_i anees_pos_i
        out.setdefault(variant, {})[name] = {
            "runs": n,
            "pos_rmse_m": float(np.sqrt(np.mean(g["pos_rmse_m"].to_numpy() ** 2))),
            "anees_pos": a,
            "in_band": bool(lo <= a <= hi),
            "frac_in_band": None,
            "band": [float(lo), float(hi)],
            "anees_state": float(g["anees_state"].mean()),
            "nis_ratio": float(g["nis_ratio"].mean()),
        }
    rank = {name: i for i, name in enumerate(FILTERS)}  # EKF, UKF, CKF as before
    return {v: dict(sorted(t.items(), key=lambda kv: rank.get(kv[0], len(rank))))
            for v, t in out.items()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from trackers.studies import load_results, run_study

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", choices=[*sorted(VARIANTS), "all"], default="ekfukf")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=None, help="Dask LocalCluster processes")
    p.add_argument("--out", type=Path, default=None,
                   help="results store folder (default: a temporary one)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the results to this file")
    a = p.parse_args(argv)
    variants = sorted(VARIANTS) if a.variant == "all" else [a.variant]
    study = study_for(variants, a.runs, a.seed, HORIZON)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.out if a.out is not None else Path(tmp) / study.id
        run_study(study, folder, workers=a.workers, progress=False)
        df = load_results(folder)
    keys = {c.key for c in study.cells()}
    table = table_from_results(df[df["cell"].isin(keys) & (df["run"] < a.runs)])
    seconds = time.perf_counter() - t0
    for variant in variants:
        print(f"reentry variant={variant} runs={a.runs} seed={a.seed} "
              f"(study {study.id}, {seconds:.1f} s)")  # fmt: skip
        print(f"{'filter':6s} {'pos RMSE [m]':>13s} {'ANEES pos':>10s} {'in band':>8s} "
              f"{'band':>16s}")  # fmt: skip
        for name, r in table[variant].items():
            lo, hi = r["band"]
            print(f"{name:6s} {r['pos_rmse_m']:13.2f} {r['anees_pos']:10.3f} "
                  f"{'yes' if r['in_band'] else 'no':>8s}   [{lo:.3f}, {hi:.3f}]")  # fmt: skip
    if a.json is not None:
        res = {"variant": a.variant, "runs": a.runs, "seed": a.seed, "study": study.id,
               "seconds": seconds, "filters": table[variants[0]]}  # fmt: skip
        if len(variants) > 1:
            res["variants"] = table
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
