"""Speed of the compiled (Numba) backend vs filterpy, Stone Soup and the NumPy path.

Workloads as in benchmarks/speed.py (whose data builders and peers this script imports),
all with per-run covariances:

    W1m   CV KF with 5% missed detections, 3-D position measurements
    W2    ballistic EKF (ECEF, J2, rotation; RK4 + variational Jacobian), radar (r, az, el)
    W3    UKF (Merwe alpha 1, beta 2, kappa 0) on W2 data (W3c: the CKF on the same data)
    W4    3-mode IMM of ballistic EKFs (q = 0.01, 1, 100 m^2/s^3) on W2 data
    W4cv  3-mode IMM of CV KFs on W1 data
    W5    reentry EKF with drag, 7 states (ECEF position, velocity, ln beta; J2, rotation,
          US76), radar with range rate (r, az, el, rr) at 20 Hz: a 50 s reentry from 75 km,
          6.5 km/s, 10 deg below the horizon (down to ~16 km), beta ~ 1.5e4 kg/m^2 (ln beta
          per run drawn from the prior), truth by our RK4 (noise-free), as W2

``runner.run(..., keep="final", backend="numba")`` (= ``compiled.run_compiled``) filters
all N runs in one compiled call (parallel over blocks of 64 runs); it is timed as the
fastest of up to three calls within a 3 s budget (like ``speed.time_ours``), after one
warm-up call on 3 steps (which loads the kernels from the on-disk cache, or compiles them
on a machine's first run). filterpy and Stone Soup filter one run at a time and are timed
on one run in the same process (``speed.peer_rates``); their rate is used for every N.
W1m uses the W1 peer rates (the peers do not skip work on a miss). The W5 peer is built like
the W2 one (``filterpy_imm.run_ekf``: filterpy's EKF driven by our 7-state model's
``propagate_with_jacobian`` and the radar's ``measure_with_jacobian``, timed on one run here,
:func:`w5_peer_rates`); it has no Stone Soup peer (the adapter's radar model has no range rate).

The machine is shared: every row records ``os.getloadavg()`` (1 min) and, next to the
wall-clock rate, the CPU rate (steps per CPU-second of this process, all threads; peers:
steps per CPU-second, one thread). ``x fp (cpu)`` = our CPU rate times the threads used /
filterpy's CPU rate: what the same-process ratio would be on an idle machine with those
threads (an estimate: it ignores contention for caches and memory bandwidth).

``--compile-time`` measures the first-call cost without a cache: a child process with an
empty ``NUMBA_CACHE_DIR`` calls each kernel once on a tiny problem (wall and CPU seconds).
``--memory`` runs N = 10^4 x T = 10^3 of the given workloads in a child process each and
prints its peak resident memory (``ru_maxrss``, data included).

Usage:
    python benchmarks/speed_compiled.py [--n 1 1000 10000] [--steps 1000] [--steps-big 100]
        [--workloads W1m W2 W3 W4 W5] [--numpy] [--compile-time] [--memory W1m ...]
        [--json PATH]

``--steps-big``: T for N >= 10^4 (the rate per step does not depend on T once the kernels
are loaded; 10^4 x 10^3 steps of W4 take minutes).

Measured 2026-12-04 on the shared 2-core machine (other helpers' jobs running; the load is
the 1-min load average next to each number). ``python benchmarks/speed_compiled.py --n 1
1000 10000 --steps 1000 --steps-big 100`` at 23:29 UTC, load 1.2-1.8 (the lowest of the
session); same-process peers (wall steps/s): filterpy KF 2.2e4, EKF 1.6e3, UKF 3.5e2,
IMM-EKF 4.9e2; Stone Soup KF 1.3e3, EKF 6.6e2, UKF 4.4e2. Wall-clock steps/s and
same-process ratios to filterpy (fp) and Stone Soup (ss), targets at N >= 1000 in brackets:

    workload  N = 1           N = 1000                        N = 10^4 (T = 100)
    W1m       1.7e5   8x fp   3.3e6  151x fp  2510x ss (150x)   3.4e6  156x fp  2586x ss
    W2        5.0e4  31x fp   6.3e5  389x fp   963x ss (250x)   4.7e5  287x fp   712x ss
    W3        4.4e4 126x fp   2.3e5  665x fp   525x ss (300x)   1.9e5  554x fp   438x ss
    W4        1.8e4  37x fp   1.9e5  389x fp           (300x)   1.4e5  287x fp

The CPU-time estimate ``x fp (cpu)`` (module docstring above) was 191x, 463x, 1106x, 562x
at N = 1000 and 261x, 572x, 1090x, 575x at N = 10^4: in several rows the two threads got
about one core (CPU rate = wall rate), e.g. W4 at N = 10^4. The same command at 23:17 UTC
(load 1.8-1.9 at N <= 1000, 1.9-3.1 at N = 10^4) gave at N = 1000 6.0e6, 9.1e5, 3.1e5,
2.3e5 steps/s = 259x, 505x, 735x, 435x filterpy (whose rates were 2.3e4, 1.8e3, 4.2e2,
5.2e2 then) and at N = 10^4 225x, 267x, 448x, 163x (W4 at load 3.1). Under load 4-8
(23:02 UTC) the same-process ratios at N = 1000 fell to 123x, 164x, 249x, 166x while the CPU
estimates stayed at 255x, 533x, 793x, 535x: a two-thread kernel loses more to other
processes than the one-thread peer (each parallel region waits for its slowest thread), so
quote these numbers with their load.

Against the NumPy path (``--n 1000 --steps 200 --numpy``, 23:28 UTC, load 2.8-3.0, the
compiled calls got ~1 core): W1m 3.0x, W2 1.33x, W3 1.64x, W4 1.46x (NumPy 7.7e5, 3.3e5,
1.1e5, 9.8e4 steps/s; at load 5.4, 23:08 UTC, W3 was 0.94x: no faster than NumPy). Per
core the compiled ballistic kernels (one run after the other, scalar code) are only
1.3-1.6x the NumPy path, which already vectorises across runs; most of their gain comes
from the second core. Holding the runs side by side (as the linear KF kernel does, SIMD
across runs) is the next step for W2-W4.

W5 and drag (2026-12-05; the ballistic kernels now hold the drag model, the drag-free
stages are a separate copy of the RK4 loop, and the EKF covariance products compute one
triangle): ``python benchmarks/speed_compiled.py --n 1 1000 10000 --steps 1000
--steps-big 100 --workloads W2 W4 W5`` at 01:18 and 01:23 UTC, load 4.7-6.9 (other helpers'
jobs; the two-thread kernel got ~1-1.5 cores). Same-process filterpy peers (wall steps/s):
EKF 1.33e3 / 1.24e3, IMM-EKF 422 / 326, W5 EKF 357 / 355 (494 / 531 per CPU-s: the drag
model's NumPy propagation of one run costs ~3.5x W2's). Wall-clock steps/s and ratio to
filterpy (first run / second run):

    workload  N = 1                 N = 1000                     N = 10^4 (T = 100)
    W2        5.1e4 / 3.4e4  38/27x   5.1e5 / 3.0e5  383/243x    5.0e5 / 3.3e5  375/267x
    W4        1.2e4 / 1.2e4  28/36x   9.3e4 / 8.6e4  221/262x    1.5e5 / 9.8e4  363/302x
    W5        3.3e4 / 2.2e4  91/61x   1.9e5 / 1.7e5  537/467x    1.7e5 / 1.7e5  462/468x

The CPU rates were steady across both runs: W2 5.0-5.1e5, W4 1.5e5, W5 2.4-2.5e5 steps per
CPU-second (``x fp (cpu)`` 590, 604-614, 945-1003 at N >= 1000). W5 has no target of its
own; it is above W2's (250x) at N >= 1000 under this load. W4 at N = 10^4: 302-363x, but
on a loaded machine (its filterpy peer fell to 326-422 steps/s from 490-520); per CPU-second
W4 gained ~2% (an A/B of the kernels before and after these changes in one process, N =
1000, T = 200: W4 1.33-1.34e5 -> 1.35-1.37e5 steps/CPU-s, W2 4.5e5 -> 4.7-4.9e5).
Against the NumPy path (``--n 1000 --steps 200 --numpy --workloads W2 W4 W5``, 01:21 UTC,
load 5.5): W5 1.28x (NumPy 7.4e4 steps/s; the compiled CPU rate, 2.4e5, is 3.3x that), W2
2.42x, W4 1.06x (the compiled calls got ~1 core).

Compile time (``--compile-time``, empty NUMBA_CACHE_DIR, 2026-12-05 01:19 UTC, load
6.2 -> 5.7, with the drag model): kf_soa_runs 31.5 s CPU (44.9 s wall), filter_runs 23.8
(31.1), sigma_runs 18.4 (20.3), imm_runs 25.5 (29.7): ~99 s CPU, ~2.1 min wall. Before it
(22:57 UTC, load 13.7 -> 5.3):
kf_soa_runs 34.6 s CPU (61.8 s wall), filter_runs 25.0 (34.2), sigma_runs 18.4 (37.2),
imm_runs 32.1 (44.4): ~110 s CPU, ~3 min wall for all four, once per machine (helpers
shared by several kernels are compiled with the first that uses them). With the cache filled,
the first call in a process takes ~1 s (numba start-up), each further kernel ~0.1 s
(23:18 UTC, load 6.9).

Memory (``--memory W1m W2`` at 23:06 UTC, load 7.5-8.4; ``--memory W4 W3`` at 23:19-23:25
UTC, load 8.8-9.2), N = 10^4 x T = 10^3 in a child process: peak RSS W1m 548 MiB (all of it
building the data; z alone is 229 MiB), W2 438 MiB, W3 434 MiB, W4 477 MiB (313-322 MiB
after building the ballistic data), filtered in 9.5 s, 43 s, 101 s and 163 s under that
load (target: 4 GiB).
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

from trackers.baselines import filterpy_imm as fp
from trackers.earth import enu_rotation, geodetic_to_ecef
from trackers.filters import CKF, EKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.models import Ballistic, RadarMeasurement

#: (filterpy, Stone Soup) peer rows of speed.peer_rates for each workload
PEER = {
    "W1m": ("W1m", "W1m"),
    "W2": ("W2", "W2"),
    "W3": ("W3", "W3"),
    "W3c": ("W3", "W3"),
    "W4": ("W4", None),
    "W4cv": ("W4cv", None),
    "W5": ("W5", None),
}
PEER_STEPS = dict(
    fp_kf=500, ss_kf=20, fp_ekf=100, ss_ekf=10, fp_ukf=20, ss_ukf=5, fp_imm=200, fp_imm_ekf=40
)
THREADS = 2  # numba's default on the 2-core machine; set_num_threads caps it at the blocks

#: W5: report interval [s], radar with range rate (the W2 site), ln beta prior (mean, sd)
DT_REENTRY = 0.05
RADAR_RR = RadarMeasurement.from_degrees(
    38.1, 138.4, 0.0, sigma_range=20.0, sigma_azimuth=5e-4, sigma_elevation=5e-4,
    sigma_range_rate=2.0,
)  # fmt: skip
LN_BETA = (float(np.log(1.5e4)), 0.5)
P0_REENTRY = np.diag([500.0**2] * 3 + [20.0**2] * 3 + [LN_BETA[1] ** 2])


def xbar_reentry() -> np.ndarray:
    """W5 mean initial state (7,): 75 km over 39 N 137 E, 6.5 km/s heading 150 deg, 10 deg
    below the horizon, ln beta = ln 1.5e4 kg/m^2."""
    lat, lon = np.radians(39.0), np.radians(137.0)
    g, az = np.radians(10.0), np.radians(150.0)
    v = 6500.0 * np.array([np.cos(g) * np.sin(az), np.cos(g) * np.cos(az), -np.sin(g)])
    return np.r_[geodetic_to_ecef(lat, lon, 75e3), enu_rotation(lat, lon).T @ v, LN_BETA[0]]


def reentry_model() -> Ballistic:
    """W5 filter model: Ballistic with the ln beta state (US76, J2, rotation)."""
    return Ballistic(drag_state=True, q=sp.Q_BAL)


def reentry_data(n: int, t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial truths (n, 7) drawn from the W5 prior and radar reports (n, t, 4) every
    ``DT_REENTRY`` s (truth by our RK4, noise-free), as ``speed.ballistic_data``."""
    rng = np.random.default_rng(seed)
    model = reentry_model()
    x = xbar_reentry() + rng.normal(size=(n, 7)) * np.sqrt(np.diag(P0_REENTRY))
    x0 = x.copy()
    sd = np.sqrt(np.diag(RADAR_RR.noise_cov()))
    z = np.empty((n, t, 4))
    for k in range(t):
        x = model.propagate(x, DT_REENTRY, k * DT_REENTRY)
        z[:, k] = RADAR_RR.measure(x) + rng.normal(size=(n, 4)) * sd
    return x0, z


