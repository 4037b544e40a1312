"""Multi-object tracking speed: our batched trackers vs Stone Soup's MultiTargetTracker.

Both track the same hokkaido-2023 detections (linked-via-hub network, all 10 radars, clutter
included) in one process. Ours track every Monte Carlo run at once; Stone Soup tracks one run
(its reports fed scan by scan; :mod:`trackers.baselines.stonesoup_tracker`), on a time window
when ``--ss-window`` is given (a full run takes it ~10 CPU minutes), and its rate is scaled to
reports per second. The ratio is "per run-equivalent": reports per second of ours over
reports per second of Stone Soup.

    python benchmarks/tracking_speed.py [--runs 1 20] [--quick] [--backends numpy numba]
        [--json FILE]

Rows (printed and in the JSON list): ``workload``, ``method``, ``runs``, ``reports``,
``seconds``, ``reports_per_s``, ``peak_rss_mib`` and, for ours, ``x_stonesoup``.
``--json`` never overwrites an existing file.

With ``--score``, run 0 is also scored against truth on the Stone Soup window for Stone Soup
and for each of our trackers (same reports, same window, 2 s epochs, CLEAR-MOT persistence):
confirmed tracks per run, false tracks, GOSPA and its localisation part, per-object tracked
share — the independent comparison of track counts and errors.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

from trackers.alert_study import simulate_reports
from trackers.tracking import ScanSequence, preset, track


def peak_rss_mib() -> float:
    """Peak resident memory of this process [MiB] (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _score_window(det, radars, ss_result, window, trackers) -> list[dict]:
    """Score Stone Soup's and our tracks of run 0 against truth on the same window."""
    import numpy as np

    from trackers.baselines.stonesoup_tracker import to_track_log
    from trackers.metrics.tracking import score
    from trackers.sim import load_scenario, simulate

    flight = simulate(load_scenario("hokkaido-2023"))
    one = det.for_run(0)
    keep = (one.t_meas >= window[0]) & (one.t_meas < window[1])
    one = replace(one.select(keep), runs=1)
    epochs = np.arange(window[0] + 2.0, window[1], 2.0)
    logs = {"stonesoup-mtt": to_track_log(ss_result, epochs)}
    for name in trackers:
        logs[name] = track(ScanSequence.from_detections(one, radars), radars, preset(name),
                           epochs=epochs).log  # fmt: skip
    out = []
    for name, log in logs.items():
        m = score(log, flight, one, tracker=name, keep_correspondence=True)
        confirmed = int(np.unique(log.track[log.status == 2]).size)
        row = {"workload": f"score run 0, {window[0]:.0f}-{window[1]:.0f} s", "method": name,
               "runs": 1, "confirmed_tracks": confirmed,
               "false_tracks": m["false_tracks_per_run"], "gospa_mean_m": m["gospa_mean_m"],
               "gospa_localisation_m": m["gospa_localisation_m"],
               "tracked_frac": {k: v["tracked_frac"] for k, v in m["by_role"].items()}}  # fmt: skip
        print(row, flush=True)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, nargs="+", default=[1, 20], help="Monte Carlo runs")
    p.add_argument("--trackers", nargs="+", default=["naive", "separation-aware"])
    p.add_argument("--backends", nargs="+", default=["numpy"], choices=["numpy", "numba"],
                   help="estimator steps in NumPy and/or compiled (TrackerConfig.backend); "
                   "numba is warmed up on one run first (compile time not timed)")  # fmt: skip
    p.add_argument("--ss-window", type=float, nargs=2, default=[0.0, 300.0], metavar=("T0", "T1"),
                   help="time window [s] of the Stone Soup run (default 0 300)")  # fmt: skip
    p.add_argument("--no-stonesoup", action="store_true", help="skip Stone Soup")
    p.add_argument(
        "--score",
        action="store_true",
        help="also score Stone Soup and ours on run 0 over the Stone Soup window",
    )
    p.add_argument("--quick", action="store_true", help="runs 1 4, Stone Soup on 0-120 s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the rows to this new file")
    args = p.parse_args(argv)
    if args.json and Path(args.json).exists():
        print(f"tracking_speed: error: {args.json} exists; refusing to overwrite it",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.quick:
        args.runs, args.ss_window = [1, 4], [0.0, 120.0]
    rows = []
    ss_rate = None
    if not args.no_stonesoup:
        from trackers.baselines.stonesoup_tracker import run_stonesoup_mtt

        _, _, radars, det = simulate_reports("hokkaido-2023", 1, args.seed)
        t0 = time.perf_counter()
        res = run_stonesoup_mtt(det, radars, 0, t_window=tuple(args.ss_window))
        sec = time.perf_counter() - t0
        ss_rate = res.n_reports / sec
        rows.append({"workload": f"hokkaido-2023 {args.ss_window[0]:.0f}-{args.ss_window[1]:.0f} s",
                     "method": "stonesoup-mtt", "runs": 1, "reports": int(res.n_reports),
                     "seconds": round(sec, 2), "reports_per_s": round(ss_rate, 1),
                     "peak_rss_mib": round(peak_rss_mib(), 1)})  # fmt: skip
        print(rows[-1], flush=True)
        if args.score:
            rows += _score_window(det, radars, res, tuple(args.ss_window), args.trackers)
    if "numba" in args.backends:  # load (or compile) the kernels outside the timings
        _, _, radars, det = simulate_reports("hokkaido-2023", 1, args.seed)
        one = ScanSequence.from_detections(det, radars)
        for name in args.trackers:
            track(one, radars, preset(name, backend="numba"), epochs=5.0)
    for n in args.runs:
        _, _, radars, det = simulate_reports("hokkaido-2023", n, args.seed)
        scans = ScanSequence.from_detections(det, radars)
        for name, backend in ((a, b) for a in args.trackers for b in args.backends):
            res = track(scans, radars, preset(name, backend=backend), epochs=5.0)
            rate = res.reports / res.seconds
            row = {
                "workload": "hokkaido-2023 full flight",
                "method": name if backend == "numpy" else f"{name} (numba)",
                "runs": n,
                "reports": res.reports,
                "seconds": round(res.seconds, 2),
                "reports_per_s": round(rate, 1),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
            if ss_rate:
                row["x_stonesoup"] = round(rate / ss_rate, 1)
            rows.append(row)
            print(row, flush=True)
    print()
    print(f"{'method':<18}{'runs':>6}{'reports':>10}{'seconds':>10}{'reports/s':>12}"
          f"{'x Stone Soup':>14}")  # fmt: skip
    for r in rows:
        if "reports" not in r:
            continue
        x = r.get("x_stonesoup")
        print(f"{r['method']:<18}{r['runs']:>6}{r['reports']:>10}{r['seconds']:>10.1f}"
              f"{r['reports_per_s']:>12.0f}{'' if x is None else f'{x:.1f}':>14}")  # fmt: skip
    if args.json:
        with open(args.json, "x") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
