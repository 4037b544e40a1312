"""Recorders: what :func:`trackers.filters.runner.run` keeps of every filter step.

The runner's time loop only filters; everything it stores or accumulates is a recorder,
called after every report k of every chunk of runs [lo, hi):

    recorder.start(N, T, layout)                     once, before the loop
    recorder.record(k, lo, hi, estimator, belief, info)   after report k (rows lo:hi)
    recorder.result()                                once, after the loop

``belief`` is the estimator's posterior belief for runs lo:hi (batch axis flattened to
``hi - lo``), ``info`` its :class:`~trackers.filters.gaussian.StepInfo`. A recorder that needs
the Gaussian summary calls ``estimator.gaussian(belief)``: the runner passes a
:class:`StepEstimator` view that evaluates it once per step however many recorders ask
(``estimator.base`` is the estimator itself). Chunks arrive in order, each with k = 0..T-1.

Built in (the runner assembles :class:`~trackers.filters.runner.RunStats` and
:class:`~trackers.filters.runner.Track` from them):

- :class:`NisStats` — per-report mean NIS over the runs with a detection, and per-run sums
  of NIS, detections and log-likelihood (Bar-Shalom, Li & Kirubarajan 2001, §5.4.2):

      epoch_nis_k = (1 / |D_k|) sum_{i in D_k} nu_ik' S_ik^-1 nu_ik,   D_k = runs detected at k
      nis_sum_i = sum_{k: i in D_k} nis_ik,   loglik_sum_i = sum_k log N(nu_ik; 0, S_ik)

- :class:`TruthErrors` — estimation errors against the truth and the NEES of groups of
  state components (§5.4.2): e = x - x_hat_k|k, NEES_g = e_g' (P_k|k)_gg^-1 e_g;
  ``epoch_*`` = mean over runs at each k, ``*_sum`` = sum over k per run;
- :class:`History` — the full filtered history (mean, cov, innovation, S, nis, loglik);
- :class:`ModeProbabilities` — IMM posterior mode probabilities mu_k ``(..., T, M)``.

Writing one: any object with a ``name`` (the key of its result in ``Track.extra`` /
``Summary.extra``) and the three methods above; see :class:`ModeProbabilities` for a short
example. Recorders hold per-run state: one instance per concurrent run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.linalg_small import inv_spd, quad_form

__all__ = [
    "ErrorResult",
    "History",
    "HistoryResult",
    "ModeProbabilities",
    "NisResult",
    "NisStats",
    "Recorder",
    "RunLayout",
    "StepEstimator",
    "TruthErrors",
]

#: Elements (steps x runs) of the buffers of per-step NIS / log-likelihood before reduction.
_STATS_BUFFER = 1 << 16


class RunLayout(NamedTuple):
    """What a recorder knows about the run before it starts.

    Attributes
    ----------
    batch : tuple of int
        Batch axes ``...`` of the results (product N, flattened inside the loop).
    n : int
        Dimension of ``estimator.gaussian(belief)`` (the reported state).
    m_max : int
        Width of the stream's measurement rows.
    t : (T,) array
        Report times [s].
    sensor : (T,) int array
        Sensor index of each report.
    dof : (T,) int array
        Measurement dimension m of each report's sensor.
    estimator : Estimator
        The estimator being run.
    """

    batch: tuple[int, ...]
    n: int
    m_max: int
    t: NDArray
    sensor: NDArray
    dof: NDArray
    estimator: Any


@runtime_checkable
class Recorder(Protocol):
    """What ``run(..., recorders=[...])`` accepts (module docstring)."""

    name: str

    def start(self, N: int, T: int, layout: RunLayout) -> None:
        """Allocate for N runs (flattened batch) and T reports."""
        ...

    def record(self, k: int, lo: int, hi: int, estimator: Any, belief: Any, info: StepInfo) -> None:
        """Take report k's posterior of runs lo:hi."""
        ...

    def result(self) -> Any:
        """The recorded result, batch axes restored."""
        ...


class StepEstimator:
    """An estimator seen by the recorders: ``gaussian(belief)`` evaluated once per belief.

    The last belief and its Gaussian are kept; a call with the same belief object returns
    the cached Gaussian. Every other attribute is the wrapped estimator's (``base``).
    """

    __slots__ = ("_belief", "_gaussian", "base")

    def __init__(self, base: Any) -> None:
        self.base = base
        self._belief: Any = None
        self._gaussian: Gaussian | None = None

    def gaussian(self, belief: Any) -> Gaussian:
        """``base.gaussian(belief)``, computed once per belief object."""
        if belief is not self._belief or self._gaussian is None:
            self._gaussian = self.base.gaussian(belief)
            self._belief = belief
        return self._gaussian

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


