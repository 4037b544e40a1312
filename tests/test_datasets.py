"""The committed synthetic datasets verify and regenerate to the same numbers; regeneration
never deletes or silently overwrites a user's files; the ``trackers data`` command."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from trackers.cli import main
from trackers.io.datasets import (
    DATASETS,
    DatasetConflictError,
    default_root,
    generate,
    generate_all,
    read_truth_csv,
    verify_all,
)
from trackers.io.manifest import MANIFEST, sha256_file
from trackers.sensors import Detections

ROOT = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def test_every_dataset_is_committed_and_verifies():
    assert {d.id for d in DATASETS} <= {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert verify_all(ROOT) == []


def test_tampering_is_detected(tmp_path):
    spec = DATASETS[-1]
    folder = generate(spec, tmp_path / spec.id)
    assert verify_all(tmp_path) == []
    with open(folder / "events.csv", "a") as fh:
        fh.write("0.0,rv,impact,\n")
    assert any("sha256 differs" in p for p in verify_all(tmp_path))


@pytest.mark.parametrize("spec", [d for d in DATASETS if d.id == "hokkaido-2023"], ids=str)
def test_regenerated_dataset_matches_committed_copy(spec, tmp_path):
    fresh = generate(spec, tmp_path / spec.id)
    old = ROOT / spec.id
    assert (fresh / "scenario.toml").read_text() == (old / "scenario.toml").read_text()
    a, b = read_truth_csv(fresh / "truth.csv"), read_truth_csv(old / "truth.csv")
    assert list(a) == list(b)
    for col in ("object", "role", "phase"):
        np.testing.assert_array_equal(a[col], b[col])
    # Tolerances that survive platform differences in libm / BLAS: sub-metre positions.
    np.testing.assert_allclose(a["t_s"], b["t_s"], atol=1e-6)
    for col in ("x_m", "y_m", "z_m", "alt_m"):
        np.testing.assert_allclose(a[col], b[col], atol=0.5, rtol=0)
    for col in ("vx_mps", "vy_mps", "vz_mps"):
        np.testing.assert_allclose(a[col], b[col], atol=1e-3, rtol=0)
    if (old / "detections.csv").exists():
        da, db = (
            Detections.from_csv(fresh / "detections.csv"),
            Detections.from_csv(old / "detections.csv"),
        )
        assert len(da) == len(db)
        np.testing.assert_allclose(da.t_meas, db.t_meas, atol=1e-6)
        np.testing.assert_allclose(da.z, db.z, atol=1e-3, equal_nan=True)


# --- regeneration safety (srbm-depressed: no radar draw, builds in well under a second) ---

SRBM = "srbm-depressed"


def _actions(regen):
    return {f.path: f.action for f in regen.files}


@pytest.fixture
def srbm_root(tmp_path):
    root = tmp_path / "synthetic"
    (first,) = generate_all(root, only=[SRBM])
    assert set(_actions(first).values()) == {"created"}
    return root


def test_regenerating_an_intact_folder_reports_every_file_unchanged(srbm_root):
    before = {p.name: p.read_bytes() for p in (srbm_root / SRBM).iterdir()}
    (again,) = generate_all(srbm_root, only=[SRBM])
    assert _actions(again) == dict.fromkeys(before, "unchanged")
    assert {p.name: p.read_bytes() for p in (srbm_root / SRBM).iterdir()} == before
    assert verify_all(srbm_root) == []


def test_a_users_own_file_is_left_alone_and_reported(srbm_root):
    mine = srbm_root / SRBM / "my_notes.txt"
    mine.write_text("keep me\n")
    (regen,) = generate_all(srbm_root, only=[SRBM])
    assert mine.read_text() == "keep me\n"
    assert _actions(regen)["my_notes.txt"] == "left alone"
    # verify still flags it: the folder no longer matches its manifest
    assert verify_all(srbm_root) == [
        f"{srbm_root / SRBM}/my_notes.txt: present but not in the manifest"
    ]


def test_an_edited_generated_file_is_not_replaced_without_force(srbm_root):
    folder = srbm_root / SRBM
    truth = folder / "truth.csv"
    edited = truth.read_text() + "# my edit\n"
    truth.write_text(edited)
    manifest = (folder / MANIFEST).read_bytes()
    with pytest.raises(DatasetConflictError, match=r"truth\.csv: edited since the last generate"):
        generate_all(srbm_root, only=[SRBM])
    assert truth.read_text() == edited  # the edit survives
    assert (folder / MANIFEST).read_bytes() == manifest  # nothing was written
    assert not [p for p in srbm_root.iterdir() if p.name.startswith(".generate-")]
    (regen,) = generate_all(srbm_root, only=[SRBM], force=True)
    replaced = {f.path: f for f in regen.files}["truth.csv"]
    assert replaced.action == "replaced" and "--force" in replaced.note
    assert truth.read_text() != edited
    assert verify_all(srbm_root) == []


def test_a_folder_without_manifest_is_not_overwritten_without_force(tmp_path):
    folder = tmp_path / SRBM
    folder.mkdir()
    (folder / "truth.csv").write_text("someone's data\n")
    with pytest.raises(DatasetConflictError, match=r"truth\.csv: not from a readable MANIFEST"):
        generate_all(tmp_path, only=[SRBM])
    assert (folder / "truth.csv").read_text() == "someone's data\n"
    (regen,) = generate_all(tmp_path, only=[SRBM], force=True)
    assert _actions(regen)["truth.csv"] == "replaced"
    assert _actions(regen)["scenario.toml"] == "created"


def test_stale_generated_files_are_removed_but_edited_ones_kept(srbm_root):
    folder = srbm_root / SRBM
    # pretend an earlier generate wrote two more files; the user later edited one of them
    (folder / "old.csv").write_text("stale\n")
    (folder / "old_edited.csv").write_text("stale\n")
    doc = json.loads((folder / MANIFEST).read_text())
    for name in ("old.csv", "old_edited.csv"):
        doc["files"][name] = {"sha256": sha256_file(folder / name), "bytes": 6}
    (folder / MANIFEST).write_text(json.dumps(doc))
    (folder / "old_edited.csv").write_text("stale, with my edit\n")
    (regen,) = generate_all(srbm_root, only=[SRBM])
    acts = _actions(regen)
    assert acts["old.csv"] == "removed" and not (folder / "old.csv").exists()
    assert acts["old_edited.csv"] == "left alone"
    assert (folder / "old_edited.csv").read_text() == "stale, with my edit\n"
    assert acts["MANIFEST.json"] == "replaced"


def test_generate_refuses_a_non_empty_folder_and_unknown_ids(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="already holds files"):
        generate(DATASETS[-1], tmp_path)
    with pytest.raises(ValueError, match="no-such-dataset"):
        generate_all(tmp_path / "r", only=["no-such-dataset"])


# --- command line ---


def test_cli_generate_lists_each_file_and_refuses_an_edit(tmp_path, capsys):
    root = str(tmp_path / "synthetic")
    assert main(["data", "generate", root, "--only", SRBM]) == 0
    out = capsys.readouterr().out
    assert re.search(r"created\s+truth\.csv", out)
    assert main(["data", "generate", root, "--only", SRBM]) == 0
    assert re.search(r"replaced\s+truth\.csv\s+\(content unchanged\)", capsys.readouterr().out)
    (tmp_path / "synthetic" / SRBM / "mine.txt").write_text("mine\n")
    assert main(["data", "generate", root, "--only", SRBM]) == 0
    assert re.search(r"left alone\s+mine\.txt\s+\(not written by the generator\)",
                     capsys.readouterr().out)  # fmt: skip
    truth = tmp_path / "synthetic" / SRBM / "truth.csv"
    truth.write_text("edited\n")
    assert main(["data", "generate", root, "--only", SRBM]) == 2
    captured = capsys.readouterr()
    assert "truth.csv" in captured.err and "--force" in captured.err
    assert truth.read_text() == "edited\n"
    assert main(["data", "generate", root, "--only", SRBM, "--force"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"replaced\s+truth\.csv\s+\(content changed; edited since the last", out)
    assert (tmp_path / "synthetic" / SRBM / "mine.txt").read_text() == "mine\n"
    assert main(["data", "verify", root]) == 1  # mine.txt is not in the manifest
    assert "mine.txt: present but not in the manifest" in capsys.readouterr().out


def test_cli_verify_works_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no data/ here: the default is found from the package
    assert default_root() == ROOT
    assert main(["data", "verify"]) == 0
    assert str(ROOT) in capsys.readouterr().out
    assert main(["data", "verify", str(tmp_path / "missing")]) == 1
    assert "not a directory" in capsys.readouterr().out


def test_default_root_falls_back_to_the_current_folder_then_fails(tmp_path, monkeypatch, capsys):
    import trackers.io.datasets as ds

    # an installed (non-repository) package: no data/synthetic beside it
    monkeypatch.setattr(ds, "__file__", str(tmp_path / "site" / "trackers" / "io" / "ds.py"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no dataset folder found"):
        ds.default_root()
    assert main(["data", "verify"]) == 2
    assert "pass the dataset folder" in capsys.readouterr().err
    (tmp_path / "data" / "synthetic").mkdir(parents=True)
    assert ds.default_root() == tmp_path / "data" / "synthetic"


def test_cli_data_help_says_what_generate_and_verify_do(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "generate rebuild every synthetic dataset" in text
    assert "verify check every file of every dataset folder against its MANIFEST.json" in text
    assert "--force" in text and "left alone" in text
