"""Late reports at the consumer for the multi-object tracker: ideal vs buffer vs drop vs retrodict.

Scenario hokkaido-2023 with its own radars over its ``linked-via-hub`` network (consumer: the
Japanese command centre; the Korean radars' reports travel Korea -> US hub -> Japan), every
report of every radar, clutter and merged reports included: the detections of
``trackers track hokkaido-2023 --runs N --seed S``. The same radar draws are tracked by the
separation-aware tracker (:func:`trackers.tracking.track`) once per delivery rule
(:mod:`trackers.tracking.scans`):

    ideal       every report in measurement order (exact reprocessing of late reports)
    buffer L    reorder buffer: reports with latency <= L [s] in measurement order; later ones
                dropped; tracks are L seconds old when read
    drop        arrival order; a report measured before a report already processed is dropped
    retrodict   arrival order; such a report is retrodicted into the tracks
                (:mod:`trackers.tracking.late`), or starts a track at its measurement time
    retrodict W the same with late reports held to the end of their W-second arrival window
                (``ScanSequence.late_window``: fewer, larger late scans)

Two views of accuracy:

* at measurement time e (the tracker's snapshot at e against the truth at the estimates'
  times): what the tracks know about the flight up to e, whenever that knowledge arrives
  (``gospa_m``, ``rv_label``, ``false_per_run``, ``breaks_per_run``, ``rv_switches_per_run``,
  scored by :func:`trackers.metrics.tracking.score`);
* at the consumer at tau (``consumer_gospa_m``): the newest snapshot *available* at tau,
  its states flown to tau with the ballistic model (J2, no drag; the covariance is not used),
  scored against the truth at tau (:mod:`trackers.tracking.consumer`). A snapshot at e is
  available at

      A(e) = max(e, latest arrival among the reports processed up to it)   ideal, drop, retrodict
      A(e) = e + L                                                         buffer L

  (``delay_s``: mean A(e) - e over runs and epochs).

``used_frac``: reports the delivery rule passes to the tracker / reports measured (for
retrodict ``late_used`` of its ``late_reports`` updated a track);
``seconds``: wall time of ``track`` (all runs, one process).

Usage:  python benchmarks/tracking_delivery.py --runs 20 --seed 0 --json delivery.json
(the JSON file must not exist). ``--count-late 5 20 100`` only counts the late scans of the
retrodict delivery (exact and per ``--windows``) for those numbers of runs, without tracking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.tracking import ScanSequence, preset
from trackers.tracking.consumer import compare_deliveries

SCENARIO = "hokkaido-2023"
LAGS = (2.0, 6.0, 12.0)
WINDOWS = (2.0,)


def evaluate(runs: int, seed: int, lags=LAGS, windows=WINDOWS, backend: str = "numba",
             epoch: float = 1.0, tracker: str = "separation-aware") -> dict:  # fmt: skip
    """Track one set of radar draws with every delivery; {"rows": [...], "info": {...}}."""
    from trackers.alert_study import simulate_reports

    sc, flight, radars, det = simulate_reports(SCENARIO, runs, seed)
    deliveries = [("ideal", 0.0, 0.0), *(("buffer", float(L), 0.0) for L in lags),
                  ("drop", 0.0, 0.0), ("retrodict", 0.0, 0.0),
                  *(("retrodict", 0.0, float(W)) for W in windows)]  # fmt: skip
    rows = compare_deliveries(flight, radars, det, preset(tracker, backend=backend),
                              deliveries, epoch)  # fmt: skip
    info = {"scenario": sc.id, "network": sc.sensors.network, "seed": seed, "tracker": tracker,
            "backend": backend, "reports": len(det), "epoch_s": epoch}  # fmt: skip
    return {"rows": rows, "info": info}


def count_late(runs_list, seed: int, windows) -> None:
    """Print the late scans / late reports of ``delivery="retrodict"`` per number of runs."""
    from trackers.alert_study import simulate_reports

    for runs in runs_list:
        _sc, _flight, radars, det = simulate_reports(SCENARIO, runs, seed)
        if runs == runs_list[0]:  # the network's latencies, per radar
            lat = det.t_arrival - det.t_meas
            print(f"{'radar':<18} {'reports':>8} {'latency_s':>10} {'sd_s':>6}")
            for i, s in enumerate(det.sensors):
                m = det.sensor_index == i
                if m.any():
                    print(f"{s:<18} {int(m.sum()):8d} {lat[m].mean():10.2f} {lat[m].std():6.2f}")
            print(f"{'runs':>6} {'window_s':>9} {'late_scans':>11} {'late_reports':>13} "
                  f"{'reports':>9} {'regular':>8}")  # fmt: skip
        for W in (0.0, *windows):
            seq = ScanSequence.from_detections(det, radars, delivery="retrodict",
                                               late_window=float(W))  # fmt: skip
            print(f"{runs:6d} {W:9.1f} {seq.late_scans:11d} {seq.late_reports:13d} "
                  f"{len(det):9d} {len(seq):8d}", flush=True)  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lags", type=float, nargs="+", default=list(LAGS),
                    help="reorder-buffer lags [s]")  # fmt: skip
    ap.add_argument("--windows", type=float, nargs="*", default=list(WINDOWS),
                    help="late windows [s] of extra retrodict rows")  # fmt: skip
    ap.add_argument("--backend", choices=["numpy", "numba"], default="numba")
    ap.add_argument("--json", type=Path, default=None, help="write rows here (must not exist)")
    ap.add_argument("--count-late", type=int, nargs="+", metavar="RUNS",
                    help="only count late scans for these numbers of runs")  # fmt: skip
    args = ap.parse_args(argv)
    if args.count_late:
        count_late(args.count_late, args.seed, args.windows)
        return 0
    if args.runs < 1:
        ap.error(f"--runs must be >= 1, got {args.runs}")
    if args.json is not None and args.json.exists():
        ap.error(f"--json {args.json} exists; refusing to overwrite it")
    out = evaluate(args.runs, args.seed, args.lags, args.windows, args.backend)
    info = out["info"]
    print(f"{info['scenario']}, network {info['network']}, {args.runs} runs, seed {args.seed}, "
          f"{info['reports']} reports, {info['tracker']} tracker ({info['backend']})")  # fmt: skip
    head = ("delivery", "lag_s", "window_s", "gospa_m", "consumer_gospa_m", "delay_s", "rv_label",
            "false_per_run", "rv_switches_per_run", "breaks_per_run", "used_frac", "seconds")
    print(" ".join(f"{h:>12}" for h in head))
    for r in out["rows"]:
        print(" ".join(f"{r[h]:>12}" if isinstance(r[h], str) else f"{r[h]:12.3f}"
                       for h in head))  # fmt: skip
    if args.json is not None:
        from trackers.io.provenance import provenance

        config = vars(args) | {"json": str(args.json)}
        prov = provenance(config=config, seeds={"radar_noise": args.seed})
        with open(args.json, "x") as fh:
            json.dump({**out, "provenance": prov}, fh, indent=2, default=float)
            fh.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
