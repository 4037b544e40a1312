"""Monte Carlo studies: a TOML grid x runs, chunked, seeded, run anywhere, stored and resumed.

A study file (:mod:`.spec`) names an experiment *kind* (:mod:`.registry`; built-ins in
:mod:`.kinds`: ``reentry``, ``ballistic-radar``; :mod:`.kinds_tracking`: ``tracking``,
``alerts``), fixed parameters, grid axes, metrics, the
number of runs, the chunk size and the seed. :func:`run_study` (:mod:`.execute`) computes the
missing chunks in-process or on Dask and writes each finished chunk to the results store
(:mod:`.store`); :func:`load_results` returns the whole study as one pandas DataFrame.

Seeds (:mod:`.seeds`): run i of stream s uses ``SeedSequence(seed, spawn_key=(s, i))``, so
any chunking, any number of workers and serial execution give bit-identical rows, and adding
runs leaves the earlier ones unchanged.

Typical use::

    from trackers.studies import load_study, run_study, load_results, summarize
    study = load_study("benchmarks/studies/reentry-filters.toml")
    run_study(study, "studies/reentry-filters", workers=2)
    df = load_results("studies/reentry-filters")

or ``trackers study run FILE [--workers N | --scheduler ADDRESS] [--out DIR]`` and
``trackers study show DIR``.
"""

from trackers.studies.execute import StudyRun, compute_chunk, run_study
from trackers.studies.registry import KINDS, Kind, Metric, Param, get_kind, register_kind
from trackers.studies.seeds import run_generators, run_seed, stacked_normal, stream_parent
from trackers.studies.spec import Cell, Chunk, Study, load_study, loads_study, plan_chunks
from trackers.studies.store import StudyStore, chunk_infos, load_results, summarize

__all__ = [
    "KINDS",
    "Cell",
    "Chunk",
    "Kind",
    "Metric",
    "Param",
    "Study",
    "StudyRun",
    "StudyStore",
    "chunk_infos",
    "compute_chunk",
    "get_kind",
    "load_results",
    "load_study",
    "loads_study",
    "plan_chunks",
    "register_kind",
    "run_generators",
    "run_seed",
    "run_study",
    "stacked_normal",
    "stream_parent",
    "summarize",
]
