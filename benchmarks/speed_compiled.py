"""Speed of the compiled (Numba) backend vs filterpy and the NumPy path, per-run covariances.

Workloads as in benchmarks/speed.py (whose data builders and peers this script imports):

    W1m   CV KF with 5% missed detections (per-run covariances), 3-D position measurements
    W2    ballistic EKF (ECEF, J2, rotation; RK4 + variational Jacobian), radar (r, az, el)
    W4    3-mode IMM of ballistic EKFs (q = 0.01, 1, 100 m^2/s^3) on W2 data
    W4cv  3-mode IMM of CV KFs on W1 data

``trackers.filters.compiled.run_compiled`` filters all N runs in one compiled call (parallel
over blocks of runs); it is timed as the fastest of up to three calls within a 3 s budget
(like ``speed.time_ours``), after one warm-up call on 3 steps (which loads the kernels
from the on-disk cache, or compiles them on a machine's first run). filterpy filters one run
at a time and is timed on one run (``speed.peer_rates``); its rate is used for every N.
``--numpy`` also times the NumPy path (``runner.run(keep="final")``) on the same data.

``--compile-time`` measures the first-call cost without a cache: a child process with an
empty ``NUMBA_CACHE_DIR`` runs each kernel once on a tiny problem (wall and CPU seconds).

Usage:
    python benchmarks/speed_compiled.py [--n 1 1000 10000] [--steps 1000]
        [--workloads W1m W2 W4 W4cv] [--numpy] [--compile-time] [--json PATH]

Prints steps/s, ratios and the peak resident memory (``ru_maxrss``) after each N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed as sp

from trackers.filters.compiled import run_compiled
from trackers.filters.runner import MeasurementStream

#: filterpy peer for each workload (speed.peer_rates rows)
PEER = {"W1m": "W1m", "W2": "W2", "W4": "W4", "W4cv": "W4cv"}
PEER_STEPS = dict(
    fp_kf=500, ss_kf=20, fp_ekf=100, ss_ekf=10, fp_ukf=10, ss_ukf=5, fp_imm=200, fp_imm_ekf=40
)


def data_for(kind: str, n: int, t: int, seed: int) -> np.ndarray:
    """Measurements (n, t, 3) of a workload kind, as built by benchmarks/speed.py."""
    if kind == "bal":
        return sp.ballistic_data(n, t, seed)[1]
    z = sp.cv_data(n, t, seed)[1]
    if kind == "cv-miss":
        miss = np.random.default_rng(seed + 1).random(z.shape[:-1]) < 0.05
        z = np.where(miss[..., None], np.nan, z)
    return z


def time_call(fn, budget_s: float = 3.0) -> float:
    """Seconds of the fastest of up to three calls of fn within ``budget_s``."""
    best, spent = np.inf, 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent + dt > budget_s:
            break
    return best


def compile_time() -> list[dict]:
    """First-call seconds (wall, CPU) of each kernel in a child process with an empty cache."""
    code = """
import json, sys, time
import numpy as np
sys.path[:0] = sys.argv[1:3]
import speed as sp
from trackers.filters.compiled import run_compiled
from trackers.filters.runner import MeasurementStream
out = []
for w in ("W2", "W4"):
    est, sensor, kind = sp.ours_estimators()[w]
    z = sp.ballistic_data(2, 3, 0)[1]
    st = MeasurementStream(np.arange(1.0, 4.0), np.zeros(3, int), z)
    c0, t0 = time.process_time(), time.perf_counter()
    run_compiled(est, sp.prior_for(est, kind, 2), st, [sensor])
    out.append({"kernel": "imm_runs" if w == "W4" else "filter_runs",
                "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0})
print(json.dumps(out))
"""
    paths = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        res = subprocess.run(
            [sys.executable, "-c", code, *paths],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="*", default=[1, 1000, 10000])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--workloads", nargs="*", default=["W1m", "W2", "W4", "W4cv"])
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy path")
    ap.add_argument("--compile-time", action="store_true", help="measure uncached first call")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    for w in a.workloads:
        if w not in PEER:
            raise ValueError(f"--workloads: {w!r} is not one of {sorted(PEER)}")
    results: list[dict] = []
    if a.compile_time:
        for r in compile_time():
            print(f"# compile (empty cache) {r['kernel']}: {r['wall_s']:.1f} s wall, "
                  f"{r['cpu_s']:.1f} s CPU")  # fmt: skip
            results.append({"compile": r})
    malloc = "tuned" if sp.tune_malloc() else "default"
    print(f"# T = {a.steps}, N = {a.n}, allocator {malloc}, load {os.getloadavg()[0]:.1f}")
    peers = {p["workload"]: p["steps_per_s"] for p in sp.peer_rates(PEER_STEPS, a.seed)}
    ests = sp.ours_estimators()
    print(f"{'workload':8} {'N':>6} {'compiled':>10} {'numpy':>10} {'filterpy':>10} "
          f"{'x filterpy':>10} {'x numpy':>8}")  # fmt: skip
    for n in a.n:
        for w in a.workloads:
            est, sensor, kind = ests[w]
            z = data_for(kind, n, a.steps, a.seed)
            T = a.steps
            st = MeasurementStream(sp.DT * np.arange(1, T + 1), np.zeros(T, int), z)
            prior = sp.prior_for(est, kind, n)
            warm = MeasurementStream(st.t[:3], st.sensor[:3], z[:, :3])
            run_compiled(est, prior, warm, [sensor])
            secs = time_call(lambda est=est, prior=prior, st=st, s=sensor: run_compiled(
                est, prior, st, [s]))  # fmt: skip
            rate = n * T / secs
            row = {"workload": w, "N": n, "T": T, "compiled": rate, "filterpy": peers[PEER[w]]}
            if a.numpy:
                row["numpy"] = n * T / sp.time_ours(est, prior, z, sensor)
            results.append(row)
            npy = row.get("numpy")
            print(
                f"{w:8} {n:6d} {rate:10.3g} {npy if npy else float('nan'):10.3g} "
                f"{row['filterpy']:10.3g} {rate / row['filterpy']:10.1f} "
                f"{rate / npy if npy else float('nan'):8.2f}"
            )
            del z, st
        print(f"# N = {n}: peak RSS so far {sp.peak_rss_mib():.0f} MiB, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
