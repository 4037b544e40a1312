"""Per-run random streams of a study, from ``numpy.random.SeedSequence`` spawning.

A study has one root ``SeedSequence(seed)``. Each experiment kind draws from a few numbered
*streams* s = 0, 1, ... (e.g. 0: detections, 1: prior errors), and run i of stream s uses

    SeedSequence(seed, spawn_key=(s, i))   =   root.spawn(s + 1)[s].spawn(i + 1)[i]

i.e. child i of child s of the root (O'Neill 2014 / NumPy NEP 19: spawned children are
statistically independent streams). A run's draws therefore depend only on (seed, s, i):
never on which chunk, worker or process computes it, nor on how many runs the study has.
Any chunking, any number of workers and serial execution give bit-identical results, and
adding runs later leaves earlier runs unchanged. Every cell of a study grid uses the same
streams for run i (common random numbers: grid cells are compared on the same draws).

References
----------
M. E. O'Neill, "PCG: a family of simple fast space-efficient statistically good algorithms
for random number generation", HMC-CS-2014-0905, 2014 (seed-sequence hashing).
NumPy Enhancement Proposal 19, "Random number generator policy", 2019 (SeedSequence.spawn).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["run_generators", "run_seed", "stacked_normal", "stream_parent"]


def _check(root: np.random.SeedSequence, stream: int) -> None:
    if not isinstance(root, np.random.SeedSequence):
        raise TypeError(f"seed must be a numpy.random.SeedSequence, got {type(root).__name__}")
    if isinstance(stream, bool) or not isinstance(stream, int | np.integer) or stream < 0:
        raise ValueError(f"stream = {stream!r}, expected an int >= 0")


def stream_parent(root: np.random.SeedSequence, stream: int) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=(*root.spawn_key, stream))``: parent of a stream's runs.

    ``numpy.random.default_rng(stream_parent(root, s)).spawn(n)[i]`` is run i's generator of
    stream s, which is how :func:`trackers.sensors.observe` with ``chunk_runs=1`` draws.
    """
    _check(root, stream)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(stream)))


def run_seed(root: np.random.SeedSequence, stream: int, run: int) -> np.random.SeedSequence:
    """Seed of run ``run`` in stream ``stream``: spawn key ``(*root.spawn_key, stream, run)``."""
    _check(root, stream)
    if isinstance(run, bool) or not isinstance(run, int | np.integer) or run < 0:
        raise ValueError(f"run = {run!r}, expected an int >= 0")
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(stream), int(run)))


def run_generators(
    root: np.random.SeedSequence, stream: int, runs: range
) -> list[np.random.Generator]:
    """One ``numpy.random.Generator`` per run of ``runs`` (stream ``stream``)."""
    if not isinstance(runs, range) or runs.step != 1 or runs.start < 0:
        raise ValueError(f"runs = {runs!r}, expected range(a, b) with 0 <= a, step 1")
    return [np.random.default_rng(run_seed(root, stream, i)) for i in runs]


def stacked_normal(
    root: np.random.SeedSequence, stream: int, runs: range, shape: tuple[int, ...]
) -> NDArray[np.float64]:
    """Standard normal draws ``(len(runs), *shape)``, run i's block from its own stream.

    Set-up is O(runs) generator constructions (a few microseconds each); the draws of one
    run are one vectorised call, and the consumers (simulation, filters) stay batched.
    """
    gens = run_generators(root, stream, runs)
    out = np.empty((len(gens), *shape))
    for j, g in enumerate(gens):  # per-run stream set-up, not a hot path
        out[j] = g.standard_normal(shape)
    return out
