"""Reentry benchmark model (docs/references.md §1): Jacobians and the published EKF/UKF results."""

import json

import numpy as np
import pytest

from benchmarks import reentry as bench
from trackers.filters.jacobians import numerical_jacobian
from trackers.models.reentry import ReentryMotion, ReentryRadar


def _states(rng, n=6):
    return bench.TRUE_M0 + rng.standard_normal((n, 5)) * np.array([5.0, 5.0, 0.1, 0.1, 0.3])


def test_motion_jacobian_matches_central_differences():
    rng = np.random.default_rng(21)
    model = ReentryMotion()
    x = _states(rng)
    x1, F = model.propagate_with_jacobian(x, 0.1)
    np.testing.assert_allclose(x1, model.propagate(x, 0.1), rtol=1e-14)
    Fn = numerical_jacobian(lambda xs: model.propagate(xs, 0.1), x)
    np.testing.assert_allclose(F, Fn, rtol=1e-6, atol=2e-8)  # round-off: x1 ~ 6500 km
    A = model.derivative_jacobian(x)
    An = numerical_jacobian(model.derivative, x)
    np.testing.assert_allclose(A, An, rtol=1e-5, atol=1e-10)
    assert np.abs(A[..., 2, 4]).max() > 1e-6  # drag really depends on the ballistic state


def test_substep_jacobian_is_the_chain_of_single_steps():
    rng = np.random.default_rng(23)
    x = _states(rng)
    one, three = ReentryMotion(), ReentryMotion(substeps=3)
    x3, F3 = three.propagate_with_jacobian(x, 0.3)
    xa, F = x, np.eye(5)
    for _ in range(3):
        xa, Fk = one.propagate_with_jacobian(xa, 0.1)
        F = Fk @ F
    np.testing.assert_allclose(x3, xa, rtol=1e-14)
    np.testing.assert_allclose(F3, F, rtol=1e-12, atol=1e-15)
    assert not np.allclose(F3, one.propagate_with_jacobian(x, 0.3)[1], rtol=1e-9, atol=0)


def test_radar_jacobian_and_geometry():
    rng = np.random.default_rng(22)
    radar = ReentryRadar()
    x = _states(rng)
    z, H = radar.measure_with_jacobian(x)
    np.testing.assert_allclose(z, radar.measure(x), rtol=1e-15)
    np.testing.assert_allclose(H, numerical_jacobian(radar.measure, x, angle_indices=(1,)), 1e-6)
    # range and bearing by hand for the nominal start
    d = bench.TRUE_M0[:2] - np.array([6374.0, 0.0])
    z0 = radar.measure(bench.TRUE_M0)
    assert z0[0] == pytest.approx(np.hypot(*d)) and z0[1] == pytest.approx(np.arctan2(d[1], d[0]))


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="substeps"):
        ReentryMotion(substeps=0)
    with pytest.raises(ValueError, match="q_vel"):
        ReentryMotion(q_vel=-1.0)
    with pytest.raises(ValueError, match="sigma_bearing"):
        ReentryRadar(sigma_bearing=0.0)
    with pytest.raises(ValueError, match="variant"):
        bench.evaluate("nope", 10)


def test_ekfukf_variant_reproduces_published_rmse_and_is_consistent():
    # 100 runs: the 95% band for the run-averaged position NEES / 2 is [0.81, 1.21]
    res = bench.evaluate("ekfukf", runs=100, seed=7, names=("EKF", "UKF"))
    for name in ("EKF", "UKF"):
        r = res["filters"][name]
        assert 7.0 < r["pos_rmse_m"] < 10.0, (name, r)
        lo, hi = r["band"]
        assert lo <= r["anees_pos"] <= hi, (name, r)
        assert r["frac_in_band"] >= 0.9, (name, r)


def test_stress_variant_ekf_overconfident_ukf_consistent():
    res = bench.evaluate("stress", runs=100, seed=8, names=("EKF", "UKF"))
    ekf, ukf = res["filters"]["EKF"], res["filters"]["UKF"]
    lo, hi = ekf["band"]
    assert ekf["anees_pos"] > hi, ekf  # over-confident: NEES above the band
    assert lo <= ukf["anees_pos"] <= hi, ukf
    assert ukf["frac_in_band"] > ekf["frac_in_band"] + 0.1, (ekf, ukf)


def test_cli_writes_the_json_contract(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "HORIZON", 5.0)  # 50 reports: the contract, not the numbers
    out = tmp_path / "r.json"
    assert (
        bench.main(["--variant", "ekfukf", "--runs", "2", "--seed", "3", "--json", str(out)]) == 0
    )
    res = json.loads(out.read_text())
    assert res["variant"] == "ekfukf" and res["runs"] == 2
    assert set(res["filters"]) == {"EKF", "UKF", "CKF"}
    for r in res["filters"].values():
        assert {"pos_rmse_m", "anees_pos", "frac_in_band"} <= set(r)
        assert np.isfinite(r["pos_rmse_m"]) and r["pos_rmse_m"] > 0
    assert "pos RMSE" in capsys.readouterr().out
