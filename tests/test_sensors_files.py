"""Radar and network files: encodings, syntax errors naming the file, errors in the file's
units naming the radar, ref_pd / pfa blamed on the right key, [sensors] errors named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trackers.io.tomlfile import decode_toml_bytes
from trackers.sensors import load_network, load_radar_file, sensors_for_scenario
from trackers.sensors.catalog import snr_from_pd

RADAR = """
[radars.my-radar]
type = "test"
lat_deg = 37.0
lon_deg = 127.0
measures = ["range", "azimuth", "elevation"]
sigma_range_m = 25.0
sigma_az_mrad = 0.5
sigma_el_mrad = 0.5
revisit_s = 2.0
max_range_km = 900.0
ref_range_km = 900.0
ref_pd = 0.9
pfa = 1e-6
range_cell_m = 100.0
beamwidth_mrad = 20.0
"""

NET = """
[networks.mine]
nodes = ["japan"]
consumer = "japan"
reports = [{radars = ["fps5-sado"], to = "japan", latency_s = 0.5}]
"""


def _write(tmp_path: Path, data: str | bytes, name: str = "radars.toml") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def test_byte_order_mark_is_accepted(tmp_path) -> None:
    (r,) = load_radar_file(_write(tmp_path, b"\xef\xbb\xbf" + RADAR.encode()))
    assert r.id == "my-radar" and r.max_range == 900e3
    net = load_network(_write(tmp_path, b"\xef\xbb\xbf" + NET.encode(), "net.toml"))
    assert net.id == "mine"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (RADAR.replace('"test"', '"t\xe9st"').encode("latin-1"),
         r"not a UTF-8 text file: byte 0xe9 at offset \d+ \(line 3, column 10\)"),
        (RADAR.encode("utf-16"), "UTF-16-encoded"),
        (bytes(range(128, 256)), "not a UTF-8 text file"),
        (b"\x00" * 64, "NUL byte"),
        (RADAR.replace("pfa = 1e-6", "pfa = 1e-6 1e-7").encode(), r"not valid TOML: .*line 14"),
    ],
)  # fmt: skip
def test_bad_radar_files_name_the_file(tmp_path, data: bytes, pattern: str) -> None:
    p = _write(tmp_path, data)
    with pytest.raises(ValueError, match=pattern) as info:
        load_radar_file(p)
    assert str(info.value).startswith(f"{p}: ")


def test_bad_network_files_name_the_file(tmp_path) -> None:
    p = _write(tmp_path, NET.replace("nodes =", "nodes ="), "net.toml")
    assert load_network(p).consumer == "japan"  # the good file loads
    p = _write(tmp_path, NET.replace('consumer = "japan"', "consumer = japan"), "net.toml")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(p))}: not valid TOML"):
        load_network(p)
    p = _write(tmp_path, NET.encode("utf-16"), "net.toml")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(p))}: .*UTF-16"):
        load_network(p)
    p = _write(tmp_path, NET.replace("0.5", "-1.0"), "net.toml")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(p))}: network 'mine': .*latency"):
        load_network(p)


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("lat_deg = 37.0", "lat_deg = 137.0",
         r"radar 'my-radar': key 'lat_deg' = 137.0 deg, expected \[-90, 90\] deg"),
        ("max_range_km = 900.0", "max_range_km = -900.0",
         r"key 'max_range_km' = -900.0 km, expected > 0 km"),
        ("sigma_az_mrad = 0.5", "sigma_az_mrad = 0.0",
         r"key 'sigma_az_mrad' = 0.0 mrad, expected > 0 mrad"),
        ("revisit_s = 2.0", "revisit_s = 2.0\nrevisit_phase_s = 3.0",
         r"key 'revisit_phase_s' = 3.0 s, expected < revisit_s = 2.0 s"),
        ("max_range_km = 900.0", "max_range_km = 900.0\nmin_range_km = 1000.0",
         r"key 'min_range_km' = 1000.0 km, expected < max_range_km = 900.0 km"),
        ("lat_deg = 37.0", "lat_deg = 37.0\nhalf_width_az_deg = 270.0",
         r"key 'half_width_az_deg' = 270.0 deg, expected \(0, 180\] deg"),
        ("lat_deg = 37.0", "lat_deg = inf", r"key 'lat_deg' = inf deg"),
    ],
)  # fmt: skip
def test_radar_errors_quote_the_file_units(tmp_path, old: str, new: str, pattern: str) -> None:
    p = _write(tmp_path, RADAR.replace(old, new))
    with pytest.raises(ValueError, match=pattern) as info:
        load_radar_file(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: radar 'my-radar': ")
    rest = msg[len(str(p)) :]
    assert " rad," not in rest and "SI" not in rest  # no radians or SI values quoted


def test_pfa_and_ref_pd_are_blamed_on_the_right_key(tmp_path) -> None:
    p = _write(tmp_path, RADAR.replace("pfa = 1e-6", "pfa = 2.0"))
    with pytest.raises(ValueError, match=r"key 'pfa' = 2.0, expected \(0, 1\)") as info:
        load_radar_file(p)
    assert "ref_pd" not in str(info.value)[len(str(p)) :]
    p = _write(tmp_path, RADAR.replace("ref_pd = 0.9", "ref_pd = 1e-7"))
    with pytest.raises(ValueError, match=r"radar 'my-radar': ref_pd = 1e-07 must be in \(pfa, 1\)"):
        load_radar_file(p)
    with pytest.raises(ValueError, match=r"^pfa = 0.0 must be in \(0, 1\)"):
        snr_from_pd(0.9, 0.0)
    with pytest.raises(ValueError, match=r"^ref_pd = 1.0 must be in \(pfa, 1\)"):
        snr_from_pd(1.0, 1e-6)
    # an oracle for a good pair: Pd = Pfa^(1 / (1 + SNR))
    snr = snr_from_pd(0.9, 1e-6)
    assert 1e-6 ** (1.0 / (1.0 + snr)) == pytest.approx(0.9, rel=1e-12)


def test_sensors_table_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"^\[sensors\]\.radars: unknown radar id\(s\) \['nope'\]"):
        sensors_for_scenario({"radars": ["fps5-sado", "nope"]})
    with pytest.raises(ValueError, match=r"^\[sensors\]\.network: unknown network 'nowhere'"):
        sensors_for_scenario({"network": "nowhere"})


def test_decode_keeps_good_text_and_drops_only_the_bom() -> None:
    assert decode_toml_bytes("a = 'é'\n".encode(), "x") == "a = 'é'\n"
    assert decode_toml_bytes(b"\xef\xbb\xbfa = 1\n", "x") == "a = 1\n"
    with pytest.raises(ValueError, match="UTF-32"):
        decode_toml_bytes("a = 1".encode("utf-32"), "x")
