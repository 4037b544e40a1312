"""Speed benchmark: filter-steps per second of trackers vs filterpy and Stone Soup.

Workloads (same data, same process, docs/architecture.md, "Speed"):

    W1    CV KF, 6 states, 3-D position measurements (sigma 20 m), dt 1 s
    W2    ballistic EKF (ECEF, J2, rotation; RK4 + variational Jacobian), radar (r, az, el)
    W3    UKF (Merwe alpha 1, beta 2, kappa 0) on W2
    W4    3-mode IMM of ballistic EKFs (q = 0.01, 1, 100 m^2/s^3) on W2; filterpy runs its
          IMMEstimator over three filterpy EKFs driven by our models
          (``baselines.filterpy_imm.run_imm_ekf``, equal to ours to 1e-9, tests/test_imm.py)
    W4cv  3-mode IMM of CV KFs (q = 0.01, 1, 100) on W1 data, filterpy's IMMEstimator over
          its own KalmanFilters
    W1m   W1 with 5% missed detections (NaN rows): the runs' covariances then differ, so the
          runner's shared-covariance KF path (one covariance for all runs while no run has
          missed a detection) is not available — the per-run cost of the KF

trackers runs all N Monte Carlo runs at once through ``trackers.filters.runner.run`` with
``keep="final"`` (summary-only: final belief plus running NIS statistics). filterpy and Stone
Soup filter one run at a time, so their rate does not depend on N: they are timed on one run
over a subset of the steps and that rate (filter-steps per second) is reported for every N
("scaled"). Stone Soup has no ballistic model or IMM: for W2/W3 our motion model is wrapped
as a Stone Soup transition model (trackers.baselines.stonesoup_adapters); Stone Soup has no
IMM, so W4/W4cv have no Stone Soup column.

Usage:
    python benchmarks/speed.py [--quick] [--json PATH] [--n 1 100 1000 10000] [--steps 1000]
                               [--workloads W1 W2 ...] [--no-malloc-tuning]

Prints a table of steps/s and ratios and the peak resident memory (``resource.ru_maxrss``)
after each N. ``--quick`` (N in {1, 100, 1000}, T = 100, short peer runs) finishes within a
minute.

Measured 2026-11-25 18:11-18:18 UTC with ``python benchmarks/run_all.py --only speed`` (=
``python benchmarks/speed.py --n 1 100 1000 10000``, T = 1000, allocator tuned, idle 2-core
machine): filter-steps/s and ratios at N = 1000 [N = 10000]; peers (one run): filterpy KF
9.4e3, EKF 1.4e3, UKF 3.8e2, IMMEstimator over EKF modes 4.2e2, over CV KFs 9.6e2; Stone Soup
KF 8.8e2, EKF 6.3e2, UKF 4.9e2. Peak RSS 878 MiB at N = 10000, T = 1000. Peer rates vary by
up to 2x between runs on this machine (filterpy's KF: 0.9-2.3e4), so do the ratios.

    W1   trackers 3.9e6 [9.7e6]   418x filterpy (target 30x)  4483x Stone Soup (target 500x)
    W1m  trackers 5.8e5 [5.9e5]    62x filterpy                668x Stone Soup
    W2   trackers 2.7e5 [3.2e5]   185x filterpy                422x Stone Soup
    W3   trackers 9.2e4 [1.1e5]   243x filterpy UKF (target 100x)  187x Stone Soup
    W4   trackers 7.0e4 [8.2e4]   166x filterpy IMMEstimator over EKF modes (target 100x)
    W4cv trackers 1.2e5 [1.6e5]   128x filterpy IMMEstimator over CV KFs
    N = 1 (ours / filterpy, target >= 0.5): W1 1.6, W1m 1.4, W2 0.7, W3 4.4, W4 1.0, W4cv 1.2

Before the like-for-like W4 peer existed, W4 was compared with filterpy's IMM on W4cv (a
cheaper linear workload): 71x at 17:44-17:50 UTC.

W2/W4/W4cv at N = 1000, T = 200 on an idle machine (17:54-17:56 UTC, load 0.0-0.7), two
rounds each of ``python benchmarks/speed.py --workloads W2 W4 W4cv --n 1000 --steps 200``:
the tree at 17:16 UTC (before the changes below) W2 1.6e5, W4 5.1-5.6e4, W4cv 8.7-9.2e4
(W4 41-44x filterpy's IMM at 1.2-1.4e3); now with ``--no-malloc-tuning`` W2 2.8-3.2e5,
W4 7.1-7.6e4 (55-66x), W4cv 1.3e5; now tuned W2 2.8-3.2e5, W4 0.82-1.03e5 (79-98x),
W4cv 1.2-1.6e5. filterpy's IMM rate alone varies 0.8-1.4e3 between runs.

Profile notes (cProfile, N = 1000):
- W1/W4cv (16:45-17:05 UTC, filter code of then): ``gaussian.kalman_update`` (Joseph form,
  four (N,6,6) products) dominated; at N = 1 the per-call overhead of rebuilding F and Q
  every step, ``np.any``/``np.all`` checks and ``broadcast_to`` was ~1/3 of the step.
- W3 (before the filters' later changes): ``np.einsum`` in ``sigma_points`` /
  ``transform_moments`` was ~40% of the UKF step; ``xi @ L'`` and ``swapaxes(wdY) @ dY`` are
  1.7-5x faster for these shapes.
- W2/W4 (17:40 UTC, allocator tuned): the three ballistic EKF modes that differ only in q
  are predicted and updated in one stacked call (``IMM(batch_modes=True)``, N -> 3N = 3000).
  Of a W4 step: the filter core's stacked (3N, 6, 6) products (``linalg_small.matmul``)
  ~27%, ``symmetrize`` ~6%; the model (RK4 + variational equations by Jacobian blocks,
  ``integrate.rk4_with_kinematic_jacobian``, and J2 + gradient) ~25%; IMM mixing ~14%; the
  IMM's combined innovation statistics ~5%; radar Jacobian ~5%. What helped: the variational
  products by blocks, batch-last (A = [[0, I], [A_r, A_v]]: einsum over (3, 6, N) blocks,
  ~5x faster than stacked 6x6 ``@``); einsum outer products (~2x vs broadcasting); and the
  allocator: without ``tune_malloc`` fresh ~1 MB temporaries page-fault every step, ~30% of
  W4. Batching the modes alone changed little at N = 1000 (the cost is per element).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.baselines import filterpy_imm as fp
from trackers.baselines import stonesoup_adapters as ss
from trackers.earth import enu_rotation, geodetic_to_ecef
from trackers.filters import EKF, KF, UKF, Filter, Gaussian
from trackers.filters.imm import IMM, Mode
from trackers.filters.runner import MeasurementStream, run
from trackers.models import Ballistic, RadarMeasurement
from trackers.models.linear import CV, LinearPosition

DT = 1.0
Q_CV = 1.0
SIGMA_POS = 20.0
Q_BAL = 0.05
IMM_Q = (0.01, 1.0, 100.0)
TRANS3 = np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]])
RADAR = RadarMeasurement.from_degrees(
    38.1, 138.4, 0.0, sigma_range=20.0, sigma_azimuth=5e-4, sigma_elevation=5e-4
)
P0_CV = np.diag([400.0] * 3 + [100.0] * 3)
P0_BAL = np.diag([500.0**2] * 3 + [20.0**2] * 3)


def tune_malloc() -> bool:
    """Keep freed heap memory in the process instead of returning it to the OS (glibc only).

    NumPy's temporaries of a batched step at N = 1000-3000 are 0.1-1 MB each; glibc serves
    such blocks by ``mmap`` (above its dynamic threshold) or trims the heap after freeing
    them, so the next step's identical temporaries page-fault again on first touch. For the
    IMM workload (W4, 3 stacked modes) this was ~40% of the time. ``mallopt`` with a 32 MiB
    mmap threshold, a 1 GiB trim threshold and a 64 MiB top pad removes that (the same as
    ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824
    MALLOC_TOP_PAD_=67108864`` in the environment). Results are unchanged; peak RSS grows by
    at most the pad. Returns False (nothing changed) off glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # <malloc.h>
    ok = libc.mallopt(m_mmap_threshold, 32 << 20)
    ok &= libc.mallopt(m_trim_threshold, 1 << 30)
    ok &= libc.mallopt(m_top_pad, 64 << 20)
    return bool(ok)


