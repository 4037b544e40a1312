"""Compiled (Numba) estimator steps for callers that drive ``predict`` / ``update`` themselves.

    compiled_estimator(estimator) -> CompiledFilter | CompiledIMM

:func:`trackers.filters.compiled.run_compiled` runs a whole time loop; the multi-object
tracker (:mod:`trackers.tracking.tracker`) instead calls the estimator's ``predict``,
``update`` and ``gaussian`` on flat batches of track beliefs. The wrappers here have the same
methods, arguments, results and types as the NumPy estimators they wrap (``CompiledFilter`` is
a :class:`~trackers.filters.estimator.Filter`, ``CompiledIMM`` an
:class:`~trackers.filters.imm.IMM`: ``initial_belief``, ``check_belief``, ``state_names``,
``mix`` ... are inherited), and do every ``predict`` / ``update`` / ``gaussian`` call in ONE
compiled call over the batch (:mod:`trackers.filters.compiled._step_kernels` states the
equations): the EKF prediction (RK4 with the variational Jacobian, the ``max_step`` substep
rule, Q), the Joseph-form EKF update with a radar, and for the IMM also the mixing in the
common state space, the mode-probability update and the combined output. The NumPy
estimators stay the readable reference: tests/test_tracking_compiled.py checks both agree to
1e-12 relative.

Supported (anything else raises ``ValueError`` naming it):

- ``Filter(EKF(), model)`` and ``IMM`` of ``EKF()`` modes (analytic Jacobians), modes with
  unlike state vectors allowed (any ``fill``, ``implied``, ``fill_prior``; fixed or
  :class:`~trackers.filters.imm.SojournTransition` matrix);
- motion models :class:`trackers.models.Ballistic` (J2 or point-mass gravity, rotating or
  not, without drag, fixed beta, or the ln beta state; as
  :func:`~trackers.filters.compiled._params.motion_params`) and
  :class:`trackers.models.BoostThrustState` (with or without exhaust velocity);
- sensors: :class:`trackers.models.RadarMeasurement` (range, az, el[, range rate]).

Batches: beliefs of any batch shape ``(...)`` (flattened to ``(B,)``), ``dt`` a float or an
array broadcastable to it. The RK4 substep count is the NumPy one, n = ceil(max |dt| /
max_step) over the batch (:func:`trackers.models.integrate.substeps`), so a batch gives the
same result as the NumPy path, not merely each run on its own. Every call runs on one
thread (threads did not pay at the tracker's batch sizes; see ``_step_kernels``).

Agreement: one step agrees with the NumPy estimator to rounding (means and covariances to
~2e-16 relative, NIS and log-likelihood to ~1e-12: the rounding of h(x) at a range of 1e6 m).
Through a whole track the IMM's mode probabilities (weights exp(loglik)) pass such
differences on, and a track that hesitates between modes amplifies them as it amplifies any
rounding: on hokkaido-2023 (20 runs) the tracker with ``backend="numba"`` gives the same
tracks and events, states to 4e-12 and covariances to 2e-5 relative at worst (one track),
where the NumPy path itself moves by 3e-6 when the reports are changed by one ulp (median
difference 7e-14 for both).

The kernels compile on first use (~1 min) and are cached on disk (``cache=True``).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.compiled._params import motion_params
from trackers.filters.estimator import Filter
from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.imm import IMM, IMMBelief, SojournTransition
from trackers.filters.rules import EKF
from trackers.filters.validation import check_belief, check_dt, check_measurement, per_step_checks
from trackers.models.ballistic import Ballistic
from trackers.models.boost import BoostThrustState
from trackers.models.integrate import substeps
from trackers.models.radar import RadarMeasurement

__all__ = ["CompiledFilter", "CompiledIMM", "compiled_estimator"]


_MISSING = (
    "the compiled backend needs the optional dependency numba (>= 0.59): "
    "pip install 'ballistic-trackers[compiled]' (or pip install numba)"
)


def _kernels() -> Any:
    """The step-kernel module (imports numba; ImportError with install instructions)."""
    try:
        return importlib.import_module("trackers.filters.compiled._step_kernels")
    except ImportError as exc:
        if "numba" in str(exc):
            raise ImportError(_MISSING) from exc
        raise


def _entry(name: str) -> Any:
    """Kernel ``name`` (a serial loop over the ``batch`` beliefs; see the parallelism note of
    :mod:`trackers.filters.compiled._step_kernels`)."""
    return getattr(_kernels(), name)


def _arr(a: Any, shape: tuple[int, ...]) -> NDArray:
    """``a`` broadcast to ``shape`` as a C-contiguous, writable float array (one numba
    specialisation per kernel: read-only or strided arrays are other types)."""
    a = np.asarray(a, dtype=float)
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()


class _Motion(NamedTuple):
    """One motion model packed for the kernels.

    kind : 1 Ballistic, 2 BoostThrustState (``_step_kernels``); par : (NPAR,) Earth and drag
    parameters (:func:`motion_params`); ve : exhaust velocity [m/s] (0: none); q : acceleration
    PSD [m^2/s^3]; q2 : q_log_beta [1/s] (Ballistic) or q_thrust [m^2/s^5] (boost);
    max_step : largest RK4 substep [s]; n : state dimension.
    """

    kind: int
    par: NDArray
    ve: float
    q: float
    q2: float
    max_step: float
    n: int


def _motion(model: Any, owner: str) -> _Motion:
    """Pack a supported motion model; ValueError naming ``owner`` and the model otherwise."""
    if isinstance(model, Ballistic):
        par = motion_params(model, owner)
        return _Motion(
            1,
            par,
            0.0,
            float(model.q),
            float(model.q_log_beta),
            float(model.max_step),
            int(model.ndim),
        )
    if isinstance(model, BoostThrustState):
        # gravity and rotation of the model's Earth; no drag in the boost mode
        par = motion_params(Ballistic(earth=model.earth), owner)
        ve = 0.0 if model.exhaust_velocity is None else float(model.exhaust_velocity)
        return _Motion(2, par, ve, float(model.q), float(model.q_thrust), float(model.max_step), 7)
    raise ValueError(
        f"{owner}: the compiled estimator steps support the motion models Ballistic and "
        f"BoostThrustState, got {type(model).__name__}"
    )


def _check_rule(rule: Any, owner: str) -> None:
    """ValueError unless ``rule`` is the analytic EKF."""
    if type(rule) is not EKF or rule.numerical:
        raise ValueError(
            f"{owner}: the compiled estimator steps support the analytic EKF() rule, got {rule!r}"
        )


class _Radar(NamedTuple):
    """A radar packed for ``_kernels._update``: kind 1, H (unused, zeros), R, site, rotation."""

    H: NDArray
    R: NDArray
    site: NDArray
    rot: NDArray
    m: int


#: packed radars by id, with the sensor kept alive so that its id is not reused
_RADARS: dict[int, tuple[Any, _Radar]] = {}


def _radar(sensor: Any, n: int) -> _Radar:
    """The packed radar (cached per sensor object); ValueError for other sensors."""
    hit = _RADARS.get(id(sensor))
    if hit is not None and hit[0] is sensor and hit[1].H.shape[1] >= n:
        return hit[1]
    if not isinstance(sensor, RadarMeasurement):
        raise ValueError(
            f"sensor: the compiled estimator steps support RadarMeasurement, got "
            f"{type(sensor).__name__}"
        )
    m = int(sensor.ndim_meas)
    packed = _Radar(
        np.zeros((m, n)),
        _arr(sensor.noise_cov(), (m, m)),
        _arr(sensor.site_ecef, (3,)),
        _arr(sensor.enu_rotation, (3, 3)),
        m,
    )
    if len(_RADARS) > 256:
        _RADARS.clear()
    _RADARS[id(sensor)] = (sensor, packed)
    return packed


def _batch_dt(dt: float | NDArray, batch: tuple[int, ...], B: int) -> NDArray:
    """dt ``(B,)`` from a float or an array broadcastable to the batch shape."""
    return _arr(np.broadcast_to(np.asarray(dt, dtype=float), batch).reshape(B), (B,))


def _nsub(dt: NDArray, max_step: float) -> int:
    """The NumPy substep count over the batch (:func:`substeps`)."""
    return substeps(dt, max_step)[0]


def _check_update_inputs(belief: Gaussian, z: NDArray, sensor: Any) -> None:
    """Per-step checks of an update's inputs (as the NumPy rules do)."""
    if not isinstance(belief, Gaussian):
        raise TypeError(f"belief must be a Gaussian, got {type(belief).__name__}")
    check_belief("belief", belief)
    m = getattr(sensor, "ndim_meas", None)
    check_measurement("z", z, None if m is None else int(m))


