"""Study kinds ``tracking`` and ``alerts``, the study files under benchmarks/studies, and
benchmarks/reentry.py through the studies harness."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trackers.studies import get_kind, load_results, load_study, loads_study, run_study, summarize
from trackers.studies.kinds_tracking import schedule_scans, tracked_runs

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "benchmarks" / "studies"

TRACKING = """
[study]
id = "tiny-tracking"
kind = "tracking"
runs = 2
chunk_runs = {chunk}
seed = 11

[config]
t_end_s = 80.0
epoch_s = 10.0

[grid]
tracker = ["naive"]
"""


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["cell", "run"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory) -> pd.DataFrame:
    """The tiny tracking study through run_study, one run per chunk."""
    folder = tmp_path_factory.mktemp("tracking")
    run_study(loads_study(TRACKING.format(chunk=1)), folder, progress=False)
    return _sorted(load_results(folder))


def test_tracking_rows_are_bit_identical_under_any_chunking(chunked) -> None:
    """Rows of 1-run chunks (run_study) == rows of one 2-run chunk (the kind called directly)."""
    kind = get_kind("tracking")
    study = loads_study(TRACKING.format(chunk=2))
    (cell,) = study.cells()
    direct = kind.function(cell.config, range(0, 2), np.random.SeedSequence(11))
    assert len(chunked) == 2 and list(chunked["run"]) == [0, 1]
    assert set(chunked["tracker"]) == {"naive"} and set(chunked["cell"]) == {cell.key}
    metrics = [c for c in chunked.columns if c not in ("cell", "run", "tracker")]
    assert "gospa_mean_m" in metrics and "spawn_split_delay_s" in metrics
    pd.testing.assert_frame_equal(
        chunked[["run", "tracker", *metrics]], direct[["run", "tracker", *metrics]],
        check_exact=True,
    )  # fmt: skip
    assert np.all(chunked["gospa_mean_m"] > 0) and np.all(chunked["false_tracks"] >= 0)


def test_tracking_per_run_columns_average_to_the_score_summary(chunked) -> None:
    """The kind's per-run columns against trackers.metrics.tracking.score on the same log."""
    from trackers.metrics.tracking import score

    kind = get_kind("tracking")
    cfg = kind.resolve({"t_end_s": 80.0, "epoch_s": 10.0, "tracker": ["naive"]}, "config")
    tr = tracked_runs(cfg, range(0, 2), np.random.SeedSequence(11), ["naive"])
    res = tr.results["naive"]
    assert res.log.runs == 2 and set(np.unique(res.log.run)) <= {0, 1}
    summary = score(res.log, tr.flight, tr.det, tracker="naive", keep_correspondence=True)
    pairs = {
        "gospa_mean_m": "gospa_mean_m",
        "gospa_false_m": "gospa_false_m",
        "false_tracks": "false_tracks_per_run",
        "id_switches": "id_switches_per_run",
        "rv_id_switches": "rv_id_switches_per_run",
        "track_breaks": "track_breaks_per_run",
    }
    for col, key in pairs.items():
        assert chunked[col].mean() == pytest.approx(summary[key], rel=1e-12, abs=1e-9), col


def test_schedule_scans_holds_every_scheduled_scan_and_an_empty_phantom_run() -> None:
    kind = get_kind("tracking")
    cfg = kind.resolve({"t_end_s": 60.0, "tracker": ["naive"]}, "config")
    tr = tracked_runs(cfg, range(3, 4), np.random.SeedSequence(5), [])
    from trackers.studies.kinds_tracking import _case

    _, radars, _ = _case("hokkaido-2023", "")
    scans = schedule_scans(tr.det, radars, 0.0, 60.0)
    expected = sum(r.scan_times(0.0, 60.0).size for r in radars if r.id in tr.det.sensors)
    assert len(scans) == expected and scans.runs == 2
    plain = len({(t, s) for t, s in zip(tr.det.t_meas, tr.det.sensor_index, strict=True)})
    assert plain < expected  # the run alone leaves scans out: the case the phantom run fixes
    used = sum(int(scans.scan(i).valid[0].sum()) for i in range(len(scans)))
    phantom = sum(int(scans.scan(i).valid[1].sum()) for i in range(len(scans)))
    assert used == len(tr.det) and phantom == 0
    assert tr.det.runs == 1 and np.all(tr.det.run == 0)  # study run 3 renumbered to 0


def test_alerts_rows_do_not_depend_on_the_chunk_and_are_consistent() -> None:
    kind = get_kind("alerts")
    cfg = kind.resolve({"t_end_s": 80.0, "step_s": 10.0, "system": ["naive"]}, "config")
    seed = np.random.SeedSequence(3)
    both = kind.function(cfg, range(0, 2), seed)
    one = kind.function(cfg, range(1, 2), seed)
    pd.testing.assert_frame_equal(
        both[both["run"] == 1].reset_index(drop=True), one, check_exact=True
    )
    assert set(both.columns) >= {"run", "system", "alert_issued", "issue_time_s", "lead_time_s",
                                 "truth_hit", "cancelled"}  # fmt: skip
    issued = both["alert_issued"].to_numpy() == 1
    assert np.all(np.isfinite(both["issue_time_s"]) == issued)
    assert np.all(both["truth_hit"] == 0)  # hokkaido-2023: the rv falls in the Sea of Japan
    assert np.all(both["false_alert"] == both["alert_issued"])
    assert np.all(both["missed_alert"] == 0)


