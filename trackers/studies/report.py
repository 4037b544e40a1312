"""Text report of a study folder (``trackers study show DIR``): provenance, progress, timings,
peak memory per worker, a projection of the wall time on a cluster, and the summary table.

Projection: with C equal chunks of mean duration c (measured), W single-threaded workers
finish in about ceil(C / W) c (list scheduling of equal jobs; Graham 1969), plus the
scheduler start-up. More workers than chunks do not help: make chunks smaller. The report
gives it from the chunks' wall time (as measured, including any contention for cores) and
from their CPU time (what uncontended cores would take).

Reference: R. L. Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math.
17(2), 1969.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from trackers.studies.store import StudyStore, chunk_infos, load_results, summarize

__all__ = ["describe", "projected_wall_s"]


def projected_wall_s(chunk_seconds: Sequence[float], n_chunks: int, workers: int) -> float:
    """ceil(n_chunks / workers) x mean(chunk_seconds) [s]: the makespan of equal chunks."""
    if workers < 1 or n_chunks < 0 or not len(chunk_seconds):
        raise ValueError(f"workers = {workers} must be >= 1 and chunk_seconds non-empty")
    mean = float(sum(chunk_seconds)) / len(chunk_seconds)
    return math.ceil(n_chunks / workers) * mean


def describe(folder: str | Path, cluster_workers: Sequence[int] = (16, 64, 256)) -> str:
    """The report text of study folder ``folder``."""
    from trackers.studies.registry import get_kind

    store = StudyStore(folder)
    man = store.manifest()
    lines = [
        f"study {man['study_id']}  (kind {man['kind']}, seed {man['seed']})",
        f"folder {store.folder}   created {man['created_utc']}   git "
        f"{(man.get('git') or {}).get('commit')}"
        + (" (dirty)" if (man.get("git") or {}).get("dirty") else ""),
        f"seeds: {man.get('seed_scheme', '')}",
    ]
    sessions = store.session_records()
    starts = [s for s in sessions if "study_file" in s]
    ends = [s for s in sessions if "ended_utc" in s]
    planned = starts[-1]["chunks_planned"] if starts else 0
    infos = chunk_infos(folder)
    lines.append(
        f"sessions: {len(starts)} started, {len(ends)} ended; latest plan: "
        f"{starts[-1]['runs'] if starts else '?'} runs/cell in chunks of "
        f"{starts[-1]['chunk_runs'] if starts else '?'}"
    )
    latest_keys = {c["key"] for c in starts[-1]["cells"]} if starts else set()
    have = int(infos["cell"].isin(latest_keys).sum()) if len(infos) else 0
    lines.append(f"chunks: {have} of {planned} planned stored ({len(infos)} files in total)")
    if len(infos):
        lines.append(
            f"compute: {infos['seconds'].sum():.1f} s in chunks "
            f"(cpu {infos['cpu_seconds'].sum():.1f} s), "
            f"mean {infos['seconds'].mean():.2f} s per chunk; session wall times: "
            + ", ".join(f"{e['wall_s']:.1f} s ({e['executor']['mode']})" for e in ends)
        )
        by_worker = infos.groupby(["host", "pid"]).agg(
            chunks=("seconds", "size"), seconds=("seconds", "sum"),
            peak_rss_mib=("peak_rss_bytes", lambda b: b.max() / 2**20),
        )  # fmt: skip
        lines.append("per worker process (peak resident memory):")
        lines.extend("  " + ln for ln in by_worker.round(1).to_string().splitlines())
        if planned:
            proj = ", ".join(
                f"{w} workers ~ {projected_wall_s(infos['seconds'], planned, w):.1f} s"
                for w in cluster_workers
            )
            lines.append(f"projected wall time of the {planned} chunks: {proj}")
            proj = ", ".join(
                f"{w} ~ {projected_wall_s(infos['cpu_seconds'], planned, w):.1f} s"
                for w in cluster_workers
            )
            lines.append(f"  same from chunk CPU time (uncontended cores): {proj}")
    df = load_results(folder)
    if not df.empty:
        kind = get_kind(man["kind"])
        pooled = {m: k.pooled for m, k in kind.metrics.items()}
        lines.append(f"rows: {len(df)}")
        with pd.option_context("display.width", 160, "display.max_columns", 50):
            lines.append(summarize(df, pooled).drop(columns="cell").to_string(index=False))
    return "\n".join(lines)