def peak_rss_mib() -> float:
    """Peak resident set size of this process [MiB] (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- data ---------------------------------------------------------------------------------
def cv_data(n: int, t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial truths (n, 6) and position measurements (n, t, 3) of CV targets (q = Q_CV)."""
    rng = np.random.default_rng(seed)
    model = CV(q=Q_CV)
    f = model.transition_matrix(DT)
    lq = np.linalg.cholesky(model.process_noise(np.zeros(6), DT))
    x = np.r_[0.0, 0.0, 0.0, 200.0, 100.0, 10.0] + rng.normal(size=(n, 6)) * np.sqrt(np.diag(P0_CV))
    x0 = x.copy()
    z = np.empty((n, t, 3))
    for k in range(t):
        x = x @ f.T + rng.normal(size=(n, 6)) @ lq.T
        z[:, k] = x[:, :3] + rng.normal(0.0, SIGMA_POS, (n, 3))
    return x0, z


def xbar_ballistic() -> np.ndarray:
    """A long midcourse arc: 300 km altitude, ~6 km/s, climbing."""
    lat, lon = np.radians(40.0), np.radians(129.5)
    v = enu_rotation(lat, lon).T @ np.array([5000.0, -500.0, 2500.0])
    return np.r_[geodetic_to_ecef(lat, lon, 300e3), v]


