"""Textbook per-run filters used as test oracles (plain loops, one run, one step at a time).

Written straight from the book, deliberately without any of the batching, closed-form
inverses or shared code of ``trackers.filters``: ``np.linalg.inv`` everywhere, one Python
loop over time. Bar-Shalom, Li & Kirubarajan 2001 (KF §5.2, EKF §10.3, smoother §8.6);
van der Merwe 2004 (scaled UKF); Särkkä 2008 (URTS).

Also a small local radar measurement model ``LocalRAE`` (range, azimuth from +y clockwise,
elevation, seen from the origin of a flat local frame) used by the nonlinear filter tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackers.filters.runner import MeasurementStream
from trackers.models.linear import CV, LinearPosition


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class LocalRAE:
    """z = (range, azimuth, elevation) of a Cartesian state [x, y, z, ...] from the origin."""

    sigma_r: float = 5.0
    sigma_a: float = 2e-3
    sigma_e: float = 2e-3
    ndim_state: int = 6
    ndim_meas: int = 3
    angle_indices: tuple[int, ...] = (1, 2)

    def measure(self, x):
        x = np.asarray(x, dtype=float)
        e, n, u = x[..., 0], x[..., 1], x[..., 2]
        p = np.hypot(e, n)
        return np.stack([np.sqrt(p * p + u * u), np.arctan2(e, n), np.arctan2(u, p)], -1)

    def measure_with_jacobian(self, x):
        x = np.asarray(x, dtype=float)
        e, n, u = x[..., 0], x[..., 1], x[..., 2]
        p2 = e * e + n * n
        p = np.sqrt(p2)
        r2 = p2 + u * u
        r = np.sqrt(r2)
        H = np.zeros((*x.shape[:-1], 3, self.ndim_state))
        H[..., 0, 0], H[..., 0, 1], H[..., 0, 2] = e / r, n / r, u / r
        H[..., 1, 0], H[..., 1, 1] = n / p2, -e / p2
        H[..., 2, 0], H[..., 2, 1], H[..., 2, 2] = -e * u / (p * r2), -n * u / (p * r2), p / r2
        return self.measure(x), H

    def noise_cov(self):
        return np.diag([self.sigma_r**2, self.sigma_a**2, self.sigma_e**2])


def kf(x0, P0, F, Q, H, R, zs):
    """Linear KF, standard (not Joseph) covariance update P = (I - K H) P."""
    x, P = np.array(x0, float), np.array(P0, float)
    xs, Ps, nis, ll = [], [], [], []
    for z in zs:
        x = F @ x
        P = F @ P @ F.T + Q
        if np.any(np.isnan(z)):
            nis.append(np.nan)
            ll.append(0.0)
        else:
            y = z - H @ x
            S = H @ P @ H.T + R
            Si = np.linalg.inv(S)
            K = P @ H.T @ Si
            x = x + K @ y
            P = (np.eye(len(x)) - K @ H) @ P
            nis.append(y @ Si @ y)
            ll.append(-0.5 * (y @ Si @ y + np.log(np.linalg.det(2 * np.pi * S))))
        xs.append(x)
        Ps.append(P)
    return np.array(xs), np.array(Ps), np.array(nis), np.array(ll)


def ekf(x0, P0, f, Fjac, Q, h, Hjac, R, zs, angle_indices=()):
    """EKF with callables f(x), Fjac(x), h(x), Hjac(x) on single vectors."""
    x, P = np.array(x0, float), np.array(P0, float)
    xs, Ps, nis = [], [], []
    for z in zs:
        F = Fjac(x)
        x = f(x)
        P = F @ P @ F.T + Q
        Hk = Hjac(x)
        y = z - h(x)
        for i in angle_indices:
            y[i] = wrap(y[i])
        S = Hk @ P @ Hk.T + R
        K = P @ Hk.T @ np.linalg.inv(S)
        x = x + K @ y
        P = P - K @ S @ K.T
        nis.append(y @ np.linalg.inv(S) @ y)
        xs.append(x)
        Ps.append(P)
    return np.array(xs), np.array(Ps), np.array(nis)


def merwe(n, alpha, beta, kappa):
    lam = alpha**2 * (n + kappa) - n
    wm = np.full(2 * n + 1, 1 / (2 * (n + lam)))
    wc = wm.copy()
    wm[0] = lam / (n + lam)
    wc[0] = lam / (n + lam) + 1 - alpha**2 + beta
    return lam, wm, wc


def sigmas(x, P, lam):
    n = len(x)
    L = np.linalg.cholesky((n + lam) * P)
    pts = [x]
    pts += [x + L[:, i] for i in range(n)]
    pts += [x - L[:, i] for i in range(n)]
    return np.array(pts)


def ukf(x0, P0, f, Q, h, R, zs, alpha=1.0, beta=2.0, kappa=0.0):
    """Scaled UKF, sigma points redrawn before the update; plain weighted means."""
    x, P = np.array(x0, float), np.array(P0, float)
    n = len(x)
    lam, wm, wc = merwe(n, alpha, beta, kappa)
    xs, Ps, nis = [], [], []
    for z in zs:
        X = np.array([f(s) for s in sigmas(x, P, lam)])
        x = wm @ X
        P = sum(wc[i] * np.outer(X[i] - x, X[i] - x) for i in range(2 * n + 1)) + Q
        X = sigmas(x, P, lam)
        Z = np.array([h(s) for s in X])
        zb = wm @ Z
        S = sum(wc[i] * np.outer(Z[i] - zb, Z[i] - zb) for i in range(2 * n + 1)) + R
        C = sum(wc[i] * np.outer(X[i] - x, Z[i] - zb) for i in range(2 * n + 1))
        K = C @ np.linalg.inv(S)
        y = z - zb
        x = x + K @ y
        P = P - K @ S @ K.T
        nis.append(y @ np.linalg.inv(S) @ y)
        xs.append(x)
        Ps.append(P)
    return np.array(xs), np.array(Ps), np.array(nis)


def rts(xs, Ps, F, Q):
    """Linear RTS smoother over filtered (xs, Ps) with constant F, Q."""
    T = len(xs)
    xsm, Psm = xs.copy(), Ps.copy()
    for k in range(T - 2, -1, -1):
        xp = F @ xs[k]
        Pp = F @ Ps[k] @ F.T + Q
        G = Ps[k] @ F.T @ np.linalg.inv(Pp)
        xsm[k] = xs[k] + G @ (xsm[k + 1] - xp)
        Psm[k] = Ps[k] + G @ (Psm[k + 1] - Pp) @ G.T
    return xsm, Psm


def urts(xs, Ps, f, Q, alpha=1.0, beta=2.0, kappa=0.0):
    """Unscented RTS smoother (Särkkä 2008) with the scaled rule."""
    T, n = xs.shape
    lam, wm, wc = merwe(n, alpha, beta, kappa)
    xsm, Psm = xs.copy(), Ps.copy()
    for k in range(T - 2, -1, -1):
        X = sigmas(xs[k], Ps[k], lam)
        Y = np.array([f(s) for s in X])
        xp = wm @ Y
        Pp = sum(wc[i] * np.outer(Y[i] - xp, Y[i] - xp) for i in range(2 * n + 1)) + Q
        C = sum(wc[i] * np.outer(X[i] - xs[k], Y[i] - xp) for i in range(2 * n + 1))
        G = C @ np.linalg.inv(Pp)
        xsm[k] = xs[k] + G @ (xsm[k + 1] - xp)
        Psm[k] = Ps[k] + G @ (Psm[k + 1] - Pp) @ G.T
    return xsm, Psm


def simulate_linear(F, Q, x0, P0, T, runs, rng):
    """Truth of a linear Gauss-Markov model: (runs, T, n), x_1 = F x_0 + w, x_0 ~ N(x0, P0)."""
    n = len(x0)
    LQ = np.linalg.cholesky(Q + 1e-12 * np.max(np.diag(Q)) * np.eye(n))
    x = x0 + rng.multivariate_normal(np.zeros(n), P0, size=runs)
    X = np.empty((runs, T, n))
    for k in range(T):
        x = x @ F.T + rng.standard_normal((runs, n)) @ LQ.T
        X[:, k] = x
    return X


X0_MULTI = np.array([5000.0, 8000.0, 2000.0, 50.0, -80.0, 5.0])
P0_MULTI = np.diag([100.0**2] * 3 + [10.0**2] * 3)


@dataclass(frozen=True)
class PositionXY:
    """Linear 2-D measurement of (x, y)."""

    sigma: float = 20.0
    ndim_meas: int = 2
    angle_indices: tuple = ()

    def matrix(self):
        H = np.zeros((2, 6))
        H[0, 0] = H[1, 1] = 1.0
        return H

    def measure(self, x):
        return x[..., :2].copy()

    def measure_with_jacobian(self, x):
        return self.measure(x), np.broadcast_to(self.matrix(), (*x.shape[:-1], 2, 6))

    def noise_cov(self):
        return self.sigma**2 * np.eye(2)


def multi_sensor_stream(runs=5, seed=31, linear_only=False):
    """Irregular times, a repeated time (two sensors at once), three sensors, misses."""
    rng = np.random.default_rng(seed)
    t = np.array([0.5, 1.0, 1.0, 2.5, 2.6, 4.0, 4.0, 7.0, 7.5, 9.0, 9.2, 12.0])
    sensor = np.array([0, 1, 2, 0, 1, 2, 0, 1, 0, 2, 1, 0])
    second = LinearPosition(30.0) if linear_only else LocalRAE()
    sensors = [LinearPosition(10.0), second, PositionXY()]
    model = CV(q=1.0)
    X = np.empty((runs, t.size, 6))
    x = X0_MULTI + rng.standard_normal((runs, 6)) * np.sqrt(np.diag(P0_MULTI))
    tp = 0.0
    for k, tk in enumerate(t):
        x = model.propagate(x, tk - tp)
        if tk > tp:
            Lq = np.linalg.cholesky(model.noise_matrix(tk - tp))
            x = x + rng.standard_normal((runs, 6)) @ Lq.T
        X[:, k] = x
        tp = tk
    Z = np.full((runs, t.size, 3), np.nan)
    for k, s in enumerate(sensor):
        sk = sensors[s]
        v = rng.standard_normal((runs, sk.ndim_meas)) * np.sqrt(np.diag(sk.noise_cov()))
        Z[:, k, : sk.ndim_meas] = sk.measure(X[:, k]) + v
    Z[1 % runs, 3] = np.nan
    Z[4 % runs, 8] = np.nan
    return model, sensors, MeasurementStream(t, sensor, Z), X