@dataclass(frozen=True)
class CompiledFilter(Filter):
    """``Filter(EKF(), model)`` with compiled ``predict`` / ``update`` (module docstring).

    Same attributes as :class:`~trackers.filters.estimator.Filter`; ValueError at
    construction for an unsupported rule or model.
    """

    if TYPE_CHECKING:
        _mot: ClassVar[_Motion]

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_rule(self.rule, "rule")
        object.__setattr__(self, "_mot", _motion(self.model, "model"))

    def predict(self, belief: Gaussian, dt: float | NDArray, t: float = 0.0) -> Gaussian:
        """x- = f(x), P- = F P F' + Q over ``dt`` [s] (time-invariant models: ``t`` unused)."""
        if per_step_checks():
            if not isinstance(belief, Gaussian):
                raise TypeError(f"belief must be a Gaussian, got {type(belief).__name__}")
            check_belief("belief", belief)
            check_dt(dt)
        mot = self._mot
        n = mot.n
        mean = np.asarray(belief.mean, dtype=float)
        cov = np.asarray(belief.cov, dtype=float)
        batch = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2], np.shape(dt))
        B = math.prod(batch)
        x = _arr(mean, batch + (n,)).reshape(B, n)
        P = _arr(cov, batch + (n, n)).reshape(B, n, n)
        d = _batch_dt(dt, batch, B)
        xo, Po = _entry("gauss_predict")(
            x, P, d, mot.kind, mot.par, mot.ve, mot.q, mot.q2, _nsub(d, mot.max_step)
        )
        return Gaussian(xo.reshape(batch + (n,)), Po.reshape(batch + (n, n)))

    def update(self, belief: Gaussian, z: NDArray, sensor: Any) -> tuple[Gaussian, StepInfo]:
        """Joseph-form EKF update with a radar (NaN rows of ``z``: missed, prior kept)."""
        if per_step_checks():
            _check_update_inputs(belief, z, sensor)
        n = self._mot.n
        rad = _radar(sensor, n)
        m = rad.m
        mean = np.asarray(belief.mean, dtype=float)
        cov = np.asarray(belief.cov, dtype=float)
        z = np.asarray(z, dtype=float)
        batch = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2], z.shape[:-1])
        B = math.prod(batch)
        xo, Po, nu, S, nis, ll = _entry("gauss_update")(
            _arr(mean, batch + (n,)).reshape(B, n),
            _arr(cov, batch + (n, n)).reshape(B, n, n),
            _arr(z, batch + (m,)).reshape(B, m),
            1,
            rad.H,
            rad.R,
            rad.site,
            rad.rot,
        )
        post = Gaussian(xo.reshape(batch + (n,)), Po.reshape(batch + (n, n)))
        info = StepInfo(
            nu.reshape(batch + (m,)),
            S.reshape(batch + (m, m)),
            nis.reshape(batch),
            ll.reshape(batch),
        )
        return post, info


