"""Regenerate the figures that the README shows (benchmarks/figures/*.png).

    python benchmarks/readme_figures.py

Each figure comes from the built-in scenario catalog with fixed settings, so anyone can
reproduce it bit for bit on the same platform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackers.plotting import plot_flight
from trackers.sim import load_scenario, simulate
from trackers.sim.geography import JAPAN_EEZ_WEST

OUT = Path(__file__).resolve().parent / "figures"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    eez = np.asarray(JAPAN_EEZ_WEST)
    for sid in ("hokkaido-2023",):
        flight = simulate(load_scenario(sid), rate_hz=10.0)
        path = OUT / f"{sid}.png"
        plot_flight(flight, path, lines={"Japan EEZ limit (approx.)": (eez[:, 0], eez[:, 1])})
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
