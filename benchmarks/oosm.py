"""Out-of-sequence reports at the consumer: reorder buffer vs dropping vs retrodiction.

Scenario hokkaido-2023 observed by its radars over the ``linked-via-hub`` network (consumer:
the Japanese command centre). A controlled single-target experiment of the *filter*: only the
detections whose truth origin is exactly ``"rv"`` are kept (no clutter, no merged reports; the
tracker proper never reads truth), measured in [t_start, t_end]. t_start defaults to the RV's
separation from the last stage (free flight: a ballistic model cannot follow the boost), t_end
to 1000 s. Every run is filtered by a ballistic EKF (``Filter(EKF(), Ballistic())``: J2
gravity, Earth rotation, no drag, q = 1 m^2/s^3) from the same prior, built from the run's
first two reports of distinct measurement time (two-point differencing of the converted
positions, Bar-Shalom, Li & Kirubarajan 2001 §10.4.3 for the converted covariance, at the
second report's time). Deliveries (:mod:`trackers.tracking.scans` has the same three rules for
the tracker):

    ideal       every report in measurement order, zero latency (the reference)
    buffer L    reorder buffer: reports with latency <= L [s] in measurement order, each
                released at t_meas + L; later ones dropped
    drop        arrival order; a report measured before the estimate's time is dropped
    retrodict   arrival order; such a report updates the estimate by retrodiction
                (:func:`trackers.tracking.oosm.oosm_update`, algorithm A / Al1)

Step j of the batched filter is each run's j-th report in its delivery order
(:func:`trackers.tracking.oosm.filter_sequence`; runs differ in arrival order, padded with NaN).

Metrics, at the decision times tau = 250, 251, ..., 1000 s:

    rmse_m     sqrt(mean_{runs, tau} |p_hat(tau) - p(tau)|^2): the estimate available at the
               consumer at tau (the last one whose reports have all arrived; for the buffer,
               released), predicted to tau
    used_frac  reports used / reports measured in [t_start, t_end] (the two prior reports count)
    delay_s    mean of tau - (newest measurement time included in that estimate)
    seconds    wall time of the filtering loop (all runs), without data generation

Usage:  python benchmarks/oosm.py --runs 50 --seed 1 --json oosm.json
(the JSON file must not exist; rows {delivery, lag_s, runs, rmse_m, used_frac, delay_s,
seconds}).
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

from trackers.filters import EKF, Filter, Gaussian
from trackers.models.ballistic import Ballistic
from trackers.tracking.oosm import (
    DROPPED,
    PAD,
    estimates_at,
    filter_sequence,
    pad_by_run,
)
from trackers.tracking.scans import converted_covariance

SCENARIO = "hokkaido-2023"
NETWORK = "linked-via-hub"
LAGS = (1.0, 2.0, 5.0, 10.0)
DECISIONS = np.arange(250.0, 1000.0 + 0.5, 1.0)
#: The table also shows the RMSE over decisions tau <= EARLY [s] (both TPY-2s still report).
EARLY = 500.0


def load_reports(runs: int, seed: int, t_start: float | None, t_end: float) -> dict:
    """The RV's reports (truth origin exactly "rv") measured in [t_start, t_end], all runs."""
    from trackers.sensors import observe, sensors_for_scenario
    from trackers.sim import load_scenario, simulate

    sc = load_scenario(SCENARIO)
    flight = simulate(sc, rate_hz=10.0)
    radars, network = sensors_for_scenario(sc.sensors)
    if network.id != NETWORK:
        raise ValueError(f"{SCENARIO} reports over {network.id!r}, expected {NETWORK!r}")
    if t_start is None:  # free flight: the RV's separation from its last stage
        t_start = max(
            e.t_s for e in flight.events if e.kind == "separation" and e.detail == "from rv"
        )
    det = observe(flight, radars, network, np.random.default_rng(seed), runs=runs, clutter=False)
    keep = (det.origin_index == det.origins.index("rv")) & (det.t_meas >= t_start)
    keep &= det.t_meas <= t_end
    d = det.select(keep)
    by_id = {r.id: r for r in radars}
    models = [by_id[s].measurement_model() for s in d.sensors]
    return {
        "run": d.run.astype(int),
        "sensor": d.sensor_index.astype(int),
        "t_meas": d.t_meas,
        "t_arrival": d.t_arrival,
        "z": d.z,
        "models": models,
        "sensors": d.sensors,
        "truth": flight.object("rv"),
        "t_start": float(t_start),
    }


