"""Regenerate the figures that the README shows (benchmarks/figures/*.png).

    python benchmarks/readme_figures.py            # flight figure (seconds)
    python benchmarks/readme_figures.py --demo     # also the alert-demo figures (minutes)

Each figure comes from the built-in scenario catalog with fixed settings (the demo: 4 radar-
noise draws per scenario, seed 0), so anyone can reproduce it bit for bit on the same platform.
All of them are drawn by :mod:`trackers.plotting` / :mod:`trackers.plotting_tracks` in the
package style (:mod:`trackers.plotting_style`: colour-blind-safe colours fixed per object and
tracker, the Korea-Hokkaido map with place names, legends below the maps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackers.plotting import plot_flight
from trackers.sim import load_scenario, simulate
from trackers.sim.geography import JAPAN_EEZ_WEST

OUT = Path(__file__).resolve().parent / "figures"


def main() -> None:
    import shutil
    import sys
    import tempfile

    OUT.mkdir(exist_ok=True)
    if "--demo" in sys.argv[1:]:
        from trackers.cli import main as trackers_main

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo"
            trackers_main(["demo", "--runs", "4", "--seed", "0", "--out", str(out)])
            for name in ("alert-map-naive.png", "alert-map-separation-aware.png",
                         "alert-timeline.png"):  # fmt: skip
                shutil.copy(out / name, OUT / name)
                print(f"wrote {OUT / name}")
    eez = np.asarray(JAPAN_EEZ_WEST)
    for sid in ("hokkaido-2023",):
        flight = simulate(load_scenario(sid), rate_hz=10.0)
        path = OUT / f"{sid}.png"
        plot_flight(flight, path, lines={"Japan EEZ limit (approx.)": (eez[:, 0], eez[:, 1])})
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
