"""Detection speed: radar-network observations of hokkaido-2023 over many noise draws.

Workload: every preset radar (10), every simulated object, the ``linked-via-hub`` network
(latency to Japan), false alarms and unresolved-object merging on, ``--runs`` independent
Monte Carlo draws (default 1000) in one vectorised ``observe`` call. Geometry, visibility
and SNR are computed once; the Bernoulli, noise, clutter and latency draws have a leading
runs axis. Target (sensors brief): under 10 s for 1000 draws.

Truth comes from the simulator (``simulate(load_scenario("hokkaido-2023"), rate_hz=10)``).
If the simulator cannot be imported (``--synthetic`` forces it), a synthetic Kepler flight of
the same size is used: 40 min at 10 Hz, 1 RV + 5 separated stages
(``trackers.sensors.synthetic.kepler_flight``).

Reported: wall time of the observe call (best of ``--repeat``), detections, detections per
second, detections per run, clutter fraction, the Korean lead over the Japanese radars
(median over runs, by measurement time and by arrival time at the consumer) and the peak
resident memory.

Usage:  python benchmarks/detect_speed.py [--runs 1000] [--seed 1] [--repeat 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.sensors import lead_time, load_radars, observe
from trackers.sensors.links import load_network
from trackers.sensors.synthetic import kepler_flight


def truth(synthetic: bool):
    if not synthetic:
        try:
            from trackers.sim.scenario import load_scenario
            from trackers.sim.simulate import simulate

            return simulate(load_scenario("hokkaido-2023"), rate_hz=10.0), "hokkaido-2023"
        except ImportError:
            pass
    fl = kepler_flight(duration_s=2400.0, rate_hz=10.0, separations=(60, 120, 180, 240, 300))
    return fl, "synthetic-kepler (40 min, 10 Hz, 6 objects)"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic flight")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args(argv)

    flight, source = truth(args.synthetic)
    radars = load_radars()
    network = load_network("linked-via-hub")
    times = []
    det = None
    for _ in range(args.repeat):
        det = None
        t0 = time.perf_counter()
        det = observe(flight, radars, network, np.random.default_rng(args.seed), runs=args.runs)
        times.append(time.perf_counter() - t0)
    wall = min(times)
    lead = lead_time(det, radars, leader="KR", follower="JP")
    lead_arr = lead_time(det, radars, leader="KR", follower="JP", time="t_arrival")
    out = {
        "benchmark": "detect_speed",
        "truth": source,
        "objects": [o.id for o in flight.objects],
        "flight_duration_s": max(o.t_end for o in flight.objects),
        "radars": len(radars),
        "network": network.id,
        "consumer": det.consumer,
        "runs": args.runs,
        "seed": args.seed,
        "wall_s": wall,
        "wall_all_s": times,
        "detections": len(det),
        "detections_per_s": len(det) / wall,
        "detections_per_run": len(det) / args.runs,
        "clutter_fraction": float(det.is_clutter.mean()),
        "korea_lead_s_median": float(np.nanmedian(lead)),
        "korea_lead_s_min": float(np.nanmin(lead)),
        "korea_lead_at_consumer_s_median": float(np.nanmedian(lead_arr)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "target_s": 10.0,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(f"truth: {source}; {len(radars)} radars, {len(flight.objects)} objects, "
          f"{args.runs} draws")  # fmt: skip
    rate = out["detections_per_s"] / 1e6
    print(f"observe: {wall:.2f} s (target < 10 s), {len(det):,} detections "
          f"({out['detections_per_run']:.0f}/run, {rate:.2f} M/s), "
          f"clutter {out['clutter_fraction']:.1%}, "
          f"peak RSS {out['peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"Korean lead over Japanese radars: median {out['korea_lead_s_median']:.1f} s, "
          f"min {out['korea_lead_s_min']:.1f} s (measurement time); at {det.consumer}: "
          f"{out['korea_lead_at_consumer_s_median']:.1f} s (arrival time)")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
