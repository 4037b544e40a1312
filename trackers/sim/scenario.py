"""Scenario files: TOML with explicit units in every key, strict validation, round trip.

Layout of a scenario file (every table is validated; unknown keys, missing keys, wrong types
and out-of-range values raise an error naming the key path, e.g.
``vehicle.stages[1].isp_vac_s``, and the expected range)::

    [scenario]      id, description, epoch_utc (ISO-8601 UTC of t = 0), seed
    [calibration]   published targets, tolerance, tuned parameters and their values
    [earth]         EarthModel options (shape, gravity, rotating, atmosphere, ...)
    [launch]        lat_deg, lon_deg, alt_m, azimuth_deg
    [guidance]      Guidance (trackers.sim.guidance)
    [vehicle]       payload_mass_kg, rv_beta_kgpm2, coast_s, ...
    [[vehicle.stages]]   one table per stage, bottom first (trackers.sim.vehicle.Stage)
    [debris]        optional fragments (trackers.sim.vehicle.Debris)
    [sensors]       optional: radars (list of strings), network (string)

Keys are the dataclass field names, so the dataclass docstrings document the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from trackers.earth.model import EarthModel
from trackers.sim.guidance import Guidance
from trackers.sim.vehicle import Debris, Launch, Stage, Vehicle, check_range

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Calibration:
    """Published targets a scenario is tuned to, and what was tuned.

    Attributes
    ----------
    source : str
        Where the targets come from.
    apogee_m, range_m, flight_time_s : float or None
        Published RV apogee [m], ground range [m] and flight time [s] (midpoints of ranges).
    tolerance : float
        Allowed relative deviation of the simulated values (0.05 = 5 %).
    tuned : tuple of str
        Parameter paths tuned to meet the targets, e.g. ``guidance.stage_pitch_deg[1]``.
    tuned_values : tuple of float
        The values of those parameters in this file (checked by the tests).
    tuned_bounds : tuple of (float, float)
        Search interval of each tuned parameter (empty = unbounded).
    objectives : tuple of str
        What the tuning solved for, ``"<object>.<quantity> = <value>"`` (see
        :mod:`trackers.sim.calibrate`); may differ from the published midpoints above, e.g.
        the stage impact points of hokkaido-2023.
    achieved_apogee_m, achieved_range_m, achieved_flight_time_s : float or None
        What the simulator gave when the file was tuned [m, m, s].
    burnout_speed_mps : float or None
        Simulated Earth-relative speed at final burnout [m/s].
    notes : str
    """

    source: str = ""
    apogee_m: float | None = field(default=None, metadata={"units": "m"})
    range_m: float | None = field(default=None, metadata={"units": "m"})
    flight_time_s: float | None = field(default=None, metadata={"units": "s"})
    tolerance: float = 0.05
    tuned: tuple[str, ...] = ()
    tuned_values: tuple[float, ...] = ()
    tuned_bounds: tuple[tuple[float, float], ...] = ()
    objectives: tuple[str, ...] = ()
    achieved_apogee_m: float | None = field(default=None, metadata={"units": "m"})
    achieved_range_m: float | None = field(default=None, metadata={"units": "m"})
    achieved_flight_time_s: float | None = field(default=None, metadata={"units": "s"})
    burnout_speed_mps: float | None = field(default=None, metadata={"units": "m/s"})
    notes: str = ""

    def __post_init__(self) -> None:
        check_range("tolerance", self.tolerance, 0.0, 1.0)
        if len(self.tuned) != len(self.tuned_values):
            raise ValueError(
                f"tuned ({len(self.tuned)} entries) and tuned_values ({len(self.tuned_values)}) "
                "must have the same length"
            )
        if self.tuned_bounds and len(self.tuned_bounds) != len(self.tuned):
            raise ValueError(
                f"tuned_bounds ({len(self.tuned_bounds)} entries) must be empty or match tuned "
                f"({len(self.tuned)})"
            )
        for i, (lo, hi) in enumerate(self.tuned_bounds):
            if not lo < hi:
                raise ValueError(f"tuned_bounds[{i}] = {(lo, hi)!r}: expected lo < hi")
        from trackers.sim.calibrate import parse_objective

        for i, text in enumerate(self.objectives):
            try:
                parse_objective(text)
            except ValueError as exc:
                raise ValueError(f"objectives[{i}]: {exc}") from exc
        for name in ("apogee_m", "range_m", "flight_time_s"):
            v = getattr(self, name)
            if v is not None:
                check_range(name, v, 0.0, 1e8, lo_open=True)


@dataclass(frozen=True)
class Sensors:
    """Sensor hints for other tools (kept, not used by the simulator)."""

    radars: tuple[str, ...] = ()
    network: str = ""


@dataclass(frozen=True)
class Scenario:
    """A complete, validated simulation scenario (see the module docstring for the file)."""

    id: str
    description: str
    seed: int
    launch: Launch
    vehicle: Vehicle
    guidance: Guidance = field(default_factory=Guidance)
    earth: EarthModel = field(default_factory=EarthModel)
    debris: Debris | None = None
    calibration: Calibration = field(default_factory=Calibration)
    sensors: Sensors | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.id, str) and _ID_RE.match(self.id)):
            raise ValueError(f"id = {self.id!r}: expected lower-case letters, digits, '-', '.'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed = {self.seed!r}: expected an integer >= 0")
        try:
            self.guidance.check_stages(len(self.vehicle.stages))
        except ValueError as exc:
            raise ValueError(f"guidance.{exc}") from exc
        if self.debris is not None:
            ids = [f"stage-{k + 1}" for k in range(len(self.vehicle.stages))]
            if self.vehicle.keep_last_stage:
                ids = ids[:-1]
            if self.debris.at_separation not in ids:
                raise ValueError(
                    f"debris.at_separation = {self.debris.at_separation!r}: expected one of {ids}"
                )

    @property
    def epoch_utc(self) -> str:
        """ISO-8601 UTC epoch of t = 0."""
        return self.launch.epoch_utc

    def to_toml(self) -> str:
        """The scenario as TOML text; ``loads_scenario(s.to_toml()) == s``."""
        return dumps_scenario(self)


# ---- loading ---------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _strip_optional(tp: Any) -> Any:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _coerce(tp: Any, value: Any, path: str) -> Any:
    """Check ``value`` (parsed TOML) against the annotation ``tp``; return the converted value."""
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        if not isinstance(value, str):
            raise TypeError(f"{path} must be a string, one of {typing.get_args(tp)}; got {value!r}")
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise TypeError(f"{path} must be an array, got {type(value).__name__} {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{path} must have {len(args)} entries, got {len(value)}")
        return tuple(
            _coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{path} must be a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{path} must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise TypeError(f"{path} must be a {tp.__name__}, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"{path}: unsupported type {_type_name(tp)}")  # pragma: no cover


def _build(cls: type, table: Any, path: str, skip: tuple[str, ...] = (), **extra: Any) -> Any:
    """Construct dataclass ``cls`` from a TOML table, naming ``path`` in every error."""
    if not isinstance(table, dict):
        raise TypeError(f"{path} must be a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    flds = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in skip}
    flds = {k: v for k, v in flds.items() if k not in extra}
    unknown = sorted(set(table) - set(flds))
    if unknown:
        raise ValueError(
            f"{path}.{unknown[0]}: unknown key; allowed keys in [{path}] are {sorted(flds)}"
        )
    kwargs = dict(extra)
    for name, f in flds.items():
        if name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{path}.{name}: missing required key")
            continue
        kwargs[name] = _coerce(hints[name], table[name], f"{path}.{name}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if msg.startswith(path.split(".")[0] + "."):
            raise type(exc)(msg) from exc
        names = {f.name for f in dataclasses.fields(cls)}
        m = re.match(r"^([A-Za-z_]\w*)", msg)
        sep = "." if m and m.group(1) in names else ": "
        raise type(exc)(f"{path}{sep}{msg}") from exc


_TOP = ("scenario", "calibration", "earth", "launch", "guidance", "vehicle", "debris", "sensors")


def scenario_from_dict(doc: dict) -> Scenario:
    """Build a :class:`Scenario` from a parsed TOML document (strict validation)."""
    unknown = sorted(set(doc) - set(_TOP))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown table; allowed tables are {list(_TOP)}")
    for name in ("scenario", "launch", "vehicle"):
        if name not in doc:
            raise ValueError(f"[{name}]: missing required table")
    head = doc["scenario"]
    if not isinstance(head, dict):
        raise TypeError("scenario must be a table")
    allowed = {"id", "description", "epoch_utc", "seed"}
    bad = sorted(set(head) - allowed)
    if bad:
        raise ValueError(f"scenario.{bad[0]}: unknown key; allowed keys are {sorted(allowed)}")
    for key in sorted(allowed):
        if key not in head:
            raise ValueError(f"scenario.{key}: missing required key")
    sid = _coerce(str, head["id"], "scenario.id")
    desc = _coerce(str, head["description"], "scenario.description")
    epoch = _coerce(str, head["epoch_utc"], "scenario.epoch_utc")
    seed = _coerce(int, head["seed"], "scenario.seed")
    launch = _build(Launch, doc["launch"], "launch", epoch_utc=epoch)
    vdoc = doc["vehicle"]
    if not isinstance(vdoc, dict):
        raise TypeError("vehicle must be a table")
    if "stages" not in vdoc:
        raise ValueError("vehicle.stages: missing required array of tables [[vehicle.stages]]")
    st = vdoc["stages"]
    if not (isinstance(st, list) and all(isinstance(s, dict) for s in st)):
        raise TypeError("vehicle.stages must be an array of tables [[vehicle.stages]]")
    stages = tuple(_build(Stage, s, f"vehicle.stages[{i}]") for i, s in enumerate(st))
    vtab = {k: v for k, v in vdoc.items() if k != "stages"}
    vehicle = _build(Vehicle, vtab, "vehicle", stages=stages)
    guidance = _build(Guidance, doc.get("guidance", {}), "guidance")
    earth = _build(EarthModel, doc.get("earth", {}), "earth")
    debris = _build(Debris, doc["debris"], "debris") if "debris" in doc else None
    calib = _build(Calibration, doc.get("calibration", {}), "calibration")
    sensors = _build(Sensors, doc["sensors"], "sensors") if "sensors" in doc else None
    try:
        return Scenario(sid, desc, seed, launch, vehicle, guidance, earth, debris, calib, sensors)
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if "." in msg.split(" ")[0] else f"scenario.{msg}") from exc


def loads_scenario(text: str) -> Scenario:
    """Parse scenario TOML text."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"scenario file is not valid TOML: {exc}") from exc
    return scenario_from_dict(doc)


