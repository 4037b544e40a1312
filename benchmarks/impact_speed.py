"""Speed of impact prediction (trackers.impact.predict) per method, and its growth with runs.

Workload: the RV of a simulated scenario (default hwasong15-2017) seen by ``--tracks`` tracks
per Monte Carlo run; every ``--stride`` seconds of its free flight (from the last separation
to ``--min-ttg`` seconds before impact) each track holds a Gaussian belief, truth plus a draw
of N(0, P) with P = diag(100 m, 5 m/s)^2 (seeded). All runs x tracks x times (x sigma points)
go to :func:`~trackers.impact.predict.predict_impact` in ONE call per method, with
``Ballistic(beta=rv_beta)`` (``--drag-state``: the 7-state log-beta model, sigma 0.1).

Reported per (method, runs): wall and CPU seconds (CPU time is the stabler figure on a shared
machine), predictions per second, and the projected wall and CPU time of the full 1 Hz
workload (runs x tracks x every second of the free flight), the workload of the ~1 minute
budget (100 runs x 3 tracks x ~2300 s ~ 700k predictions).

Usage::

    .venv/bin/python benchmarks/impact_speed.py --runs 10 100 --json FILE

``FILE`` must not exist (it is never overwritten).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from trackers.filters.gaussian import Gaussian
from trackers.impact.predict import predict_impact
from trackers.models import Ballistic
from trackers.sim.scenario import load_scenario
from trackers.sim.simulate import simulate


def workload(
    scenario: str, runs: int, tracks: int, stride: float, min_ttg: float, drag_state: bool
) -> tuple[Gaussian, np.ndarray, Ballistic, int]:
    """Beliefs ``(runs, tracks, T)``, their times, the model and the full 1 Hz count."""
    sc = load_scenario(scenario)
    fl = simulate(sc, rate_hz=1.0)
    rv = fl.object("rv")
    t_sep = max(e.t_s for e in fl.events if e.object == "rv" and e.kind == "burnout")
    t_imp = next(e.t_s for e in fl.events if e.object == "rv" and e.kind == "impact")
    t_first = t_sep + sc.vehicle.separation_delay_s + 1.0
    times = np.arange(t_first, t_imp - min_ttg, stride)
    full = runs * tracks * int(t_imp - min_ttg - t_first)
    rng = np.random.default_rng(2026)
    sig = np.array([100.0] * 3 + [5.0] * 3)
    x = np.broadcast_to(rv.state_at(times), (runs, tracks, len(times), 6))
    x = x + rng.standard_normal(x.shape) * sig
    if drag_state:
        lb = np.log(sc.vehicle.rv_beta_kgpm2) + 0.1 * rng.standard_normal(x.shape[:-1] + (1,))
        x = np.concatenate([x, lb], -1)
        sig = np.append(sig, 0.1)
        model = Ballistic(drag_state=True)
    else:
        model = Ballistic(beta=sc.vehicle.rv_beta_kgpm2)
    t = np.broadcast_to(times, x.shape[:-1])
    return Gaussian(x, np.diag(sig**2)), t, model, full


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--tracks", type=int, default=3)
    ap.add_argument("--stride", type=float, default=100.0, help="seconds between predictions")
    ap.add_argument("--min-ttg", type=float, default=60.0, help="last prediction [s before impact]")
    ap.add_argument("--methods", nargs="+", default=["linear", "unscented"])
    ap.add_argument("--scenario", default="hwasong15-2017")
    ap.add_argument("--drag-state", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="write rows here (must not exist)")
    args = ap.parse_args(argv)
    if args.json is not None and args.json.exists():
        print(f"refusing to overwrite {args.json}", file=sys.stderr)
        return 2
    if any(r < 1 for r in args.runs) or args.tracks < 1 or not args.stride > 0:
        ap.error("--runs and --tracks must be >= 1, --stride > 0")
    rows = []
    for runs in args.runs:
        belief, t, model, full = workload(
            args.scenario, runs, args.tracks, args.stride, args.min_ttg, args.drag_state
        )
        npred = int(np.prod(t.shape))
        for method in args.methods:
            c0, w0 = time.process_time(), time.perf_counter()
            pred = predict_impact(belief, model, t, method)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            row = {
                "method": method,
                "runs": runs,
                "tracks": args.tracks,
                "stride_s": args.stride,
                "predictions": npred,
                "valid": int(pred.valid.sum()),
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "predictions_per_s": round(npred / wall, 1),
                "full_1hz_predictions": full,
                "projected_full_wall_s": round(full / (npred / wall), 1),
                "projected_full_cpu_s": round(full / (npred / cpu), 1),
            }
            rows.append(row)
            print(json.dumps(row))
    for method in args.methods:
        rs = [r for r in rows if r["method"] == method]
        if len(rs) > 1:
            a, b = rs[0], rs[-1]
            print(
                f"{method}: runs {a['runs']} -> {b['runs']}: time x"
                f"{b['wall_s'] / a['wall_s']:.1f} for x{b['predictions'] / a['predictions']:.0f} "
                "predictions"
            )
    if args.json is not None:
        meta = {
            "scenario": args.scenario,
            "drag_state": args.drag_state,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
        }
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
