"""Our batched filters vs filterpy run the filterpy way on a multi-sensor, variable-dt stream."""

import numpy as np
import pytest
from oracle import P0_MULTI, X0_MULTI, multi_sensor_stream

from trackers.baselines.filterpy_adapters import run_filterpy
from trackers.filters import CKF, EKF, KF, UKF, Filter, Gaussian
from trackers.filters.runner import run


@pytest.mark.parametrize("rule", [KF(), EKF(), UKF(), UKF(0.5, 2.0, 1.0), CKF()])
def test_matches_filterpy_on_multi_sensor_stream(rule):
    lin = isinstance(rule, KF)
    model, sensors, stream, _ = multi_sensor_stream(runs=3, seed=61, linear_only=lin)
    prior = Gaussian(X0_MULTI, P0_MULTI)
    ours = run(Filter(rule, model), prior, stream, sensors)
    ref = run_filterpy(rule, model, prior, stream, sensors)
    np.testing.assert_allclose(ours.mean, ref.mean, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ours.cov, ref.cov, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(ours.nis, ref.nis, rtol=1e-7)
    assert np.isnan(ref.nis).sum() == 2  # the two misses


def test_adapter_detects_a_different_filter():
    model, sensors, stream, _ = multi_sensor_stream(runs=1, seed=62)
    prior = Gaussian(X0_MULTI, P0_MULTI)
    ours = run(Filter(UKF(1.0, 2.0, 0.0), model), prior, stream, sensors)
    ref = run_filterpy(UKF(1.0, 0.0, 0.0), model, prior, stream, sensors)
    assert np.max(np.abs(ours.cov - ref.cov)) > 1e-3


def test_adapter_input_checks():
    model, sensors, stream, _ = multi_sensor_stream(runs=1, seed=63)
    with pytest.raises(ValueError, match="unbatched"):
        run_filterpy(
            KF(),
            model,
            Gaussian(np.stack([X0_MULTI] * 2), np.stack([P0_MULTI] * 2)),
            stream,
            sensors,
        )
    with pytest.raises(TypeError, match=r"KF needs linear sensors.*sensors\[1\]"):
        run_filterpy(KF(), model, Gaussian(X0_MULTI, P0_MULTI), stream, sensors)
    with pytest.raises(TypeError, match="rule must be"):
        run_filterpy("KF", model, Gaussian(X0_MULTI, P0_MULTI), stream, sensors)
