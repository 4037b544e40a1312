"""Radar catalogue: read radars from the packaged presets or from a user's TOML file.

File format (see ``presets/radars.toml``): ``[templates.<name>]`` tables hold values shared
by one radar type, ``[radars.<id>]`` tables describe one radar each, optionally with
``template = "<name>"``; a radar's own keys override its template's and its ``assumptions``
list is appended to the template's. Units live in the key names and are converted to SI here,
once. Unknown keys, missing required keys and out-of-range values raise ``ValueError`` naming
the radar and the key.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

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


def snr_from_pd(pd: float, pfa: float) -> float:
    """Mean SNR giving detection probability ``pd`` for a Swerling-1 target.

    Inverts Pd = Pfa^(1 / (1 + SNR)):  SNR = ln(Pfa) / ln(Pd) - 1.
    """
    if not 0.0 < pfa < pd < 1.0:
        raise ValueError(f"ref_pd = {pd!r} must be in (pfa = {pfa!r}, 1)")
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
        kw["ref_snr"] = snr_from_pd(float(d["ref_pd"]), kw["pfa"])
    assumptions = d.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        raise ValueError(f"{where}: key 'assumptions' must be a list of strings")
    kw["assumptions"] = tuple(assumptions)
    try:
        return Radar(**kw)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


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
        out.append(radar_from_dict(rid, merged))
    return tuple(out)


def load_radar_file(path: str | Path) -> tuple[Radar, ...]:
    """Read all radars from a user's TOML file (same format as the presets)."""
    path = Path(path)
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return radars_from_toml(data, str(path))


def preset_radars() -> tuple[Radar, ...]:
    """All packaged preset radars (``presets/radars.toml``), in file order."""
    text = resources.files("trackers.sensors").joinpath("presets/radars.toml").read_text()
    return radars_from_toml(tomllib.loads(text), "presets/radars.toml")


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