def estimators() -> dict:
    """speed.ours_estimators plus W3c (the CKF on the W3 data)."""
    ests = sp.ours_estimators()
    est, sensor, kind = ests["W3"]
    ests["W3c"] = (Filter(CKF(), est.model), sensor, kind)
    ests["W5"] = (Filter(EKF(), reentry_model()), RADAR_RR, "reentry")
    return ests


def dt_for(kind: str) -> float:
    """Report interval [s] of a workload kind."""
    return DT_REENTRY if kind == "reentry" else sp.DT


def prior_for(est, kind: str, n: int):
    """``speed.prior_for``, plus the W5 prior (xbar_reentry, P0_REENTRY) for every run."""
    if kind != "reentry":
        return sp.prior_for(est, kind, n)
    return Gaussian(
        np.broadcast_to(xbar_reentry(), (n, 7)).copy(),
        np.broadcast_to(P0_REENTRY, (n, 7, 7)).copy(),
    )


def data_for(kind: str, n: int, t: int, seed: int) -> np.ndarray:
    """Measurements (n, t, m) of a workload kind, as built by benchmarks/speed.py."""
    if kind == "reentry":
        return reentry_data(n, t, seed)[1]
    if kind == "bal":
        return sp.ballistic_data(n, t, seed)[1]
    z = sp.cv_data(n, t, seed)[1]
    if kind == "cv-miss":
        miss = np.random.default_rng(seed + 1).random(z.shape[:-1]) < 0.05
        z = np.where(miss[..., None], np.nan, z)
    return z


