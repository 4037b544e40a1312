"""CV / CA / Singer discretisation against Van Loan's matrix-exponential method."""

import numpy as np
import pytest

from trackers.models.base import MeasurementModel, MotionModel
from trackers.models.integrate import van_loan  # (Phi, Q) by the matrix exponential
from trackers.models.linear import CA, CV, LinearPosition, Singer


def _chain(k):
    """Continuous 1-D integrator chain of order k (A1) as 3-D: A1 ⊗ I3."""
    A1 = np.diag(np.ones(k - 1), 1)
    return A1


@pytest.mark.parametrize("T", [0.01, 0.1, 1.0, 5.0])
def test_cv_and_ca_match_van_loan(T):
    q = 2.5
    A1 = _chain(2)
    Qc1 = np.diag([0.0, q])
    Phi, Q = van_loan(np.kron(A1, np.eye(3)), np.kron(Qc1, np.eye(3)), T)
    m = CV(q=q)
    np.testing.assert_allclose(m.transition_matrix(T), Phi, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.noise_matrix(T), Q, rtol=1e-9, atol=1e-14 * q)
    A1 = _chain(3)
    Qc1 = np.diag([0.0, 0.0, q])
    Phi, Q = van_loan(np.kron(A1, np.eye(3)), np.kron(Qc1, np.eye(3)), T)
    m = CA(q=q)
    np.testing.assert_allclose(m.transition_matrix(T), Phi, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.noise_matrix(T), Q, rtol=1e-9, atol=1e-14 * q)


@pytest.mark.parametrize("tau", [0.5, 20.0, 1e4])
@pytest.mark.parametrize("T", [1e-3, 0.1, 1.0, 4.0])
def test_singer_matches_van_loan(tau, T):
    sigma = 3.0
    A1 = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0 / tau]])
    Qc1 = np.diag([0.0, 0.0, 2.0 * sigma**2 / tau])
    Phi, Q = van_loan(np.kron(A1, np.eye(3)), np.kron(Qc1, np.eye(3)), T)
    m = Singer(tau=tau, sigma=sigma)
    np.testing.assert_allclose(m.transition_matrix(T), Phi, rtol=1e-10, atol=1e-12)
    # relative to the largest entry of each 1-D block row/col pair
    scale = np.sqrt(np.outer(np.diag(Q), np.diag(Q)))
    np.testing.assert_allclose(m.noise_matrix(T) / scale, Q / scale, atol=1e-9)


def test_singer_limits():
    # long tau: Singer -> CA with jerk PSD 2 sigma^2 / tau; short tau: stationary accel variance
    s = Singer(tau=1e6, sigma=100.0)
    ca = CA(q=2 * 100.0**2 / 1e6)
    np.testing.assert_allclose(s.noise_matrix(2.0), ca.noise_matrix(2.0), rtol=1e-5)
    Q = Singer(tau=0.01, sigma=3.0).noise_matrix(1.0)
    assert Q[6, 6] == pytest.approx(9.0)
    # series / closed-form switch at x = 0.5 is continuous
    a = Singer(tau=1.0, sigma=1.0).noise_matrix(0.5 - 1e-12)
    b = Singer(tau=1.0, sigma=1.0).noise_matrix(0.5 + 1e-12)
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_naive_singer_formula_loses_precision_for_small_steps():
    # the reason for the series branch: the textbook q11 cancels catastrophically
    tau, T = 100.0, 0.01
    a = 1.0 / tau
    x = a * T
    q11 = (1 - np.exp(-2 * x) + 2 * x + 2 * x**3 / 3 - 2 * x**2 - 4 * x * np.exp(-x)) / (2 * a**5)
    good = Singer(tau=tau, sigma=1.0).noise_matrix(T)[0, 0] / (2 * a)
    assert abs(q11 / good - 1) > 1e-3
    assert good == pytest.approx(T**5 / 20, rel=1e-3)


