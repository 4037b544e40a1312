"""Impact predictions for every logged track at every decision time: TrackLog -> ImpactLog.

At each decision time tau (every ``step`` seconds of the track log's epochs) every live track
of every run has an estimate N(x, P) of its ECEF position and velocity at its own time t <= tau
(:class:`trackers.metrics.tracking.TrackLog`). Each is flown to the WGS-84 surface with the
tracker's own ballistic model (J2 and Earth rotation, no drag: the tracker's ballistic mode),
by :func:`trackers.impact.predict.predict_impact` (linearisation with the impact-time
sensitivity by default; ``method="unscented"`` for sigma points; fixed 60 s RK4 steps to the
ground by default, :mod:`trackers.impact.ground`), giving the impact point,
time and the 2-D ground covariance in the local tangent plane. Then, for each alert region,

    P(impact in region) = integral over the region of N(p; p_hat, C_ground)

(:func:`trackers.impact.probability.prob_in_region`, exact up to round-off). Everything is
one batched call over all (run, decision time, track) rows.

A decision time at which a run has no track gets a placeholder row (track -1) so that alert
policies can cancel there. A track whose state does not come down (still boosting upward,
orbit, NaN) gets NaN impact fields and P = 0.

The drag-free prediction is the tracker's own model (the separation-aware tracker's
ballistic mode and the naive tracker's only model): it is what such a system would predict.
Its bias against the true, drag-affected fall is part of what the alert study measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian
from trackers.impact.alerts import ImpactLog
from trackers.impact.predict import predict_impact
from trackers.impact.probability import prob_in_region
from trackers.impact.regions import Region
from trackers.metrics.tracking import TrackLog
from trackers.models import Ballistic

__all__ = ["impact_log"]


def impact_log(
    log: TrackLog,
    regions: Mapping[str, Region],
    *,
    hits: NDArray | None = None,
    step: float = 5.0,
    t_start: float = 0.0,
    model: Ballistic | None = None,
    method: Literal["linear", "unscented"] = "linear",
    propagation: Literal["fast", "reference"] = "fast",
) -> ImpactLog:
    """Impact predictions and P(region) for the tracks of ``log`` at decision times.

    Parameters
    ----------
    log : TrackLog
        Track snapshots (tentative and confirmed).
    regions : mapping id -> Region
        Regions for which P(impact in region) is computed.
    hits : (R,) int array, optional
        Reports associated with each logged track (``TrackerResult.hits``); 0 if absent (a
        policy with ``min_updates > 0`` then never fires).
    step : float
        Decision interval [s]: decision times are the log epochs on a ``step`` grid.
    t_start : float
        First decision time considered [s].
    model : Ballistic, optional
        Model flown to the ground (default ``Ballistic()``: J2, rotation, no drag).
    method : "linear" or "unscented"
        Propagation of the uncertainty (:func:`trackers.impact.predict.predict_impact`).
    propagation : "fast" or "reference"
        Integrator to the ground (:func:`~trackers.impact.predict.predict_impact`).

    Returns
    -------
    ImpactLog
        One row per (run, decision time, track), plus placeholders for empty decision times.
    """
    if not isinstance(log, TrackLog):
        raise TypeError(f"log must be a TrackLog, got {type(log).__name__}")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a finite number of seconds > 0, got {step!r}")
    model = Ballistic() if model is None else model
    epochs = np.asarray(log.epochs, float)
    on_grid = np.abs(epochs / step - np.round(epochs / step)) < 1e-6
    dec = epochs[on_grid & (epochs >= t_start)]
    sel = np.flatnonzero(np.isin(log.epoch, dec))
    hits_all = np.zeros(log.n_rows, np.int64) if hits is None else np.asarray(hits)
    R = sel.size
    lat = np.full(R, np.nan)
    lon = np.full(R, np.nan)
    t_imp = np.full(R, np.nan)
    cov = np.full((R, 2, 2), np.nan)
    p_reg = {rid: np.zeros(R) for rid in regions}
    if R:
        g = Gaussian(log.x[sel], log.P[sel])
        pred = predict_impact(g, model, log.t[sel], method=method, propagation=propagation)
        ok = pred.valid & np.all(np.isfinite(pred.cov_ground), axis=(-1, -2))
        lat[ok], lon[ok], t_imp[ok] = pred.lat[ok], pred.lon[ok], pred.t_impact[ok]
        cov[ok] = pred.cov_ground[ok]
        if ok.any():
            for rid, region in regions.items():
                p_reg[rid][ok] = prob_in_region(
                    region, pred.lat[ok], pred.lon[ok], pred.mean_enu[ok], pred.cov_ground[ok]
                )
    # placeholders: (run, decision time) pairs without any row
    occupied = np.zeros((log.runs, dec.size), bool)
    occupied[log.run[sel], np.searchsorted(dec, log.epoch[sel])] = True
    ph_r, ph_j = np.nonzero(~occupied)
    nph = ph_r.size
    ph_run, ph_t = ph_r.astype(np.int64), dec[ph_j]

    def cat(a: NDArray, fill: float | int, dtype=None) -> NDArray:
        tail = np.full((nph, *a.shape[1:]), fill, dtype=dtype or a.dtype)
        return np.concatenate([a, tail])

    out = ImpactLog(
        run=np.concatenate([log.run[sel].astype(np.int64), ph_run]),
        t=np.concatenate([log.epoch[sel], ph_t]),
        track=np.concatenate([log.track[sel], np.full(nph, -1, np.int64)]),
        label=cat(log.label[sel].astype(np.int64), 0),
        status=cat(log.status[sel].astype(np.int64), 0),
        track_age_s=cat(log.epoch[sel] - log.born[sel], 0.0),
        n_updates=cat(hits_all[sel].astype(np.int64), 0),
        t_impact=cat(t_imp, np.nan),
        lat=cat(lat, np.nan),
        lon=cat(lon, np.nan),
        cov_ground=cat(cov, np.nan),
        p_region={rid: cat(p, 0.0) for rid, p in p_reg.items()},
    )
    order = np.lexsort((out.track, out.t, out.run))
    # each field keeps its own kind (array, or dict of arrays for p_region), which the checker
    # cannot follow through a splatted generator: arg-type ignored
    return ImpactLog(*(a[order] if isinstance(a, np.ndarray) else  # type: ignore[arg-type]
                       {k: v[order] for k, v in a.items()} for a in out))  # fmt: skip