def _catalog() -> dict[str, Any]:
    root = resources.files("trackers.sim") / "scenarios"
    return {
        p.name[: -len(".toml")]: p
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")
    }


def list_scenarios() -> list[tuple[str, str]]:
    """Built-in catalog: ``(id, one-line description)`` sorted by id."""
    out = []
    for sid, p in _catalog().items():
        doc = tomllib.loads(p.read_text())
        out.append((sid, str(doc["scenario"]["description"]).splitlines()[0]))
    return out


def read_scenario_text(id_or_path: str | Path) -> str:
    """TOML text of a built-in scenario (by id) or of a file (by path), comments included."""
    cat = _catalog()
    key = str(id_or_path)
    if isinstance(id_or_path, str) and key in cat:
        return cat[key].read_text()
    p = Path(id_or_path)
    if p.is_file():
        return p.read_text()
    raise ValueError(
        f"scenario {key!r} is neither a built-in id ({sorted(cat)}) nor an existing file"
    )


def load_scenario(id_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by id, or a TOML file by path."""
    return loads_scenario(read_scenario_text(id_or_path))


# ---- writing ---------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")  # pragma: no cover


def _table(obj: Any, skip: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for f in dataclasses.fields(obj):
        if f.name in skip or not f.init:
            continue
        v = getattr(obj, f.name)
        if v is None:
            continue
        u = f.metadata.get("units")
        lines.append(f"{f.name} = {_fmt(v)}" + (f"  # [{u}]" if u and u != "-" else ""))
    return lines


def dumps_scenario(s: Scenario) -> str:
    """Serialise a :class:`Scenario` to TOML (every field written explicitly)."""
    out = [
        f"# Scenario {s.id} (written by trackers.sim.scenario.dumps_scenario)",
        "[scenario]",
        f"id = {_fmt(s.id)}",
        f"description = {_fmt(s.description)}",
        f"epoch_utc = {_fmt(s.launch.epoch_utc)}",
        f"seed = {s.seed}",
        "",
        "[calibration]",
        *_table(s.calibration),
        "",
        "[earth]",
        *_table(s.earth),
        "",
        "[launch]",
        *_table(s.launch, skip=("epoch_utc",)),
        "",
        "[guidance]",
        *_table(s.guidance),
        "",
        "[vehicle]",
        *_table(s.vehicle, skip=("stages",)),
    ]
    for st in s.vehicle.stages:
        out += ["", "[[vehicle.stages]]", *_table(st)]
    if s.debris is not None:
        out += ["", "[debris]", *_table(s.debris)]
    if s.sensors is not None:
        out += ["", "[sensors]", *_table(s.sensors)]
    return "\n".join(out) + "\n"


# ---- parameter paths (for tuning) -----------------------------------------------------------

_STEP = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?")


def _parse_path(path: str) -> list[tuple[str, int | None]]:
    steps = []
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        if not m:
            raise ValueError(f"bad parameter path {path!r} at {part!r}")
        steps.append((m.group(1), None if m.group(2) is None else int(m.group(2))))
    return steps


def get_parameter(s: Any, path: str) -> Any:
    """Value at a dotted path such as ``guidance.stage_pitch_deg[1]``."""
    obj = s
    for name, idx in _parse_path(path):
        if not hasattr(obj, name):
            raise ValueError(f"parameter path {path!r}: no field {name!r}")
        obj = getattr(obj, name)
        if idx is not None:
            obj = obj[idx]
    return obj


def set_parameter(s: Any, path: str, value: Any) -> Any:
    """Copy of ``s`` with the value at ``path`` replaced (validated again on construction)."""
    steps = _parse_path(path)

    def rec(obj: Any, i: int) -> Any:
        name, idx = steps[i]
        if not hasattr(obj, name):
            raise ValueError(f"parameter path {path!r}: no field {name!r}")
        cur = getattr(obj, name)
        if idx is None:
            new = value if i == len(steps) - 1 else rec(cur, i + 1)
        else:
            item = value if i == len(steps) - 1 else rec(cur[idx], i + 1)
            new = (*cur[:idx], item, *cur[idx + 1 :])
        return dataclasses.replace(obj, **{name: new})

    return rec(s, 0)