class _Mixing(NamedTuple):
    """An IMM's structure packed for the kernels (``_step_kernels`` module docstring).

    dims (M,), idx (M, nmax) common indices, N, fill kind, gown (G, M), gcomp (N,), prior
    pmean / pvar (N,), imp (M, N) / impv (N,) implied components; transition kind (0 fixed,
    1 sojourn), trans (M, M), tau (M,) [s], switching (M, M), rowsum (M,); the modes' motion
    models stacked: kinds (M,), pars (M, NPAR), ves, qs, q2s (M,) (:class:`_Motion`).
    """

    dims: NDArray
    idx: NDArray
    N: int
    fkind: int
    gown: NDArray
    gcomp: NDArray
    pmean: NDArray
    pvar: NDArray
    imp: NDArray
    impv: NDArray
    tkind: int
    trans: NDArray
    tau: NDArray
    switching: NDArray
    rowsum: NDArray
    kinds: NDArray
    pars: NDArray
    ves: NDArray
    qs: NDArray
    q2s: NDArray

    @property
    def embedding(self) -> tuple:
        """(dims, idx, N, fkind, gown, gcomp, pmean, pvar, imp, impv): the arguments of the
        common-space embedding, in the kernels' order (mixing and combined output)."""
        return (self.dims, self.idx, self.N, self.fkind, self.gown, self.gcomp, self.pmean,
                self.pvar, self.imp, self.impv)  # fmt: skip


