"""Speed of impact prediction + P(region) at a 1 Hz decision rate, and its growth with runs.

Issue target: impact prediction and P(region) at 1 Hz for every confirmed track, 100 runs of
hokkaido-2023 within 1 minute on the 2-core machine.

Workload (a track log with the census of the separation-aware tracker, without running it):
every object of the simulated flight (the rv and each spent stage) holds one confirmed track
per run, logged every second of its free flight, from its burnout (the stage's separation)
+ ``--settle`` seconds to ``--min-ttg`` seconds before its impact; the estimate is the truth
plus a draw of N(0, P), P = diag(100 m, 5 m/s)^2 (seeded). For hokkaido-2023 that is ~5.5k
rows per run (the tracker logs 5.5k confirmed rows per run at 1 Hz: 2 runs measured). The
whole log goes through :func:`trackers.impact.from_tracks.impact_log` with ``step = 1`` (one
batched prediction call with the tracker's drag-free ballistic model, then P(impact in
Hokkaido), exact) per method and propagation.

Reported per (method, propagation, runs): rows, wall and CPU seconds of impact_log (CPU time,
summed over threads, is the stabler figure on a shared machine), rows per CPU second, and the
load average (os.getloadavg) before and after: other jobs on the machine inflate wall time.

Usage::

    .venv/bin/python benchmarks/impact_speed.py --runs 10 30 100 --json FILE
    .venv/bin/python benchmarks/impact_speed.py --runs 10 --propagation reference

``FILE`` must not exist (it is never overwritten).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from trackers.impact.from_tracks import impact_log
from trackers.impact.ground import numba_available
from trackers.impact.regions import load_regions
from trackers.metrics.tracking import TrackLog
from trackers.sim.scenario import load_scenario
from trackers.sim.simulate import simulate

SIGMA = np.array([100.0] * 3 + [5.0] * 3)  # m, m/s


def workload(
    scenario: str, runs: int, settle: float = 10.0, min_ttg: float = 60.0, seed: int = 2026
) -> TrackLog:
    """Confirmed-track log at 1 Hz of every object's free flight (module docstring)."""
    sc = load_scenario(scenario)
    fl = simulate(sc, rate_hz=1.0)
    rng = np.random.default_rng(seed)
    parts = []
    for k, obj in enumerate(fl.objects):
        burn = [e.t_s for e in fl.events if e.kind == "burnout"]
        t_free = (
            max(burn)
            if obj.role == "rv"
            else min(
                (e.t_s for e in fl.events if e.object == obj.id and e.kind == "separation"),
                default=obj.t_start,
            )
        )
        times = np.arange(np.ceil(t_free + settle), obj.t_end - min_ttg)
        if times.size == 0:
            continue
        x = obj.state_at(times)  # (T, 6)
        parts.append((k, obj.role, times, x))
    rows_t = np.concatenate([p[2] for p in parts])
    rows_x = np.concatenate([p[3] for p in parts])
    rows_k = np.concatenate([np.full(p[2].size, p[0]) for p in parts])
    rows_label = np.concatenate([np.full(p[2].size, 1 if p[1] == "rv" else 2) for p in parts])
    n1 = rows_t.size
    run = np.repeat(np.arange(runs), n1)
    t = np.tile(rows_t, runs)
    x = np.tile(rows_x, (runs, 1)) + rng.standard_normal((runs * n1, 6)) * SIGMA
    epochs = np.arange(1.0, float(rows_t.max()) + 1.0)
    return TrackLog(
        run=run,
        epoch=t.copy(),
        track=np.tile(rows_k, runs).astype(np.int64),
        parent=np.full(runs * n1, -1, np.int64),
        t=t,
        x=x,
        P=np.broadcast_to(np.diag(SIGMA**2), (runs * n1, 6, 6)),
        status=np.full(runs * n1, 2, np.int8),
        label=np.tile(rows_label, runs).astype(np.int8),
        label_conf=np.ones(runs * n1),
        born=np.tile(rows_t - 10.0, runs),
        runs=runs,
        epochs=epochs,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[10, 30, 100])
    ap.add_argument("--methods", nargs="+", default=["linear", "unscented"])
    ap.add_argument("--propagation", nargs="+", default=["fast"], help="fast and/or reference")
    ap.add_argument("--scenario", default="hokkaido-2023")
    ap.add_argument("--region", default="hokkaido")
    ap.add_argument("--settle", type=float, default=10.0, help="s after burnout/separation")
    ap.add_argument("--min-ttg", type=float, default=60.0, help="last prediction [s before impact]")
    ap.add_argument("--json", type=Path, default=None, help="write rows here (must not exist)")
    args = ap.parse_args(argv)
    if args.json is not None and args.json.exists():
        print(f"refusing to overwrite {args.json}", file=sys.stderr)
        return 2
    if any(r < 1 for r in args.runs):
        ap.error("--runs must be >= 1")
    regions = {args.region: load_regions()[args.region]}
    rows = []
    # warm-up: the compiled kernel's first call loads (or compiles) its cache
    for method in args.methods:
        impact_log(workload(args.scenario, 1), regions, step=1.0, method=method)
    for runs in args.runs:
        log = workload(args.scenario, runs, args.settle, args.min_ttg)
        for prop in args.propagation:
            for method in args.methods:
                load0 = os.getloadavg()
                c0, w0 = time.process_time(), time.perf_counter()
                out = impact_log(log, regions, step=1.0, method=method, propagation=prop)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                row = {
                    "method": method,
                    "propagation": prop,
                    "runs": runs,
                    "rows": int(log.n_rows),
                    "rows_per_run": int(log.n_rows // runs),
                    "predicted": int(np.isfinite(out.lat).sum()),
                    "p_region_mean": round(float(out.p_region[args.region].mean()), 6),
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "rows_per_cpu_s": round(log.n_rows / cpu, 0),
                    "loadavg_1min_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    for prop in args.propagation:
        for method in args.methods:
            rs = [r for r in rows if r["method"] == method and r["propagation"] == prop]
            if len(rs) > 1:
                a, b = rs[0], rs[-1]
                grow = b["rows"] / a["rows"]
                cpu, wall = b["cpu_s"] / a["cpu_s"], b["wall_s"] / a["wall_s"]
                print(
                    f"{method}/{prop}: runs {a['runs']} -> {b['runs']} (x{grow:.0f} rows): "
                    f"CPU x{cpu:.1f}, wall x{wall:.1f}"
                )
    if args.json is not None:
        meta = {
            "scenario": args.scenario,
            "region": args.region,
            "numba": numba_available(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
        }
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
