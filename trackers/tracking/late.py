"""Late reports in the multi-object tracker (``delivery="retrodict"``).

A report that reaches the consumer after a report measured later comes back to the tracker as
a *late scan* at the point of the scan list where its run's consumer receives it
(:mod:`trackers.tracking.scans`). :class:`LateReports` is the part of the tracker that
handles those scans (a mixin of ``trackers.tracking.tracker._Tracker``, whose track table,
estimator and association steps it uses): :meth:`LateReports.late_step` takes each track's
recorded posteriors back to the report's time (retrodiction, :mod:`trackers.tracking.oosm`),
associates, updates, and starts tracks from the late reports no track is near.

References
----------
Y. Bar-Shalom, "Update with out-of-sequence measurements in tracking: exact solution", IEEE
Trans. AES 38(3), 769-777, 2002.
Y. Bar-Shalom, H. Chen, M. Mallick, "One-step solution for the multistep
out-of-sequence-measurement problem in tracking", IEEE Trans. AES 40(1), 27-37, 2004.
Y. Bar-Shalom, H. Chen, "IMM estimator with out-of-sequence measurements", IEEE Trans. AES
41(1), 90-98, 2005.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from trackers.filters import Filter, Gaussian
from trackers.filters.imm import IMM, IMMBelief
from trackers.filters.linalg_small import matmul
from trackers.filters.trees import tree_map
from trackers.tracking.coarse import extrapolate, near_reports
from trackers.tracking.config import TrackerConfig
from trackers.tracking.oosm import Retrodiction, retrodict, update_retrodicted
from trackers.tracking.scans import Scan, report_positions
from trackers.tracking.table import FREE, TrackTable

if TYPE_CHECKING:
    from trackers.tracking.tracker import _Sensor

__all__ = ["LateReports", "positive_definite"]


def positive_definite(P: NDArray) -> NDArray:
    """``(C,)`` bool: each of the covariances ``(C, n, n)`` is finite and positive definite."""
    ok = np.isfinite(P).all(axis=(-2, -1))
    out = np.zeros(P.shape[0], bool)
    if ok.any():
        out[ok] = np.linalg.eigvalsh(P[ok])[:, 0] > 0.0
    return out


class LateReports:
    """Late scans for the tracker (module docstring); mixed into ``_Tracker``."""

    if TYPE_CHECKING:  # provided by _Tracker
        cfg: TrackerConfig
        table: TrackTable
        sensors: Any
        est: Filter | IMM
        est_np: Filter | IMM
        imm: bool
        n: int
        gate: dict[int, float]
        late_reports: int
        late_used: int
        _now: float

        def _predict(self, belief: Any, dt: NDArray) -> Any: ...
        def _innovations(self, sen: _Sensor, g: Gaussian, zr: NDArray) -> tuple[NDArray, ...]: ...
        def _gnn(self, ri: NDArray, ki: NDArray, cost: NDArray, feas: NDArray,
                 miss: NDArray) -> NDArray: ...  # fmt: skip
        def _manage(self, ri: NDArray, ki: NDArray, hit: NDArray, opp: NDArray, t: float,
                    landed: NDArray, unresolved: NDArray | None = None) -> None: ...  # fmt: skip
        def _initiate(self, scan: Scan, sen: _Sensor, free: NDArray, t: float) -> None: ...
        def _refresh(self, ri: NDArray, ki: NDArray, belief: Any,
                     g: Gaussian | None = None) -> None: ...  # fmt: skip
        def _after_update(self, ri: NDArray, ki: NDArray, post: Any, nis: NDArray, m: int,
                          t: float) -> None: ...  # fmt: skip
        def _unresolvable(
            self, sen: _Sensor, ri: NDArray, ki: NDArray, zhat: NDArray, HPH: NDArray
        ) -> tuple[NDArray, NDArray, NDArray, NDArray]: ...
        def _drop_broken(self, t: float) -> None: ...

    def late_step(self, scan: Scan) -> None:
        """Reports that reached the consumer out of sequence (``delivery="retrodict"``).

        The late reports, measured at t_d, meet tracks that may already hold reports measured
        later. Each track keeps the posteriors of its last 8 updates (``TrackTable.hist``,
        ``hist_t``); the newest, at t_u, is taken to t_d:

        * t_d >= t_u (nothing newer in the track): the posterior at t_u predicted to t_d;
          an assigned report updates it there (an ordinary update, t_u := t_d, with its
          CUSUM and thrust evidence), and the result is predicted to the track's time.
        * t_d < t_u: each mode's posterior at t_u is *retrodicted* to t_d with the
          process-noise cross terms (:func:`trackers.tracking.oosm.retrodict`), the reference
          being the newest recorded posterior at or before t_d predicted to t_u (Bar-Shalom,
          Chen & Mallick 2004, Al1: the updates since then as one measurement; exact for a
          linear model when one update came after t_d, algorithm A). A track whose recorded
          updates all came after t_d uses its oldest one (its birth, usually: then nothing
          but a backward prediction). An assigned report updates every mode at t_u through
          its cross covariance (:func:`~trackers.tracking.oosm.update_retrodicted`), the mode
          probabilities by the per-mode likelihoods (the IMM with out-of-sequence reports of
          Bar-Shalom & Chen 2005, applied mode by mode; a mode whose retrodicted covariance
          is not positive definite keeps its posterior and gets the other modes' mixture
          likelihood), and the result is predicted to the track's time again.

        Association: gate and GNN (optimal assignment, cost d2 + ln det S(d)) on the
        combined retrodicted estimates, whatever ``association`` is; no re-acquisition and
        no merged updates for late reports. A late scan is an opportunity for the tracks it
        covers (the regular scan did not count for runs whose message was late,
        ``Scan.received``). The late reports no track takes, outside every live track's
        coarse gate, go to initiation as at t_d
        (:meth:`_initiate`: a child of a track this late scan updated at t_d, a two-point
        track with an older seed, born at t_d and predicted from there by the next scan, or a
        seed): on a network where one region's reports all arrive late, its radars would
        otherwise never start a track.

        Y. Bar-Shalom, H. Chen, M. Mallick, "One-step solution for the multistep
        out-of-sequence-measurement problem in tracking", IEEE Trans. AES 40(1), 27-37, 2004.
        Y. Bar-Shalom, H. Chen, "IMM estimator with out-of-sequence measurements", IEEE
        Trans. AES 41(1), 90-98, 2005.
        """
        tb = self.table
        sen = self.sensors[scan.sensor]
        td = scan.t
        z, valid = scan.z, scan.valid
        M = z.shape[1]
        self.late_reports += int(valid.sum())
        act_r, act_k = np.nonzero((tb.status != FREE) & np.any(valid, axis=1)[:, None])
        if M == 0:
            return
        # coarse gate at t_d, as in step() (dt mostly < 0)
        dt_a = td - tb.t[act_r, act_k]
        p_ex = extrapolate(tb.pv[act_r, act_k, :3], tb.pv[act_r, act_k, 3:], dt_a)
        opp = sen.covers(p_ex)
        rpos = report_positions(z, sen.site_ecef, sen.rot)
        near = near_reports(p_ex, tb.P6[act_r, act_k], dt_a, sen.sigma_pos, rpos[act_r],
                            valid[act_r])  # fmt: skip
        ci = np.flatnonzero(near.any(axis=1))
        hit = np.zeros(act_r.size, bool)
        unres = np.zeros(act_r.size, bool)
        used = np.zeros(valid.shape, bool)
        if ci.size:
            hit[ci], unres[ci], used = self._late_associate(
                scan, sen, act_r[ci], act_k[ci], near[ci]
            )
        self._manage(act_r, act_k, hit, opp | hit, self._now, np.zeros(act_r.size, bool), unres)
        # the reports no track took and no live track is near (the coarse gate) start tracks
        # (born at t_d) or wait as seeds; a late report near a track that did not take it is
        # dropped (a retrodiction that failed or did not gate must not start a duplicate)
        near_any = np.zeros(valid.shape, bool)
        np.logical_or.at(near_any, act_r, near)
        free = valid & ~used & ~near_any
        if free.any():
            self._initiate(scan, sen, free, td)
        self._drop_broken(self._now)

    def _late_associate(self, scan: Scan, sen: _Sensor, ri: NDArray, ki: NDArray,
                        near: NDArray) -> tuple[NDArray, NDArray, NDArray]:  # fmt: skip
        """:meth:`late_step` for candidate tracks (ri, ki): beliefs at t_d, gate, GNN, updates.
        Returns hit and unresolved ``(C,)`` per candidate and the used reports ``(N, M)``."""
        cfg, tb = self.cfg, self.table
        td, z, valid = scan.t, scan.z, scan.valid
        m = z.shape[-1]
        C = ri.size
        ring, ht = tb.history(ri, ki)  # (C, L, ...), (C, L)
        rows = np.arange(C)
        t_all = np.where(np.isnan(ht), -np.inf, ht)
        il = np.argmax(t_all, axis=1)  # the last update, at t_u
        tu = t_all[rows, il]
        # reference: the newest recorded update at or before t_d, else the oldest recorded
        # (the track began, or its first recorded update came, after t_d)
        t_old = np.where(t_all <= td, t_all, -np.inf)
        ir = np.where(np.isfinite(t_old).any(axis=1), np.argmax(t_old, axis=1),
                      np.argmin(np.where(np.isnan(ht), np.inf, ht), axis=1))  # fmt: skip
        t_ref = t_all[rows, ir]
        tk = tb.t[ri, ki]
        post_u = tree_map(lambda a: a[rows, il], ring)
        fwd = td >= tu
        f = np.flatnonzero(fwd)
        b = np.flatnonzero(~fwd & np.isfinite(t_ref))
        usable = np.zeros(C, bool)
        usable[f] = True
        # combined estimates at t_d for the gate, common state space (C, n)
        gm = np.full((C, self.n), np.nan)
        gc = np.zeros((C, self.n, self.n))
        pred_f = None
        if f.size:
            pred_f = self._predict(tree_map(lambda a: a[f], post_u), td - tu[f])
            g = self.est.gaussian(pred_f)
            gm[f], gc[f] = g.mean, g.cov
        rets: list[Retrodiction] = []
        if b.size:
            est = self.est_np
            pu = tree_map(lambda a: a[b], post_u)
            # reference x(u|ref): the newest update at or before t_d, predicted to t_u
            ref = self._predict(tree_map(lambda a: a[b, ir[b]], ring), tu[b] - t_ref[b])
            if isinstance(est, IMM):
                for j, mode in enumerate(est.modes):
                    rets.append(retrodict(pu.modes[j], ref.modes[j], mode.model, tu[b], td))
                # a mode whose retrodicted covariance is not positive definite (a long lag
                # through a nonlinear model, e.g. the boost mode's thrust state) is left out
                valid_m = np.stack([positive_definite(r.belief.cov) for r in rets], axis=-1)
                w = np.where(valid_m, pu.probs, 0.0)
                tot = w.sum(axis=-1, keepdims=True)
                w = np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), pu.probs)
                modes_d = tuple(
                    Gaussian(
                        np.where(valid_m[:, j, None], r.belief.mean, pu.modes[j].mean),
                        np.where(valid_m[:, j, None, None], r.belief.cov, pu.modes[j].cov),
                    )
                    for j, r in enumerate(rets)
                )
                g = est.gaussian(IMMBelief(modes_d, w))
                usable[b] = valid_m.any(axis=-1)
            else:
                rets.append(retrodict(pu, ref, est.model, tu[b], td))
                g = rets[0].belief
                usable[b] = positive_definite(g.cov)
            usable[b] &= positive_definite(g.cov[:, :6, :6]) & np.isfinite(g.mean).all(axis=1)
            gm[b], gc[b] = g.mean, g.cov
        # rows without a usable estimate at t_d: the track's current one, never gated
        gm[~usable] = 0.0
        gm[~usable, :6] = tb.pv[ri[~usable], ki[~usable]]
        gc[~usable] = np.eye(self.n)
        zhat, H, HP, _, _, logdet, _, d2 = self._innovations(sen, Gaussian(gm, gc), z[ri])
        G = self.gate[m]
        ok = usable & np.isfinite(logdet)
        logdet = np.where(ok, logdet, 0.0)
        feas = near & valid[ri] & (d2 < G) & ok[:, None]
        assign = self._gnn(ri, ki, d2 + logdet[:, None], feas, G + logdet)
        hit = assign >= 0
        # t_d >= t_u: an ordinary update at t_d, then on to the track's time
        hf = np.flatnonzero(hit[f]) if f.size else np.zeros(0, np.int64)
        if hf.size:
            c = f[hf]
            post, info = self.est.update(tree_map(lambda a: a[hf], pred_f),
                                         z[ri[c], assign[c]], sen.model)  # fmt: skip
            # the newest update of these tracks: t_update, history, CUSUM, thrust evidence
            self._after_update(ri[c], ki[c], post, info.nis, m, td)
            tn = np.maximum(tk[c], td)
            self._refresh(ri[c], ki[c], self._predict(post, tn - td))
            tb.t[ri[c], ki[c]] = tn
        # t_d < t_u: update at t_u through the retrodiction, then on to the track's time
        bi = np.full(C, -1)
        bi[b] = np.arange(b.size)
        hb = np.flatnonzero(hit & (bi >= 0))
        if hb.size:
            j_ = bi[hb]
            zc = z[ri[hb], assign[hb]]
            pu = tree_map(lambda a: a[b][j_], post_u)
            sub = [Retrodiction(tree_map(lambda a: a[j_], r.belief), r.cross[j_], r.Q[j_])
                   for r in rets]  # fmt: skip
            post = self._update_retrodicted(pu, sub, zc, sen)
            good = positive_definite(self.est.gaussian(post).cov[:, :6, :6])
            hit[hb[~good]] = False
            c, post = hb[good], tree_map(lambda a: a[good], post)
            tb.put_history(ri[c], ki[c], post, td, replace_last=True)
            self._refresh(ri[c], ki[c], self._predict(post, tk[c] - tu[c]))
        self.late_used += int(hit.sum())
        unresolved = np.zeros(C, bool)
        if cfg.merged_updates or cfg.classify:
            li, rk, Uc, _ = self._unresolvable(sen, ri, ki, zhat, matmul(HP, H.swapaxes(-1, -2)))
            unresolved = Uc[li, rk].any(axis=1) & usable
        used = np.zeros(valid.shape, bool)
        used[ri[hit], assign[hit]] = True
        return hit, unresolved, used

    def _update_retrodicted(self, post: Any, rets: list[Retrodiction], z: NDArray,
                            sen: _Sensor) -> Any:  # fmt: skip
        """Late reports z ``(C, m)`` into posteriors ``post`` at t_u through each mode's
        retrodiction; IMM mode probabilities mu_j proportional to mu_j(t_u) L_j(z(d))."""
        if not self.imm:
            return update_retrodicted(post, rets[0], z, sen.model)[0]
        modes, ll, ok = [], [], []
        for j, r in enumerate(rets):
            gj, info = update_retrodicted(post.modes[j], r, z, sen.model)
            okj = (positive_definite(r.belief.cov) & positive_definite(gj.cov)
                   & np.isfinite(info.loglik))  # fmt: skip
            # a mode without a valid retrodiction keeps its posterior (see below for mu)
            modes.append(
                Gaussian(
                    np.where(okj[:, None], gj.mean, post.modes[j].mean),
                    np.where(okj[:, None, None], gj.cov, post.modes[j].cov),
                )
            )
            ll.append(np.where(okj, info.loglik, -np.inf))
            ok.append(okj)
        valid = np.stack(ok, axis=-1)
        lg = np.stack(ll, axis=-1)
        with np.errstate(divide="ignore"):
            a = np.log(post.probs) + lg
        # mu_j proportional to mu_j(t_u) L_j; a mode without a valid retrodiction gets the
        # valid modes' mixture likelihood (it neither gains nor loses from the report)
        amax = np.max(a, axis=-1, keepdims=True)
        amax = np.where(np.isfinite(amax), amax, 0.0)
        e = np.exp(a - amax)
        pv = np.where(valid, post.probs, 0.0).sum(axis=-1, keepdims=True)
        mix = e.sum(axis=-1, keepdims=True) / np.where(pv > 0, pv, 1.0)  # sum mu L / sum mu
        w = np.where(valid, e, post.probs * mix)
        tot = w.sum(axis=-1, keepdims=True)
        probs = np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), post.probs)
        return IMMBelief(tuple(modes), probs)

