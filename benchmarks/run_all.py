"""Run every benchmark and collect the results in a new folder ``results/<UTC time>-benchmarks/``.

    python benchmarks/run_all.py            # full sizes (several minutes)
    python benchmarks/run_all.py --quick    # small sizes, about two minutes

Each benchmark runs as its own process (so timings do not interfere) and writes its JSON
into the folder; ``provenance.json`` records git revision, package versions and the commands,
and ``SUMMARY.md`` tabulates the numbers that the README quotes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from trackers.io import new_run_dir, write_provenance  # noqa: E402


def _jobs(quick: bool) -> list[tuple[str, list[str]]]:
    speed = ["--quick"] if quick else ["--n", "1", "100", "1000", "10000"]
    tracking = ["--quick"] if quick else ["--runs", "1", "20"]
    return [
        ("simulate_speed", ["simulate_speed.py", "--repeat", "5"]),
        (
            "detect_speed",
            ["detect_speed.py", "--runs", "100" if quick else "1000", "--repeat", "3"],
        ),
        ("reentry_ekfukf", ["reentry.py", "--variant", "ekfukf", "--runs", "100", "--seed", "1"]),
        ("reentry_stress", ["reentry.py", "--variant", "stress", "--runs", "100", "--seed", "1"]),
        ("speed", ["speed.py", *speed]),
        ("tracking_speed", ["tracking_speed.py", *tracking]),
        ("oosm", ["oosm.py", "--runs", "10" if quick else "50", "--seed", "1"]),
    ]


def _summary(folder: Path) -> str:
    lines = ["# Benchmark summary", ""]
    for path in sorted(folder.glob("*.json")):
        if path.name == "provenance.json":
            continue
        lines += [f"## {path.stem}", "", "```json", path.read_text().strip()[:4000], "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument("--out", help="new folder for the results (default results/<time>-benchmarks)")
    p.add_argument("--only", nargs="*", help="names of benchmarks to run")
    args = p.parse_args(argv)
    out = new_run_dir(args.out, label="benchmarks", base=ROOT / "results")
    commands = {}
    failed = []
    for name, cmd in _jobs(args.quick):
        if args.only and name not in args.only:
            continue
        full = [sys.executable, str(HERE / cmd[0]), *cmd[1:], "--json", str(out / f"{name}.json")]
        commands[name] = " ".join(["python", f"benchmarks/{cmd[0]}", *cmd[1:]])
        print(f"== {commands[name]}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(full, cwd=ROOT, capture_output=True, text=True)
        (out / f"{name}.log").write_text(proc.stdout + proc.stderr)
        print(proc.stdout[-3000:], flush=True)
        print(f"   ({time.perf_counter() - t0:.1f} s, exit {proc.returncode})", flush=True)
        if proc.returncode != 0:
            failed.append(name)
            print(proc.stderr[-3000:], file=sys.stderr)
    write_provenance(out, config={"quick": args.quick, "commands": commands})
    (out / "SUMMARY.md").write_text(_summary(out))
    print(f"wrote {out}/")
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