class NisResult(NamedTuple):
    """NIS / log-likelihood statistics (the first fields of ``RunStats``, same meaning)."""

    runs: int
    epoch_nis: NDArray
    epoch_nis_count: NDArray
    epoch_nis_dof: NDArray
    nis_sum: NDArray
    nis_count: NDArray
    loglik_sum: NDArray


class NisStats:
    """Running NIS and log-likelihood statistics (module docstring), O(N + T) memory.

    The per-step rows are buffered (``_STATS_BUFFER`` elements) and reduced in one vectorised
    call per buffer instead of ~8 small NumPy calls per step. Missed detections (NaN nis)
    are excluded from the NIS sums and counts; their log-likelihood 0 adds nothing.
    """

    name = "nis"

    def start(self, N: int, T: int, layout: RunLayout) -> None:
        self._N, self._T, self._batch, self._dof = N, T, layout.batch, layout.dof
        self._ep_nis = np.zeros(T)
        self._ep_cnt = np.zeros(T, dtype=int)
        self._nis_sum = np.zeros(N)
        self._nis_cnt = np.zeros(N, dtype=int)
        self._ll_sum = np.zeros(N)
        self._j = self._k0 = 0

    def record(self, k: int, lo: int, hi: int, estimator: Any, belief: Any, info: StepInfo) -> None:
        if k == 0:
            nc = hi - lo
            self._nbuf = max(1, min(self._T, _STATS_BUFFER // nc))
            self._nis_buf = np.empty((self._nbuf, nc))
            self._ll_buf = np.empty((self._nbuf, nc))
            self._j = self._k0 = 0
        j = self._j
        self._nis_buf[j] = info.nis
        self._ll_buf[j] = info.loglik
        j += 1
        if j == self._nbuf or k == self._T - 1:
            k0 = self._k0
            nis_b, ll_b = self._nis_buf[:j], self._ll_buf[:j]
            det = ~np.isnan(nis_b)
            # epoch sums over runs (axis 1) and per-run sums over steps (axis 0)
            self._ep_nis[k0 : k + 1] += np.sum(nis_b, axis=1, where=det)
            self._ep_cnt[k0 : k + 1] += det.sum(axis=1)
            self._nis_sum[lo:hi] += np.where(det, nis_b, 0.0).sum(axis=0)
            self._nis_cnt[lo:hi] += det.sum(axis=0)
            self._ll_sum[lo:hi] += ll_b.sum(axis=0)
            j, self._k0 = 0, k + 1
        self._j = j

    def result(self) -> NisResult:
        cnt = self._ep_cnt
        with np.errstate(invalid="ignore", divide="ignore"):
            epoch = np.where(cnt > 0, self._ep_nis / np.maximum(cnt, 1), np.nan)
        return NisResult(
            runs=self._N,
            epoch_nis=epoch,
            epoch_nis_count=cnt,
            epoch_nis_dof=self._dof,
            nis_sum=self._nis_sum.reshape(self._batch),
            nis_count=self._nis_cnt.reshape(self._batch),
            loglik_sum=self._ll_sum.reshape(self._batch),
        )


class ErrorResult(NamedTuple):
    """Truth statistics (the last fields of ``RunStats``, same meaning; None without truth)."""

    epoch_sq_err: NDArray | None = None
    sq_err_sum: NDArray | None = None
    epoch_nees: dict[str, NDArray] | None = None
    nees_sum: dict[str, NDArray] | None = None
    nees_dof: dict[str, int] | None = None


class TruthErrors:
    """Squared errors and NEES per component group against the truth (module docstring).

    Parameters
    ----------
    truth : (..., T, n) array
        True states at the report times; batch axes broadcast to the run's.
    groups : mapping name -> (k,) int array
        State components of each NEES group (indices into the reported state).
    """

    name = "errors"

    def __init__(self, truth: NDArray, groups: Mapping[str, Sequence[int] | NDArray]) -> None:
        self.truth = np.asarray(truth, dtype=float)
        self.groups = {k: np.asarray(v, dtype=int) for k, v in groups.items()}

    def start(self, N: int, T: int, layout: RunLayout) -> None:
        n = layout.n
        self._N, self._batch, self._n = N, layout.batch, n
        self._truth = np.broadcast_to(self.truth, (*layout.batch, T, n)).reshape(N, T, n)
        self._ep_sq = np.zeros((T, n))
        self._sq_sum = np.zeros((N, n))
        self._ep_nees = {k: np.zeros(T) for k in self.groups}
        self._nees_sum = {k: np.zeros(N) for k in self.groups}

    def record(self, k: int, lo: int, hi: int, estimator: Any, belief: Any, info: StepInfo) -> None:
        g = estimator.gaussian(belief)
        # e = x - x_hat_k|k and its square per component
        e = self._truth[lo:hi, k] - g.mean
        e2 = e * e
        self._ep_sq[k] += e2.sum(axis=0)
        self._sq_sum[lo:hi] += e2
        for name, idx in self.groups.items():
            # NEES_g = e_g' (P_gg)^-1 e_g
            Pi, _ = inv_spd(g.cov[..., idx[:, None], idx[None, :]])
            nees = quad_form(e[..., idx], Pi)
            self._ep_nees[name][k] += nees.sum()
            self._nees_sum[name][lo:hi] += nees

    def result(self) -> ErrorResult:
        N, batch = self._N, self._batch
        with np.errstate(invalid="ignore", divide="ignore"):
            return ErrorResult(
                epoch_sq_err=self._ep_sq / N,
                sq_err_sum=self._sq_sum.reshape((*batch, self._n)),
                epoch_nees={k: v / N for k, v in self._ep_nees.items()},
                nees_sum={k: v.reshape(batch) for k, v in self._nees_sum.items()},
                nees_dof={k: int(v.size) for k, v in self.groups.items()},
            )


class HistoryResult(NamedTuple):
    """Stacked history (fields as in ``Track``): batch axes ``...`` restored."""

    mean: NDArray
    cov: NDArray
    innovation: NDArray
    S: NDArray
    nis: NDArray
    loglik: NDArray


class History:
    """The full history: x_k|k ``(..., T, n)``, P_k|k, nu, S (NaN-padded to m_max), nis, loglik.

    O(N T n^2) memory (``keep="all"``).
    """

    name = "history"

    def start(self, N: int, T: int, layout: RunLayout) -> None:
        n, m_max = layout.n, layout.m_max
        self._shape = (layout.batch, T, n, m_max)
        self._m = layout.dof.tolist()
        self._mean = np.empty((N, T, n))
        self._cov = np.empty((N, T, n, n))
        self._nu = np.full((N, T, m_max), np.nan)
        self._S = np.full((N, T, m_max, m_max), np.nan)
        self._nis = np.empty((N, T))
        self._ll = np.empty((N, T))

    def record(self, k: int, lo: int, hi: int, estimator: Any, belief: Any, info: StepInfo) -> None:
        g = estimator.gaussian(belief)
        m = self._m[k]
        self._mean[lo:hi, k] = g.mean
        self._cov[lo:hi, k] = g.cov
        self._nu[lo:hi, k, :m] = info.innovation
        self._S[lo:hi, k, :m, :m] = info.S
        self._nis[lo:hi, k] = info.nis
        self._ll[lo:hi, k] = info.loglik

    def result(self) -> HistoryResult:
        batch, T, n, m = self._shape
        return HistoryResult(
            mean=self._mean.reshape((*batch, T, n)),
            cov=self._cov.reshape((*batch, T, n, n)),
            innovation=self._nu.reshape((*batch, T, m)),
            S=self._S.reshape((*batch, T, m, m)),
            nis=self._nis.reshape((*batch, T)),
            loglik=self._ll.reshape((*batch, T)),
        )


class ModeProbabilities:
    """Posterior mode probabilities mu_k ``(..., T, M)`` of an IMM (beliefs with ``probs``).

    ``result()`` is None when the beliefs carry no ``probs`` (not a mixture estimator).
    After a missed detection mu_k is the predicted c_k (the IMM's rule).
    """

    name = "mode_probs"

    def start(self, N: int, T: int, layout: RunLayout) -> None:
        self._N, self._T, self._batch = N, T, layout.batch
        M = getattr(layout.estimator, "nmodes", None)
        self._out = None if M is None else np.empty((N, T, int(M)))

    def record(self, k: int, lo: int, hi: int, estimator: Any, belief: Any, info: StepInfo) -> None:
        probs = getattr(belief, "probs", None)
        if probs is None:
            return
        if self._out is None:
            self._out = np.empty((self._N, self._T, probs.shape[-1]))
        self._out[lo:hi, k] = probs

    def result(self) -> NDArray | None:
        if self._out is None:
            return None
        return self._out.reshape((*self._batch, self._T, self._out.shape[-1]))
