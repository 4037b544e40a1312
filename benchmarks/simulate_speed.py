"""Time a full simulation of a built-in scenario (all objects, 10 Hz output).

Usage::

    python benchmarks/simulate_speed.py [--scenario hokkaido-2023] [--repeat 5] [--rate 10]
                                        [--json PATH]

Prints the best wall-clock time of ``--repeat`` runs (after one warm-up run) and, with
``--json``, writes ``{"scenario", "seconds", "objects", "samples", "python", "numpy",
"scipy"}``. Target (brief): under 1 s for hokkaido-2023 on one core.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.sim import load_scenario, simulate


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="hokkaido-2023")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rate", type=float, default=10.0, help="output rate [Hz]")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    flight = simulate(sc, rate_hz=args.rate)  # warm-up (imports, table set-up)
    times = []
    for _ in range(max(args.repeat, 1)):
        t0 = time.perf_counter()
        flight = simulate(sc, rate_hz=args.rate)
        times.append(time.perf_counter() - t0)
    result = {
        "scenario": sc.id,
        "seconds": min(times),
        "objects": len(flight.objects),
        "samples": int(sum(len(o.t) for o in flight.objects)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    print(
        f"{sc.id}: {result['seconds']:.3f} s best of {len(times)} "
        f"(median {sorted(times)[len(times) // 2]:.3f} s), {result['objects']} objects, "
        f"{result['samples']} samples at {args.rate:g} Hz"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
