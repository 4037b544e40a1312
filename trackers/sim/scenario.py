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
from trackers.io.tomlfile import read_toml_text
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


class ScenarioError(ValueError):
    """Every problem found in one scenario file (a ``ValueError``).

    Attributes
    ----------
    problems : tuple of str
        One message per problem, each naming its key path, e.g. ``launch.lat_deg = 95.0 is
        out of range; expected [-90.0, 90.0]``.
    source : str
        The file (or built-in id) the problems were found in, or "".
    """

    def __init__(self, problems: list[str] | tuple[str, ...], source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            text = head + self.problems[0]
        else:
            text = f"{head}{len(self.problems)} problems:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(text)


class _Problems:
    """Collects ``(exception type, message)`` pairs while a document is checked."""

    def __init__(self) -> None:
        self.items: list[tuple[type[Exception], str]] = []

    def add(self, exc: type[Exception], msg: str) -> None:
        self.items.append((exc, msg))

    def raise_if_any(self, source: str = "") -> None:
        """One problem: raise it with its own type; several: :class:`ScenarioError`."""
        if not self.items:
            return
        if len(self.items) == 1:
            exc, msg = self.items[0]
            if exc is not TypeError:
                raise ScenarioError([msg], source)
            raise TypeError(f"{source}: {msg}" if source else msg)
        raise ScenarioError([m for _, m in self.items], source)


def _prefixed(path: str, cls: type, msg: str) -> str:
    """``msg`` from ``cls``'s validation with the table path in front (once)."""
    if msg.startswith(path.split(".")[0] + "."):
        return msg
    names = {f.name for f in dataclasses.fields(cls)}
    m = re.match(r"^([A-Za-z_]\w*)", msg)
    sep = "." if m and m.group(1) in names else ": "
    return f"{path}{sep}{msg}"


def _build(
    cls: type,
    table: Any,
    path: str,
    problems: _Problems,
    skip: tuple[str, ...] = (),
    **extra: Any,
) -> Any:
    """Construct dataclass ``cls`` from a TOML table, naming ``path`` in every problem.

    Every unknown key, missing key and mistyped value of the table is added to ``problems``;
    the dataclass is then built (its own range checks stop at the first failure) unless a key
    failed or an ``extra`` argument is None (a part that failed elsewhere). Returns the
    object, or None if anything failed.
    """
    if not isinstance(table, dict):
        problems.add(TypeError, f"{path} must be a table, got {type(table).__name__}")
        return None
    before = len(problems.items)
    hints = typing.get_type_hints(cls)
    flds = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in skip}
    flds = {k: v for k, v in flds.items() if k not in extra}
    for key in sorted(set(table) - set(flds)):
        problems.add(
            ValueError, f"{path}.{key}: unknown key; allowed keys in [{path}] are {sorted(flds)}"
        )
    kwargs = dict(extra)
    for name, f in flds.items():
        if name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                problems.add(ValueError, f"{path}.{name}: missing required key")
            continue
        try:
            kwargs[name] = _coerce(hints[name], table[name], f"{path}.{name}")
        except (TypeError, ValueError) as exc:
            problems.add(type(exc), str(exc))
    if len(problems.items) > before or any(v is None for v in extra.values()):
        return None
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        problems.add(type(exc), _prefixed(path, cls, str(exc)))
        return None


_TOP = ("scenario", "calibration", "earth", "launch", "guidance", "vehicle", "debris", "sensors")


