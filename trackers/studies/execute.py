"""Run a study: plan the missing chunks, compute them (serially or on Dask), store each at once.

    run_study(study, out)                       in-process, one chunk after another
    run_study(study, out, workers=N)            dask.distributed LocalCluster, N processes
    run_study(study, out, scheduler="tcp://…")  an existing Dask cluster

The driver submits one task per chunk; the task (:func:`compute_chunk`) returns the chunk's
DataFrame and its timing/memory record, and the driver writes it to the store as soon as it
arrives (workers need no shared file system). A progress bar (tqdm) counts chunks in every
mode. Interrupting the driver loses at most the chunks in flight; running the same command
again computes only the chunks that are missing (:func:`trackers.studies.spec.plan_chunks`).
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from trackers.io.provenance import git_revision, package_versions
from trackers.studies.spec import Chunk, Study, plan_chunks
from trackers.studies.store import StudyStore, host_info

__all__ = ["StudyRun", "compute_chunk", "run_study"]


class StudyRun(NamedTuple):
    """Outcome of :func:`run_study`.

    Attributes
    ----------
    folder : Path
        The study folder.
    computed : int
        Chunks computed and stored by this call.
    skipped : int
        Chunk files of the study's cells already stored before the call (not recomputed).
    wall_s : float
        Wall time of the call [s].
    """

    folder: Path
    computed: int
    skipped: int
    wall_s: float


def compute_chunk(
    fn: Callable[..., pd.DataFrame],
    config: dict,
    runs: range,
    seed: int,
    cell_key: str,
    cell_values: dict,
    inner: tuple[str, ...],
    metrics: tuple[str, ...],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Evaluate one chunk where it runs (worker or driver): (rows, timing/memory record).

    The kind gets the study's root ``SeedSequence(seed)``; rows get the ``cell`` key and the
    grid-axis columns in front, and keep only the study's ``metrics``.
    """
    start = datetime.now(UTC).isoformat(timespec="milliseconds")
    t0, c0 = time.perf_counter(), time.process_time()
    df = fn(config, runs, np.random.SeedSequence(seed))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    missing = [c for c in ("run", *inner, *metrics) if c not in df.columns]
    if missing:
        raise ValueError(f"kind returned no column(s) {missing} for cell {cell_key}")
    out = df[["run", *inner, *metrics]].copy()
    for m in metrics:
        out[m] = out[m].astype(float)
    for i, (axis, value) in enumerate(cell_values.items()):
        out.insert(i, axis, value)
    out.insert(0, "cell", cell_key)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB -> bytes
    worker = "in-process"
    if "distributed" in sys.modules:  # inside a Dask worker?
        try:
            worker = sys.modules["distributed"].get_worker().address
        except ValueError:
            pass
    info = {
        "cell": cell_key,
        "runs": [runs.start, runs.stop],
        "spawn_keys": f"(s, i) for i in [{runs.start}, {runs.stop})",
        "axes": list(cell_values),
        "inner": list(inner),
        "started_utc": start,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": worker,
        "peak_rss_bytes": rss,
    }
    return out, info


def _tasks(study: Study, chunks: list[Chunk]) -> list[tuple]:
    kind = study.kind_spec
    return [
        (kind.function, c.cell.config, c.runs, study.seed, c.cell.key, c.cell.values,
         kind.inner, study.metrics)
        for c in chunks
    ]  # fmt: skip


def run_study(
    study: Study,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    max_chunks: int | None = None,
) -> StudyRun:
    """Compute the chunks of ``study`` missing from folder ``out`` and store each one at once.

    Parameters
    ----------
    study : Study
        From :func:`trackers.studies.load_study`.
    out : path
        Study folder (created; an existing one must hold the same study id, kind and seed).
    workers : int, optional
        Start a ``dask.distributed.LocalCluster`` of this many single-threaded processes.
    scheduler : str, optional
        Address of an existing Dask scheduler (excludes ``workers``).
    progress : bool
        Show a tqdm progress bar of chunks.
    max_chunks : int, optional
        Compute at most this many of the missing chunks (the rest stay missing).

    Returns
    -------
    StudyRun
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a trackers.studies.Study, got {type(study).__name__}")
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers or scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):  # fmt: skip
        raise ValueError(f"workers = {workers!r}, expected an int >= 1")
    t_start = time.perf_counter()
    store = StudyStore.open(out, study)
    all_chunks = plan_chunks(study)
    stored = store.done()
    keys = {c.key for c in study.cells()}
    skipped = sum(len(v) for k, v in stored.items() if k in keys)
    todo = plan_chunks(study, stored)
    if max_chunks is not None:
        todo = todo[:max_chunks]
    executor = (
        {"mode": "dask", "scheduler": scheduler}
        if scheduler
        else {"mode": "dask-local", "workers": workers}
        if workers
        else {"mode": "in-process"}
    )
    session = {
        "started_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "study_file": study.source,
        "runs": study.runs,
        "chunk_runs": study.chunk_runs,
        "cells": [{"key": c.key, **c.values} for c in study.cells()],
        "chunks_planned": len(all_chunks),
        "chunks_to_compute": [[c.cell.key, c.runs.start, c.runs.stop] for c in todo],
        "executor": executor,
        "git": git_revision(),
        "versions": package_versions(),
        "host": host_info(),
    }
    store.write_session(session)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="chunk", disable=not progress, desc=study.id)
    done = 0
    try:
        if not todo:
            pass
        elif workers is None and scheduler is None:
            for c, task in zip(todo, _tasks(study, todo), strict=True):
                df, info = compute_chunk(*task)
                store.write_chunk(c.cell.key, c.runs, df, info)
                done += 1
                bar.update()
        else:
            done = _run_dask(study, store, todo, workers, scheduler, bar)
    finally:
        bar.close()
        end = {
            "started_utc": session["started_utc"],
            "ended_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "wall_s": time.perf_counter() - t_start,
            "chunks_computed": done,
            "chunks_to_compute": len(todo),
            "executor": executor,
            "host": session["host"],
        }
        store.write_session(end, suffix="-end")
    return StudyRun(store.folder, done, skipped, time.perf_counter() - t_start)


def _run_dask(study, store, todo, workers, scheduler, bar) -> int:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is not None:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    done = 0
    try:
        futures = {
            client.submit(compute_chunk, *task, pure=False): c
            for c, task in zip(todo, _tasks(study, todo), strict=True)
        }
        for fut in as_completed(futures):
            c = futures[fut]
            df, info = fut.result()
            store.write_chunk(c.cell.key, c.runs, df, info)
            fut.release()
            done += 1
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return done
