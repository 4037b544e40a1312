"""Monte Carlo studies: seeds, chunking, Dask, results store, resume, validation, CLI.

The reproducibility claims are checked bit for bit (``assert_frame_equal(check_exact)``):
chunk sizes 7 and 50, serial vs a 2-process Dask LocalCluster, a study extended with more
runs, and a study killed after its first chunk file then resumed, all against uninterrupted
serial runs. The seed scheme is checked against NumPy's own ``SeedSequence.spawn``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("distributed")

from trackers.cli import main  # noqa: E402
from trackers.studies import (  # noqa: E402
    chunk_infos,
    get_kind,
    load_results,
    load_study,
    loads_study,
    plan_chunks,
    run_seed,
    run_study,
    stream_parent,
    summarize,
)
from trackers.studies.report import projected_wall_s  # noqa: E402
from trackers.studies.store import StudyStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

REENTRY = """
[study]
id = "t-reentry"
kind = "reentry"
runs = {runs}
chunk_runs = {chunk}
seed = 7
metrics = ["pos_rmse_m", "anees_pos", "nis_ratio"]

[config]
horizon_s = {horizon}

[grid]
variant = ["ekfukf", "stress"]
filter = {filters}
"""


def _study(runs=20, chunk=7, horizon=0.5, filters='["EKF", "UKF"]'):
    return loads_study(REENTRY.format(runs=runs, chunk=chunk, horizon=horizon, filters=filters))


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)  # fmt: skip


def test_run_seed_is_numpy_spawning():
    """Run i of stream s = child i of child s of SeedSequence(seed), as NumPy spawns them."""
    root = np.random.SeedSequence(123)
    ref = np.random.SeedSequence(123).spawn(3)[2].spawn(6)[5]
    assert np.array_equal(run_seed(root, 2, 5).generate_state(4), ref.generate_state(4))
    gens = np.random.default_rng(stream_parent(root, 2)).spawn(6)
    assert gens[5].random() == np.random.default_rng(ref).random()
    assert not np.array_equal(run_seed(root, 2, 4).generate_state(4), ref.generate_state(4))
    with pytest.raises(ValueError, match="run = -1"):
        run_seed(root, 0, -1)


def test_chunk_sizes_and_dask_workers_give_identical_rows(tmp_path):
    serial7 = run_study(_study(chunk=7), tmp_path / "s7", progress=False)
    assert serial7.computed == 2 * 3  # 2 cells x ceil(20 / 7) chunks
    run_study(_study(chunk=50), tmp_path / "s50", progress=False)
    dask7 = run_study(_study(chunk=7), tmp_path / "d7", workers=2, progress=False)
    assert dask7.computed == 6
    a, b, c = (load_results(tmp_path / d) for d in ("s7", "s50", "d7"))
    assert len(a) == 2 * 2 * 20  # cells x filters x runs
    _assert_same(a, b)
    _assert_same(a, c)
    workers = set(chunk_infos(tmp_path / "d7")["worker"])
    assert len(workers) == 2 and "in-process" not in workers  # two Dask worker processes
    # the runs really differ from each other (not a constant column)
    assert a["pos_rmse_m"].nunique() > 20


def test_ballistic_radar_rows_do_not_depend_on_chunking():
    kind = get_kind("ballistic-radar")
    cfg = kind.resolve(
        {"radars": ["tpy2-shariki"], "t_start_s": 400.0, "t_end_s": 460.0, "filter": ["EKF"]},
        "config",
    )
    seed = np.random.SeedSequence(5)
    whole = kind.function(cfg, range(0, 9), seed)
    parts = pd.concat([kind.function(cfg, r, seed) for r in (range(0, 2), range(2, 9))])
    _assert_same(whole, parts)
    assert (whole["detections"] > 0).all()
    # a consistent filter on its own model: ANEES and NIS ratio near 1, not wildly off
    assert 0.3 < whole["nis_ratio"].mean() < 2.0
    assert whole["pos_rmse_m"].max() < 2000.0
    with pytest.raises(ValueError, match="t_start_s"):
        kind.function(kind.resolve({"t_start_s": 100.0}, "config"), range(0, 1), seed)


def test_adding_runs_leaves_earlier_rows_unchanged(tmp_path):
    run_study(_study(runs=10), tmp_path / "a", progress=False)
    before = load_results(tmp_path / "a")
    files = {p: p.read_bytes() for p in (tmp_path / "a" / "chunks").iterdir()}
    more = run_study(_study(runs=17), tmp_path / "a", progress=False)
    assert more.skipped == len(files)
    after = load_results(tmp_path / "a")
    assert len(after) == 2 * 2 * 17
    _assert_same(before, after[after["run"] < 10])
    assert all(p.read_bytes() == b for p, b in files.items())  # untouched
    run_study(_study(runs=17), tmp_path / "fresh", progress=False)
    _assert_same(after, load_results(tmp_path / "fresh"))


def test_killed_study_resumes_to_the_uninterrupted_result(tmp_path):
    text = REENTRY.format(runs=8, chunk=2, horizon=8.0, filters='["EKF"]')
    path = tmp_path / "study.toml"
    path.write_text(text)
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackers", "study", "run", str(path), "--out", str(out),
         "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / "chunks").glob("*.parquet")) if (out / "chunks").is_dir() else []:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    n_before = len(list((out / "chunks").glob("*.parquet")))
    assert 1 <= n_before < 8, n_before  # interrupted after its first chunk file
    study = load_study(path)
    res = run_study(study, out, progress=False)
    assert res.computed == 8 - n_before and res.skipped == n_before
    run_study(study, tmp_path / "whole", progress=False)
    _assert_same(load_results(out), load_results(tmp_path / "whole"))


def test_nothing_is_overwritten(tmp_path):
    study = _study(runs=4, chunk=4)
    run_study(study, tmp_path / "a", progress=False)
    store = StudyStore(tmp_path / "a")
    key, runs, p = store.chunk_files()[0]
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="never overwritten"):
        store.write_chunk(key, runs, load_results(tmp_path / "a").iloc[:1], {})
    assert p.read_bytes() == before
    assert run_study(study, tmp_path / "a", progress=False).computed == 0
    other = loads_study(REENTRY.format(runs=4, chunk=4, horizon=0.5, filters='["EKF"]')
                        .replace("seed = 7", "seed = 8"))  # fmt: skip
    with pytest.raises(ValueError, match="seed = 7, not 8"):
        run_study(other, tmp_path / "a", progress=False)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        run_study(study, tmp_path / "b", progress=False)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (("[grid]", "[grids]"), "grids: unknown table"),
        (("seed = 7", "seed = 7\nsed = 1"), "study.sed: unknown key"),
        (("runs = 4\n", ""), "study.runs: missing required key"),
        (("runs = 4", "runs = 0"), "study.runs = 0, expected an integer >= 1"),
        (("runs = 4", "runs = 4.5"), "study.runs must be an integer"),
        (('kind = "reentry"', 'kind = "nope"'), "study.kind = 'nope' is not a registered"),
        (('"nis_ratio"]', '"nis"]'), "study.metrics: 'nis' is not a metric"),
        (("horizon_s", "horizon"), "config.horizon: unknown parameter"),
        (("horizon_s = 0.5", 'horizon_s = "long"'), "config.horizon_s must be a number"),
        (("horizon_s = 0.5", "horizon_s = 0.01"), "config.horizon_s = 0.01, expected >= 0.2"),
        (('"stress"]', '"strss"]'), "grid.variant\\[1\\] = 'strss' is not allowed"),
        (('["EKF", "UKF"]', '["EKF", "XKF"]'), "grid.filter = 'XKF' is not allowed"),
        (('["EKF", "UKF"]', '["EKF", "EKF"]'), "grid.filter has duplicate entries"),
        (("[grid]", "[grid]\nhorizon_s = [1.0]"), "grid.horizon_s: also set in \\[config\\]"),
        (('variant = ["ekfukf", "stress"]', "variant = []"), "grid.variant must be a non-empty"),
    ],
)
def test_validation_names_the_key(edit, match):
    text = REENTRY.format(runs=4, chunk=2, horizon=0.5, filters='["EKF", "UKF"]')
    assert edit[0] in text
    with pytest.raises((ValueError, TypeError), match=match):
        loads_study(text.replace(edit[0], edit[1], 1))


def test_plan_cuts_missing_runs_at_chunk_multiples():
    study = _study(runs=20, chunk=7)
    key = study.cells()[0].key
    plan = plan_chunks(study, {key: [range(0, 7), range(9, 14)]})
    mine = [c.runs for c in plan if c.cell.key == key]
    assert mine == [range(7, 9), range(14, 20)]
    assert sum(len(c.runs) for c in plan) == 20 + 8


def test_summary_and_show(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(REENTRY.format(runs=6, chunk=3, horizon=0.5, filters='["EKF"]'))
    assert main(["study", "run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert "4 chunk(s) computed" in capsys.readouterr().out
    df = load_results(tmp_path / "o")
    s = summarize(df, {"pos_rmse_m": "rms"})
    sub = df[df["variant"] == "stress"]["pos_rmse_m"]
    row = s[s["variant"] == "stress"].iloc[0]
    assert row["runs"] == 6
    assert row["pos_rmse_m_rms"] == pytest.approx(np.sqrt(np.mean(sub**2)), rel=1e-14)
    assert row["pos_rmse_m_sem"] == pytest.approx(np.std(sub, ddof=1) / np.sqrt(6), rel=1e-12)
    assert main(["study", "show", str(tmp_path / "o"), "--cluster-workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "study t-reentry" in out and "chunks: 4 of 4 planned stored" in out
    assert "2 workers ~" in out and "rows: 12" in out
    assert main(["study", "run", str(tmp_path / "missing.toml")]) == 2
    assert projected_wall_s([2.0, 4.0], 10, 4) == pytest.approx(9.0)  # ceil(10/4) x 3 s


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "benchmarks/studies").glob("*")))
def test_benchmark_study_files_validate(name):
    study = load_study(ROOT / "benchmarks" / "studies" / name)
    # filter studies are cheap (100+ runs); tracker / alert studies default to a few runs
    assert study.cells() and study.runs >= (2 if study.kind in ("tracking", "alerts") else 100)


def test_reentry_metrics_match_a_per_run_oracle():
    """Per-run RMSE / NEES / NIS ratio of the kind = a per-run loop over the full history."""
    from trackers.filters import EKF, Filter, Gaussian
    from trackers.filters.runner import run
    from trackers.models.reentry import ReentryMotion
    from trackers.studies.kinds import _RE_M0, _RE_P0, reentry_data

    kind = get_kind("reentry")
    cfg = kind.resolve({"variant": "stress", "horizon_s": 1.0, "filter": ["EKF"]}, "config")
    seed, runs = np.random.SeedSequence(3), range(4, 9)
    df = kind.function(cfg, runs, seed)
    stream, X, radar = reentry_data(cfg, runs, seed)
    N, T = X.shape[:2]
    prior = Gaussian(np.broadcast_to(_RE_M0, (N, 5)), np.broadcast_to(_RE_P0, (N, 5, 5)))
    tr = run(Filter(EKF(), ReentryMotion()), prior, stream, [radar], keep="all")
    for j in range(N):  # oracle: one run at a time, plain numpy
        e = X[j] - tr.mean[j]  # (T, 5)
        nees_pos = [e[k, :2] @ np.linalg.solve(tr.cov[j, k, :2, :2], e[k, :2]) for k in range(T)]
        nees = [e[k] @ np.linalg.solve(tr.cov[j, k], e[k]) for k in range(T)]
        row = df.iloc[j]
        assert row["run"] == runs[j]
        assert row["pos_rmse_m"] == pytest.approx(1000 * np.sqrt(np.mean(np.sum(e[:, :2] ** 2, 1))))
        assert row["anees_pos"] == pytest.approx(np.mean(nees_pos) / 2, rel=1e-9)
        assert row["anees_state"] == pytest.approx(np.mean(nees) / 5, rel=1e-9)
        assert row["nis_ratio"] == pytest.approx(np.sum(tr.nis[j]) / (2 * T), rel=1e-9)
        assert row["final_pos_err_m"] == pytest.approx(1000 * np.linalg.norm(e[-1, :2]))
