"""The results store of a study: one Parquet file per finished chunk, never overwritten.

Layout of a study folder::

    manifest.json                     written once: study file, kind, seed scheme, git
                                      revision, package versions, host (first session)
    sessions/<utc>-<pid>.json         one per `study run` start: the study file as run,
                                      planned chunks, executor, git revision, versions, host
    sessions/<utc>-<pid>-end.json     the session's wall time and chunk count when it ends
    chunks/<cell>-<a>-<b>.parquet     rows of runs [a, b) of cell <cell>; its schema metadata
                                      ``trackers.study`` holds the chunk's timing, host,
                                      worker, peak memory and spawn keys

Every file is created exclusively (written to a temporary name, then hard-linked to its
final name, which fails if the name exists), so an interrupted study leaves only complete
chunk files, and a resumed one computes just the missing chunks
(:func:`trackers.studies.spec.plan_chunks`). :func:`load_results` returns the whole study
as one pandas DataFrame.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trackers.io.provenance import git_revision, package_versions

__all__ = [
    "MANIFEST",
    "StudyStore",
    "chunk_infos",
    "load_results",
    "summarize",
]

MANIFEST = "manifest.json"
_META_KEY = b"trackers.study"
_CHUNK_RE = re.compile(r"^([0-9a-f]{12})-(\d{9})-(\d{9})\.parquet$")
SEED_SCHEME = (
    "run i of stream s draws from numpy.random.SeedSequence(seed, spawn_key=(s, i)); "
    "every grid cell uses the same streams (common random numbers)"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def host_info() -> dict[str, Any]:
    """Host name, platform, CPU count and process id."""
    return {
        "host": socket.gethostname(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pid": os.getpid(),
    }


def write_exclusive(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file ``path``; ``FileExistsError`` if it exists (never replaced).

    The bytes go to a temporary file first, which is then hard-linked to ``path``: a crash
    leaves no partial file under the final name.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; study results are never overwritten") from None
    finally:
        tmp.unlink()
    return path


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, default=str) + "\n").encode()


class StudyStore:
    """A study folder (see the module docstring). Create with :meth:`open`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.chunks = self.folder / "chunks"
        self.sessions = self.folder / "sessions"

    @classmethod
    def open(cls, folder: str | Path, study) -> StudyStore:
        """Create ``folder`` for ``study`` or reopen it (same study id, kind and seed only)."""
        store = cls(folder)
        if store.folder.exists() and not store.folder.is_dir():
            raise ValueError(f"--out {store.folder} exists and is not a folder")
        man = store.folder / MANIFEST
        if man.exists():
            old = json.loads(man.read_text())
            for key, new in (("study_id", study.id), ("kind", study.kind), ("seed", study.seed)):
                if old.get(key) != new:
                    raise ValueError(
                        f"{store.folder} holds study {old.get('study_id')!r} with {key} = "
                        f"{old.get(key)!r}, not {new!r}; choose another --out folder"
                    )
        else:
            if store.folder.exists() and any(store.folder.iterdir()):
                raise ValueError(
                    f"--out {store.folder} is not empty and has no {MANIFEST}; "
                    "choose a new or empty folder"
                )
            store.chunks.mkdir(parents=True, exist_ok=True)
            store.sessions.mkdir(exist_ok=True)
            write_exclusive(
                man,
                _json_bytes(
                    {
                        "study_id": study.id,
                        "kind": study.kind,
                        "seed": study.seed,
                        "seed_scheme": SEED_SCHEME,
                        "created_utc": _now(),
                        "study_file": study.source,
                        "git": git_revision(),
                        "versions": package_versions() | _extra_versions(),
                        "host": host_info(),
                    }
                ),
            )
        store.chunks.mkdir(exist_ok=True)
        store.sessions.mkdir(exist_ok=True)
        return store

    def manifest(self) -> dict[str, Any]:
        """The parsed ``manifest.json``."""
        path = self.folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a study folder (no {MANIFEST})")
        return json.loads(path.read_text())

    def chunk_files(self) -> list[tuple[str, range, Path]]:
        """(cell key, runs, path) of every complete chunk file, sorted by name."""
        out: list[tuple[str, range, Path]] = []
        if not self.chunks.is_dir():
            return out
        for p in sorted(self.chunks.iterdir()):
            m = _CHUNK_RE.match(p.name)
            if m:
                out.append((m.group(1), range(int(m.group(2)), int(m.group(3))), p))
        return out

    def done(self) -> dict[str, list[range]]:
        """Cell key -> stored run ranges."""
        out: dict[str, list[range]] = {}
        for key, runs, _ in self.chunk_files():
            out.setdefault(key, []).append(runs)
        return out

    def write_chunk(self, cell_key: str, runs: range, df: pd.DataFrame, info: dict) -> Path:
        """Store one finished chunk (exclusive create) with ``info`` as schema metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(info, default=str).encode()
        table = table.replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        name = f"{cell_key}-{runs.start:09d}-{runs.stop:09d}.parquet"
        return write_exclusive(self.chunks / name, sink.getvalue().to_pybytes())

    def write_session(self, record: dict, suffix: str = "") -> Path:
        """Write a session record ``sessions/<stamp>-<pid><suffix>.json`` (exclusive)."""
        stamp = record.get("started_utc", _now()).replace(":", "").replace("+0000", "Z")
        name = f"{stamp}-{record.get('host', {}).get('pid', os.getpid())}{suffix}.json"
        return write_exclusive(self.sessions / name, _json_bytes(record))

    def session_records(self) -> list[dict]:
        """Every session record (start and end), in file-name (time) order."""
        if not self.sessions.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.sessions.glob("*.json"))]


def _extra_versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in ("pandas", "pyarrow", "distributed", "tqdm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_results(folder: str | Path) -> pd.DataFrame:
    """Every stored row of a study as one DataFrame.

    Columns: ``cell`` (cell key), the grid axes, ``run``, the kind's inner axes (e.g.
    ``filter``), the metrics. Rows are sorted by (cell, inner axes, run). Raises
    ``ValueError`` if two chunks hold the same run of a cell.
    """
    import pyarrow.parquet as pq

    store = StudyStore(folder)
    store.manifest()  # a study folder?
    files = store.chunk_files()
    if not files:
        return pd.DataFrame()
    tables = [pq.read_table(p) for _, _, p in files]
    info = json.loads((tables[0].schema.metadata or {}).get(_META_KEY, b"{}"))
    axes, inner = list(info.get("axes", [])), list(info.get("inner", []))
    df = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    keys = ["cell", *inner, "run"]
    dup = df.duplicated(keys)
    if dup.any():
        raise ValueError(f"{folder}: runs stored twice, e.g. {df.loc[dup, keys].iloc[0].to_dict()}")
    df = df.sort_values(keys, kind="mergesort").reset_index(drop=True)
    df.attrs.update(axes=axes, inner=inner)
    return df


def chunk_infos(folder: str | Path) -> pd.DataFrame:
    """One row per stored chunk: cell, runs, seconds, host, pid, worker, peak RSS [bytes]."""
    import pyarrow.parquet as pq

    rows = []
    for key, runs, p in StudyStore(folder).chunk_files():
        meta = pq.read_schema(p).metadata or {}
        info = json.loads(meta.get(_META_KEY, b"{}"))
        rows.append({"cell": key, "first_run": runs.start, "stop_run": runs.stop, **info})
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame, pooled: dict[str, str] | None = None) -> pd.DataFrame:
    """Per cell (and inner axis value): runs, mean, standard error and pooled value per metric.

    ``df`` as returned by :func:`load_results` (its ``attrs`` name the grid and inner axes).
    ``pooled[metric] = "rms"`` adds sqrt(mean(x^2)) (e.g. the Monte Carlo RMSE from per-run
    RMSEs). NaN values (e.g. a run without detections) are left out of a metric's statistics.
    """
    if df.empty:
        return df
    pooled = pooled or {}
    labels = ["cell", *df.attrs.get("axes", []), *df.attrs.get("inner", [])]
    metrics = [c for c in df.columns if c not in labels and c != "run"]
    g = df.groupby(labels, sort=False, dropna=False)
    out = g["run"].count().rename("runs").to_frame()
    for m in metrics:
        col = g[m]
        out[f"{m}_mean"] = col.mean()
        out[f"{m}_sem"] = col.std(ddof=1) / np.sqrt(col.count())
        if pooled.get(m) == "rms":
            out[f"{m}_rms"] = np.sqrt((df[m] ** 2).groupby([df[c] for c in labels]).mean())
    return out.reset_index()
