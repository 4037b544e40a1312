"""Radar catalogue: read radars from the packaged presets or from a user's TOML file.

File format (see ``presets/radars.toml``): ``[templates.<name>]`` tables hold values shared
by one radar type, ``[radars.<id>]`` tables describe one radar each, optionally with
``template = "<name>"``; a radar's own keys override its template's and its ``assumptions``
list is appended to the template's. Units live in the key names and are converted to SI here,
once. Unknown keys, missing required keys and out-of-range values raise ``ValueError`` naming
the file, the radar and the key, with the value and the accepted range in the file's units
(``lat_deg = 137.0 deg``, not the radians the :class:`Radar` holds). Files are UTF-8 (a
byte-order mark is accepted); an undecodable or syntactically wrong file raises
``ValueError`` naming it (:mod:`trackers.io.tomlfile`).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

from trackers.io.tomlfile import parse_toml, read_toml
from trackers.sensors.radar import MEASUREMENT_NAMES, Radar

#: File key -> (Radar field, factor to SI). Keys without a unit suffix are copied as-is.
_NUMERIC_KEYS: dict[str, tuple[str, float]] = {
    "lat_deg": ("lat", math.pi / 180),
    "lon_deg": ("lon", math.pi / 180),
    "alt_m": ("alt", 1.0),
    "sigma_range_m": ("sigma_range", 1.0),
    "sigma_az_mrad": ("sigma_az", 1e-3),
    "sigma_el_mrad": ("sigma_el", 1e-3),
    "sigma_range_rate_mps": ("sigma_range_rate", 1.0),
    "revisit_s": ("revisit", 1.0),
    "revisit_phase_s": ("revisit_phase", 1.0),
    "min_elevation_deg": ("min_elevation", math.pi / 180),
    "min_range_km": ("min_range", 1e3),
    "max_range_km": ("max_range", 1e3),
    "boresight_az_deg": ("boresight_az", math.pi / 180),
    "half_width_az_deg": ("half_width_az", math.pi / 180),
    "el_min_deg": ("el_min", math.pi / 180),
    "el_max_deg": ("el_max", math.pi / 180),
    "ref_range_km": ("ref_range", 1e3),
    "pfa": ("pfa", 1.0),
    "range_cell_m": ("range_cell", 1.0),
    "beamwidth_mrad": ("beamwidth", 1e-3),
    "false_alarms_per_scan": ("false_alarms_per_scan", 1.0),
    "max_range_rate_mps": ("max_range_rate", 1.0),
}
_STRING_KEYS = ("type", "nation", "operator", "platform", "source")
_OTHER_KEYS = ("template", "measures", "assumptions", "ref_snr_db", "ref_pd")
ALLOWED_KEYS = frozenset(_NUMERIC_KEYS) | frozenset(_STRING_KEYS) | frozenset(_OTHER_KEYS)
REQUIRED_KEYS = ("type", "lat_deg", "lon_deg", "measures", "sigma_range_m", "sigma_az_mrad",
                 "sigma_el_mrad", "revisit_s", "max_range_km", "ref_range_km", "pfa",
                 "range_cell_m", "beamwidth_mrad")  # fmt: skip


#: Accepted ranges in file units: key -> (lo, hi, lo_open, hi_open); the same bounds as
#: :class:`Radar`'s checks, stated before conversion so that errors quote the file's numbers.
_FILE_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "lat_deg": (-90.0, 90.0, False, False),
    "lon_deg": (-360.0, 360.0, False, False),
    "alt_m": (-1000.0, 10000.0, False, False),
    "sigma_range_m": (0.0, math.inf, True, True),
    "sigma_az_mrad": (0.0, math.inf, True, True),
    "sigma_el_mrad": (0.0, math.inf, True, True),
    "sigma_range_rate_mps": (0.0, math.inf, False, True),
    "revisit_s": (0.0, math.inf, True, True),
    "revisit_phase_s": (0.0, math.inf, False, True),
    "min_elevation_deg": (-90.0, 90.0, True, True),
    "min_range_km": (0.0, math.inf, False, True),
    "max_range_km": (0.0, math.inf, True, True),
    "half_width_az_deg": (0.0, 180.0, True, False),
    "el_min_deg": (-90.0, 90.0, False, False),
    "el_max_deg": (-90.0, 90.0, False, False),
    "ref_range_km": (0.0, math.inf, True, True),
    "pfa": (0.0, 1.0, True, True),
    "range_cell_m": (0.0, math.inf, True, True),
    "beamwidth_mrad": (0.0, math.inf, True, True),
    "false_alarms_per_scan": (0.0, math.inf, False, True),
    "max_range_rate_mps": (0.0, math.inf, True, True),
}
_UNIT_SUFFIX = {"_deg": "deg", "_mrad": "mrad", "_km": "km", "_mps": "m/s", "_m": "m", "_s": "s"}


def _unit(key: str) -> str:
    """Unit of a file key from its suffix (``"lat_deg"`` -> ``"deg"``), "" if unitless."""
    return next((u for suf, u in _UNIT_SUFFIX.items() if key.endswith(suf)), "")


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool, unit: str) -> str:
    """``(0, 180] deg``, ``> 0 m``, ``>= 0 s`` in the file's units."""
    u = f" {unit}" if unit else ""
    if math.isinf(hi):
        return f"{'>' if lo_open else '>='} {lo:g}{u}"
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}{u}"