def test_batched_dt_and_protocols():
    m = CV(q=1.0)
    dts = np.array([0.1, 1.0, 2.0])
    F = m.transition_matrix(dts)
    assert F.shape == (3, 6, 6)
    np.testing.assert_allclose(F[1], m.transition_matrix(1.0))
    np.testing.assert_allclose(m.noise_matrix(dts)[2], m.noise_matrix(2.0))
    x = np.arange(18.0).reshape(3, 6)
    np.testing.assert_allclose(m.propagate(x, dts)[1], m.transition_matrix(1.0) @ x[1])
    s = Singer(tau=5.0, sigma=2.0)
    np.testing.assert_allclose(s.noise_matrix(dts)[0], s.noise_matrix(0.1))
    for model in (m, CA(q=1.0), s):
        assert isinstance(model, MotionModel)
        x1, Fj = model.propagate_with_jacobian(np.ones((4, model.ndim)), 0.3)
        assert Fj.shape == (4, model.ndim, model.ndim) and x1.shape == (4, model.ndim)
        assert len(model.state_names) == model.ndim
    p = LinearPosition((1.0, 2.0, 3.0), ndim_state=9)
    assert isinstance(p, MeasurementModel)
    np.testing.assert_allclose(p.noise_cov(), np.diag([1.0, 4.0, 9.0]))
    np.testing.assert_allclose(p.measure(np.arange(9.0)), [0.0, 1.0, 2.0])
    assert p.matrix().shape == (3, 9)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="q must be"):
        CV(q=-1.0)
    with pytest.raises(ValueError, match="q must be"):
        CA(q=float("nan"))
    with pytest.raises(ValueError, match="tau must be"):
        Singer(tau=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be"):
        Singer(tau=1.0, sigma=-1.0)
    with pytest.raises(ValueError, match="dt must be finite"):
        CV(q=1.0).transition_matrix(np.nan)
    with pytest.raises(ValueError, match="sigma must be"):
        LinearPosition(0.0)
    with pytest.raises(ValueError, match="ndim_state"):
        LinearPosition(1.0, ndim_state=2)


@pytest.mark.parametrize("model", [CV(q=2.0), CA(q=0.5), Singer(tau=3.0, sigma=2.0)])
def test_scalar_dt_matrices_are_cached_read_only_and_equal_fresh_ones(model):
    F, Q = model.transition_matrix(0.7), model.noise_matrix(0.7)
    assert model.transition_matrix(0.7) is F and model.noise_matrix(np.float64(0.7)) is Q
    assert not F.flags.writeable and not Q.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        F[0, 0] = 2.0
    # the cached matrices are those of the uncached (array dt) path, and F != Q keys apart
    np.testing.assert_array_equal(F, model.transition_matrix(np.array([0.7]))[0])
    np.testing.assert_array_equal(Q, model.noise_matrix(np.array([0.7]))[0])
    assert not np.array_equal(F, Q)
    # more distinct dts than the cache holds: every answer is still that of its own dt
    dts = np.linspace(0.1, 3.0, 150)
    for dt in dts:
        model.noise_matrix(float(dt))
    np.testing.assert_array_equal(
        np.stack([model.noise_matrix(float(dt)) for dt in dts]), model.noise_matrix(dts)
    )
    assert model.transition_matrix(0.7) is not model.transition_matrix(0.8)
    with pytest.raises(ValueError, match="dt must be finite"):
        model.noise_matrix(float("inf"))
    # caching does not enter equality or hashing of the frozen dataclass
    assert model == type(model)(
        **{
            k: getattr(model, k)
            for k in model.__dataclass_fields__
            if model.__dataclass_fields__[k].init
        }
    )


def test_linear_position_matrices_are_read_only():
    p = LinearPosition(2.0)
    assert p.matrix() is p.matrix() and not p.noise_cov().flags.writeable
    np.testing.assert_array_equal(p.noise_cov(), 4.0 * np.eye(3))


def test_pickled_models_keep_read_only_matrices_and_equality():
    import pickle

    cv, pos = CV(q=2.0), LinearPosition(2.0)
    cv.transition_matrix(1.0)
    cv2, pos2 = pickle.loads(pickle.dumps(cv)), pickle.loads(pickle.dumps(pos))
    assert cv2 == cv and pos2 == pos
    assert "_matrix_cache" not in pickle.loads(pickle.dumps(cv)).__dict__
    for a in (cv2.transition_matrix(1.0), pos2.matrix(), pos2.noise_cov()):
        assert not a.flags.writeable
    np.testing.assert_array_equal(cv2.transition_matrix(1.0), cv.transition_matrix(1.0))
    np.testing.assert_array_equal(pos2.noise_cov(), pos.noise_cov())