def time_call(fn, budget_s: float = 3.0) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest (wall) of up to three calls within ``budget_s``."""
    best, spent = (np.inf, np.inf), 0.0
    for _ in range(3):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, (dt, dc))
        spent += dt
        if spent + dt > budget_s:
            break
    return best


def peer_rates_cpu(seed: int) -> dict[tuple[str, str], tuple[float, float]]:
    """{(workload, method): (wall rate, CPU rate)} of the one-run peers, same process.

    speed.peer_rates with its timer ``speed.rate`` swapped for one that also reads the
    process CPU clock (best of two calls each).
    """
    cpu: dict[int, float] = {}

    def rate(fn, steps, repeat=2):
        best = (np.inf, np.inf)
        for _ in range(repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
        r = steps / best[0]
        cpu[len(cpu)] = steps / max(best[1], 1e-9)
        return r

    real, sp.rate = sp.rate, rate
    try:
        rows = sp.peer_rates(PEER_STEPS, seed)
    finally:
        sp.rate = real
    out = {}
    cpus = list(cpu.values())  # one per timed peer, in the order of the rows
    for r in rows:
        key = (r["workload"], r["method"])
        if r["workload"] == "W1m":  # appended copies of the W1 rows
            out[key] = out[("W1", r["method"])]
        else:
            out[key] = (r["steps_per_s"], cpus.pop(0))
    return out


def w5_peer_rates(steps: int, seed: int) -> dict[tuple[str, str], tuple[float, float]]:
    """{("W5", "filterpy"): (wall rate, CPU rate)}: filterpy's EKF on one W5 run (best of two
    calls), built as speed.peer_rates builds the W2 peer (Q at the mean state, fixed)."""
    z = reentry_data(1, steps, seed)[1][0]
    model, xb = reentry_model(), xbar_reentry()
    q = model.process_noise(xb, DT_REENTRY)
    best = (np.inf, np.inf)
    for _ in range(2):
        c0, t0 = time.process_time(), time.perf_counter()
        fp.run_ekf(model, RADAR_RR, q, xb, P0_REENTRY, z, DT_REENTRY)
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return {("W5", "filterpy"): (steps / best[0], steps / max(best[1], 1e-9))}


_CHILD_COMPILE = """
import json, sys, time
import numpy as np
sys.path[:0] = sys.argv[1:3]
import speed_compiled as sc
from trackers.filters.runner import MeasurementStream, run
out = []
for w, kernel in (("W1m", "kf_soa_runs"), ("W2", "filter_runs"), ("W3", "sigma_runs"),
                  ("W4", "imm_runs")):
    est, sensor, kind = sc.estimators()[w]
    z = sc.data_for(kind, 2, 3, 0)
    st = MeasurementStream(np.arange(1.0, 4.0), np.zeros(3, int), z)
    prior = sc.sp.prior_for(est, kind, 2)
    c0, t0 = time.process_time(), time.perf_counter()
    run(est, prior, st, [sensor], keep="final", backend="numba")
    out.append({"kernel": kernel, "wall_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0})
print(json.dumps(out))
"""

_CHILD_MEMORY = """
import json, os, sys, time
import numpy as np
sys.path[:0] = sys.argv[1:3]
import speed_compiled as sc
from trackers.filters.runner import MeasurementStream, run
w, n, t = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
est, sensor, kind = sc.estimators()[w]
z = sc.data_for(kind, n, t, 7)
st = MeasurementStream(sc.dt_for(kind) * np.arange(1, t + 1), np.zeros(t, int), z)
prior = sc.prior_for(est, kind, n)
data_mib = sc.sp.peak_rss_mib()
t0 = time.perf_counter()
out = run(est, prior, st, [sensor], keep="final", backend="numba")
secs = time.perf_counter() - t0
assert np.all(np.isfinite(out.final_gaussian.mean))
print(json.dumps({"workload": w, "N": n, "T": t, "peak_rss_mib": sc.sp.peak_rss_mib(),
                  "rss_after_data_mib": data_mib, "z_mib": z.nbytes / 2**20, "wall_s": secs,
                  "load": os.getloadavg()[0]}))
"""


def _paths() -> list[str]:
    return [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]


def compile_time() -> list[dict]:
    """First-call seconds (wall, CPU) of each kernel in a child process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        load = os.getloadavg()[0]
        res = subprocess.run(
            [sys.executable, "-c", _CHILD_COMPILE, *_paths()],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    rows = json.loads(res.stdout.strip().splitlines()[-1])
    return [{**r, "load_before": load, "load_after": os.getloadavg()[0]} for r in rows]


def memory(workload: str, n: int = 10_000, t: int = 1000) -> dict:
    """Peak RSS of a child process filtering n runs x t steps of ``workload`` (compiled)."""
    res = subprocess.run(
        [sys.executable, "-c", _CHILD_MEMORY, *_paths(), workload, str(n), str(t)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="*", default=[1, 1000, 10000])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--steps-big", type=int, default=100, help="T for N >= 10^4")
    ap.add_argument("--workloads", nargs="*", default=["W1m", "W2", "W3", "W4", "W5"])
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy path")
    ap.add_argument("--compile-time", action="store_true", help="measure uncached first call")
    ap.add_argument("--memory", nargs="*", default=[], help="workloads for the 1e4 x 1e3 RSS")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    for w in [*a.workloads, *a.memory]:
        if w not in PEER:
            raise ValueError(f"--workloads/--memory: {w!r} is not one of {sorted(PEER)}")
    results: list[dict] = []
    if a.compile_time:
        for r in compile_time():
            print(f"# compile (empty NUMBA_CACHE_DIR) {r['kernel']}: {r['wall_s']:.1f} s wall, "
                  f"{r['cpu_s']:.1f} s CPU (load {r['load_before']:.1f} -> "
                  f"{r['load_after']:.1f})")  # fmt: skip
            results.append({"compile": r})
    for w in a.memory:
        r = memory(w)
        print(f"# memory {w} N = {r['N']} x T = {r['T']}: peak RSS {r['peak_rss_mib']:.0f} MiB "
              f"(after building the data {r['rss_after_data_mib']:.0f} MiB, z "
              f"{r['z_mib']:.0f} MiB), filtered in {r['wall_s']:.1f} s, load "
              f"{r['load']:.1f}")  # fmt: skip
        results.append({"memory": r})
    malloc = "tuned" if sp.tune_malloc() else "default"
    print(f"# T = {a.steps} (N >= 1e4: {a.steps_big}), N = {a.n}, allocator {malloc}, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    peers = peer_rates_cpu(a.seed)
    if "W5" in a.workloads:
        peers.update(w5_peer_rates(PEER_STEPS["fp_ekf"], a.seed))
    print("# peers (one run; wall / CPU steps/s): " + ", ".join(
        f"{w} {m} {v[0]:.3g}/{v[1]:.3g}" for (w, m), v in peers.items()))  # fmt: skip
    ests = estimators()
    print(f"{'workload':8} {'N':>6} {'T':>5} {'compiled':>9} {'cpu rate':>9} {'numpy':>9} "
          f"{'filterpy':>9} {'stonesoup':>9} {'x fp':>7} {'x ss':>7} {'x fp(cpu)':>9} "
          f"{'x numpy':>7} {'load':>5}")  # fmt: skip
    for n in a.n:
        T = a.steps if n < 10_000 else a.steps_big
        cache: dict[str, np.ndarray] = {}
        for w in a.workloads:
            est, sensor, kind = ests[w]
            if kind not in cache:
                cache[kind] = data_for(kind, n, T, a.seed)
            z = cache[kind]
            st = MeasurementStream(dt_for(kind) * np.arange(1, T + 1), np.zeros(T, int), z)
            prior = prior_for(est, kind, n)
            warm = MeasurementStream(st.t[:3], st.sensor[:3], z[:, :3])
            run(est, prior, warm, [sensor], keep="final", backend="numba")
            wall, cpu = time_call(
                lambda est=est, prior=prior, st=st, s=sensor: run(
                    est, prior, st, [s], keep="final", backend="numba"
                )
            )
            threads = min(THREADS, -(-n // 64))
            fp = peers.get((PEER[w][0], "filterpy"), (np.nan, np.nan))
            ss = peers.get((PEER[w][1], "stonesoup"), (np.nan, np.nan)) if PEER[w][1] else None
            row = {
                "workload": w,
                "N": n,
                "T": T,
                "compiled": n * T / wall,
                "compiled_cpu": n * T / max(cpu, 1e-9),
                "threads": threads,
                "filterpy": fp[0],
                "filterpy_cpu": fp[1],
                "stonesoup": ss[0] if ss else None,
                "load": os.getloadavg()[0],
            }
            if a.numpy and kind == "reentry":  # speed.time_ours assumes speed.DT
                secs = time_call(
                    lambda est=est, prior=prior, st=st, s=sensor: run(
                        est, prior, st, [s], keep="final"
                    )
                )[0]
                row["numpy"] = n * T / secs
            elif a.numpy:
                row["numpy"] = n * T / sp.time_ours(est, prior, z, sensor)
            results.append(row)
            npy = row.get("numpy") or float("nan")
            ssr = row["stonesoup"] or float("nan")
            print(
                f"{w:8} {n:6d} {T:5d} {row['compiled']:9.3g} {row['compiled_cpu']:9.3g} "
                f"{npy:9.3g} {fp[0]:9.3g} {ssr:9.3g} {row['compiled'] / fp[0]:7.0f} "
                f"{row['compiled'] / ssr:7.0f} "
                f"{row['compiled_cpu'] * threads / fp[1]:9.0f} {row['compiled'] / npy:7.2f} "
                f"{row['load']:5.1f}"
            )
        del cache
        print(f"# N = {n}: peak RSS so far {sp.peak_rss_mib():.0f} MiB, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
