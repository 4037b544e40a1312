"""``trackers simulate``: one-line errors, every input checked before anything is written,
a closed pipe, and a help text that matches the command."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trackers.cli import build_parser, main
from trackers.io.runs import new_run_dir
from trackers.sim import Guidance, Launch, Scenario, Stage, Vehicle, load_scenario

REPO = Path(__file__).resolve().parents[1]
FAST = ["--no-figure", "--rate", "0.5"]


def _error(capsys) -> str:
    """The single stderr line of a failed command (asserts there is exactly one)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trackers: error: "), err
    return lines[0]


def test_out_under_a_file_is_refused_before_simulating(tmp_path, capsys, monkeypatch) -> None:
    import trackers.sim

    def never(*a, **k):
        raise AssertionError("simulated although --out is unusable")

    monkeypatch.setattr(trackers.sim, "simulate", never)
    (tmp_path / "afile").write_text("x")
    assert main(["simulate", "--out", str(tmp_path / "afile" / "run"), *FAST]) == 2
    assert "afile is a file, not a folder" in _error(capsys)
    assert main(["simulate", "--out", str(tmp_path / "afile"), *FAST]) == 2
    assert "exists and is not a directory" in _error(capsys)


def test_out_in_an_unwritable_place(tmp_path, capsys) -> None:
    if os.geteuid() == 0:  # root may write anywhere on a normal file system; sysfs refuses
        if not Path("/sys/kernel").is_dir():
            pytest.skip("no sysfs to stand for an unwritable place")
        target = Path("/sys/trackers-test-run")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "run"
    assert main(["simulate", "--out", str(target), "--no-radar", *FAST]) == 2
    line = _error(capsys)
    assert str(target) in line and ("cannot create" in line or "not writable" in line)
    assert not target.exists()


def test_rate_zero_leaves_no_folder(tmp_path, capsys) -> None:
    out = tmp_path / "new" / "run"
    assert main(["simulate", "--out", str(out), "--rate", "0"]) == 2
    assert "--rate = 0.0 is out of range; expected [0.01, 1000] Hz" in _error(capsys)
    assert not (tmp_path / "new").exists()
    assert main(["simulate", "--runs", str(2**31), "--out", str(out)]) == 2
    assert "--runs = 2147483648 is too large" in _error(capsys)
    assert main(["simulate", "--seed", "-1", "--out", str(out)]) == 2
    assert "--seed must be >= 0" in _error(capsys)
    assert not (tmp_path / "new").exists()


def test_unknown_radar_is_reported_before_the_flight(tmp_path, capsys, monkeypatch) -> None:
    import trackers.sim

    monkeypatch.setattr(trackers.sim, "simulate", lambda *a, **k: pytest.fail("simulated"))
    text = load_scenario("hokkaido-2023").to_toml().replace('"fps5-sado"', '"fps5-nowhere"')
    path = tmp_path / "s.toml"
    path.write_text(text)
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--out", str(out)]) == 2
    assert "[sensors].radars: unknown radar id(s) ['fps5-nowhere']" in _error(capsys)
    assert not out.exists()
    # negative case: without radars the sensors table is not consulted
    monkeypatch.undo()
    assert main(["simulate", str(path), "--out", str(out), "--no-radar", *FAST]) == 0
    assert (out / "truth.csv").is_file() and not (out / "detections.csv").exists()


def test_every_problem_of_a_scenario_file_is_listed(tmp_path, capsys) -> None:
    text = (
        load_scenario("hokkaido-2023")
        .to_toml()
        .replace("lat_deg = 39.0", "lat_deg = 95.0", 1)
        .replace('atmosphere = "us76"', 'atmosphere = "thick"', 1)
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    assert main(["simulate", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"trackers: error: {path}: 2 problems:\n")
    assert "launch.lat_deg = 95.0" in err and "earth.atmosphere" in err
    assert not (tmp_path / "run").exists()


def test_a_vehicle_that_reaches_orbit(tmp_path, capsys) -> None:
    stage = Stage(wet_mass_kg=10000.0, propellant_mass_kg=9500.0, burn_time_s=60.0,
                  isp_vac_s=1000.0, isp_sl_s=950.0, reference_area_m2=1.5,
                  tumble_area_m2=8.0)  # fmt: skip
    sc = Scenario(
        id="orbit",
        description="reaches orbit",
        seed=0,
        launch=Launch(lat_deg=40.0, lon_deg=127.0, azimuth_deg=90.0),
        vehicle=Vehicle(stages=(stage,), payload_mass_kg=50.0, rv_beta_kgpm2=3000.0),
        guidance=Guidance(program="gravity-turn", pitch_kick_deg=45.0),
    )
    path = tmp_path / "orbit.toml"
    path.write_text(sc.to_toml())
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--out", str(out), "--no-radar", "--rate", "0.1"]) == 2
    assert "did not impact within" in _error(capsys)
    assert not out.exists()
    # negative case: a normal vehicle comes down
    slow = dataclasses.replace(stage, isp_vac_s=280.0, isp_sl_s=250.0)
    path.write_text(dataclasses.replace(sc, vehicle=dataclasses.replace(sc.vehicle, stages=(slow,)))
                    .to_toml())  # fmt: skip
    assert main(["simulate", str(path), "--out", str(out), "--no-radar", *FAST]) == 0


def test_impossible_runs_are_refused_before_writing(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["simulate", "--runs", "1000000000", "--out", str(out), *FAST]) == 2
    line = _error(capsys)
    assert re.search(r"--runs 1000000000: about [\d.e+]+ detections need ~[\d.e+]+ GB of memory",
                     line)  # fmt: skip
    assert not out.exists()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "trackers", *args]


def test_closed_pipe_with_head(tmp_path) -> None:
    out = tmp_path / "run"
    cmd = " ".join(_cli("simulate", "--out", str(out), "--no-radar", *FAST)) + " | head -1"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=REPO,
                         timeout=120)  # fmt: skip
    assert res.stdout.startswith("scenario hokkaido-2023") and res.stdout.count("\n") == 1
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 1
    assert (out / "truth.csv").is_file() and (out / "provenance.json").is_file()


def test_closed_pipe_before_the_first_line(tmp_path) -> None:
    """The reading end is closed before the command starts: every write fails (EPIPE)."""
    out = tmp_path / "run"
    r, w = os.pipe()
    os.close(r)
    try:
        res = subprocess.run(_cli("simulate", "--out", str(out), "--no-radar", *FAST),
                             stdout=w, stderr=subprocess.PIPE, text=True, cwd=REPO,
                             timeout=120)  # fmt: skip
    finally:
        os.close(w)
    assert res.returncode == 0
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "standard output was closed early (broken pipe)" in line
    assert {p.name for p in out.iterdir()} >= {"truth.csv", "events.csv", "summary.json"}


def test_help_documents_every_option_and_the_default_folder(tmp_path) -> None:
    sub = build_parser()._subparsers._group_actions[0].choices["simulate"]
    text = sub.format_help()
    for opt in ("--out", "--rate", "--seed", "--runs", "--no-radar", "--no-figure"):
        assert opt in text
    documented = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    assert all(a.help for a in documented)
    assert "runs/<UTC time>-simulate-<id>" in " ".join(text.split())
    made = new_run_dir(None, label="simulate-hokkaido-2023", base=tmp_path)
    assert re.fullmatch(r"\d{8}T\d{6}Z-simulate-hokkaido-2023", made.name)