def test_alerts_lead_time_and_flags_from_the_timeline(monkeypatch) -> None:
    """Row logic on a hand-made timeline: an alert issued at 100 s, cancelled at 150 s."""
    import trackers.impact.alerts as alerts
    from trackers.impact.alerts import AlertTimeline
    from trackers.studies.kinds_tracking import _case, alerts_kind

    fake = AlertTimeline("hokkaido", np.array([0]), np.array([100.0]), np.array([150.0]),
                         np.array([3]), np.array([2]))  # fmt: skip
    monkeypatch.setattr(alerts, "alert_timeline", lambda *a, **k: fake)
    kind = get_kind("alerts")
    cfg = kind.resolve({"t_end_s": 100.0, "step_s": 10.0, "system": ["naive"]}, "config")
    (row,) = alerts_kind(cfg, range(5, 6), np.random.SeedSequence(3)).itertuples()
    t_imp = float(_case("hokkaido-2023", "")[0].object("rv").t[-1])
    assert row.run == 5 and row.alert_issued == 1 and row.issue_time_s == 100.0
    assert row.cancelled == 1 and row.cancel_time_s == 150.0 and row.episodes == 2
    assert row.lead_time_s == pytest.approx(t_imp - 100.0)
    assert row.false_alert == 1 and row.missed_alert == 0 and row.truth_hit == 0
    assert row.in_force == 0  # cancelled before the impact


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('kind = "tracking"\n[grid]\ntracker = ["bogus"]', r"grid.tracker.*'bogus'"),
        ('kind = "alerts"\n[grid]\nsystem = ["bogus"]', r"grid.system.*'bogus'"),
        ('kind = "tracking"\n[config]\nbatch = "all"', r"config.batch.*'all'"),
        ('kind = "alerts"\n[config]\nt_end_s = -1.0', r"config.t_end_s"),
    ],
)
def test_bad_study_values_are_named(text: str, match: str) -> None:
    head, _, rest = text.partition("\n")
    doc = f'[study]\nid = "x"\n{head}\nruns = 1\nseed = 0\n{rest}\n'
    with pytest.raises(ValueError, match=match):
        loads_study(doc)


def test_window_and_network_errors_name_the_parameter() -> None:
    kind = get_kind("tracking")
    seed = np.random.SeedSequence(0)
    cfg = kind.resolve({"t_start_s": 50.0, "t_end_s": 40.0}, "config")
    with pytest.raises(ValueError, match="t_start_s < t_end_s"):
        kind.function(cfg, range(0, 1), seed)
    cfg = kind.resolve({"network": "no-such-network", "t_end_s": 40.0}, "config")
    with pytest.raises(ValueError, match=r"config\.network = 'no-such-network'"):
        kind.function(cfg, range(0, 1), seed)


def test_benchmark_study_files_load() -> None:
    for name, kind in (("tracker-comparison", "tracking"), ("alert-comparison", "alerts"),
                       ("reentry-filters", "reentry")):  # fmt: skip
        study = load_study(STUDIES / f"{name}.toml")
        assert study.id == name and study.kind == kind and study.runs >= 2
        assert len(study.cells()) >= 2


def test_reentry_benchmark_table_from_the_study_dataframe(tmp_path, monkeypatch, capsys) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import reentry as bench
    finally:
        sys.path.remove(str(ROOT))
    df = pd.DataFrame({"variant": "ekfukf", "filter": ["EKF", "EKF", "UKF", "UKF"],
                       "run": [0, 1, 0, 1], "pos_rmse_m": [3.0, 4.0, 1.0, 1.0],
                       "anees_pos": [1.0, 1.2, 3.0, 3.2], "anees_state": 1.0,
                       "nis_ratio": 1.0})  # fmt: skip
    tab = bench.table_from_results(df)["ekfukf"]
    assert tab["EKF"]["pos_rmse_m"] == pytest.approx(np.sqrt(12.5))  # sqrt(mean(9, 16))
    assert tab["EKF"]["anees_pos"] == pytest.approx(1.1) and tab["EKF"]["runs"] == 2
    assert tab["EKF"]["in_band"] is True  # 2-run band chi2(4)/4: [0.121, 2.786]
    assert tab["UKF"]["in_band"] is False  # 3.1 above it
    with pytest.raises(ValueError, match="variant"):
        bench.study_for(["nope"], 10, 1)
    # the command line: the study file, cut to 2 runs of 5 s, through run_study
    monkeypatch.setattr(bench, "HORIZON", 5.0)
    out = tmp_path / "r.json"
    store = tmp_path / "store"
    assert bench.main(["--variant", "stress", "--runs", "2", "--seed", "4", "--json", str(out),
                       "--out", str(store)]) == 0  # fmt: skip
    res = json.loads(out.read_text())
    assert res["study"] == "reentry-filters" and set(res["filters"]) == {"EKF", "UKF", "CKF"}
    stored = load_results(store)
    assert len(stored) == 6 and set(stored["variant"]) == {"stress"}
    s = summarize(stored)
    ekf = s[s["filter"] == "EKF"].iloc[0]
    assert res["filters"]["EKF"]["anees_pos"] == pytest.approx(ekf["anees_pos_mean"])
    assert "EKF" in capsys.readouterr().out
