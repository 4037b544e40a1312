"""Run folders, manifests and provenance."""

import json

import pytest

from trackers.io import new_run_dir, provenance, verify_manifest, write_manifest, write_provenance


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    a = new_run_dir(None, label="x", base=tmp_path)
    b = new_run_dir(None, label="x", base=tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    (a / "result.csv").write_text("1\n")
    with pytest.raises(FileExistsError, match="never overwritten"):
        new_run_dir(a)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert new_run_dir(empty) == empty
    assert new_run_dir(tmp_path / "new" / "deep").is_dir()


def test_manifest_detects_modified_missing_and_extra_files(tmp_path):
    (tmp_path / "a.csv").write_text("1,2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}\n")
    write_manifest(tmp_path, {"name": "test"})
    assert verify_manifest(tmp_path) == []
    (tmp_path / "a.csv").write_text("1,3\n")
    (tmp_path / "sub" / "b.json").unlink()
    (tmp_path / "c.txt").write_text("new\n")
    problems = "\n".join(verify_manifest(tmp_path))
    assert "a.csv: sha256 differs" in problems
    assert "b.json: listed in the manifest but missing" in problems
    assert "c.txt: present but not in the manifest" in problems


def test_malformed_or_missing_manifest_is_reported(tmp_path):
    assert "no MANIFEST.json" in verify_manifest(tmp_path)[0]
    (tmp_path / "MANIFEST.json").write_text("{not json")
    assert "malformed manifest" in verify_manifest(tmp_path)[0]


def test_provenance_records_versions_git_and_config(tmp_path):
    rec = provenance({"scenario": "x"}, seeds=[1, 2])
    assert rec["versions"]["numpy"] and rec["versions"]["python"]
    assert set(rec["git"]) == {"commit", "dirty"}
    assert rec["config"] == {"scenario": "x"} and rec["seeds"] == [1, 2]
    path = write_provenance(tmp_path, {"a": 1}, seeds=7)
    assert json.loads(path.read_text())["seeds"] == 7