def two_point_prior(rep: dict, runs: int) -> tuple[Gaussian, np.ndarray, np.ndarray]:
    """Prior from each run's first two reports of distinct measurement time (module doc).

    Returns the prior ``(N, 6)``, ``(N, 6, 6)`` at t2 ``(N,)`` and the two reports' row
    indices ``(N, 2)`` (into the flat table).
    """
    run, tm = rep["run"], rep["t_meas"]
    order = np.lexsort((rep["sensor"], tm, run))
    r, t = run[order], tm[order]
    counts = np.bincount(r, minlength=runs)
    if np.any(counts < 2):
        raise ValueError(f"runs {np.flatnonzero(counts < 2)[:5]} have fewer than 2 reports")
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    # second: the first row of the run measured after the first (sorted key run * W + t)
    W = 2.0 * (t.max() - t.min()) + 2.0
    key = r * W + (t - t.min())
    second = np.searchsorted(key, key[first], side="right")
    if np.any(second >= len(r)) or np.any(r[np.minimum(second, len(r) - 1)] != np.arange(runs)):
        raise ValueError("a run has no two reports of distinct measurement time")
    i1, i2 = order[first], order[second]
    site = np.stack([m.site_ecef for m in rep["models"]])
    rot = np.stack([m.enu_rotation for m in rep["models"]])
    R3 = np.stack([m.noise_cov()[:3, :3] for m in rep["models"]])

    def position(i):
        s, z = rep["sensor"][i], rep["z"][i]
        rho, az, el = z[:, 0], z[:, 1], z[:, 2]
        enu = np.stack([rho * np.cos(el) * np.sin(az), rho * np.cos(el) * np.cos(az),
                        rho * np.sin(el)], axis=-1)  # fmt: skip
        # r = s + C' (e, n, u);  cov = T' J R3 J' T
        return site[s] + np.einsum("ni,nij->nj", enu, rot[s]), converted_covariance(
            z[:, :3], R3[s], rot[s]
        )

    (p1, C1), (p2, C2) = position(i1), position(i2)
    dt = (tm[i2] - tm[i1])[:, None, None]
    mean = np.concatenate([p2, (p2 - p1) / dt[:, 0]], axis=-1)
    cov = np.empty((runs, 6, 6))
    # x = [p2, (p2 - p1) / dt]:  cov = [[C2, C2 / dt], [C2 / dt, (C1 + C2) / dt^2]]
    cov[:, :3, :3] = C2
    cov[:, :3, 3:] = C2 / dt
    cov[:, 3:, :3] = C2 / dt
    cov[:, 3:, 3:] = (C1 + C2) / dt**2
    return Gaussian(mean, cov), tm[i2], np.stack([i1, i2], axis=1)


