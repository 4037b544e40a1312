"""Experiment kinds: what one chunk of a study computes, registered by name.

A kind is a function ``(config, runs, seed) -> pandas.DataFrame``:

- ``config`` : dict of the kind's parameters for one grid cell (validated, defaults filled);
  an *inner* parameter (e.g. ``filter``) holds the whole list of its values, which the kind
  evaluates on the same simulated data;
- ``runs`` : ``range(a, b)``, the Monte Carlo runs of the chunk;
- ``seed`` : the study's root ``numpy.random.SeedSequence``; run i draws only from
  :func:`trackers.studies.seeds.run_seed` ``(seed, stream, i)`` so results do not depend on
  the chunking (see :mod:`trackers.studies.seeds`);

and returns one row per run (and per value of each inner parameter) with a ``run`` column,
one column per inner parameter, and one float column per declared metric.

Registering a new kind (e.g. the tracker or alert comparisons) takes a few lines::

    from trackers.studies import Metric, Param, register_kind

    @register_kind(
        "tracker",
        params={"scenario": Param(str, "hokkaido-2023", "built-in scenario id or TOML path"),
                "tracker": Param(list, ["gnn"], "trackers to compare", inner=True)},
        metrics={"gospa_m": Metric("m", "time-averaged GOSPA"), ...},
    )
    def tracker_kind(config, runs, seed):
        ...  # simulate with run_seed(seed, 0, i) streams, call trackers.tracking.track(...)
        return pandas.DataFrame({"run": ..., "tracker": ..., "gospa_m": ...})

A study file whose kind lives outside this package names the module to import under
``[study] import = ["my_package.study_kinds"]``; the module registers its kinds when imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Kind", "Metric", "Param", "get_kind", "register_kind"]


@dataclass(frozen=True)
class Param:
    """One parameter of an experiment kind.

    Attributes
    ----------
    type : type
        ``float``, ``int``, ``str``, ``bool`` or ``list`` (a list of strings).
    default : Any
        Value used when the study file does not set it.
    doc : str
        What it is, with units.
    choices : tuple, optional
        Allowed values (for ``list``: allowed entries).
    minimum : float, optional
        Smallest allowed value (numbers).
    inner : bool
        The kind evaluates every value in one call (on common data): a grid axis over it
        does not split the work, it becomes a column of the results.
    """

    type: type
    default: Any
    doc: str
    choices: tuple | None = None
    minimum: float | None = None
    inner: bool = False

    def check(self, value: Any, path: str) -> Any:
        """Validated (and normalised) ``value``; errors name ``path``, the value, the rule."""
        tp = self.type
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{path} must be a number, got {type(value).__name__} {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{path} must be finite, got {value!r}")
        elif tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{path} must be an integer, got {type(value).__name__} {value!r}")
        elif tp in (str, bool):
            if not isinstance(value, tp):
                raise TypeError(
                    f"{path} must be a {tp.__name__}, got {type(value).__name__} {value!r}"
                )
        elif tp is list:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"{path} must be an array of strings, got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"{path} has duplicate entries: {list(value)}")
            if self.choices is not None:
                bad = [v for v in value if v not in self.choices]
                if bad:
                    raise ValueError(
                        f"{path} = {bad[0]!r} is not allowed; expected one of {list(self.choices)}"
                    )
            return list(value)
        else:  # pragma: no cover - registration error
            raise TypeError(f"{path}: unsupported parameter type {tp!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(
                f"{path} = {value!r} is not allowed; expected one of {list(self.choices)}"
            )
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{path} = {value!r}, expected >= {self.minimum}")
        return value


@dataclass(frozen=True)
class Metric:
    """A per-run metric column.

    Attributes
    ----------
    units : str
        SI units (or "1").
    doc : str
        Definition.
    pooled : str
        How :func:`trackers.studies.summarize` pools runs besides the mean: ``"rms"`` (root of
        the mean square, e.g. an RMSE over all runs) or ``"mean"``.
    """

    units: str
    doc: str
    pooled: str = "mean"


@dataclass(frozen=True)
class Kind:
    """A registered experiment kind (see the module docstring)."""

    name: str
    function: Callable[..., Any]
    params: Mapping[str, Param]
    metrics: Mapping[str, Metric]
    doc: str = ""
    inner: tuple[str, ...] = field(default=())

    def resolve(self, values: Mapping[str, Any], path: str) -> dict[str, Any]:
        """Validate ``values`` against :attr:`params` and fill the defaults."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValueError(
                f"{path}.{unknown[0]}: unknown parameter of kind {self.name!r}; "
                f"allowed: {sorted(self.params)}"
            )
        out = {}
        for name, p in self.params.items():
            out[name] = p.check(values[name], f"{path}.{name}") if name in values else p.default
            if p.type is list and not isinstance(out[name], list):
                out[name] = list(out[name])
        return out


#: name -> Kind of every registered kind.
KINDS: dict[str, Kind] = {}


def register_kind(
    name: str,
    *,
    params: Mapping[str, Param],
    metrics: Mapping[str, Metric],
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``function(config, runs, seed) -> DataFrame`` as kind ``name``.

    Raises ``ValueError`` if ``name`` is taken (unless ``replace``) or a declaration is
    malformed (no metrics, an inner parameter that is not a list).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"kind name must be a non-empty string, got {name!r}")
    if not metrics:
        raise ValueError(f"kind {name!r}: metrics must name at least one column")
    for pname, p in params.items():
        if not isinstance(p, Param):
            raise TypeError(f"kind {name!r}: params[{pname!r}] must be a Param, got {p!r}")
        if p.inner and p.type is not list:
            raise ValueError(f"kind {name!r}: inner parameter {pname!r} must be of type list")
    clash = sorted(set(params) & set(metrics) | ({"run"} & (set(params) | set(metrics))))
    if clash:
        raise ValueError(f"kind {name!r}: names used twice or reserved: {clash}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in KINDS and not replace:
            raise ValueError(f"experiment kind {name!r} is already registered")
        KINDS[name] = Kind(
            name=name,
            function=fn,
            params=dict(params),
            metrics=dict(metrics),
            doc=(fn.__doc__ or "").strip().split("\n")[0],
            inner=tuple(k for k, p in params.items() if p.inner),
        )
        return fn

    return deco


def get_kind(name: str, imports: Sequence[str] = ()) -> Kind:
    """The registered kind ``name`` (after importing ``imports`` and the built-in kinds)."""
    import importlib

    import trackers.studies.kinds
    import trackers.studies.kinds_tracking  # noqa: F401  (registers the built-in kinds)

    for mod in imports:
        importlib.import_module(mod)
    if name not in KINDS:
        raise ValueError(f"study.kind = {name!r} is not a registered kind; have {sorted(KINDS)}")
    return KINDS[name]
