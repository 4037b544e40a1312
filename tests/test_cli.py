"""End-to-end checks of the ``trackers`` command."""

import json

import numpy as np
import pytest

from trackers.cli import main
from trackers.io.datasets import read_truth_csv
from trackers.sensors import Detections


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["simulate", "hokkaido-2023", "--out", str(out), "--rate", "2", "--runs", "2"]) == 0
    return out


def test_simulate_writes_every_output(sim_run):
    names = {p.name for p in sim_run.iterdir()}
    assert {"truth.csv", "events.csv", "summary.json", "flight.png", "detections.csv",
            "scenario.toml", "provenance.json"} <= names  # fmt: skip


def test_summary_json_schema_and_consistency_with_truth(sim_run):
    summary = json.loads((sim_run / "summary.json").read_text())
    assert summary["scenario"] == "hokkaido-2023"
    keys = {
        "id",
        "role",
        "apogee_m",
        "range_m",
        "flight_time_s",
        "impact_lat_deg",
        "impact_lon_deg",
    }
    assert summary["objects"] and all(set(o) == keys for o in summary["objects"])
    assert {e["kind"] for e in summary["events"]} >= {"separation", "impact", "apogee"}
    assert all(set(e) == {"t_s", "object", "kind"} for e in summary["events"])
    truth = read_truth_csv(sim_run / "truth.csv")
    for o in summary["objects"]:
        sel = truth["object"] == o["id"]
        assert sel.any()
        # apogee from the 2 Hz samples cannot exceed the event-based apogee
        assert truth["alt_m"][sel].max() <= o["apogee_m"] + 1e-3
        assert truth["alt_m"][sel].max() >= o["apogee_m"] - 5e3
        assert truth["lat_deg"][sel][-1] == pytest.approx(o["impact_lat_deg"], abs=1e-6)


def test_detections_csv_reads_back_with_both_draws(sim_run):
    det = Detections.from_csv(sim_run / "detections.csv")
    assert det.runs == 2 and len(det) > 100
    assert np.all(np.diff(det.t_arrival[det.run == 0]) >= 0)
    assert np.all(det.t_arrival >= det.t_meas)


def test_results_are_never_overwritten(sim_run, capsys):
    assert main(["simulate", "hokkaido-2023", "--out", str(sim_run), "--no-figure"]) == 2
    assert "never overwritten" in capsys.readouterr().err


def test_bad_arguments_are_reported(tmp_path, capsys):
    assert main(["simulate", "no-such-scenario", "--out", str(tmp_path / "a")]) == 2
    assert "no-such-scenario" in capsys.readouterr().err
    assert main(["simulate", "--runs", "0", "--out", str(tmp_path / "b")]) == 2
    assert "--runs" in capsys.readouterr().err


def test_scenarios_lists_the_catalog(capsys):
    assert main(["scenarios"]) == 0
    text = capsys.readouterr().out
    for sid in ("hokkaido-2023", "hwasong18-2023-07", "hwasong15-2017", "hwasong17-2022-11",
                "irbm-2022-10", "srbm-depressed"):  # fmt: skip
        assert sid in text


def test_scenarios_check_compares_with_published_values(capsys):
    assert main(["scenarios", "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("hokkaido-2023 "))
    assert row.rstrip().endswith("ok") and "2850" in row and "1000/1000" in row


def test_track_writes_tracks_metrics_variants_and_figures(tmp_path, capsys):
    out = tmp_path / "trk"
    args = ["track", "srbm-depressed", "--tracker", "all", "--runs", "2", "--epoch", "5",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "naive" in printed and "separation-aware" in printed
    for name in ("naive", "separation-aware"):
        assert (out / f"tracks-{name}.csv").stat().st_size > 0
        assert (out / f"tracks-{name}.png").stat().st_size > 0
    assert (out / "provenance.json").exists()
    metrics = {m["tracker"]: m for m in json.loads((out / "metrics.json").read_text())}
    required = ("tracker", "runs", "gospa_mean_m", "rv_label_correct_frac",
                "false_tracks_per_run", "id_switches_per_run", "spawn_delay_s_median",
                "track_breaks_per_run")  # fmt: skip
    for m in metrics.values():
        assert all(k in m for k in required) and m["runs"] == 2
        var = m["scoring_variants"]
        assert set(var) == {"optimal_assignment", "strict_false_tracks"}
        # the strict count only adds false tracks (tracks on unreported objects)
        assert var["strict_false_tracks"]["false_tracks_per_run"] >= m["false_tracks_per_run"]
    # the naive baseline starts tracks on any two reports: many more false tracks
    naive, sa = metrics["naive"], metrics["separation-aware"]
    assert naive["false_tracks_per_run"] > 10 * max(sa["false_tracks_per_run"], 0.5)
    assert sa["gospa_mean_m"] < naive["gospa_mean_m"]
    # results are never overwritten
    assert main(args) == 2
    assert "never overwritten" in capsys.readouterr().err


def test_track_set_overrides_are_validated_and_recorded(tmp_path, capsys):
    out = tmp_path / "trk"
    base = ["track", "srbm-depressed", "--runs", "1", "--epoch", "5", "--no-progress",
            "--no-figure"]  # fmt: skip
    assert main([*base, "--set", "no_such_key=1", "--out", str(out)]) == 2
    assert "no_such_key" in capsys.readouterr().err
    assert main([*base, "--set", "q_ballistic=-1", "--out", str(out)]) == 2
    assert "q_ballistic" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())  # nothing written on a bad setting
    args = [*base, "--set", "drag_mode=true", "--set", "q_ballistic=0.5", "--out", str(out)]
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["overrides"] == {"drag_mode": True, "q_ballistic": 0.5}
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["config"]["overrides"] == {"drag_mode": True, "q_ballistic": 0.5}


def test_track_retrodict_delivery_reports_its_late_reports(tmp_path, capsys):
    out = tmp_path / "trk"
    args = ["track", "srbm-depressed", "--runs", "1", "--epoch", "5", "--no-progress",
            "--no-figure", "--delivery", "retrodict", "--late-window", "1", "--out", str(out)]
    assert main(args) == 0
    assert "delivery retrodict" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["late_reports"] >= m["late_used"] >= 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["config"]["delivery"] == "retrodict" and prov["config"]["late_window_s"] == 1.0
    assert main([*args[:-1], str(tmp_path / "bad"), "--late-window", "-1"]) == 2
    assert "late_window" in capsys.readouterr().err