def evaluate(
    runs: int = 50,
    seed: int = 1,
    t_start: float | None = None,
    t_end: float = 1000.0,
    lags=LAGS,
    history: int = 64,
) -> dict:
    """Run every delivery; returns {"rows": [...], "info": {...}}."""
    rep = load_reports(runs, seed, t_start, t_end)
    prior, t2, seeds = two_point_prior(rep, runs)
    est = Filter(EKF(), Ballistic())
    n_rep = len(rep["run"])
    rest = np.ones(n_rep, bool)
    rest[seeds.ravel()] = False
    truth = rep["truth"].state_at(DECISIONS)[:, :3]
    latency = rep["t_arrival"] - rep["t_meas"]
    a_seed = rep["t_arrival"][seeds].max(axis=1)

    def sequences(mask, keys):
        idx = np.flatnonzero(rest & mask)
        cols = pad_by_run(
            rep["run"][idx], runs, [k[idx] for k in keys],
            rep["t_meas"][idx], rep["z"][idx], rep["sensor"][idx], rep["t_arrival"][idx],
        )  # fmt: skip
        t, z, s, ta, _ = cols
        return t, z, np.where(s < 0, 0, s), ta

    deliveries = [("ideal", 0.0), *(("buffer", float(L)) for L in lags), ("drop", 0.0),
                  ("retrodict", 0.0)]  # fmt: skip
    rows = []
    for name, lag in deliveries:
        if name in ("ideal", "buffer"):
            mask = latency <= lag if name == "buffer" else np.ones(n_rep, bool)
            t, z, s, ta = sequences(mask, (rep["t_meas"], rep["sensor"]))
            avail = np.concatenate([(t2 + lag)[:, None], t + lag], axis=1)
            mode = "drop"  # measurement order: nothing is out of sequence
        else:
            mask = np.ones(n_rep, bool)
            t, z, s, ta = sequences(mask, (rep["t_arrival"], rep["t_meas"], rep["sensor"]))
            avail = np.concatenate([a_seed[:, None], ta], axis=1)
            mode = name
        t0 = time.perf_counter()
        res = filter_sequence(est, prior, t2, t, z, s, rep["models"], out_of_sequence=mode,
                              history=history)  # fmt: skip
        seconds = time.perf_counter() - t0
        # an estimate is available once all of its reports are (running maximum)
        pad = np.isnan(avail)
        avail = np.where(pad, np.nan, np.fmax.accumulate(np.where(pad, -np.inf, avail), axis=1))
        pred, delay = estimates_at(est.model, res.mean, res.t_state, avail, DECISIONS)
        err2 = np.sum((pred[..., :3] - truth[None]) ** 2, axis=-1)
        used = 2 * runs + int(np.sum((res.status != PAD) & (res.status != DROPPED)))
        rows.append(
            {
                "delivery": name,
                "lag_s": lag,
                "runs": runs,
                "rmse_m": float(np.sqrt(np.nanmean(err2))),
                "used_frac": used / n_rep,
                "delay_s": float(np.nanmean(delay)),
                "seconds": seconds,
                "rmse_early_m": float(np.sqrt(np.nanmean(err2[:, DECISIONS <= EARLY]))),
                "missing_frac": float(np.mean(np.isnan(err2))),
                "oos_frac": float(np.mean(res.status[res.status != PAD] != 1))
                if name in ("drop", "retrodict")
                else 0.0,
            }
        )
    info = {
        "scenario": SCENARIO,
        "network": NETWORK,
        "seed": seed,
        "t_start": rep["t_start"],
        "t_end": t_end,
        "reports_per_run": n_rep / runs,
        "sensors": {
            s: {
                "reports_per_run": float(np.sum(rep["sensor"] == i) / runs),
                "mean_latency_s": float(np.mean(latency[rep["sensor"] == i])),
            }
            for i, s in enumerate(rep["sensors"])
            if np.any(rep["sensor"] == i)
        },
    }
    return {"rows": rows, "info": info}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write rows here (must not exist)")
    ap.add_argument("--t-start", type=float, default=None,
                    help="first measurement time [s] (default: RV separation)")  # fmt: skip
    ap.add_argument("--t-end", type=float, default=1000.0)
    ap.add_argument("--history", type=int, default=64)
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs must be >= 1, got {args.runs}")
    if args.json is not None and args.json.exists():
        ap.error(f"--json {args.json} exists; refusing to overwrite it")
    out = evaluate(args.runs, args.seed, args.t_start, args.t_end, history=args.history)
    info = out["info"]
    print(f"{SCENARIO}, network {NETWORK}, RV reports in [{info['t_start']:.1f}, "
          f"{info['t_end']:.0f}] s, {info['reports_per_run']:.0f} per run, "
          f"{args.runs} runs, seed {args.seed}")  # fmt: skip
    for s, v in info["sensors"].items():
        print(f"  {s:<18} {v['reports_per_run']:7.1f} reports/run, mean latency "
              f"{v['mean_latency_s']:5.2f} s")  # fmt: skip
    print(f"{'delivery':<10} {'lag_s':>6} {'rmse_m':>9} {'used':>6} {'delay_s':>8} "
          f"{'oos':>6} {'seconds':>8} {'rmse<=500':>10}")  # fmt: skip
    for r in out["rows"]:
        print(f"{r['delivery']:<10} {r['lag_s']:6.1f} {r['rmse_m']:9.1f} {r['used_frac']:6.3f} "
              f"{r['delay_s']:8.2f} {r['oos_frac']:6.3f} {r['seconds']:8.2f} "
              f"{r['rmse_early_m']:10.1f}")  # fmt: skip
    if args.json is not None:
        keys = ("delivery", "lag_s", "runs", "rmse_m", "used_frac", "delay_s", "seconds")
        rows = [{k: r[k] for k in keys} for r in out["rows"]]
        with open(args.json, "x") as fh:
            json.dump(rows, fh, indent=2)
            fh.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
