"""Linear 3-D kinematic motion models (CV, CA, Singer) and a linear position measurement.

States are Cartesian and ordered by derivative, three axes each (any frame, SI units):

    CV      [x, y, z, vx, vy, vz]                        n = 6
    CA      [x, y, z, vx, vy, vz, ax, ay, az]            n = 9
    Singer  [x, y, z, vx, vy, vz, ax, ay, az]            n = 9

The three axes are independent and identical, so F = F1 ⊗ I3 and Q = Q1 ⊗ I3 with F1, Q1 the
1-D (per-axis) matrices below (index order: derivative-major, axis-minor). T = dt [s].

Continuous white-noise acceleration (CV), acceleration PSD q [m^2/s^3]
(Bar-Shalom, Li & Kirubarajan 2001, §6.2.2):

    F1 = [[1, T], [0, 1]],   Q1 = q [[T^3/3, T^2/2], [T^2/2, T]]

Continuous Wiener-process acceleration (CA), jerk PSD q [m^2/s^5] (ibid. §6.2.3):

    F1 = [[1, T, T^2/2], [0, 1, T], [0, 0, 1]]
    Q1 = q [[T^5/20, T^4/8, T^3/6], [T^4/8, T^3/3, T^2/2], [T^3/6, T^2/2, T]]

Singer (1970): acceleration is a first-order Gauss-Markov process a' = -a/tau + w with
maneuver time constant tau [s] and RMS maneuver acceleration sigma_m [m/s^2], so that
E[w w] = 2 sigma_m^2 / tau. With alpha = 1/tau and x = alpha T:

    F1 = [[1, T, (x - 1 + e^-x)/alpha^2], [0, 1, (1 - e^-x)/alpha], [0, 0, e^-x]]
    Q1 = 2 alpha sigma_m^2 [q_ij],
    q11 = (1 - e^-2x + 2x + 2x^3/3 - 2x^2 - 4x e^-x) / (2 alpha^5)
    q12 = (e^-2x + 1 - 2e^-x + 2x e^-x - 2x + x^2) / (2 alpha^4)
    q13 = (1 - e^-2x - 2x e^-x) / (2 alpha^3)
    q22 = (4e^-x - 3 - e^-2x + 2x) / (2 alpha^3)
    q23 = (e^-2x + 1 - 2e^-x) / (2 alpha^2)
    q33 = (1 - e^-2x) / (2 alpha)

(Singer 1970 eq. 9; Bar-Shalom et al. 2001 §8.2.3). For small x the numerators cancel
catastrophically (q11 ~ x^5/10 from O(1) terms), so for x < 0.5 each ratio N(x)/x^p is
evaluated from its Taylor series (coefficients from the exponential series, 25 terms);
as tau -> infinity Singer tends to CA with jerk PSD 2 sigma_m^2 / tau.

All Q are verified against Van Loan's matrix-exponential method in
tests/test_models_linear.py.

References
----------
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, ch. 6.
R. A. Singer, "Estimating optimal tracking filter performance for manned maneuvering targets",
IEEE Trans. AES 6(4), 473-483, 1970.
C. F. Van Loan, "Computing integrals involving the matrix exponential", IEEE TAC 23(3), 1978.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CA",
    "CV",
    "ConstantAcceleration",
    "ConstantVelocity",
    "LinearPosition",
    "Singer",
]

_AXES = ("x", "y", "z")


def _kron_i3(M1: NDArray) -> NDArray:
    """M1 ⊗ I3 over the last two axes: ``(..., k, k) -> (..., 3k, 3k)``."""
    k = M1.shape[-1]
    out = np.einsum("...ij,ab->...iajb", M1, np.eye(3))
    return out.reshape(*M1.shape[:-2], 3 * k, 3 * k)


def _block(entries: list[list[NDArray | float]], T: NDArray) -> NDArray:
    """Stack scalar/array entries into ``(..., k, k)`` with the shape of T."""
    k = len(entries)
    out = np.empty((*T.shape, k, k))
    for i in range(k):
        for j in range(k):
            out[..., i, j] = entries[i][j]
    return out


def _check_dt(dt: float | ArrayLike) -> NDArray:
    T = np.asarray(dt, dtype=float)
    if not np.all(np.isfinite(T)):
        raise ValueError(f"dt must be finite, got {dt!r}")
    return T


def _apply(F: NDArray, x: NDArray) -> NDArray:
    """F x over the batch; a single (n, n) F is applied to all states in one GEMM."""
    x = np.asarray(x, dtype=float)
    if F.ndim == 2:
        return x @ F.T
    return (F @ x[..., None])[..., 0]


_CACHE_SIZE = 64


class _LinearMotion:
    """Shared methods of the linear models (F and Q independent of the state).

    Subclasses define ``_transition(T)`` and ``_noise(T)`` for a float array ``T`` of step
    lengths [s]. ``transition_matrix`` / ``noise_matrix`` cache the (n, n) matrices of scalar
    dt per model instance (a small dict keyed by float dt, cleared when it holds
    ``_CACHE_SIZE`` entries), so a filter stepping on a regular time grid builds F and Q once;
    the cached arrays are returned read-only (copy before modifying). Array dt is not cached.
    """

    ndim: int

    def _transition(self, T: NDArray) -> NDArray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _noise(self, T: NDArray) -> NDArray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cached(self, kind: str, dt: float | ArrayLike) -> NDArray:
        build = self._transition if kind == "F" else self._noise
        if not isinstance(dt, int | float) or isinstance(dt, bool):
            return build(_check_dt(dt))
        cache = self.__dict__.get("_matrix_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_matrix_cache", cache)
        key = (kind, float(dt))
        M = cache.get(key)
        if M is None:
            M = build(_check_dt(dt))
            M.setflags(write=False)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = M
        return M

    def __getstate__(self) -> dict:
        # the cache is not pickled (unpickled arrays would be writeable); it refills on use
        return {k: v for k, v in self.__dict__.items() if k != "_matrix_cache"}

    def transition_matrix(self, dt: float | ArrayLike) -> NDArray:
        """F(dt): ``(n, n)`` (read-only, cached) for scalar dt, ``(..., n, n)`` for array dt."""
        return self._cached("F", dt)

    def noise_matrix(self, dt: float | ArrayLike) -> NDArray:
        """Q(dt): ``(n, n)`` (read-only, cached) for scalar dt, ``(..., n, n)`` for array dt."""
        return self._cached("Q", dt)

    def propagate(self, x: NDArray, dt: float | ArrayLike, t: float = 0.0) -> NDArray:
        """x_{k+1} = F(dt) x_k, ``(..., n) -> (..., n)``."""
        return _apply(self.transition_matrix(dt), x)

    def propagate_with_jacobian(
        self, x: NDArray, dt: float | ArrayLike, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        """(F x, F) with F broadcast to ``(..., n, n)``."""
        F = self.transition_matrix(dt)
        x1 = _apply(F, x)
        return x1, np.broadcast_to(F, (*x1.shape[:-1], self.ndim, self.ndim))

    def process_noise(self, x: NDArray, dt: float | ArrayLike, t: float = 0.0) -> NDArray:
        """Discrete Q(dt), ``(n, n)`` for scalar dt, ``(..., n, n)`` for array dt."""
        return self.noise_matrix(dt)


def _check_nonneg(name: str, value: float, unit: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0 [{unit}], got {value!r}")
    return v


@dataclass(frozen=True)
class ConstantVelocity(_LinearMotion):
    """Nearly-constant velocity (white-noise acceleration), 6 states [x, y, z, vx, vy, vz].

    Attributes
    ----------
    q : float
        Continuous acceleration noise PSD [m^2/s^3] (per axis).
    """

    q: float = field(metadata={"units": "m^2/s^3"})
    ndim: int = field(default=6, init=False)
    state_names: tuple[str, ...] = field(default=(*_AXES, "vx", "vy", "vz"), init=False, repr=False)

    def __post_init__(self) -> None:
        _check_nonneg("q", self.q, "m^2/s^3")

    def _transition(self, T: NDArray) -> NDArray:
        """F = [[1, T], [0, 1]] ⊗ I3."""
        return _kron_i3(_block([[1.0, T], [0.0, 1.0]], T))

    def _noise(self, T: NDArray) -> NDArray:
        """Q = q [[T^3/3, T^2/2], [T^2/2, T]] ⊗ I3."""
        q = self.q
        return _kron_i3(_block([[q * T**3 / 3, q * T**2 / 2], [q * T**2 / 2, q * T]], T))


@dataclass(frozen=True)
class ConstantAcceleration(_LinearMotion):
    """Nearly-constant acceleration (white-noise jerk), 9 states [pos, vel, acc].

    Attributes
    ----------
    q : float
        Continuous jerk noise PSD [m^2/s^5] (per axis).
    """

    q: float = field(metadata={"units": "m^2/s^5"})
    ndim: int = field(default=9, init=False)
    state_names: tuple[str, ...] = field(
        default=(*_AXES, "vx", "vy", "vz", "ax", "ay", "az"), init=False, repr=False
    )

    def __post_init__(self) -> None:
        _check_nonneg("q", self.q, "m^2/s^5")

    def _transition(self, T: NDArray) -> NDArray:
        """F = [[1, T, T^2/2], [0, 1, T], [0, 0, 1]] ⊗ I3."""
        return _kron_i3(_block([[1.0, T, T * T / 2], [0.0, 1.0, T], [0.0, 0.0, 1.0]], T))

    def _noise(self, T: NDArray) -> NDArray:
        """Q = q [[T^5/20, T^4/8, T^3/6], [T^4/8, T^3/3, T^2/2], [T^3/6, T^2/2, T]] ⊗ I3."""
        q = self.q
        q11, q12, q13 = q * T**5 / 20, q * T**4 / 8, q * T**3 / 6
        q22, q23, q33 = q * T**3 / 3, q * T**2 / 2, q * T
        return _kron_i3(_block([[q11, q12, q13], [q12, q22, q23], [q13, q23, q33]], T))


# Numerators N(x) = poly(x) + a e^-2x + b e^-x + c x e^-x of the Singer terms, and the power p
# in N(x) / x^p (module docstring). Coefficient of x^k in N:
#   poly_k + a (-2)^k / k! + b (-1)^k / k! + c (-1)^(k-1) / (k-1)!
_SINGER_TERMS: dict[str, tuple[tuple[float, ...], float, float, float, int]] = {
    "q11": ((1.0, 2.0, -2.0, 2.0 / 3.0), -1.0, 0.0, -4.0, 5),
    "q12": ((1.0, -2.0, 1.0), 1.0, -2.0, 2.0, 4),
    "q13": ((1.0,), -1.0, 0.0, -2.0, 3),
    "q22": ((-3.0, 2.0), -1.0, 4.0, 0.0, 3),
    "q23": ((1.0,), 1.0, -2.0, 0.0, 2),
    "q33": ((1.0,), -1.0, 0.0, 0.0, 1),
    "f13": ((-1.0, 1.0), 0.0, 1.0, 0.0, 2),  # (x - 1 + e^-x) / x^2
}
_SERIES_TERMS = 25
_SERIES_BELOW = 0.5


def _series_coeffs(poly: tuple[float, ...], a: float, b: float, c: float, p: int) -> NDArray:
    coeffs = []
    for k in range(p, p + _SERIES_TERMS):
        ck = poly[k] if k < len(poly) else 0.0
        ck += (a * (-2.0) ** k + b * (-1.0) ** k) / math.factorial(k)
        if k >= 1:
            ck += c * (-1.0) ** (k - 1) / math.factorial(k - 1)
        coeffs.append(ck)
    return np.array(coeffs)


_SINGER_SERIES = {key: _series_coeffs(*v) for key, v in _SINGER_TERMS.items()}


def _singer_ratio(key: str, x: NDArray) -> NDArray:
    """N(x) / x^p for one Singer term: closed form for x >= 0.5, Taylor series below."""
    poly, a, b, c, p = _SINGER_TERMS[key]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e1, e2 = np.exp(-x), np.exp(-2.0 * x)
        num = sum(pk * x**k for k, pk in enumerate(poly)) + a * e2 + b * e1 + c * x * e1
        closed = num / x**p
    series = np.polynomial.polynomial.polyval(x, _SINGER_SERIES[key])
    return np.where(x < _SERIES_BELOW, series, closed)


@dataclass(frozen=True)
class Singer(_LinearMotion):
    """Singer maneuver model: acceleration is Gauss-Markov with time constant tau.

    Attributes
    ----------
    tau : float
        Maneuver time constant [s] (> 0).
    sigma : float
        RMS maneuver acceleration sigma_m [m/s^2] (>= 0).
    """

    tau: float = field(metadata={"units": "s"})
    sigma: float = field(metadata={"units": "m/s^2"})
    ndim: int = field(default=9, init=False)
    state_names: tuple[str, ...] = field(
        default=(*_AXES, "vx", "vy", "vz", "ax", "ay", "az"), init=False, repr=False
    )

    def __post_init__(self) -> None:
        tau = float(self.tau)
        if not (math.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a finite number > 0 [s], got {self.tau!r}")
        _check_nonneg("sigma", self.sigma, "m/s^2")

    def _transition(self, T: NDArray) -> NDArray:
        """F1 = [[1, T, (x-1+e^-x)/alpha^2], [0, 1, (1-e^-x)/alpha], [0, 0, e^-x]], x = T/tau."""
        x = T / self.tau
        f13 = T * T * _singer_ratio("f13", x)
        f23 = -self.tau * np.expm1(-x)
        return _kron_i3(_block([[1.0, T, f13], [0.0, 1.0, f23], [0.0, 0.0, np.exp(-x)]], T))

    def _noise(self, T: NDArray) -> NDArray:
        """Q1 = 2 alpha sigma_m^2 [q_ij] (module docstring), q_ij = T^p N_ij(x) / (2 x^p)."""
        x = T / self.tau
        s = 2.0 * self.sigma**2 / self.tau  # 2 alpha sigma_m^2
        q = {}
        for key in ("q11", "q12", "q13", "q22", "q23", "q33"):
            p = _SINGER_TERMS[key][4]
            q[key] = s * T**p * 0.5 * _singer_ratio(key, x)
        return _kron_i3(
            _block(
                [
                    [q["q11"], q["q12"], q["q13"]],
                    [q["q12"], q["q22"], q["q23"]],
                    [q["q13"], q["q23"], q["q33"]],
                ],
                T,
            )
        )


CV = ConstantVelocity
CA = ConstantAcceleration


@dataclass(frozen=True)
class LinearPosition:
    """Direct 3-D position measurement z = [x, y, z] + v, v ~ N(0, diag(sigma^2)).

    Attributes
    ----------
    sigma : float or (3,) array
        Standard deviation per axis [m] (> 0).
    ndim_state : int
        Dimension n of the states it measures (positions are the first three components).
    """

    sigma: float | tuple[float, float, float] = field(metadata={"units": "m"})
    ndim_state: int = 6
    ndim_meas: int = field(default=3, init=False)
    angle_indices: tuple[int, ...] = field(default=(), init=False)

    if TYPE_CHECKING:
        # H (3, n) and R (3, 3), set read-only in __post_init__ (object.__setattr__); declared
        # for the type checker only, as ClassVar so that they are not taken for dataclass fields
        _H: ClassVar[NDArray]
        _R: ClassVar[NDArray]

    def __post_init__(self) -> None:
        s = np.broadcast_to(np.asarray(self.sigma, dtype=float), (3,))
        if not np.all(np.isfinite(s) & (s > 0)):
            raise ValueError(f"sigma must be > 0 and finite [m] (scalar or 3), got {self.sigma!r}")
        if int(self.ndim_state) < 3:
            raise ValueError(f"ndim_state must be >= 3, got {self.ndim_state!r}")
        # H and R are built once (read-only): the KF asks for them at every update
        H = np.zeros((3, int(self.ndim_state)))
        H[:, :3] = np.eye(3)
        R = np.diag(s * s)
        for name, a in (("_H", H), ("_R", R)):
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def __getstate__(self) -> dict:
        # H and R are rebuilt (read-only) on unpickling rather than pickled
        return {k: v for k, v in self.__dict__.items() if k not in ("_H", "_R")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def matrix(self) -> NDArray:
        """H = [I3, 0], ``(3, n)`` (read-only)."""
        return self._H

    def measure(self, x: NDArray) -> NDArray:
        """h(x) = x[..., :3]."""
        return np.asarray(x, dtype=float)[..., :3].copy()

    def measure_with_jacobian(self, x: NDArray) -> tuple[NDArray, NDArray]:
        """(x[..., :3], H broadcast to ``(..., 3, n)``)."""
        z = self.measure(x)
        return z, np.broadcast_to(self.matrix(), (*z.shape[:-1], 3, int(self.ndim_state)))

    def noise_cov(self) -> NDArray:
        """R = diag(sigma^2), ``(3, 3)`` (read-only)."""
        return self._R
