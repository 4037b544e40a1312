"""Study files: a TOML grid of experiment cells x Monte Carlo runs, validated strictly.

Layout (every key checked; unknown keys and bad values are named in the error)::

    [study]
    id = "reentry-filters"          # required, used in messages and the manifest
    description = "..."             # optional
    kind = "reentry"                # required: a registered experiment kind
    runs = 1000                     # required: Monte Carlo runs per cell, >= 1
    chunk_runs = 100                # runs per chunk (unit of work and of storage), >= 1
    seed = 1                        # required: root of numpy.random.SeedSequence, >= 0
    metrics = ["pos_rmse_m"]        # optional: the kind's metric columns to keep (default all)
    import = ["my_pkg.kinds"]       # optional: modules registering more kinds

    [config]                        # optional: fixed parameters of the kind
    horizon_s = 100.0

    [grid]                          # optional: axes; every combination is one cell
    variant = ["ekfukf", "stress"]
    filter = ["EKF", "UKF", "CKF"]  # an inner axis: evaluated on common data, not split

A cell is identified by a hash of (kind, seed, resolved parameters, metrics): chunk files of
a cell stay valid when runs or other cells are added to the study, and a changed parameter
makes a new cell instead of mixing results.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from trackers.studies.registry import Kind, get_kind

__all__ = ["Cell", "Chunk", "Study", "load_study", "loads_study", "plan_chunks"]

_STUDY_KEYS = ("id", "description", "kind", "runs", "chunk_runs", "seed", "metrics", "import")
_REQUIRED = ("id", "kind", "runs", "seed")
_TABLES = ("study", "config", "grid")


class Cell(NamedTuple):
    """One combination of the grid axes.

    Attributes
    ----------
    key : str
        12 hex digits of SHA-256 of the cell identity (kind, seed, config, metrics).
    values : dict
        Value of each outer grid axis (lists joined by "+"), the cell's label columns.
    config : dict
        Complete parameters passed to the kind (inner axes as lists).
    """

    key: str
    values: dict
    config: dict


class Chunk(NamedTuple):
    """A unit of work: runs ``runs`` of cell ``cell``."""

    cell: Cell
    runs: range


@dataclass(frozen=True)
class Study:
    """A validated study file (see the module docstring for the meaning of each field)."""

    id: str
    kind: str
    runs: int
    seed: int
    chunk_runs: int = 100
    description: str = ""
    metrics: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, list] = field(default_factory=dict)
    source: str = ""

    @property
    def kind_spec(self) -> Kind:
        """The registered :class:`~trackers.studies.registry.Kind`."""
        return get_kind(self.kind, self.imports)

    @property
    def axes(self) -> tuple[str, ...]:
        """Outer grid axes (each value combination is one cell), in file order."""
        inner = set(self.kind_spec.inner)
        return tuple(k for k in self.grid if k not in inner)

    def cells(self) -> list[Cell]:
        """Every cell of the grid, in file order of the axes (last axis fastest)."""
        kind = self.kind_spec
        axes = self.axes
        out = []
        for combo in itertools.product(*(self.grid[a] for a in axes)):
            cfg = dict(self.config)
            cfg.update({k: v for k, v in self.grid.items() if k in kind.inner})
            cfg.update(dict(zip(axes, combo, strict=True)))
            cfg = kind.resolve(cfg, "config")
            ident = json.dumps(
                {"kind": self.kind, "seed": self.seed, "config": cfg, "metrics": self.metrics},
                sort_keys=True,
            )
            key = hashlib.sha256(ident.encode()).hexdigest()[:12]
            values = {
                a: "+".join(v) if isinstance(v, list) else v
                for a, v in zip(axes, combo, strict=True)
            }
            out.append(Cell(key=key, values=values, config=cfg))
        return out


def _int(table: Mapping, key: str, minimum: int) -> int:
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"study.{key} must be an integer, got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"study.{key} = {v}, expected an integer >= {minimum}")
    return v


def _strings(table: Mapping, key: str) -> tuple[str, ...]:
    v = table.get(key, [])
    if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
        raise TypeError(f"study.{key} must be an array of non-empty strings, got {v!r}")
    return tuple(v)


def loads_study(text: str, origin: str = "<study>") -> Study:
    """Parse and validate study-file text (see the module docstring)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{origin}: not valid TOML: {exc}") from exc
    unknown = sorted(set(doc) - set(_TABLES))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown table; allowed tables are {list(_TABLES)}")
    head = doc.get("study")
    if not isinstance(head, dict):
        raise ValueError("[study]: missing required table")
    bad = sorted(set(head) - set(_STUDY_KEYS))
    if bad:
        raise ValueError(f"study.{bad[0]}: unknown key; allowed keys are {sorted(_STUDY_KEYS)}")
    for key in _REQUIRED:
        if key not in head:
            raise ValueError(f"study.{key}: missing required key")
    for key in ("id", "kind", "description"):
        if key in head and not isinstance(head[key], str):
            raise TypeError(f"study.{key} must be a string, got {head[key]!r}")
    if not head["id"]:
        raise ValueError("study.id must be a non-empty string")
    runs = _int(head, "runs", 1)
    seed = _int(head, "seed", 0)
    chunk_runs = _int(head, "chunk_runs", 1) if "chunk_runs" in head else 100
    imports = _strings(head, "import")
    kind = get_kind(head["kind"], imports)
    metrics = _strings(head, "metrics") or tuple(kind.metrics)
    bad = [m for m in metrics if m not in kind.metrics]
    if bad:
        raise ValueError(
            f"study.metrics: {bad[0]!r} is not a metric of kind {kind.name!r}; "
            f"have {list(kind.metrics)}"
        )
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"study.metrics has duplicates: {list(metrics)}")
    config = doc.get("config", {})
    grid = doc.get("grid", {})
    for name, table in (("config", config), ("grid", grid)):
        if not isinstance(table, dict):
            raise TypeError(f"[{name}] must be a table")
    resolved_cfg = kind.resolve(config, "config")
    config = {k: resolved_cfg[k] for k in config}
    both = sorted(set(config) & set(grid))
    if both:
        raise ValueError(f"grid.{both[0]}: also set in [config]; give a parameter in one place")
    checked_grid: dict[str, list] = {}
    for axis, values in grid.items():
        if axis not in kind.params:
            raise ValueError(
                f"grid.{axis}: unknown parameter of kind {kind.name!r}; "
                f"allowed: {sorted(kind.params)}"
            )
        p = kind.params[axis]
        if not isinstance(values, list) or not values:
            raise TypeError(f"grid.{axis} must be a non-empty array of values, got {values!r}")
        if p.inner:
            checked_grid[axis] = p.check(values, f"grid.{axis}")
            continue
        vals = [p.check(v, f"grid.{axis}[{i}]") for i, v in enumerate(values)]
        canon = [json.dumps(v) for v in vals]
        if len(set(canon)) != len(canon):
            raise ValueError(f"grid.{axis} has duplicate values: {values!r}")
        checked_grid[axis] = vals
    return Study(
        id=head["id"],
        kind=kind.name,
        runs=runs,
        seed=seed,
        chunk_runs=chunk_runs,
        description=head.get("description", ""),
        metrics=metrics,
        imports=imports,
        config=config,
        grid=checked_grid,
        source=text,
    )


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; errors name the file and the offending key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"study file {path} does not exist")
    try:
        return loads_study(path.read_text(), str(path))
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from exc


def plan_chunks(study: Study, done: Mapping[str, list[range]] | None = None) -> list[Chunk]:
    """Chunks still to compute: runs ``[0, study.runs)`` of every cell minus ``done``.

    ``done`` maps a cell key to the run ranges already stored. Missing runs are cut at
    multiples of ``chunk_runs`` (so a resumed or extended study makes the same files as an
    uninterrupted one). Results never depend on the cut (:mod:`trackers.studies.seeds`).
    """
    done = done or {}
    B = study.chunk_runs
    out: list[Chunk] = []
    for cell in study.cells():
        have = sorted((r.start, r.stop) for r in done.get(cell.key, []))
        gaps, pos = [], 0
        for a, b in have:
            if a > pos:
                gaps.append((pos, min(a, study.runs)))
            pos = max(pos, b)
        if pos < study.runs:
            gaps.append((pos, study.runs))
        for a, b in gaps:
            if a >= b:
                continue
            cuts = [a, *range((a // B + 1) * B, b, B), b]
            out.extend(Chunk(cell, range(lo, hi)) for lo, hi in itertools.pairwise(cuts))
    return out
