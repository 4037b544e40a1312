"""Interfaces shared by motion models, measurement models and the filters that use them.

Every model is a frozen dataclass (configured once, no run-time state) satisfying one of the
protocols below. All methods are batched: ``x`` has shape ``(..., n)`` where the leading axes
are Monte Carlo runs and/or IMM modes; outputs carry the same leading axes. Time ``t`` is
float seconds since the scenario epoch; ``dt`` may be a float or an array broadcastable to
the batch shape ``(...)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@runtime_checkable
class MotionModel(Protocol):
    """x_{k+1} = f(x_k, t_k, dt) + w_k,  w_k ~ N(0, Q(x_k, t_k, dt)).

    Attributes
    ----------
    ndim : int
        State dimension n.
    state_names : tuple[str, ...]
        Name of each state component (e.g. ``("x", "y", "z", "vx", "vy", "vz")``), used by IMM
        embed/project maps and plots.
    """

    # read-only members (a frozen dataclass field or a property satisfies them)
    @property
    def ndim(self) -> int: ...

    @property
    def state_names(self) -> tuple[str, ...]: ...

    def propagate(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Mean propagation f(x, t, dt): ``(..., n) -> (..., n)``."""
        ...

    def propagate_with_jacobian(
        self, x: NDArray, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        """(f(x), F = df/dx) with F of shape ``(..., n, n)``."""
        ...

    def process_noise(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Discrete process-noise covariance Q, ``(..., n, n)`` (or ``(n, n)`` if constant)."""
        ...


@runtime_checkable
class MeasurementModel(Protocol):
    """z_k = h(x_k) + v_k,  v_k ~ N(0, R).

    Attributes
    ----------
    ndim_meas : int
        Measurement dimension m.
    angle_indices : tuple[int, ...]
        Components of z that are angles [rad]; residuals in them are wrapped to (-pi, pi].
    """

    # read-only members (a frozen dataclass field or a property satisfies them)
    @property
    def ndim_meas(self) -> int: ...

    @property
    def angle_indices(self) -> tuple[int, ...]: ...

    def measure(self, x: NDArray) -> NDArray:
        """Predicted measurement h(x): ``(..., n) -> (..., m)``."""
        ...

    def measure_with_jacobian(self, x: NDArray) -> tuple[NDArray, NDArray]:
        """(h(x), H = dh/dx) with H of shape ``(..., m, n)``."""
        ...

    def noise_cov(self) -> NDArray:
        """Measurement noise covariance R, ``(m, m)`` or ``(..., m, m)``."""
        ...


def wrap_angle(a: NDArray) -> NDArray:
    """Wrap angles [rad] to (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(a, float), 2.0 * np.pi)


def residual(z: NDArray, zhat: NDArray, angle_indices: tuple[int, ...]) -> NDArray:
    """Measurement residual z - zhat with angle components wrapped, ``(..., m)``."""
    d = np.asarray(z, float) - np.asarray(zhat, float)
    if angle_indices:
        idx = list(angle_indices)
        d[..., idx] = wrap_angle(d[..., idx])
    return d
