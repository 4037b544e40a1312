"""Interacting Multiple Model (IMM) estimator over modes with unlike state vectors, batched.

Each mode j has its own motion model, its own filter rule (KF/EKF/UKF/CKF) and its own state
vector (CV 6, CA 9, ballistic with log_beta 7, boost with a_thrust 7, ...). The belief stores
one Gaussian per mode plus the mode probabilities mu ``(..., M)``.

One cycle (Blom & Bar-Shalom 1988; Bar-Shalom, Li & Kirubarajan 2001, §11.6.6), with the
Markov transition matrix p_ij = P(mode j at k+1 | mode i at k):

    predicted mode probabilities   c_j = sum_i p_ij mu_i
    mixing probabilities           mu_{i|j} = p_ij mu_i / c_j
    mixed initial condition        x0_j = sum_i mu_{i|j} x_i
                                   P0_j = sum_i mu_{i|j} [P_i + (x_i - x0_j)(x_i - x0_j)']
    mode-matched prediction        (x_j-, P_j-) = rule_j.predict(N(x0_j, P0_j), model_j, dt)
    mode-matched update            (x_j+, P_j+), L_j = N(nu_j; 0, S_j) = rule_j.update(...)
    mode probability update        mu_j = c_j L_j / sum_l c_l L_l      (in the log domain)
    combined output                x = sum_j mu_j x_j,  P = sum_j mu_j [P_j + (x_j - x)(...)']

Unequal state vectors (Li & Jilkov, "Survey of maneuvering target tracking, Part V:
multiple-model methods", IEEE TAES 41(4), 2005, §V; Granström, Willett & Bar-Shalom,
"Systematic approach to IMM mixing for unequal dimension states", IEEE TAES 51(4), 2015):
mixing and the combined output are computed in a *common state space*, the union of the modes'
``state_names`` in order of first appearance. Mode j's ``project`` map takes its components
from the common vector (by name); its ``embed`` map places its estimate in the common space and
must fill the components it lacks. Options (``fill``):

- ``"mixed"`` (default; in the spirit of Granström et al., who augment the smaller modes from
  the modes that carry the extra components instead of with zeros — our variant below was not
  checked line by line against their equations): a component c missing from
  mode i is filled with the mixture, under the same mixing weights, of the modes that do model
  c: mean sum_{k has c} mu_{k|j} x_k[c] / W_c and covariance the matching mixture covariance,
  W_c = sum_{k has c} mu_{k|j}; its cross-covariance with mode i's own components is set to 0.
  The mixed estimate of c for a mode that has c then equals the mixture over the modes that
  have c alone — no bias from modes that know nothing about c, and no spurious spread. The
  price: correlations between c and the other components are dropped for the share (1 - W_c)
  of the mixture, so the mixed covariance slightly under-represents them. If W_c underflows
  (no mode with c has weight), the configured prior (``fill_prior[c] = (mean, variance)``) is
  used, default (0, 1) in the component's SI units.
- ``"prior"``: always fill with ``fill_prior`` (mean, variance), zero cross-covariance.
  Unbiased only if the prior is right; the spread term then carries the prior's distance.
- ``"zero"``: the naive zero-padding (x[c] = 0, zero variance). The mixed mean of c is
  scaled by W_c, i.e. biased toward 0 (e.g. a log ballistic coefficient of 8.5 mixed with
  W = 0.5 becomes 4.25), and the spread term inflates its variance by W (1 - W) x[c]^2. Kept
  for comparison (tests/test_imm.py shows the difference).

Implied components (``implied``, name -> value): some components are not unknown but
*pinned* in the modes that lack them — a ballistic mode is the boost mode with a_thrust = 0.
Listed components are embedded for such modes as that value with zero variance (exactly the
smaller model as a special case of the larger one), whatever ``fill`` says. With "mixed"
instead, an improbable boost mode would hand its stale a_thrust to the ballistic mode's
embedding and the combined output would keep reporting thrust after burnout
(tests/test_imm.py::test_mode_probabilities_switch_at_burnout shows both). Rule of thumb:
``implied`` for quantities the smaller model fixes (thrust, acceleration of a CV mode = 0),
``"mixed"`` for parameters it ignores (the ballistic coefficient of a CV mode).

When all modes share the same ``state_names`` no embedding happens and the textbook equations
above apply directly (equal to filterpy's ``IMMEstimator`` to round-off, tested).

Transition matrix: a fixed ``(M, M)`` array (validated: square, non-negative, rows summing to
1 within 1e-9), or :class:`SojournTransition` built from mean sojourn times tau_i and the
current dt: p_ii = exp(-dt / tau_i), p_ij = (1 - p_ii) s_ij for j != i, with a switching
distribution s (zero diagonal, rows summing to 1). With an array dt the matrix is
``(..., M, M)`` per run.

Batched modes (``batch_modes``, default True; a fast path with the same results): modes
whose prediction differs only in the process noise are predicted in ONE call of their rule,
with the mode axis stacked in front of the batch axes (means ``(M_g, ..., n)``). Detected once
at construction: same rule (``==``), same ``state_names``, and models with a
``dynamics_key()`` (class plus every parameter propagation depends on, e.g.
:meth:`trackers.models.Ballistic.dynamics_key`) that compare equal — e.g. three ballistic EKF
modes that differ only in q. The stacked model propagates all of them with the first model's
``propagate`` / ``propagate_with_jacobian`` and adds each mode's own Q
(``model_j.process_noise``). Likewise the measurement update does not involve the motion
model, so modes with the same rule and state dimension are updated in one call. Models without
``dynamics_key`` are predicted one by one. ``batch_modes=False`` forces the per-mode path
(tests/test_imm.py checks both give the same result to 1e-12 relative).

Measurement-update diagnostics (``StepInfo``): the per-mode innovations are combined by moment
matching with the predicted mode probabilities c_j: nu = sum_j c_j nu_j,
S = sum_j c_j [S_j + (nu_j - nu)(nu_j - nu)'], nis = nu' S^-1 nu, and loglik = log sum_j c_j L_j,
the IMM's measurement log-likelihood. A missed detection leaves every mode unchanged and the
mode probabilities at c (loglik 0, nis NaN).

Input checks (``predict`` / ``update``, :mod:`trackers.filters.validation`): ``dt`` finite
and >= 0; ``z`` without +-inf (a row with any NaN is a missed detection); every mode's
belief as for the rules (``check=True``: with a Cholesky test); mode probabilities finite,
>= 0 and summing to 1 within ``validation.PROB_ATOL``. The mode rules are then called inside
``validation.trusted()`` (their inputs are the IMM's own mixing results).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.linalg_small import inv_spd, quad_form, symmetrize
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.filters.validation import (
    check_belief,
    check_dt,
    check_measurement,
    check_probabilities,
    per_step_checks,
    trusted,
)
from trackers.models.base import MeasurementModel, MotionModel

__all__ = ["IMM", "IMMBelief", "Mode", "SojournTransition", "validate_transition"]

#: Mixing weight below which the "mixed" fill falls back to the prior.
_TINY = 1e-300


class IMMBelief(NamedTuple):
    """IMM belief: one Gaussian per mode (dimensions differ) and the mode probabilities.

    Attributes
    ----------
    modes : tuple of Gaussian
        Mode-conditioned beliefs; mode j has mean ``(..., n_j)``, cov ``(..., n_j, n_j)``.
    probs : (..., M) array
        Mode probabilities (after ``update``: posterior mu; after ``predict``: predicted c).
    """

    modes: tuple[Gaussian, ...]
    probs: NDArray


@dataclass(frozen=True)
class Mode:
    """One IMM mode: a filter rule and a motion model.

    Attributes
    ----------
    rule : KF | EKF | UKF | CKF
    model : MotionModel
        Its ``state_names`` define the mode's place in the common state space.
    name : str
        Label for reports (default: the model's class name).
    """

    rule: KF | EKF | UKF | CKF
    model: MotionModel
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.rule, KF | EKF | UKF | CKF):
            raise TypeError(f"Mode.rule must be KF, EKF, UKF or CKF, got {type(self.rule)}")
        if not isinstance(self.model, MotionModel):
            raise TypeError(f"Mode.model must be a MotionModel, got {type(self.model)}")
        names = tuple(self.model.state_names)
        if len(names) != self.model.ndim or len(set(names)) != len(names):
            raise ValueError(
                f"Mode.model.state_names must be {self.model.ndim} distinct names, got {names}"
            )
        if not self.name:
            object.__setattr__(self, "name", type(self.model).__name__)


def validate_transition(p: ArrayLike, m: int) -> NDArray:
    """Check a Markov transition matrix: ``(..., m, m)``, entries >= 0, rows sum to 1 (1e-9)."""
    p = np.asarray(p, float)
    if p.ndim < 2 or p.shape[-2:] != (m, m):
        raise ValueError(f"transition matrix must have shape (..., {m}, {m}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"transition matrix entries must be finite and >= 0, got {p}")
    rows = p.sum(axis=-1)
    if np.any(np.abs(rows - 1.0) > 1e-9):
        raise ValueError(f"transition matrix rows must sum to 1 (within 1e-9), got sums {rows}")
    return p


@dataclass(frozen=True, eq=False)
class SojournTransition:
    """Transition matrix from mean sojourn times: p_ii = exp(-dt / tau_i), p_ij = (1-p_ii) s_ij.

    Attributes
    ----------
    sojourn : (M,) array
        Mean time spent in each mode [s] (> 0; ``inf`` for an absorbing mode).
    switching : (M, M) array or None
        Where a mode goes when it leaves: zero diagonal, rows summing to 1. Default: uniform
        over the other modes. An all-zero row makes that mode absorbing (p_ii = 1, whatever
        its sojourn time); with M = 1 the single mode is absorbing.
    """

    sojourn: NDArray = field(metadata={"units": "s"})
    switching: NDArray | None = None

    def __post_init__(self) -> None:
        tau = np.asarray(self.sojourn, float)
        if tau.ndim != 1 or tau.size < 1 or np.any(~(tau > 0)):
            raise ValueError(f"SojournTransition.sojourn must be (M,) with all > 0 s, got {tau}")
        m = tau.size
        s = self.switching
        if s is None:
            s = (np.ones((m, m)) - np.eye(m)) / max(m - 1, 1)
        s = np.asarray(s, float)
        if s.shape != (m, m) or np.any(s < 0) or np.any(np.diag(s) != 0):
            raise ValueError(
                f"SojournTransition.switching must be ({m}, {m}), >= 0, zero diagonal; got {s}"
            )
        rows = s.sum(axis=-1)
        if not np.all((np.abs(rows - 1.0) <= 1e-9) | (rows == 0)):
            raise ValueError(
                f"SojournTransition.switching rows must sum to 1 (or 0: absorbing), got {rows}"
            )
        object.__setattr__(self, "sojourn", tau)
        object.__setattr__(self, "switching", s)

    def matrix(self, dt: float | NDArray) -> NDArray:
        """P(dt) ``(..., M, M)`` (``dt`` [s] float or array of the batch shape)."""
        dt = cast(NDArray, np.abs(np.asarray(dt, float)))
        switching = cast(NDArray, self.switching)  # a matrix after __post_init__
        stay = np.exp(-dt[..., None] / self.sojourn)  # (..., M)
        # leaving mass (1 - p_ii) only for modes that can leave (switching row sums to 1)
        leave = (1.0 - stay) * switching.sum(axis=-1)
        return leave[..., :, None] * switching + (1.0 - leave)[..., :, None] * np.eye(
            self.sojourn.size
        )


class _ModeStack:
    """The models of a batched group of modes as one MotionModel over a leading mode axis.

    Propagation (equal for every member: equal ``dynamics_key``) is the first model's; the
    process noise of ``x`` ``(M_g, ..., n)`` stacks each member's own Q: ``(M_g, ..., n, n)``.
    """

    def __init__(self, models: Sequence[MotionModel]) -> None:
        self.models = tuple(models)
        self.ndim = self.models[0].ndim
        self.state_names = tuple(self.models[0].state_names)

    def propagate(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        return self.models[0].propagate(x, dt, t)

    def propagate_with_jacobian(
        self, x: NDArray, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        return self.models[0].propagate_with_jacobian(x, dt, t)

    def process_noise(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        qs = []
        for j, m in enumerate(self.models):
            q = np.asarray(m.process_noise(x[j], dt, t), float)
            # Q_j broadcasts against (..., n, n) of x[j]: pad to that many axes
            qs.append(q.reshape((1,) * (x.ndim - q.ndim) + q.shape))
        return np.stack(np.broadcast_arrays(*qs))


class _LinearModeStack(_ModeStack):
    """:class:`_ModeStack` of linear models (the KF rule uses ``transition_matrix``)."""

    def transition_matrix(self, dt: float | NDArray) -> NDArray:
        return cast(Any, self.models[0]).transition_matrix(dt)  # linear members only


def _outer(d: NDArray) -> NDArray:
    """d d' over the batch, ``(..., n) -> (..., n, n)`` (einsum: ~2x faster than a
    ``d[..., :, None] * d[..., None, :]`` broadcast for n <= 6; same products)."""
    return np.einsum("...i,...j->...ij", d, d)


def _stack(arrays: Sequence[NDArray]) -> NDArray:
    """``np.stack(arrays)``, or without a copy the array they are consecutive slices of.

    The IMM hands out per-mode beliefs as views ``base[k]`` of one stacked result; stacking
    them again for the next batched call returns ``base`` itself (same data, no copy).
    """
    base = arrays[0].base
    if (
        isinstance(base, np.ndarray)
        and base.shape == (len(arrays),) + arrays[0].shape
        and all(
            a.base is base
            and a.strides == base.strides[1:]
            and a.__array_interface__["data"][0]
            == base.__array_interface__["data"][0] + k * base.strides[0]
            for k, a in enumerate(arrays)
        )
    ):
        return base
    return np.stack(arrays)


def _stack_gaussians(gs: Sequence[Gaussian]) -> Gaussian:
    """Gaussians of equal dimension stacked on a new leading axis (batch axes broadcast)."""
    nb = max(max(g.mean.ndim - 1, g.cov.ndim - 2) for g in gs)
    means: Sequence[NDArray] = [
        g.mean.reshape((1,) * (nb + 1 - g.mean.ndim) + g.mean.shape) for g in gs
    ]
    covs: Sequence[NDArray] = [
        g.cov.reshape((1,) * (nb + 2 - g.cov.ndim) + g.cov.shape) for g in gs
    ]
    if len({m.shape for m in means}) > 1:
        means = np.broadcast_arrays(*means)
    if len({c.shape for c in covs}) > 1:
        covs = np.broadcast_arrays(*covs)
    return Gaussian(_stack(means), _stack(covs))


def _group_modes(modes: Sequence[Mode], key) -> tuple[tuple[int, ...], ...]:
    """Indices of modes grouped by equal ``key(mode)`` (None: a group of its own)."""
    groups: list[tuple[object, list[int]]] = []
    for j, m in enumerate(modes):
        k = key(m)
        for gk, members in groups:
            if k is not None and gk == k:
                members.append(j)
                break
        else:
            groups.append((k, [j]))
    return tuple(tuple(members) for _, members in groups)


def _predict_key(m: Mode) -> object:
    """What must be equal for two modes to be predicted in one call (module docstring)."""
    key = getattr(m.model, "dynamics_key", None)
    if key is None:
        return None
    return (m.rule, tuple(m.model.state_names), key())


def _sensor_for(sensor: MeasurementModel, n: int) -> MeasurementModel:
    """The sensor adapted to a mode of dimension n.

    Sensors with a fixed ``ndim_state`` field (linear position measurements) are rebuilt for
    the mode's dimension; the positions are the first three components in every model here.
    """
    if getattr(sensor, "ndim_state", n) != n and dataclasses.is_dataclass(sensor):
        return dataclasses.replace(sensor, ndim_state=n)
    return sensor


@dataclass(frozen=True, eq=False)
class IMM:
    """Interacting multiple model estimator (module docstring); implements ``Estimator``.

    Attributes
    ----------
    modes : sequence of Mode
    transition : (M, M) array or SojournTransition
        Markov transition matrix p_ij, or sojourn times giving it per dt.
    fill : "mixed", "prior" or "zero"
        How a mode's missing components are filled when mixing (module docstring).
    fill_prior : mapping name -> (mean, variance)
        Prior for components missing from some modes (SI units of the component).
    implied : mapping name -> value
        Components whose value is fixed by the modes lacking them (e.g. ``{"a_thrust": 0.0}``
        for ballistic vs boost modes); embedded with zero variance.
    batch_modes : bool
        Predict / update modes that allow it in one batched call (module docstring); False
        runs every mode on its own (same results).
    """

    modes: Sequence[Mode]
    transition: NDArray | SojournTransition
    fill: Literal["mixed", "prior", "zero"] = "mixed"
    fill_prior: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    implied: Mapping[str, float] = field(default_factory=dict)
    batch_modes: bool = True

    if TYPE_CHECKING:
        # Per-instance attributes derived in __post_init__ (object.__setattr__). Declared for
        # the type checker only, as ClassVar so that they are not taken for dataclass fields.
        _common: ClassVar[tuple[str, ...]]  # common state-component names (N,)
        _idx: ClassVar[tuple[NDArray, ...]]  # per mode: its components' common indices
        _groups: ClassVar[tuple[tuple[tuple[int, ...], NDArray], ...]]  # (owners, comps)
        _implied: ClassVar[tuple[tuple[int, int, float], ...]]  # (mode, component, value)
        _pred_groups: ClassVar[tuple[tuple[int, ...], ...]]  # modes predicted in one call
        _upd_groups: ClassVar[tuple[tuple[int, ...], ...]]  # modes updated in one call
        _equal: ClassVar[bool]  # all modes share the common space

    def __post_init__(self) -> None:
        modes = tuple(self.modes)
        if not modes or not all(isinstance(m, Mode) for m in modes):
            raise TypeError(f"IMM.modes must be a non-empty sequence of Mode, got {self.modes!r}")
        object.__setattr__(self, "modes", modes)
        if self.fill not in ("mixed", "prior", "zero"):
            raise ValueError(f"IMM.fill must be 'mixed', 'prior' or 'zero', got {self.fill!r}")
        if not isinstance(self.transition, SojournTransition):
            object.__setattr__(self, "transition", validate_transition(self.transition, len(modes)))
        elif self.transition.sojourn.size != len(modes):
            raise ValueError(
                f"IMM.transition has {self.transition.sojourn.size} sojourn times for "
                f"{len(modes)} modes"
            )
        names: list[str] = []
        for m in modes:
            names.extend(c for c in m.model.state_names if c not in names)
        common = tuple(names)
        idx = tuple(np.array([common.index(c) for c in m.model.state_names]) for m in modes)
        for c, (mu, var) in dict(self.fill_prior).items():
            if c not in common or not (np.isfinite(mu) and var >= 0):
                raise ValueError(
                    f"IMM.fill_prior[{c!r}] must name a state component of {common} with a "
                    f"finite mean and variance >= 0, got {(mu, var)}"
                )
        for c, val in dict(self.implied).items():
            if c not in common or not np.isfinite(val):
                raise ValueError(
                    f"IMM.implied[{c!r}] must name a state component of {common} with a finite "
                    f"value, got {val!r}"
                )
        implied = tuple(
            (j, common.index(c), float(v))
            for c, v in dict(self.implied).items()
            for j, m in enumerate(modes)
            if c not in m.model.state_names
        )
        object.__setattr__(self, "_implied", implied)
        # Groups of common components by the set of modes that own them (filled together).
        owners = [
            frozenset(j for j, m in enumerate(modes) if c in m.model.state_names) for c in common
        ]
        groups: dict[frozenset, list[int]] = {}
        for ci, own in enumerate(owners):
            if len(own) < len(modes):
                groups.setdefault(own, []).append(ci)
        object.__setattr__(self, "_common", common)
        object.__setattr__(self, "_idx", idx)
        object.__setattr__(
            self, "_groups", tuple((tuple(sorted(o)), np.array(g)) for o, g in groups.items())
        )
        if self.batch_modes:
            pred_groups = _group_modes(modes, _predict_key)
            upd_groups = _group_modes(modes, lambda m: (m.rule, m.model.ndim))
        else:
            pred_groups = upd_groups = tuple((j,) for j in range(len(modes)))
        object.__setattr__(self, "_pred_groups", pred_groups)
        object.__setattr__(self, "_upd_groups", upd_groups)
        object.__setattr__(
            self,
            "_equal",
            len(groups) == 0 and all(tuple(m.model.state_names) == common for m in modes),
        )

    # --- structure ----------------------------------------------------------------------------
    @property
    def nmodes(self) -> int:
        return len(self.modes)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the common state space (union of the modes' names)."""
        return self._common

    @property
    def ndim(self) -> int:
        """Dimension of the common state space."""
        return len(self._common)

    def transition_matrix(self, dt: float | NDArray) -> NDArray:
        """p_ij ``(M, M)`` or ``(..., M, M)``."""
        if isinstance(self.transition, SojournTransition):
            return self.transition.matrix(dt)
        return self.transition

    def project(self, j: int, g: Gaussian) -> Gaussian:
        """Mode j's components of a common-space Gaussian: ``(..., N) -> (..., n_j)``."""
        i = self._idx[j]
        return Gaussian(g.mean[..., i], g.cov[..., i[:, None], i])

    def embed(self, belief: IMMBelief, weights: NDArray | None = None) -> tuple[Gaussian, ...]:
        """Every mode's Gaussian in the common space, ``(..., N)`` each (module docstring).

        Missing components are filled per ``fill`` / ``implied`` with the mixture weights
        ``weights`` ``(..., M)`` (default: the belief's mode probabilities).
        ``project(j, embed(b)[j])`` returns mode j's belief unchanged.
        """
        w = belief.probs if weights is None else np.asarray(weights, float)
        xs, ps = self._embedded(belief.modes, w)
        return tuple(Gaussian(xs[..., j, :], ps[..., j, :, :]) for j in range(self.nmodes))

    def initial_belief(
        self, prior: Gaussian | Sequence[Gaussian], probs: ArrayLike | None = None
    ) -> IMMBelief:
        """Belief from a common-space prior (projected per mode) or from per-mode Gaussians.

        ``probs`` ``(M,)`` or ``(..., M)``, default uniform.
        """
        if isinstance(prior, Gaussian):
            if prior.mean.shape[-1] != self.ndim:
                raise ValueError(
                    f"IMM prior must have the common dimension {self.ndim} "
                    f"{self.state_names}, got mean shape {prior.mean.shape}"
                )
            mode_beliefs = tuple(self.project(j, prior) for j in range(self.nmodes))
        else:
            mode_beliefs = tuple(
                Gaussian(np.asarray(g.mean, float), np.asarray(g.cov, float)) for g in prior
            )
            for j, (g, m) in enumerate(zip(mode_beliefs, self.modes, strict=True)):
                if g.mean.shape[-1] != m.model.ndim:
                    raise ValueError(
                        f"IMM prior for mode {j} must have dimension "
                        f"{m.model.ndim}, got {g.mean.shape}"
                    )
        batch = mode_beliefs[0].mean.shape[:-1]
        if probs is None:
            probs = np.full(batch + (self.nmodes,), 1.0 / self.nmodes)
        probs = np.broadcast_to(np.asarray(probs, float), batch + (self.nmodes,)).copy()
        if np.any(probs < 0) or np.any(np.abs(probs.sum(-1) - 1.0) > 1e-9):
            raise ValueError(f"IMM mode probabilities must be >= 0 and sum to 1, got {probs}")
        return IMMBelief(mode_beliefs, probs)

    # --- mixing -----------------------------------------------------------------------------
    def _embedded(self, modes: Sequence[Gaussian], w: NDArray) -> tuple[NDArray, NDArray]:
        """Every mode's estimate in the common space, filled per ``fill`` with weights w.

        ``w`` ``(..., M)``: mixing weights of the target (mu_{.|j}, or mu for the output).
        Returns means ``(..., M, N)`` and covariances ``(..., M, N, N)``.
        """
        n = self.ndim
        batch = np.broadcast_shapes(w.shape[:-1], *(g.mean.shape[:-1] for g in modes))
        xs = np.zeros(batch + (self.nmodes, n))
        ps = np.zeros(batch + (self.nmodes, n, n))
        for j, g in enumerate(modes):
            i = self._idx[j]
            xs[..., j, i] = g.mean
            ps[..., j, i[:, None], i] = g.cov
        if self.fill == "zero":
            return self._pin(xs, ps)
        for owners, comp in self._groups:
            sub = np.ix_(comp, comp)
            if self.fill == "prior":
                mean = np.array([self.fill_prior.get(self._common[c], (0.0, 1.0))[0] for c in comp])
                var = np.array([self.fill_prior.get(self._common[c], (0.0, 1.0))[1] for c in comp])
                fmean = np.broadcast_to(mean, batch + (len(comp),))
                fcov = np.broadcast_to(np.diag(var), batch + (len(comp), len(comp)))
            else:
                own = list(owners)
                wo = w[..., own]  # (..., K)
                wsum = wo.sum(-1)
                ok = wsum > _TINY
                wn = wo / np.where(ok, wsum, 1.0)[..., None]
                xo = xs[..., own, :][..., comp]  # (..., K, c)
                fmean = np.einsum("...k,...kc->...c", wn, xo)
                d = xo - fmean[..., None, :]
                po = ps[..., own, :, :][..., comp[:, None], comp]
                fcov = np.einsum("...k,...kab->...ab", wn, po + d[..., :, None] * d[..., None, :])
                if not np.all(ok):
                    pm = np.array(
                        [self.fill_prior.get(self._common[c], (0.0, 1.0))[0] for c in comp]
                    )
                    pv: NDArray = np.diag(
                        [self.fill_prior.get(self._common[c], (0.0, 1.0))[1] for c in comp]
                    )
                    fmean = np.where(ok[..., None], fmean, pm)
                    fcov = np.where(ok[..., None, None], fcov, pv)
            for j in range(self.nmodes):
                if j in owners:
                    continue
                xs[..., j, comp] = fmean
                ps[..., j, sub[0], sub[1]] = fcov
        return self._pin(xs, ps)

    def _pin(self, xs: NDArray, ps: NDArray) -> tuple[NDArray, NDArray]:
        """Set the implied components of the modes lacking them (value, zero variance)."""
        for j, c, val in self._implied:
            xs[..., j, c] = val
            ps[..., j, c, :] = 0.0
            ps[..., j, :, c] = 0.0
        return xs, ps

    @staticmethod
    def _moment_match(w: NDArray, xs: NDArray, ps: NDArray) -> Gaussian:
        """sum_i w_i N(x_i, P_i) -> N(x, P): x = sum w_i x_i, P = sum w_i [P_i + d_i d_i']."""
        x = np.einsum("...i,...in->...n", w, xs)
        d = xs - x[..., None, :]
        p = np.einsum("...i,...inm->...nm", w, ps + _outer(d))
        return Gaussian(x, symmetrize(p))

    def mix(self, belief: IMMBelief, dt: float | NDArray) -> tuple[tuple[Gaussian, ...], NDArray]:
        """Mixed initial conditions per mode and predicted mode probabilities c ``(..., M)``."""
        mu = belief.probs
        p = self.transition_matrix(dt)
        # c_j = sum_i p_ij mu_i ;  mu_{i|j} = p_ij mu_i / c_j
        c = np.einsum("...ij,...i->...j", p, mu)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = p * mu[..., :, None] / c[..., None, :]  # (..., i, j)
        w = np.where(c[..., None, :] > 0, w, np.eye(self.nmodes))
        mixed = []
        if self._equal:
            # all targets j at once, about a reference x_r (mode 0's mean) so that the
            # second-moment form does not cancel catastrophically at ECEF magnitudes:
            #   D_i = x_i - x_r,   e_j = sum_i w_ij D_i,   x0_j = x_r + e_j
            #   P0_j = sum_i w_ij (P_i + D_i D_i') - e_j e_j'
            # (= sum_i w_ij [P_i + (x_i - x0_j)(x_i - x0_j)'] since sum_i w_ij = 1).
            # Mode-major (M, ..., n) arrays (views of the previous batched step when
            # possible); D_0 = 0, so only D_1.. need outer products.
            g = _stack_gaussians(belief.modes)
            xs, ps = g.mean, g.cov  # (M, ..., n), (M, ..., n, n)
            nm, n = self.nmodes, xs.shape[-1]
            ref = xs[0]
            dd = xs - ref
            batch = np.broadcast_shapes(w.shape[:-2], xs.shape[1:-1], ps.shape[1:-2])
            wt = np.broadcast_to(np.swapaxes(w, -1, -2), batch + (nm, nm))  # (..., j, i)
            ddb = np.moveaxis(np.broadcast_to(dd, (nm,) + batch + (n,)), 0, -2)  # (..., i, n)
            e = wt @ ddb  # (..., j, n)
            sec = np.array(np.broadcast_to(ps, (nm,) + batch + (n, n)))
            sec[1:] += _outer(dd[1:])
            secb = np.moveaxis(sec.reshape((nm,) + batch + (n * n,)), 0, -2)  # (..., i, n n)
            p0 = np.empty((nm,) + batch + (n, n))  # written mode-major by the product
            np.matmul(wt, secb, out=np.moveaxis(p0.reshape((nm,) + batch + (n * n,)), 0, -2))
            em = np.moveaxis(e, -2, 0)  # (M, ..., n)
            p0 -= _outer(em)
            x0 = ref + em
            p0 = symmetrize(p0)
            return tuple(Gaussian(x0[j], p0[j]) for j in range(nm)), c
        for j in range(self.nmodes):
            xs, ps = self._embedded(belief.modes, w[..., :, j])
            mixed.append(self.project(j, self._moment_match(w[..., :, j], xs, ps)))
        return tuple(mixed), c

    # --- input checks -----------------------------------------------------------------------
    def check_belief(self, belief: IMMBelief, *, full: bool = False) -> IMMBelief:
        """Per-step check of an IMM belief (module docstring); ``full``: Cholesky test too."""
        if not isinstance(belief, IMMBelief):
            raise TypeError(f"belief must be an IMMBelief, got {type(belief).__name__}")
        if len(belief.modes) != self.nmodes:
            raise ValueError(
                f"belief.modes must hold {self.nmodes} Gaussians (one per mode), got "
                f"{len(belief.modes)}"
            )
        for j, (g, m) in enumerate(zip(belief.modes, self.modes, strict=True)):
            if not isinstance(g, Gaussian):
                raise TypeError(f"belief.modes[{j}] must be a Gaussian, got {type(g).__name__}")
            check_belief(f"belief.modes[{j}]", g, full=full)
            if np.shape(g.mean)[-1] != m.model.ndim:
                raise ValueError(
                    f"belief.modes[{j}].mean must be (..., {m.model.ndim}) for mode "
                    f"{m.name!r}, got shape {np.shape(g.mean)}"
                )
        check_probabilities("belief.probs", belief.probs, self.nmodes)
        return belief

    # --- Estimator protocol -----------------------------------------------------------------
    def predict(
        self, belief: IMMBelief, dt: float | NDArray, t: float = 0.0, *, check: bool = False
    ) -> IMMBelief:
        """Mixing, then each mode's prediction over dt [s] from time t; probs become c.

        Inputs are checked first (module docstring; ``check=True`` adds a Cholesky test).
        """
        if not (check or per_step_checks()):
            return self._predict(belief, dt, t)  # already trusted (the runner's loop)
        self.check_belief(belief, full=check)
        check_dt(dt)
        with trusted():
            return self._predict(belief, dt, t)

    def _predict(self, belief: IMMBelief, dt: float | NDArray, t: float) -> IMMBelief:
        """:meth:`predict` without the input checks."""
        mixed, c = self.mix(belief, dt)
        pred: list[Gaussian | None] = [None] * self.nmodes
        for grp in self._pred_groups:
            m = self.modes[grp[0]]
            if len(grp) == 1:
                pred[grp[0]] = m.rule.predict(mixed[grp[0]], m.model, dt, t)
                continue
            models = [self.modes[j].model for j in grp]
            stack = _LinearModeStack if hasattr(m.model, "transition_matrix") else _ModeStack
            out = m.rule.predict(_stack_gaussians([mixed[j] for j in grp]), stack(models), dt, t)
            for k, j in enumerate(grp):
                pred[j] = Gaussian(out.mean[k], out.cov[k])
        return IMMBelief(tuple(cast("list[Gaussian]", pred)), c)  # every mode filled

    def update(
        self, belief: IMMBelief, z: NDArray, sensor: MeasurementModel, *, check: bool = False
    ) -> tuple[IMMBelief, StepInfo]:
        """Mode-matched updates and mu_j = c_j L_j / sum_l c_l L_l (module docstring).

        Inputs are checked first (module docstring; ``check=True`` adds a Cholesky test).
        """
        if not (check or per_step_checks()):
            return self._update(belief, z, sensor)  # already trusted (the runner's loop)
        self.check_belief(belief, full=check)
        m = getattr(sensor, "ndim_meas", None)
        check_measurement("z", z, None if m is None else int(m))
        with trusted():
            return self._update(belief, z, sensor)

    def _update(
        self, belief: IMMBelief, z: NDArray, sensor: MeasurementModel
    ) -> tuple[IMMBelief, StepInfo]:
        """:meth:`update` without the input checks."""
        z = np.asarray(z, float)
        posts: list[Gaussian | None] = [None] * self.nmodes
        infos: list[StepInfo | None] = [None] * self.nmodes
        for grp in self._upd_groups:
            m = self.modes[grp[0]]
            sens = _sensor_for(sensor, m.model.ndim)
            if len(grp) == 1:
                posts[grp[0]], infos[grp[0]] = m.rule.update(belief.modes[grp[0]], z, sens)
                continue
            post, info = m.rule.update(_stack_gaussians([belief.modes[j] for j in grp]), z, sens)
            for k, j in enumerate(grp):
                posts[j] = Gaussian(post.mean[k], post.cov[k])
                infos[j] = StepInfo(*(np.asarray(a)[k] for a in info))
        done = cast("list[StepInfo]", infos)  # every mode filled
        c = belief.probs
        ll = np.stack([i.loglik for i in done], axis=-1)  # (..., M)
        with np.errstate(divide="ignore"):
            a = np.log(c) + ll
        amax = np.max(a, axis=-1, keepdims=True)
        amax = np.where(np.isfinite(amax), amax, 0.0)
        e = np.exp(a - amax)
        tot = e.sum(-1, keepdims=True)
        mu = e / tot
        loglik = (np.log(tot) + amax)[..., 0]
        # combined innovation diagnostics (moment matching with weights c)
        nus = np.stack([i.innovation for i in done], axis=-2)  # (..., M, m)
        ss = np.stack([i.S for i in done], axis=-3)
        nu = np.einsum("...j,...jm->...m", c, nus)
        d = nus - nu[..., None, :]
        spread = _outer(d)
        spread = np.where(np.isnan(spread), 0.0, spread)
        s = symmetrize(np.einsum("...j,...jab->...ab", c, ss + spread))
        sinv, _ = inv_spd(s)
        nis = quad_form(np.where(np.isnan(nu), 0.0, nu), sinv)
        missed = np.any(np.isnan(nu), axis=-1)
        nis = np.where(missed, np.nan, nis)
        loglik = np.where(missed, 0.0, loglik)
        mu = np.where(missed[..., None], c, mu)
        return IMMBelief(tuple(cast("list[Gaussian]", posts)), mu), StepInfo(nu, s, nis, loglik)

    def gaussian(self, belief: IMMBelief) -> Gaussian:
        """Combined estimate in the common space, ``(..., N)`` (modes filled per ``fill``)."""
        mu = belief.probs
        if self._equal:
            g = _stack_gaussians(belief.modes)
            xs, ps = np.moveaxis(g.mean, 0, -2), np.moveaxis(g.cov, 0, -3)
        else:
            xs, ps = self._embedded(belief.modes, mu)
        return self._moment_match(mu, xs, ps)

    def mode_gaussians(self, belief: IMMBelief) -> tuple[Gaussian, ...]:
        """The per-mode beliefs (each in its own state space)."""
        return belief.modes