@dataclass(frozen=True, eq=False)
class CompiledIMM(IMM):
    """:class:`~trackers.filters.imm.IMM` of EKF modes with compiled steps (module docstring).

    Same attributes and results as the IMM; ``predict`` / ``update`` / ``gaussian`` are one
    compiled call each. ValueError at construction for an unsupported rule or model.
    """

    if TYPE_CHECKING:
        _mots: ClassVar[tuple[_Motion, ...]]
        _mix: ClassVar[_Mixing]

    def __post_init__(self) -> None:
        super().__post_init__()
        mots = []
        for j, mode in enumerate(self.modes):
            _check_rule(mode.rule, f"modes[{j}].rule")
            mots.append(_motion(mode.model, f"modes[{j}].model ({mode.name})"))
        M, N = len(mots), self.ndim
        nmax = max(m.n for m in mots)
        dims = np.array([m.n for m in mots], dtype=np.int64)
        idx = np.zeros((M, nmax), dtype=np.int64)
        for j, i in enumerate(self._idx):
            idx[j, : i.size] = i
        G = len(self._groups)
        gown = np.zeros((max(G, 1), M), dtype=np.bool_)
        gcomp = np.full(N, -1, dtype=np.int64)
        for g, (owners, comp) in enumerate(self._groups):
            gown[g, list(owners)] = True
            gcomp[comp] = g
        prior = [dict(self.fill_prior).get(c, (0.0, 1.0)) for c in self._common]
        imp = np.zeros((M, N), dtype=np.bool_)
        impv = np.zeros(N)
        for j, c, val in self._implied:
            imp[j, c] = True
            impv[c] = val
        if isinstance(self.transition, SojournTransition):
            sw = np.asarray(self.transition.switching, dtype=float)
            trans = (1, np.eye(M), np.asarray(self.transition.sojourn, float), sw, sw.sum(-1))
        else:
            trans = (
                0,
                np.asarray(self.transition, float),
                np.ones(M),
                np.zeros((M, M)),
                np.zeros(M),
            )
        mix = _Mixing(
            dims,
            idx,
            N,
            {"mixed": 0, "prior": 1, "zero": 2}[self.fill],
            gown,
            gcomp,
            np.array([p[0] for p in prior], float),
            np.array([p[1] for p in prior], float),
            imp,
            impv,
            trans[0],
            _arr(trans[1], (M, M)),
            _arr(trans[2], (M,)),
            _arr(trans[3], (M, M)),
            _arr(trans[4], (M,)),
            np.array([m.kind for m in mots], dtype=np.int64),
            _arr(np.stack([m.par for m in mots]), (M, mots[0].par.size)),
            np.array([m.ve for m in mots]),
            np.array([m.q for m in mots]),
            np.array([m.q2 for m in mots]),
        )
        object.__setattr__(self, "_mots", tuple(mots))
        object.__setattr__(self, "_mix", mix)

    def _pack(self, belief: IMMBelief, extra: tuple[int, ...]) -> tuple:
        """Padded mode beliefs xs (B, M, nmax), Ps (B, M, nmax, nmax), probs (B, M), the batch
        shape and B (``extra``: other batch shapes to broadcast with, e.g. dt's or z's)."""
        modes = belief.modes
        if len(modes) != self.nmodes:
            raise ValueError(
                f"belief.modes must hold {self.nmodes} Gaussians (one per mode), got {len(modes)}"
            )
        probs = np.asarray(belief.probs, dtype=float)
        batch = np.broadcast_shapes(
            probs.shape[:-1],
            *(np.shape(g.mean)[:-1] for g in modes),
            *(np.shape(g.cov)[:-2] for g in modes),
            extra,
        )
        B = math.prod(batch)
        M, nmax = self.nmodes, int(self._mix.idx.shape[1])
        # zero padding, each mode's belief broadcast into its slot by the assignment
        xb: NDArray = np.zeros(batch + (M, nmax))
        Pb: NDArray = np.zeros(batch + (M, nmax, nmax))
        for j, g in enumerate(modes):
            n = self._mots[j].n
            xb[..., j, :n] = g.mean
            Pb[..., j, :n, :n] = g.cov
        xs, Ps = xb.reshape(B, M, nmax), Pb.reshape(B, M, nmax, nmax)
        return xs, Ps, _arr(probs, batch + (M,)).reshape(B, M), batch, B

    def _unpack(self, xs: NDArray, Ps: NDArray, probs: NDArray, batch: tuple) -> IMMBelief:
        """IMMBelief of padded kernel outputs (per-mode views, batch shape restored)."""
        modes = tuple(
            Gaussian(
                xs[:, j, : m.n].reshape(batch + (m.n,)),
                Ps[:, j, : m.n, : m.n].reshape(batch + (m.n, m.n)),
            )
            for j, m in enumerate(self._mots)
        )
        return IMMBelief(modes, probs.reshape(batch + (self.nmodes,)))

    def _predict(self, belief: IMMBelief, dt: float | NDArray, t: float) -> IMMBelief:
        """Mixing and the mode-matched predictions in one compiled call; probs become c."""
        xs, Ps, mu, batch, B = self._pack(belief, np.shape(dt))
        d = _batch_dt(dt, batch, B)
        mots, mx = self._mots, self._mix
        xo, Po, c = _entry("imm_predict")(
            xs,
            Ps,
            mu,
            d,
            mx.tkind,
            mx.trans,
            mx.tau,
            mx.switching,
            mx.rowsum,
            *mx.embedding,
            mx.kinds,
            mx.pars,
            mx.ves,
            mx.qs,
            mx.q2s,
            np.array([_nsub(d, m.max_step) for m in mots], dtype=np.int64),
        )
        return self._unpack(xo, Po, c, batch)

    def _update(self, belief: IMMBelief, z: NDArray, sensor: Any) -> tuple[IMMBelief, StepInfo]:
        """Mode-matched EKF updates and the mode-probability update in one compiled call."""
        z = np.asarray(z, dtype=float)
        xs, Ps, c, batch, B = self._pack(belief, z.shape[:-1])
        rad = _radar(sensor, int(xs.shape[2]))
        m = rad.m
        if z.shape[-1] != m:
            raise ValueError(f"z must be (..., {m}) for this sensor, got shape {z.shape}")
        xo, Po, mu, nu, S, nis, ll = _entry("imm_update")(
            xs,
            Ps,
            c,
            _arr(z, batch + (m,)).reshape(B, m),
            self._mix.dims,
            1,
            rad.H,
            rad.R,
            rad.site,
            rad.rot,
        )
        info = StepInfo(
            nu.reshape(batch + (m,)),
            S.reshape(batch + (m, m)),
            nis.reshape(batch),
            ll.reshape(batch),
        )
        return self._unpack(xo, Po, mu, batch), info

    def gaussian(self, belief: IMMBelief) -> Gaussian:
        """Combined estimate in the common space, ``(..., N)`` (as :meth:`IMM.gaussian`)."""
        xs, Ps, mu, batch, _ = self._pack(belief, ())
        mx = self._mix
        x, P = _entry("imm_gaussian")(
            xs,
            Ps,
            mu,
            *mx.embedding,
        )
        return Gaussian(x.reshape(batch + (mx.N,)), P.reshape(batch + (mx.N, mx.N)))


def compiled_estimator(estimator: Any) -> CompiledFilter | CompiledIMM:
    """The compiled twin of ``Filter(EKF(), model)`` or of an IMM of EKF modes.

    Raises ValueError naming the unsupported rule, model or estimator (module docstring),
    ImportError with install instructions when numba is missing. An already compiled
    estimator is returned as is.
    """
    if isinstance(estimator, CompiledFilter | CompiledIMM):
        return estimator
    _kernels()
    if isinstance(estimator, IMM):
        return CompiledIMM(
            **{f.name: getattr(estimator, f.name) for f in dataclasses.fields(estimator)}
        )
    if isinstance(estimator, Filter):
        return CompiledFilter(estimator.rule, estimator.model)
    raise ValueError(
        f"estimator: the compiled estimator steps support Filter and IMM, got "
        f"{type(estimator).__name__}"
    )
