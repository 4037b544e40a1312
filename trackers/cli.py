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
from typing import Any

import numpy as np

from trackers import __version__

DEFAULT_SCENARIO = "hokkaido-2023"


def _fmt_time(t: float) -> str:
    m, s = divmod(t, 60.0)
    return f"{int(m):3d} min {s:04.1f} s"


def print_flight_summary(summary: dict, out=None) -> None:
    """Human-readable table of a flight summary dict (see ``trackers.sim.summary``) on
    ``out`` (default: the current ``sys.stdout``, looked up at call time)."""
    out = sys.stdout if out is None else out
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
    """``trackers simulate``: check every input, compute in memory, then write a new folder.

    Order: (1) arguments, the scenario file, its ``[sensors]`` radars and network and the
    ``--out`` folder are checked; (2) the flight and the detections are computed, after a
    probe of one noise draw has sized the ``--runs`` draws against free memory and disk;
    (3) only then is the folder created and written. A failure before (3) leaves nothing.
    """
    from trackers.io import new_run_dir, write_provenance
    from trackers.io.runs import available_memory_bytes, check_run_dir, free_disk_bytes
    from trackers.plotting import plot_flight
    from trackers.sensors import coverage_intervals, observe, report, sensors_for_scenario
    from trackers.sensors.summary import lead_time
    from trackers.sim import load_scenario, simulate
    from trackers.sim.simulate import check_rate_hz
    from trackers.sim.summary import flight_summary

    # (1) every input, before any computation or file
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    if args.runs > 2**31 - 1:  # the run index column is int32
        raise ValueError(f"--runs = {args.runs} is too large; expected at most {2**31 - 1}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    check_rate_hz(args.rate, "--rate")
    scenario = load_scenario(args.scenario)
    radars = network = None
    if not args.no_radar:
        radars, network = sensors_for_scenario(scenario.sensors)
    check_run_dir(args.out)

    # (2) compute in memory
    flight = simulate(scenario, rate_hz=args.rate)
    summary = flight_summary(flight)
    det = None
    if not args.no_radar:
        assert radars is not None and network is not None  # built above without --no-radar
        # one draw sizes all of them (observe's run 0 is the same draw in both calls)
        probe = observe(flight, radars, network, np.random.default_rng(args.seed), runs=1)
        rows = args.runs * max(len(probe), 1)
        need_mem, need_disk = 100 * rows, 140 * rows  # [bytes]: ~60 B/row held, ~136 B CSV
        have_mem = available_memory_bytes()
        have_disk = free_disk_bytes(args.out if args.out is not None else "runs")
        if have_mem is not None and need_mem > have_mem:
            raise ValueError(
                f"--runs {args.runs}: about {rows:.3g} detections need ~{need_mem / 1e9:.3g} GB "
                f"of memory, more than the {have_mem / 1e9:.3g} GB available; use fewer runs"
            )
        if have_disk is not None and need_disk > have_disk:
            raise ValueError(
                f"--runs {args.runs}: detections.csv would take ~{need_disk / 1e9:.3g} GB, more "
                f"than the {have_disk / 1e9:.3g} GB free on disk; use fewer runs"
            )
        det = probe
        if args.runs > 1:
            rng = np.random.default_rng(args.seed)
            det = observe(flight, radars, network, rng, runs=args.runs)
    fig = None if args.no_figure else plot_flight(flight, lines=_reference_lines())

    # (3) write
    out = new_run_dir(args.out, label=f"simulate-{scenario.id}")
    print_flight_summary(summary)
    (out / "scenario.toml").write_text(scenario.to_toml(), encoding="utf-8")
    flight.write_truth_csv(out / "truth.csv")
    flight.write_events_csv(out / "events.csv")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    config = {"scenario": scenario.id, "rate_hz": args.rate, "seed": args.seed, "runs": args.runs}
    if det is not None:
        assert radars is not None and network is not None  # det is set only with radars
        det.to_csv(out / "detections.csv")
        print()
        print(f"radar network {network.id}: {len(radars)} radars")
        print(report(det, radars))
        nations = {r.nation for r in radars}
        if {"KR", "JP"} <= nations:
            lead = lead_time(det, radars, "KR", "JP", time="t_arrival")
            if np.any(np.isfinite(lead)):
                print(
                    f"counted by arrival at {det.consumer}: Korean radars lead by "
                    f"{np.nanmedian(lead):.1f} s (median over runs; min {np.nanmin(lead):.1f}, "
                    f"max {np.nanmax(lead):.1f})"
                )
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
    if fig is not None:
        fig.savefig(out / "flight.png", dpi=120)
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


def cmd_study(args: argparse.Namespace) -> int:
    from trackers.studies import load_study, run_study
    from trackers.studies.report import describe

    if args.action == "run":
        study = load_study(args.file)
        out = Path(args.out) if args.out else Path("studies") / study.id
        res = run_study(
            study, out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
        )
        print(
            f"study {study.id}: {res.computed} chunk(s) computed, {res.skipped} already "
            f"stored, {res.wall_s:.1f} s -> {res.folder}"
        )
        return 0
    print(describe(args.folder, cluster_workers=args.cluster_workers))
    return 0


def _tracker_names(values: list[str] | None) -> list[str]:
    from trackers.tracking import PRESETS

    names = values or ["separation-aware"]
    if "all" in names:
        names = list(PRESETS)
    bad = [n for n in names if n not in PRESETS]
    if bad:
        raise ValueError(f"--tracker: unknown tracker(s) {bad}; choose from {sorted(PRESETS)}")
    return names


#: metrics reported under every scoring variant of ``trackers track``
_VARIANT_KEYS = ("rv_label_correct_frac", "false_tracks_per_run", "id_switches_per_run",
                 "rv_id_switches_per_run", "track_breaks_per_run")  # fmt: skip


def _scoring_variants(log: Any, flight: Any, det: Any, name: str) -> dict[str, dict]:
    """The track-level metrics under the other scoring conventions, to show how much they
    depend on them: the per-epoch optimal assignment instead of CLEAR MOT persistence, and
    the strict false-track count (a track on an alive but unreported object is false)."""
    from trackers.metrics.tracking import ScoreConfig, evaluate, summarise

    out = {}
    for label, cfg in (
        ("optimal_assignment", ScoreConfig(keep_correspondence=False)),
        ("strict_false_tracks", ScoreConfig(keep_correspondence=True, unreported_objects=False)),
    ):
        m = summarise(evaluate(log, flight, det, cfg), tracker=name)
        out[label] = {k: m[k] for k in _VARIANT_KEYS}
    return out


def _config_overrides(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings of ``--set`` -> TrackerConfig overrides (VALUE read as JSON:
    true / false, numbers, "strings"; a bare word is a string)."""
    from dataclasses import fields

    from trackers.tracking.config import TrackerConfig

    known = {f.name for f in fields(TrackerConfig)} - {"name", "earth"}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in known:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY a tracker setting "
                             f"({', '.join(sorted(known))})")  # fmt: skip
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def cmd_track(args: argparse.Namespace) -> int:
    """``trackers track``: radar reports of a scenario -> tracks of every object -> scores."""
    from trackers.alert_study import simulate_reports
    from trackers.io import new_run_dir, write_provenance
    from trackers.io.runs import check_run_dir
    from trackers.metrics.tracking import score
    from trackers.tracking import ScanSequence, preset, track

    names = _tracker_names(args.tracker)
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if not args.epoch > 0:
        raise ValueError(f"--epoch must be > 0 s, got {args.epoch}")
    check_run_dir(args.out)
    overrides = _config_overrides(args.set or [])
    for name in names:  # a bad key or value fails here, before any simulation
        preset(name, **overrides)
    sc, flight, radars, det = simulate_reports(args.scenario, args.runs, args.seed, args.network)
    scans = ScanSequence.from_detections(det, radars, delivery=args.delivery, lag=args.lag,
                                         late_window=args.late_window)  # fmt: skip
    results, metrics = {}, []
    for name in names:
        res = track(scans, radars, preset(name, **overrides), epochs=args.epoch,
                    chunk=args.chunk, progress=not args.no_progress)  # fmt: skip
        m = score(res.log, flight, det, tracker=name, keep_correspondence=True)
        m["overrides"] = overrides
        m["scoring_variants"] = _scoring_variants(res.log, flight, det, name)
        m["seconds"] = round(res.seconds, 2)
        m["reports"] = res.reports
        if args.delivery == "retrodict":
            m["late_reports"], m["late_used"] = res.late_reports, res.late_used
        m["reports_per_s"] = round(res.reports / max(res.seconds, 1e-9), 1)
        results[name] = res
        metrics.append(m)
    keys = [("gospa_mean_m", "GOSPA m", 1.0), ("rv_label_correct_frac", "rv label", 1.0),
            ("false_tracks_per_run", "false/run", 1.0), ("rv_id_switches_per_run",
            "rv switches/run", 1.0), ("spawn_split_delay_s_median", "split delay s", 1.0),
            ("track_breaks_per_run", "breaks/run", 1.0), ("reports_per_s", "reports/s", 1.0)]
    print(f"scenario {sc.id}, {args.runs} run(s), seed {args.seed}, delivery {args.delivery}")
    print(f"  {'tracker':<18}" + "".join(f"{h:>16}" for _, h, _ in keys))
    for m in metrics:
        cells = []
        for k, _, _ in keys:
            v = m.get(k)
            cells.append(f"{v:16.3g}" if isinstance(v, int | float) else f"{'n/a':>16}")
        print(f"  {m['tracker']:<18}" + "".join(cells))
    out = new_run_dir(args.out, label=f"track-{sc.id}")
    for name, res in results.items():
        fname = "tracks.csv" if len(results) == 1 else f"tracks-{name}.csv"
        res.log.to_csv(out / fname)
    (out / "metrics.json").write_text(
        json.dumps(metrics[0] if len(metrics) == 1 else metrics, indent=2) + "\n"
    )
    if not args.no_figure:
        from trackers.plotting_tracks import plot_tracks

        for name, res in results.items():
            fname = "tracks.png" if len(results) == 1 else f"tracks-{name}.png"
            plot_tracks(res.log, flight, out / fname, run=0,
                        title=f"{sc.id}: {name} tracker, run 0")  # fmt: skip
    config = {"scenario": sc.id, "runs": args.runs, "trackers": names, "network": args.network,
              "delivery": args.delivery, "lag_s": args.lag,
              "late_window_s": args.late_window, "epoch_s": args.epoch,
              "overrides": overrides}  # fmt: skip
    write_provenance(out, config=config, seeds={"radar_noise": args.seed})
    print(f"wrote {out}/")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``trackers demo``: the Hokkaido mis-alert, naive vs separation-aware (alert_study)."""
    from trackers.alert_study import REGION, alert_demo, summarise_demo
    from trackers.impact.regions import load_regions
    from trackers.io import new_run_dir, write_provenance
    from trackers.io.runs import check_run_dir
    from trackers.plotting_tracks import plot_alert_map, plot_alert_timeline

    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    check_run_dir(args.out)
    if args.json and Path(args.json).exists():
        raise FileExistsError(f"--json {args.json} exists; refusing to overwrite it")
    print(f"alert demo: {args.runs} radar-noise draw(s) per scenario, seed {args.seed}, "
          f"{args.jobs or 'auto'} process(es)...", flush=True)  # fmt: skip
    results = alert_demo(args.runs, args.seed, step=args.step, jobs=args.jobs)
    summary = summarise_demo(results)

    def cell(rate, ci) -> str:
        if rate is None or (isinstance(rate, float) and not np.isfinite(rate)):
            return "n/a".rjust(22)
        return f"{rate:5.2f} [{ci[0]:.2f}, {ci[1]:.2f}]".rjust(22)

    print(f"\nregion {REGION}; false alerts on hokkaido-2023 (falls in the Sea of Japan), missed"
          " alerts and lead time on hokkaido-2023-onland; 95 % Wilson / order-statistic CIs")
    print(f"  {'system':<18}{'false alert rate':>22}{'missed alert rate':>22}"
          f"{'not in force at impact':>24}{'median lead time s':>22}")  # fmt: skip
    for sy in summary["false_alert_rate"]:
        lead = summary["median_lead_time_s"].get(sy)
        lead_s = "n/a" if lead is None else f"{lead:.0f}"
        mif = summary.get("missed_in_force_rate", {})
        mif_ci = summary.get("missed_in_force_ci", {})
        print(f"  {sy:<18}{cell(summary['false_alert_rate'][sy], summary['false_alert_ci'][sy])}"
              f"{cell(summary['missed_alert_rate'].get(sy), summary['missed_alert_ci'].get(sy))}"
              f"{cell(mif.get(sy), mif_ci.get(sy)):>24}{lead_s:>22}")  # fmt: skip
    print("  (missed: never alerted; not in force at impact: never alerted, or the alert was "
          "withdrawn before the impact)")
    print("  false alerts by cause (share): " + "; ".join(
        f"{sy}: " + ", ".join(f"{k} {v:.2f}" for k, v in c.items() if k != "false_alerts")
        for sy, c in summary["false_alert_causes"].items()))  # fmt: skip
    sw = summary.get("threshold_sweep") or {}
    if "false_alert_rate" in sw and "missed_alert_rate" in sw:
        print(f"  threshold sweep of the {sw['system']} policy (same tracks): threshold -> "
              "false alert rate / missed alert rate / median lead time s")  # fmt: skip
        for th, fa, ma, lt in zip(sw["thresholds"], sw["false_alert_rate"],
                                  sw["missed_alert_rate"], sw["median_lead_time_s"],
                                  strict=True):  # fmt: skip
            lead = "n/a" if lt is None else f"{lt:.0f}"
            print(f"    {th:8.1e}  {fa:5.2f} / {ma:5.2f} / {lead}")
    out = new_run_dir(args.out, label="demo")
    (out / "demo.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.json:
        with open(args.json, "x") as fh:
            json.dump(summary, fh, indent=2)
    region = load_regions()[REGION]
    for r in results:
        if r.scenario != "hokkaido-2023":
            continue
        false_runs = r.timeline.runs[np.isfinite(r.timeline.issued) & ~r.truth_hit]
        run = int(false_runs[0]) if false_runs.size else 0
        onl = next((x for x in results if x.scenario != r.scenario), None)
        truths = {"rv (hokkaido-2023)": r.rv_impact}
        if onl is not None:
            truths["rv (onland counterfactual)"] = onl.rv_impact
        issued = r.timeline.issued[r.timeline.runs == run]
        hl = float(issued[0]) if issued.size and np.isfinite(issued[0]) else None
        plot_alert_map(out / f"alert-map-{r.system}.png", truths, r.impacts, run, region,
                       title=f"{r.system}: run {run} predicted impacts over time (95 % ellipses)",
                       highlight=hl)  # fmt: skip
    plot_alert_timeline(out / "alert-timeline.png", results,
                        title="Hokkaido alerts per run against flight events")  # fmt: skip
    write_provenance(out, config={"runs": args.runs, "step_s": args.step,
                                  "systems": sorted({r.system for r in results})},
                     seeds={"radar_noise": args.seed})  # fmt: skip
    print(f"wrote {out}/")
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
        help="simulate a scenario and its radar detections; write a new results folder",
        description="Simulate every object of a scenario (stack, spent stages, debris) on the "
        "scenario's Earth model (default: rotating WGS-84, J2, US76 atmosphere), observe it "
        "with the radars and network of the scenario's [sensors] table (default: every radar "
        "of linked-via-hub), print the flight summary, the radar report and coverage, and "
        "write scenario.toml, truth.csv, events.csv, summary.json, detections.csv, "
        "flight.png and provenance.json to a new folder. Every input is checked before "
        "anything is computed or written.",
    )
    s.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        help=f"built-in id (see `trackers scenarios`) or a TOML file (default {DEFAULT_SCENARIO})",
    )
    s.add_argument(
        "--out",
        metavar="DIR",
        help="new or empty folder for the results (default runs/<UTC time>-simulate-<id>, "
        "e.g. runs/20240101T120000Z-simulate-hokkaido-2023)",
    )
    s.add_argument(
        "--rate",
        type=float,
        default=10.0,
        metavar="HZ",
        help="truth sample rate [Hz], 0.01 to 1000 (default 10)",
    )
    s.add_argument(
        "--seed", type=int, default=0, help="seed of the radar noise draws, >= 0 (default 0)"
    )
    s.add_argument(
        "--runs",
        type=int,
        default=1,
        help="independent radar noise draws (Monte Carlo runs) in detections.csv, >= 1; "
        "checked against free memory and disk before anything is written (default 1)",
    )
    s.add_argument("--no-figure", action="store_true", help="do not draw flight.png")
    s.add_argument(
        "--no-radar", action="store_true", help="no radar detections (no detections.csv)"
    )
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
    s = sub.add_parser(
        "study",
        help="run a Monte Carlo study file (chunked, resumable, Dask) or show its results",
        description="Run a study file (grid x runs of an experiment kind) into a results "
        "folder, or report a results folder. Running the same command again resumes: only "
        "the missing chunks are computed; stored chunks are never overwritten.",
    )
    ss = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    r = ss.add_parser("run", help="compute the missing chunks of a study file")
    r.add_argument("file", help="study TOML file (e.g. benchmarks/studies/*.toml)")
    r.add_argument("--out", help="results folder (default studies/<study id>)")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="start a local Dask cluster of N processes")
    where.add_argument("--scheduler", metavar="ADDRESS", help="use this Dask scheduler")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_study)
    r = ss.add_parser("show", help="report a results folder: progress, timings, summary")
    r.add_argument("folder", help="results folder of `trackers study run`")
    r.add_argument(
        "--cluster-workers",
        type=int,
        nargs="+",
        default=[16, 64, 256],
        help="worker counts for the projected wall time (16 64 256)",
    )
    r.set_defaults(func=cmd_study)
    s = sub.add_parser(
        "track",
        help="track every object of a scenario's radar reports; print and write scores",
        description="Simulate a scenario and its radar network, cut the reports into scans, "
        "run the tracker(s) on every Monte Carlo draw at once and score them against truth. "
        "Writes tracks.csv (or tracks-<tracker>.csv), metrics.json, a figure and provenance.",
    )
    s.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help=f"built-in id or a TOML file (default {DEFAULT_SCENARIO})")
    s.add_argument("--tracker", action="append",
                   help="naive, separation-aware (default) or all; repeatable")
    s.add_argument("--network", help="network preset overriding the scenario's "
                   "(linked-via-hub, japan-only, korea-only)")
    s.add_argument("--runs", type=int, default=1, help="radar-noise draws (1)")
    s.add_argument("--seed", type=int, default=0, help="seed of the radar noise (0)")
    s.add_argument("--epoch", type=float, default=1.0, help="snapshot interval of tracks [s] (1)")
    s.add_argument("--delivery", choices=["ideal", "buffer", "drop", "retrodict"],
                   default="ideal",
                   help="arrival at the consumer: ideal (measurement order), buffer (fixed lag), "
                   "drop (out-of-sequence reports dropped), retrodict (out-of-sequence reports "
                   "retrodicted into the tracks) (ideal)")
    s.add_argument("--lag", type=float, default=5.0, help="reorder-buffer lag [s] (5)")
    s.add_argument("--late-window", type=float, default=0.0,
                   help="retrodict: hold late reports to the end of their arrival window of "
                   "this many seconds, batching them across runs (0: exact arrival order)")
    s.add_argument("--chunk", type=int, default=500, help="runs tracked at once (500)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a setting of the tracker preset(s), e.g. drag_mode=true, "
                   "q_ballistic=0.1 (see trackers.tracking.TrackerConfig); repeatable")  # fmt: skip
    s.add_argument("--out", help="new or empty folder (default runs/<UTC time>-track-<id>)")
    s.add_argument("--no-figure", action="store_true", help="skip the figure")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_track)

    s = sub.add_parser(
        "demo",
        help="the Hokkaido mis-alert: naive vs separation-aware tracker and alert policy",
        description="Runs hokkaido-2023 (falls in the Sea of Japan) and hokkaido-2023-onland "
        "(the counterfactual that lands on Hokkaido) with the naive tracker + naive policy and "
        "the separation-aware tracker + probabilistic policy; prints false alerts, missed alerts "
        "and lead time with intervals; writes demo.json and figures.",
    )
    s.add_argument("--runs", type=int, default=4, help="radar-noise draws per scenario (4)")
    s.add_argument("--seed", type=int, default=0, help="seed of the radar noise (0)")
    s.add_argument("--step", type=float, default=5.0, help="decision interval [s] (5)")
    s.add_argument("--jobs", type=int, help="processes (default: CPU count, at most 4)")
    s.add_argument("--json", help="also write the summary to this new file")
    s.add_argument("--out", help="new or empty folder (default runs/<UTC time>-demo)")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``trackers`` command; returns the exit status.

    Expected failures (bad input, a scenario file's problems, a folder that cannot be
    written, a flight that does not come down, too many runs for the memory) print
    ``trackers: error: ...`` on stderr, never a traceback, and return 2. A closed standard
    output (``trackers simulate | head -1``) does not stop the command: the rest of the
    printed text is dropped, the results are still written, and one line on stderr says so.
    """
    args = build_parser().parse_args(argv)
    from trackers.io.console import PipeSafeWriter

    stdout = sys.stdout
    safe = PipeSafeWriter(stdout)
    sys.stdout = safe
    try:
        code = int(args.func(args) or 0)
        safe.flush()
    except KeyboardInterrupt:
        print("trackers: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from trackers.sim.simulate import SimulationError

        expected = (ValueError, TypeError, KeyError, OSError, MemoryError, SimulationError)
        if not isinstance(exc, expected):
            raise
        if isinstance(exc, OSError) and exc.filename is not None:
            msg = f"{exc.filename}: {exc.strerror or exc}"  # e.g. a write to a full disk
        elif isinstance(exc, OSError) and exc.strerror:
            msg = exc.strerror
        elif isinstance(exc, MemoryError):
            msg = "out of memory" + (f": {exc}" if str(exc) else "") + "; use fewer --runs"
        else:
            msg = str(exc) or type(exc).__name__
        print(f"trackers: error: {msg}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout
        if safe.broken:
            print(
                "trackers: standard output was closed early (broken pipe): the rest of the "
                "printed output was dropped; files were still written",
                file=sys.stderr,
            )
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