def ballistic_data(n: int, t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial truths (n, 6) and radar measurements (n, t, 3) (truth by our RK4, noise-free)."""
    rng = np.random.default_rng(seed)
    model = Ballistic(q=Q_BAL)
    x = xbar_ballistic() + rng.normal(size=(n, 6)) * np.sqrt(np.diag(P0_BAL))
    x0 = x.copy()
    sd = np.sqrt(np.diag(RADAR.noise_cov()))
    z = np.empty((n, t, 3))
    for k in range(t):
        x = model.propagate(x, DT, k * DT)
        z[:, k] = RADAR.measure(x) + rng.normal(size=(n, 3)) * sd
    return x0, z


# --- timing -------------------------------------------------------------------------------
def time_ours(estimator, prior, z: np.ndarray, sensor, budget_s: float = 3.0) -> float:
    """Seconds for ``run(keep='final')`` over all runs and steps: the fastest of up to three
    timed calls (as many as fit in ``budget_s``), like the peers' best-of in :func:`rate`."""
    t = z.shape[-2]
    stream = MeasurementStream(DT * np.arange(1, t + 1), np.zeros(t, int), z)
    # warm-up on a few steps (imports, caches), not timed
    warm = MeasurementStream(stream.t[:3], stream.sensor[:3], z[..., :3, :])
    run(estimator, prior, warm, [sensor], keep="final")
    best, spent = np.inf, 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        out = run(estimator, prior, stream, [sensor], keep="final")
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if not np.all(np.isfinite(out.final_gaussian.mean)):
            raise RuntimeError("non-finite final estimate")
        if spent + dt > budget_s:
            break
    return best


def rate(fn: Callable[[], object], steps: int, repeat: int = 2) -> float:
    """steps / seconds of the fastest of ``repeat`` calls of fn (after imports are warm)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return steps / best


def ours_estimators():
    """trackers estimators, sensors, priors per workload (functions of N)."""
    bal = Ballistic(q=Q_BAL)
    lin = LinearPosition(sigma=SIGMA_POS)
    imm_bal = IMM([Mode(EKF(), Ballistic(q=q)) for q in IMM_Q], TRANS3)
    imm_cv = IMM([Mode(KF(), CV(q=q)) for q in IMM_Q], TRANS3)
    return {
        "W1": (Filter(KF(), CV(q=Q_CV)), lin, "cv"),
        "W2": (Filter(EKF(), bal), RADAR, "bal"),
        "W3": (Filter(UKF(), bal), RADAR, "bal"),
        "W4": (imm_bal, RADAR, "bal"),
        "W4cv": (imm_cv, lin, "cv"),
        "W1m": (Filter(KF(), CV(q=Q_CV)), lin, "cv-miss"),
    }


def prior_for(est, kind: str, n: int):
    kind = "cv" if kind == "cv-miss" else kind
    mean, p0 = (
        (np.r_[0.0, 0, 0, 200, 100, 10], P0_CV) if kind == "cv" else (xbar_ballistic(), P0_BAL)
    )
    g = Gaussian(np.broadcast_to(mean, (n, 6)).copy(), np.broadcast_to(p0, (n, 6, 6)).copy())
    return est.initial_belief(g) if isinstance(est, IMM) else g


def peer_rates(t_peer: dict[str, int], seed: int) -> list[dict]:
    """filterpy / Stone Soup rates on one run (independent of N)."""
    out = []
    _, zc = cv_data(1, max(t_peer.values()), seed)
    _, zb = ballistic_data(1, max(t_peer.values()), seed)
    zc, zb = zc[0], zb[0]
    cvm = CV(q=Q_CV)
    lin = LinearPosition(sigma=SIGMA_POS)
    m0c = np.r_[0.0, 0, 0, 200, 100, 10]
    f, q = cvm.transition_matrix(DT), cvm.process_noise(m0c, DT)
    bal = Ballistic(q=Q_BAL)
    qb = bal.process_noise(xbar_ballistic(), DT)
    xb = xbar_ballistic()

    def add(workload, method, steps, fn, note=""):
        r = rate(fn, steps)
        out.append({"workload": workload, "method": method, "steps_per_s": r, "note": note})

    tp = t_peer
    add(
        "W1",
        "filterpy",
        tp["fp_kf"],
        lambda: fp.run_kf(f, q, lin.matrix(), lin.noise_cov(), m0c, P0_CV, zc[: tp["fp_kf"]]),
    )
    add(
        "W1",
        "stonesoup",
        tp["ss_kf"],
        lambda: ss.run_kf_cv(Q_CV, SIGMA_POS, m0c, P0_CV, zc[: tp["ss_kf"]], DT),
    )
    add(
        "W2",
        "filterpy",
        tp["fp_ekf"],
        lambda: fp.run_ekf(bal, RADAR, qb, xb, P0_BAL, zb[: tp["fp_ekf"]], DT),
    )
    add(
        "W2",
        "stonesoup",
        tp["ss_ekf"],
        lambda: ss.run_ekf(bal, RADAR, xb, P0_BAL, zb[: tp["ss_ekf"]], DT),
        "our ballistic model wrapped as a Stone Soup transition model",
    )
    add(
        "W3",
        "filterpy",
        tp["fp_ukf"],
        lambda: fp.run_ukf(
            lambda x, dt: bal.propagate(x, dt),
            RADAR.measure,
            qb,
            RADAR.noise_cov(),
            xb,
            P0_BAL,
            zb[: tp["fp_ukf"]],
            DT,
            angle_indices=RADAR.angle_indices,
        ),
    )
    add(
        "W3",
        "stonesoup",
        tp["ss_ukf"],
        lambda: ss.run_ukf(bal, RADAR, xb, P0_BAL, zb[: tp["ss_ukf"]], DT),
        "our ballistic model wrapped as a Stone Soup transition model",
    )
    filters = [(CV(q=qq).transition_matrix(DT), CV(q=qq).process_noise(m0c, DT)) for qq in IMM_Q]
    add(
        "W4cv",
        "filterpy",
        tp["fp_imm"],
        lambda: fp.run_imm(
            filters,
            lin.matrix(),
            lin.noise_cov(),
            [m0c] * 3,
            [P0_CV] * 3,
            np.full(3, 1 / 3),
            TRANS3,
            zc[: tp["fp_imm"]],
        ),
    )
    bals = [Ballistic(q=qq) for qq in IMM_Q]
    add(
        "W4",
        "filterpy",
        tp["fp_imm_ekf"],
        lambda: fp.run_imm_ekf(
            bals,
            [m.process_noise(xb, DT) for m in bals],
            RADAR,
            [xb] * 3,
            [P0_BAL] * 3,
            np.full(3, 1 / 3),
            TRANS3,
            zb[: tp["fp_imm_ekf"]],
            DT,
        ),
        "IMMEstimator over filterpy EKFs driven by our models (exact likelihood)",
    )
    for r in list(out):
        if r["workload"] == "W1":
            out.append({**r, "workload": "W1m", "note": "peer rate of W1 (5% fewer updates)"})
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, < 1 minute")
    ap.add_argument("--json", type=Path, help="write results as a JSON list")
    ap.add_argument("--n", type=int, nargs="*", help="numbers of runs N")
    ap.add_argument("--steps", type=int, help="steps T for trackers")
    ap.add_argument("--workloads", nargs="*", default=["W1", "W1m", "W2", "W3", "W4", "W4cv"])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--no-malloc-tuning",
        action="store_true",
        help="keep glibc's default allocator settings (see tune_malloc)",
    )
    a = ap.parse_args(argv)
    malloc = "default" if a.no_malloc_tuning or not tune_malloc() else "tuned"
    ns = a.n or ([1, 100, 1000] if a.quick else [1, 100, 1000, 10000])
    t_steps = a.steps or (100 if a.quick else 1000)
    t_peer = (
        dict(
            fp_kf=200,
            ss_kf=50,
            fp_ekf=50,
            ss_ekf=30,
            fp_ukf=20,
            ss_ukf=10,
            fp_imm=100,
            fp_imm_ekf=20,
        )
        if a.quick
        else dict(
            fp_kf=1000,
            ss_kf=200,
            fp_ekf=300,
            ss_ekf=100,
            fp_ukf=100,
            ss_ukf=40,
            fp_imm=500,
            fp_imm_ekf=100,
        )
    )
    print(f"# trackers: T = {t_steps} steps, N = {ns}; peers: one run, steps {t_peer}")
    print(f"# allocator: {malloc} (tune_malloc; --no-malloc-tuning for glibc's defaults)")
    peers = [p for p in peer_rates(t_peer, a.seed) if p["workload"] in a.workloads]
    results: list[dict] = []
    ests = ours_estimators()
    for n in ns:
        # a run of T steps needs a little warm-up of caches: use the full T for every N
        data = {}
        for w in a.workloads:
            est, sensor, kind = ests[w]
            if kind not in data:
                if kind == "cv-miss":
                    _, zc = data.get("cv") or cv_data(n, t_steps, a.seed)
                    miss = np.random.default_rng(a.seed + 1).random(zc.shape[:-1]) < 0.05
                    data[kind] = (None, np.where(miss[..., None], np.nan, zc))
                else:
                    data[kind] = (cv_data if kind == "cv" else ballistic_data)(n, t_steps, a.seed)
            _, z = data[kind]
            secs = time_ours(est, prior_for(est, kind, n), z, sensor)
            results.append(
                {
                    "workload": w,
                    "N": n,
                    "method": "trackers",
                    "steps_per_s": n * t_steps / secs,
                    "malloc": malloc,
                }
            )
        for p in peers:
            results.append({**p, "N": n, "scaled": True, "malloc": malloc})
        del data
        print(f"# N = {n}: peak RSS so far {peak_rss_mib():.0f} MiB")
    _print_table(results, a.workloads, ns)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(results, indent=1))
        print(f"# wrote {a.json}")
    return results


def _print_table(results: list[dict], workloads: list[str], ns: list[int]) -> None:
    def get(w, n, m):
        for r in results:
            if r["workload"] == w and r["N"] == n and r["method"] == m:
                return r["steps_per_s"]
        return None

    print(
        f"{'workload':8} {'N':>6} {'trackers':>12} {'filterpy':>10} {'stonesoup':>10} "
        f"{'x filterpy':>10} {'x stonesoup':>11}"
    )
    for w in workloads:
        for n in ns:
            o, f_, s_ = get(w, n, "trackers"), get(w, n, "filterpy"), get(w, n, "stonesoup")
            cells = [f"{v:12.4g}" if v else f"{'-':>12}" for v in (o,)]
            cells += [f"{v:10.4g}" if v else f"{'-':>10}" for v in (f_, s_)]
            cells += [f"{o / f_:10.1f}" if (o and f_) else f"{'-':>10}"]
            cells += [f"{o / s_:11.1f}" if (o and s_) else f"{'-':>11}"]
            print(f"{w:8} {n:6d} " + " ".join(cells))
    print(f"# peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