def scenario_from_dict(doc: dict, source: str = "") -> Scenario:
    """Build a :class:`Scenario` from a parsed TOML document (strict validation).

    Every table is checked before anything is reported: a single problem raises
    ``ValueError`` or ``TypeError`` naming its key path, several raise one
    :class:`ScenarioError` listing them all (``source``, e.g. the file name, leads the
    message).
    """
    problems = _Problems()
    for key in sorted(set(doc) - set(_TOP)):
        problems.add(ValueError, f"{key}: unknown table; allowed tables are {list(_TOP)}")
    for name in ("scenario", "launch", "vehicle"):
        if name not in doc:
            problems.add(ValueError, f"[{name}]: missing required table")
    head = doc.get("scenario", {})
    head_ok = isinstance(head, dict)
    if not head_ok:
        problems.add(TypeError, "scenario must be a table")
        head = {}
    allowed = {"id", "description", "epoch_utc", "seed"}
    for key in sorted(set(head) - allowed):
        problems.add(ValueError, f"scenario.{key}: unknown key; allowed keys are {sorted(allowed)}")
    values: dict[str, Any] = {}
    for key, tp in (("id", str), ("description", str), ("epoch_utc", str), ("seed", int)):
        if key not in head:
            if head_ok and "scenario" in doc:
                problems.add(ValueError, f"scenario.{key}: missing required key")
            continue
        try:
            values[key] = _coerce(tp, head[key], f"scenario.{key}")
        except (TypeError, ValueError) as exc:
            problems.add(type(exc), str(exc))
    launch = None
    if "launch" in doc:
        launch = _build(
            Launch, doc["launch"], "launch", problems,
            epoch_utc=values.get("epoch_utc", "2000-01-01T00:00:00Z"),
        )  # fmt: skip
        if "epoch_utc" not in values:
            launch = None
    vehicle = None
    if "vehicle" in doc:
        vdoc = doc["vehicle"]
        if not isinstance(vdoc, dict):
            problems.add(TypeError, "vehicle must be a table")
        elif "stages" not in vdoc:
            problems.add(
                ValueError, "vehicle.stages: missing required array of tables [[vehicle.stages]]"
            )
        elif not (
            isinstance(vdoc["stages"], list) and all(isinstance(x, dict) for x in vdoc["stages"])
        ):
            problems.add(TypeError, "vehicle.stages must be an array of tables [[vehicle.stages]]")
        else:
            stages = tuple(
                _build(Stage, st, f"vehicle.stages[{i}]", problems)
                for i, st in enumerate(vdoc["stages"])
            )
            vtab = {k: v for k, v in vdoc.items() if k != "stages"}
            ok = all(st is not None for st in stages)
            vehicle = _build(Vehicle, vtab, "vehicle", problems, stages=stages if ok else None)
    guidance = _build(Guidance, doc.get("guidance", {}), "guidance", problems)
    earth = _build(EarthModel, doc.get("earth", {}), "earth", problems)
    debris = _build(Debris, doc["debris"], "debris", problems) if "debris" in doc else None
    calib = _build(Calibration, doc.get("calibration", {}), "calibration", problems)
    sensors = _build(Sensors, doc["sensors"], "sensors", problems) if "sensors" in doc else None
    problems.raise_if_any(source)
    try:
        # launch / vehicle are not None here: raise_if_any raised on any problem building them
        return Scenario(
            values["id"], values["description"], values["seed"], typing.cast(Launch, launch),
            typing.cast(Vehicle, vehicle), guidance, earth, debris, calib, sensors,
        )  # fmt: skip
    except ValueError as exc:
        msg = str(exc)
        raise ScenarioError(
            [msg if "." in msg.split(" ")[0] else f"scenario.{msg}"], source
        ) from exc


def loads_scenario(text: str, source: str = "") -> Scenario:
    """Parse scenario TOML text; ``source`` (a file name) leads every error message."""
    if text.startswith("\ufeff"):  # a UTF-8 byte-order mark read as text carries nothing
        text = text[1:]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = source or "scenario file"
        raise ValueError(f"{where}: not valid TOML: {exc}") from exc
    return scenario_from_dict(doc, source)


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
    """TOML text of a built-in scenario (by id) or of a file (by path), comments included.

    A file must be UTF-8 (a leading byte-order mark is dropped); anything else raises
    ``ValueError`` naming the file (:func:`trackers.io.tomlfile.read_toml_text`).
    """
    cat = _catalog()
    key = str(id_or_path)
    if isinstance(id_or_path, str) and key in cat:
        return cat[key].read_text(encoding="utf-8")
    p = Path(id_or_path)
    if p.is_file():
        return read_toml_text(p)
    raise ValueError(
        f"scenario {key!r} is neither a built-in id ({sorted(cat)}) nor an existing file"
    )


def load_scenario(id_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by id, or a TOML file by path.

    Errors name the file and list every problem at once (:class:`ScenarioError`).
    """
    text = read_scenario_text(id_or_path)
    key = str(id_or_path)
    builtin = isinstance(id_or_path, str) and key in _catalog()
    return loads_scenario(text, source=f"built-in scenario {key}" if builtin else key)


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
        if v is None or (f.metadata.get("omit_default") and v == f.default):
            continue  # a default marked omit_default is not written (keeps old files as they were)
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
