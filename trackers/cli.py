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

    if args.check is None:
        for sid, desc in sorted(list_scenarios()):
            print(f"{sid:<24} {desc}")
        return 0
    from trackers.sim.calibrate import check_scenario

    names = args.check or [sid for sid, _ in sorted(list_scenarios())]
    scenarios = [load_scenario(name) for name in names]  # all load before any simulation
    print(
        "reentry vehicle, simulated vs published (relative error); tolerance per scenario file\n"
        f"{'scenario':<24}{'apogee km':>20}{'range km':>20}{'flight time s':>20}  status"
    )
    failures = 0
    for sc in scenarios:
        rows = check_scenario(sc)
        cells = []
        for r in (r for r in rows if r.kind == "published"):
            scale = 1.0 if r.name == "flight_time_s" else 1e3
            if r.target is None:
                cells.append(f"{r.achieved / scale:10.0f} (n/a)".rjust(20))
            else:
                cells.append(
                    f"{r.achieved / scale:8.0f}/{r.target / scale:<6.0f}{r.error:+5.1%}".rjust(20)
                )
        bad = [r for r in rows if not r.ok]
        failures += bool(bad)
        print(f"{sc.id:<24}{''.join(cells)}  {'ok' if not bad else 'OUTSIDE TOLERANCE'}")
        if args.check:  # named files: every objective and the recorded values, in full
            for r in rows:
                if r.kind == "published":
                    continue
                unit = "deg" if r.name.endswith("_deg") else ("s" if r.name.endswith("_s") else "m")
                err = f"{r.error:+.4f} deg" if unit == "deg" else f"{r.error:+.2e}"
                ref = "target" if r.kind == "objective" else "file  "
                print(
                    f"  {r.kind:<10}{r.name:<24}achieved {r.achieved:14.3f} {unit:<4}"
                    f"{ref} {r.target:14.3f}  ({err}){'' if r.ok else '  MISSED'}"
                )
        else:
            for r in bad:
                if r.kind != "published":
                    print(f"  {r.kind} {r.name}: achieved {r.achieved:.6g}, file {r.target:.6g}")
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
    from trackers.io.datasets import default_root, generate_all, verify_all

    # how each FileAction of a regeneration is printed: (label, remark)
    printed = {
        "created": ("created", ""),
        "unchanged": ("replaced", "content unchanged"),
        "replaced": ("replaced", "content changed"),
        "removed": ("removed", ""),
        "left alone": ("left alone", ""),
    }

    if args.root is not None and args.root_opt is not None and args.root != args.root_opt:
        raise ValueError(f"two dataset folders given: {args.root} and --root {args.root_opt}")
    given = args.root if args.root is not None else args.root_opt
    if args.action == "generate":
        root = Path(given) if given is not None else default_root()
        for regen in generate_all(root, only=args.only, force=args.force):
            print(f"generated {regen.folder}")
            for f in regen.files:
                # every file touched or seen: created / replaced (content changed or not) /
                # removed (stale) / left alone (not the generator's)
                label, what = printed[f.action]
                notes = "; ".join(n for n in (what, f.note) if n)
                print(f"  {label:<10} {f.path}" + (f"  ({notes})" if notes else ""))
        return 0
    if args.only or args.force:
        raise ValueError("--only and --force apply to `trackers data generate`, not verify")
    root = Path(given) if given is not None else default_root()
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

    s = sub.add_parser(
        "scenarios",
        help="list the built-in scenarios, or check scenarios against their targets",
        description="List the built-in scenarios; with --check, simulate scenarios (all "
        "built-ins, or the ids / TOML files given) and compare with their published targets, "
        "tuning objectives and recorded achieved values (exit status 1 if any is missed).",
    )
    s.add_argument(
        "--check",
        nargs="*",
        metavar="SCENARIO",
        help="check these built-in ids or TOML files (default: every built-in scenario); "
        "a named scenario also prints each objective and recorded value",
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

    s = sub.add_parser(
        "data",
        help="regenerate or checksum-verify the synthetic datasets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
generate  rebuild every synthetic dataset (scenario.toml, truth.csv, events.csv,
          detections.csv where the dataset has radar data, MANIFEST.json) from the
          built-in scenarios. Each file written is listed as created or replaced
          (content changed / content unchanged). Files the generator did not write
          are left alone and listed; files an earlier generate wrote that are no
          longer generated are removed (if unedited) and listed. A generated file
          edited since the last generate (its SHA-256 differs from MANIFEST.json) is
          not overwritten: the command stops before writing anything and names it,
          unless --force.
verify    check every file of every dataset folder against its MANIFEST.json:
          missing, modified and unlisted files are reported (exit status 1).

PATH defaults to the repository's data/synthetic, found next to the installed
package, else under the current directory.""",
    )
    s.add_argument(
        "action",
        choices=["generate", "verify"],
        help="generate: rebuild the datasets; verify: check them against their manifests",
    )
    s.add_argument(
        "root",
        nargs="?",
        metavar="PATH",
        help="folder holding the dataset folders (default: the repository's data/synthetic)",
    )
    s.add_argument("--root", dest="root_opt", metavar="PATH", help=argparse.SUPPRESS)
    s.add_argument("--only", action="append", help="dataset id to generate (repeatable)")
    s.add_argument(
        "--force",
        action="store_true",
        help="generate: also overwrite generated files edited since the last generate",
    )
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
