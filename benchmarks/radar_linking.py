"""The Korea-Japan radar-linking study: table and figure (:mod:`trackers.linking_study`).

Networks japan-only, korea-only and linked-via-hub (Korea -> hub -> Japan latency L set to each
of --latencies, deterministic, on top of the radar -> Korean centre leg), hokkaido-2023 and its
onland counterfactual over --runs draws of the radar noise, both systems of
:mod:`trackers.alert_study` (naive, separation-aware). Per configuration, at the consuming
node (the Japanese centre; the Korean one for korea-only), medians over runs of

    confirm    time of the first confirmed track on a true object           (hokkaido-2023)
    accurate   time of the first prediction within 50 km of the true impact (hokkaido-2023)
    alert      time of the Hokkaido alert, and the lead time before impact  (onland)
    missed     missed-alert rate, Wilson 95 % interval                      (onland)
    false      false-alert rate, Wilson 95 % interval                       (hokkaido-2023)

"exact": tracks from every report in measurement order, each decision known at the consumer
once every report measured before it has arrived (tracked once, every latency derived);
"buffer": a fixed-lag reorder buffer of lag L + 1 s (late reports dropped), tracked per
latency for --buffer-systems, with the reports cut at 400 s (the three times above all come
before ~250 s; rates then not measured).

Usage:
    python benchmarks/radar_linking.py --runs 4 --seed 0 [--latencies 0 2 5 10]
        [--networks japan-only korea-only linked-via-hub] [--out DIR] [--json FILE]

Writes a new run folder (``--out DIR``, which must not exist or be empty, else
``runs/<timestamp>-radar-linking``): ``table.txt``, ``linking.json`` (rows of
:data:`trackers.linking_study.TABLE_COLUMNS` and the configuration), ``radar-linking.png``,
``provenance.json``. ``--json FILE`` (must not exist) also writes the rows there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackers.alert_study import SYSTEMS
from trackers.io.provenance import write_provenance
from trackers.io.runs import check_run_dir, new_run_dir
from trackers.linking_study import (
    LATENCIES_S,
    NETWORKS,
    LinkingConfig,
    format_table,
    linking_study,
    plot_linking,
    summarise_linking,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=4, help="radar-noise draws per scenario")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latencies", type=float, nargs="+", default=list(LATENCIES_S),
                   help="Korea -> hub -> Japan latencies [s]")  # fmt: skip
    p.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    p.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    p.add_argument("--buffer-systems", nargs="*", default=["separation-aware"],
                   choices=list(SYSTEMS),
                   help="systems also run with the fixed-lag buffer")  # fmt: skip
    p.add_argument("--t-end", type=float, default=None,
                   help="cut the reports at this time [s] (rates not measured)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--out", default=None, help="new run folder (must not exist or be empty)")
    p.add_argument("--json", default=None, help="also write the rows to this new file")
    args = p.parse_args(argv)
    try:
        cfg = LinkingConfig(
            runs=args.runs, seed=args.seed, networks=tuple(args.networks),
            latencies_s=tuple(args.latencies), systems=tuple(args.systems),
            buffer_systems=tuple(args.buffer_systems), t_end_s=args.t_end, jobs=args.jobs,
        )  # fmt: skip
        check_run_dir(args.out)
    except (ValueError, OSError) as exc:
        p.error(str(exc))
    if args.json and Path(args.json).exists():
        p.error(f"--json {args.json} exists; results are never overwritten")
    t0 = time.perf_counter()
    errors: list[str] = []
    results = linking_study(cfg, errors=errors)  # a failed unit is reported, not fatal
    wall = time.perf_counter() - t0
    for e in errors:
        print(f"FAILED {e}", file=sys.stderr)
    rows = summarise_linking(results)
    table = format_table(rows)
    print(table)
    print(f"wall time {wall:.0f} s ({cfg.runs} runs, {cfg.jobs} processes)")
    out = new_run_dir(args.out, label="radar-linking")
    (out / "table.txt").write_text(table + f"\nwall time {wall:.0f} s\n")
    config = dataclasses.asdict(cfg)
    doc = {"config": config, "wall_seconds": round(wall, 1), "rows": rows, "errors": errors,
           "tracking_seconds": {f"{r.network}/{r.scenario}/{r.system}/{r.delivery}"
                                + ("" if r.delivery == "exact" else f"/{r.latency_s:g}"):
                                round(r.tracking_seconds, 1) for r in results}}  # fmt: skip
    (out / "linking.json").write_text(json.dumps(doc, indent=2) + "\n")
    plot_linking(rows, out / "radar-linking.png",
                 title=f"Radar linking: median times at the consumer ({cfg.runs} runs, "
                 f"seed {cfg.seed})")  # fmt: skip
    write_provenance(out, config=config, seeds={"seed": cfg.seed})
    if args.json:
        with open(args.json, "x", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
    print(f"results in {out}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