def _check_file_ranges(where: str, d: dict[str, Any]) -> None:
    """Range checks of a radar's numeric keys in the file's units (``ValueError``)."""

    def bad(key: str, expected: str) -> ValueError:
        unit = _unit(key)
        field_name = _NUMERIC_KEYS[key][0]
        return ValueError(
            f"{where}: key {key!r} = {d[key]!r}{' ' + unit if unit else ''}, expected "
            f"{expected} (field {field_name!r})"
        )

    for key, (lo, hi, lo_open, hi_open) in _FILE_RANGES.items():
        if key not in d:
            continue
        v = float(d[key])
        inside = (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
        if not (math.isfinite(v) and inside):
            raise bad(key, _interval(lo, hi, lo_open, hi_open, _unit(key)))
    # relations between keys, where both are given (the rest is Radar's own check)
    if "revisit_phase_s" in d and not float(d["revisit_phase_s"]) < float(d["revisit_s"]):
        raise bad("revisit_phase_s", f"< revisit_s = {d['revisit_s']!r} s")
    if "min_range_km" in d and not float(d["min_range_km"]) < float(d["max_range_km"]):
        raise bad("min_range_km", f"< max_range_km = {d['max_range_km']!r} km")
    if "el_min_deg" in d and "el_max_deg" in d and not d["el_min_deg"] < d["el_max_deg"]:
        raise bad("el_min_deg", f"< el_max_deg = {d['el_max_deg']!r} deg")


def snr_from_pd(pd: float, pfa: float) -> float:
    """Mean SNR giving detection probability ``pd`` for a Swerling-1 target.

    Inverts Pd = Pfa^(1 / (1 + SNR)):  SNR = ln(Pfa) / ln(Pd) - 1 (Skolnik 2001, ch. 2).
    A bad ``pfa`` (outside (0, 1)) is reported as such, before ``pd`` is checked against it.
    """
    if not 0.0 < pfa < 1.0:
        raise ValueError(f"pfa = {pfa!r} must be in (0, 1)")
    if not pfa < pd < 1.0:
        raise ValueError(
            f"ref_pd = {pd!r} must be in (pfa, 1) = ({pfa!r}, 1): the detection probability "
            "at ref_range must exceed the false-alarm probability"
        )
    return math.log(pfa) / math.log(pd) - 1.0


def radar_from_dict(radar_id: str, d: dict[str, Any]) -> Radar:
    """Build a :class:`Radar` from one file-unit table (template already merged)."""
    where = f"radar {radar_id!r}"
    unknown = sorted(set(d) - ALLOWED_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(ALLOWED_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise ValueError(f"{where}: missing required key(s) {missing}")
    kw: dict[str, Any] = {"id": radar_id}
    for key, (name, factor) in _NUMERIC_KEYS.items():
        if key in d:
            v = d[key]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{where}: key {key!r} = {v!r} must be a number")
            kw[name] = float(v) * factor
    _check_file_ranges(where, d)
    for key in _STRING_KEYS:
        if key in d:
            if not isinstance(d[key], str):
                raise ValueError(f"{where}: key {key!r} = {d[key]!r} must be a string")
            kw[key] = d[key]
    meas = d["measures"]
    if list(meas) == list(MEASUREMENT_NAMES[:3]):
        kw["measures_range_rate"] = False
    elif list(meas) == list(MEASUREMENT_NAMES):
        kw["measures_range_rate"] = True
    else:
        raise ValueError(
            f"{where}: key 'measures' = {meas!r}, expected {list(MEASUREMENT_NAMES[:3])} or "
            f"{list(MEASUREMENT_NAMES)}"
        )
    if kw["measures_range_rate"] and "sigma_range_rate_mps" not in d:
        raise ValueError(f"{where}: measures range_rate but 'sigma_range_rate_mps' is missing")
    if ("ref_snr_db" in d) == ("ref_pd" in d):
        raise ValueError(f"{where}: give exactly one of 'ref_snr_db' or 'ref_pd'")
    for key in ("ref_snr_db", "ref_pd"):
        v = d.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{where}: key {key!r} = {v!r} must be a finite number")
    if "ref_snr_db" in d:
        kw["ref_snr"] = 10.0 ** (float(d["ref_snr_db"]) / 10.0)
    else:
        try:
            kw["ref_snr"] = snr_from_pd(float(d["ref_pd"]), kw["pfa"])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    assumptions = d.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        raise ValueError(f"{where}: key 'assumptions' must be a list of strings")
    kw["assumptions"] = tuple(assumptions)
    try:
        return Radar(**kw)
    except (TypeError, ValueError) as exc:  # a check not repeated above: SI units
        raise ValueError(f"{exc} (in SI units; the file's keys carry their units)") from None


def radars_from_toml(data: dict[str, Any], origin: str = "<toml>") -> tuple[Radar, ...]:
    """Parse a radars document (already TOML-decoded) into Radars, in file order."""
    unknown = sorted(set(data) - {"templates", "radars"})
    if unknown:
        raise ValueError(f"{origin}: unknown top-level table(s) {unknown}; allowed: "
                         "['radars', 'templates']")  # fmt: skip
    templates = data.get("templates", {})
    if not isinstance(templates, dict) or not all(isinstance(t, dict) for t in templates.values()):
        raise ValueError(f"{origin}: [templates.<name>] must be tables")
    radars = data.get("radars")
    if not isinstance(radars, dict) or not radars:
        raise ValueError(f"{origin}: needs a non-empty [radars.<id>] table")
    out = []
    for rid, table in radars.items():
        if not isinstance(table, dict):
            raise ValueError(f"{origin}: radars.{rid} must be a table")
        merged: dict[str, Any] = {}
        if "template" in table:
            name = table["template"]
            if not isinstance(name, str) or name not in templates:
                raise ValueError(
                    f"{origin}: radar {rid!r}: unknown template {name!r}; have {sorted(templates)}"
                )
            merged.update(templates[name])
        merged.update(table)
        merged["assumptions"] = list(templates.get(table.get("template"), {}).get(
            "assumptions", [])) + list(table.get("assumptions", []))  # fmt: skip
        try:
            out.append(radar_from_dict(rid, merged))
        except ValueError as exc:
            raise ValueError(f"{origin}: {exc}") from None
    return tuple(out)


def load_radar_file(path: str | Path) -> tuple[Radar, ...]:
    """Read all radars from a user's TOML file (same format as the presets).

    Every error names the file: missing or unreadable, not UTF-8, TOML syntax, or a radar's
    content.
    """
    return radars_from_toml(read_toml(path), str(path))


def preset_radars() -> tuple[Radar, ...]:
    """All packaged preset radars (``presets/radars.toml``), in file order."""
    text = resources.files("trackers.sensors").joinpath("presets/radars.toml").read_text("utf-8")
    return radars_from_toml(parse_toml(text, "presets/radars.toml"), "presets/radars.toml")


def load_radars(ids=None, path: str | Path | None = None) -> tuple[Radar, ...]:
    """Radars by id from the presets (or from ``path``); ``ids=None`` returns all of them.

    Raises ``ValueError`` naming any unknown id and listing the available ones.
    """
    pool = preset_radars() if path is None else load_radar_file(path)
    if ids is None:
        return pool
    if isinstance(ids, str):
        ids = [ids]
    by_id = {r.id: r for r in pool}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(f"unknown radar id(s) {unknown}; available: {sorted(by_id)}")
    if len(set(ids)) != len(list(ids)):
        raise ValueError(f"duplicate radar id(s) in {list(ids)}")
    return tuple(by_id[i] for i in ids)
