"""The ``trackers`` command (also ``python -m trackers``).

Subcommands
-----------
scenarios                 list the built-in scenario catalog
simulate SCENARIO         simulate a flight and its radar detections; print summaries; write
                          truth/events/detections CSV, summary.json, a figure, provenance
data generate | verify    regenerate the synthetic datasets / check their checksums
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from trackers import __version__

DEFAULT_SCENARIO = "hokkaido-2023"


def _fmt_time(t: float) -> str:
    m, s = divmod(t, 60.0)
    return f"{int(m):3d} min {s:04.1f} s"


def print_flight_summary(summary: dict, out=sys.stdout) -> None:
    """Human-readable table of a flight summary dict (see ``trackers.sim.summary``)."""
    print(f"scenario {summary['scenario']}", file=out)
    print(
        f"  {'object':<12}{'role':<10}{'apogee km':>11}{'range km':>11}{'flight time':>16}"
        f"{'impact lat':>12}{'impact lon':>12}",
        file=out,
    )
    for o in summary["objects"]:
        print(
            f"  {o['id']:<12}{o['role']:<10}{o['apogee_m'] / 1e3:11.1f}{o['range_m'] / 1e3:11.1f}"
            f"{_fmt_time(o['flight_time_s']):>16}{o['impact_lat_deg']:11.3f}N"
            f"{o['impact_lon_deg']:11.3f}E",
            file=out,
        )
    print("  events:", file=out)
    for e in summary["events"]:
        print(f"    t = {e['t_s']:8.1f} s  {e['object']:<12} {e['kind']}", file=out)


def cmd_scenarios(args: argparse.Namespace) -> int:
    from trackers.sim import list_scenarios, load_scenario

    if not args.check:
        for sid, desc in sorted(list_scenarios()):
            print(f"{sid:<24} {desc}")
        return 0
    from trackers.sim.solve import flight_outcomes

    print(
        "reentry vehicle, simulated vs published (relative error); tolerance per scenario file\n"
        f"{'scenario':<24}{'apogee km':>20}{'range km':>20}{'flight time s':>20}  status"
    )
    failures = 0
    for sid, _ in sorted(list_scenarios()):
        sc = load_scenario(sid)
        rv = flight_outcomes(sc, spent=False)["rv"]
        cal = sc.calibration
        cells, ok = [], True
        for key, scale in (("apogee_m", 1e3), ("range_m", 1e3), ("flight_time_s", 1.0)):
            target = getattr(cal, key, None) if cal is not None else None
            if target is None:
                cells.append(f"{rv[key] / scale:10.0f} (n/a)".rjust(20))
                continue
            err = rv[key] / target - 1.0
            ok &= abs(err) <= cal.tolerance
            cells.append(f"{rv[key] / scale:8.0f}/{target / scale:<6.0f}{err:+5.1%}".rjust(20))
        failures += not ok
        print(f"{sid:<24}{''.join(cells)}  {'ok' if ok else 'OUTSIDE TOLERANCE'}")
    return 1 if failures else 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from trackers.io import new_run_dir, write_provenance
    from trackers.plotting import plot_flight
    from trackers.sensors import coverage_intervals, observe, report, sensors_for_scenario
    from trackers.sim import load_scenario, simulate
    from trackers.sim.summary import flight_summary

    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    scenario = load_scenario(args.scenario)
    out = new_run_dir(args.out, label=f"simulate-{scenario.id}")
    flight = simulate(scenario, rate_hz=args.rate)
    summary = flight_summary(flight)
    print_flight_summary(summary)
    (out / "scenario.toml").write_text(scenario.to_toml())
    flight.write_truth_csv(out / "truth.csv")
    flight.write_events_csv(out / "events.csv")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    config = {"scenario": scenario.id, "rate_hz": args.rate, "seed": args.seed, "runs": args.runs}
    if not args.no_radar:
        radars, network = sensors_for_scenario(scenario.sensors)
        det = observe(flight, radars, network, np.random.default_rng(args.seed), runs=args.runs)
        det.to_csv(out / "detections.csv")
        print()
        print(f"radar network {network.id}: {len(radars)} radars")
        print(report(det, radars))
        print("coverage intervals [s after epoch] (line of sight, range and field of regard):")
        for radar in radars:
            cov = coverage_intervals(flight, radar)
            spans = "; ".join(
                f"{obj} " + ", ".join(f"{a:.0f}-{b:.0f}" for a, b in iv)
                for obj, iv in cov.items()
                if iv
            )
            print(f"  {radar.id:<20} {spans or 'never visible'}")
        config["network"] = network.id
        config["radars"] = [r.id for r in radars]
    if not args.no_figure:
        plot_flight(flight, out / "flight.png", lines=_reference_lines())
    write_provenance(out, config=config, seeds={"radar_noise": args.seed})
    print(f"wrote {out}/")
    return 0


def _reference_lines() -> dict:
    """Reference polylines for the flight figure: Japan's approximate EEZ limit."""
    from trackers.sim.geography import JAPAN_EEZ_WEST

    arr = np.asarray(JAPAN_EEZ_WEST, float)
    return {"Japan EEZ limit (approx.)": (arr[:, 0], arr[:, 1])}


def cmd_data(args: argparse.Namespace) -> int:
    from trackers.io.datasets import generate_all, verify_all

    root = Path(args.root)
    if args.action == "generate":
        for path in generate_all(root, only=args.only):
            print(f"generated {path}")
        return 0
    problems = verify_all(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print(f"all datasets under {root} verify")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="trackers",
        description="Simulate multistage ballistic flights, radar networks and trackers "
        "(KF/EKF/UKF/CKF/IMM) through stage separation.",
    )
    p.add_argument("--version", action="version", version=f"ballistic-trackers {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("scenarios", help="list the built-in scenarios")
    s.add_argument(
        "--check",
        action="store_true",
        help="simulate each scenario and compare with its published apogee, range, flight time",
    )
    s.set_defaults(func=cmd_scenarios)

    s = sub.add_parser(
        "simulate",
        help="simulate a scenario: summary, truth.csv, events.csv, summary.json, figure",
        description="Simulate every object of a scenario (stack, spent stages, debris) on a "
        "rotating WGS-84 Earth and write the results to a new folder.",
    )
    s.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        help=f"built-in id (see `trackers scenarios`) or a TOML file (default {DEFAULT_SCENARIO})",
    )
    s.add_argument("--out", help="new or empty folder for results (default runs/<time>-<id>)")
    s.add_argument("--rate", type=float, default=10.0, help="output sample rate [Hz] (10)")
    s.add_argument("--seed", type=int, default=0, help="seed of the radar noise draw (0)")
    s.add_argument("--runs", type=int, default=1, help="independent radar noise draws (1)")
    s.add_argument("--no-figure", action="store_true", help="skip the figure")
    s.add_argument("--no-radar", action="store_true", help="skip the radar detections")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("data", help="regenerate or verify the synthetic datasets")
    s.add_argument("action", choices=["generate", "verify"])
    s.add_argument("--root", default="data/synthetic", help="datasets folder (data/synthetic)")
    s.add_argument("--only", action="append", help="dataset id to generate (repeatable)")
    s.set_defaults(func=cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, KeyError) as exc:
        print(f"trackers: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
