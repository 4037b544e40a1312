"""Scores of an alert policy over Monte Carlo runs: false / missed alerts, lead time, duration.

Per region, with N runs of which N_hit truly impact inside the region:

    false-alert rate   = #{runs not hitting the region with an alert issued} / (N - N_hit)
    missed-alert rate  = #{runs hitting the region with no alert issued before impact} / N_hit
    lead time          = t_impact - t_issued      (hitting runs alerted before impact) [s]
    alert duration     = t_end - t_issued     (every alerted run) [s], t_end = t_cancelled,
                         or max(t_impact, t_issued) for an alert never cancelled

The missed-alert rate above counts a run as warned once an alert was *issued* before impact,
even if it was cancelled before the missile arrived. For the residents a withdrawn true alert
is a miss, so the scores also state what is in force at the reference time
t_ref = t_impact - H (H the lead-time horizon, default 0: at impact), over every alert
episode of the run (issued at t_i, cancelled at t_c or never):

    in force at t_ref  <=>  some episode has t_i <= t_ref < t_c
    in-force rate      = #{hitting runs with an alert in force at t_ref} / N_hit
    withdrawn rate     = #{hitting runs alerted at or before t_ref, none in force at t_ref} / N_hit
    missed-in-force    = 1 - in-force rate  (never alerted by t_ref, or withdrawn)

and for the false alerts (runs not hitting the region that alerted): whether the alert was
withdrawn before the true impact (not in force at t_impact) and its total duration, the sum
over its episodes of t_end - t_i (t_end as above).

Rates carry Wilson score intervals (Wilson 1927; Brown, Cai & DasGupta 2001, eq. 4):

    centre = (k + z^2 / 2) / (n + z^2),
    half   = z sqrt(n) / (n + z^2) * sqrt(p (1 - p) + z^2 / (4 n)),      p = k / n,

with z the (1 + confidence) / 2 normal quantile (1.95996 for 95 %). Lead time and duration are
summarised by quantiles and a distribution-free confidence interval for the median from order
statistics, [x_(l), x_(u)] with l, u the binomial(n, 1/2) quantiles (Conover 1999, §3.2).

References
----------
E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
J. Amer. Statist. Assoc. 22, 209-212, 1927.
L. D. Brown, T. T. Cai, A. DasGupta, "Interval estimation for a binomial proportion",
Statistical Science 16(2), 101-133, 2001.
W. J. Conover, *Practical Nonparametric Statistics*, 3rd ed., Wiley 1999, §3.2.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binom, norm

from trackers.impact.alerts import AlertTimeline, ImpactLog, ProbabilisticPolicy, alert_timeline
from trackers.impact.regions import Region

__all__ = [
    "QUANTILES",
    "AlertScores",
    "ThresholdSweep",
    "median_ci",
    "score_alerts",
    "threshold_sweep",
    "wilson_interval",
]

#: Quantile levels reported for lead time and duration.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def wilson_interval(
    k: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[NDArray, NDArray]:
    """Wilson score interval (lo, hi) for k successes in n trials, shape ``broadcast(k, n)``.

    NaN where n == 0.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a value in (0, 1), got {confidence}")
    if (k < 0).any() or (n < 0).any() or (k > n).any():
        raise ValueError(f"k, n: expected 0 <= k <= n, got k={k}, n={n}")
    z = norm.ppf(0.5 * (1.0 + confidence))  # two-sided normal quantile
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n  # observed proportion
        centre = (k + 0.5 * z * z) / (n + z * z)  # (k + z^2/2) / (n + z^2)
        half = z * np.sqrt(n) / (n + z * z) * np.sqrt(p * (1 - p) + z * z / (4 * n))
    return centre - half, centre + half


def median_ci(x: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median of sample ``x`` (order statistics); NaN if too few."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        return np.nan, np.nan
    a = 0.5 * (1.0 - confidence)
    lo = int(binom.ppf(a, n, 0.5))  # rank l (1-based) with P(B < l) <= a
    hi = int(binom.ppf(1.0 - a, n, 0.5)) + 1  # rank u with P(B >= u) <= a
    return (float(x[lo - 1]) if lo >= 1 else np.nan, float(x[hi - 1]) if hi <= n else np.nan)


class AlertScores(NamedTuple):
    """Scores of one alert timeline against the truth (see the module docstring).

    Attributes
    ----------
    region_id : str
    n_runs, n_hit : int
        Runs, and runs whose true impact is in the region.
    n_false, n_missed : int
        False alerts (among ``n_runs - n_hit``) and missed alerts (among ``n_hit``).
    false_alert_rate, missed_alert_rate : float
        n_false / (n_runs - n_hit), n_missed / n_hit (NaN for an empty denominator).
    false_alert_ci, missed_alert_ci : (2,) arrays
        Wilson score intervals.
    lead_time : (L,) array
        Lead times of the timely alerts [s].
    lead_time_quantiles : (len(QUANTILES),) array
        Their quantiles [s] (NaN if none).
    lead_time_median_ci : (2,) array
        Order-statistic CI of the median lead time [s].
    duration : (D,) array
        Durations of the alerts issued [s].
    duration_quantiles : (len(QUANTILES),) array
    duration_median_ci : (2,) array
    horizon_s : float
        Lead-time horizon H [s] of the in-force scores (t_ref = t_impact - H).
    n_in_force, n_withdrawn : int
        Hitting runs with an alert in force at t_ref; hitting runs alerted at or before t_ref
        with none in force then (withdrawn).
    in_force_rate, withdrawn_rate, missed_in_force_rate : float
        n_in_force / n_hit, n_withdrawn / n_hit, 1 - in_force_rate (NaN if n_hit = 0).
    in_force_ci, withdrawn_ci, missed_in_force_ci : (2,) arrays
        Wilson score intervals.
    n_false_withdrawn : int
        False alerts withdrawn before the true impact.
    false_withdrawn_rate : float
        n_false_withdrawn / n_false (NaN if no false alert).
    false_withdrawn_ci : (2,) array
    false_duration : (n_false,) array
        Total time under alert of each false-alerted run [s] (all its episodes).
    false_withdrawn : (n_false,) bool array
        Each false alert withdrawn before the true impact.
    """

    region_id: str
    n_runs: int
    n_hit: int
    n_false: int
    n_missed: int
    false_alert_rate: float
    false_alert_ci: NDArray
    missed_alert_rate: float
    missed_alert_ci: NDArray
    lead_time: NDArray
    lead_time_quantiles: NDArray
    lead_time_median_ci: NDArray
    duration: NDArray
    duration_quantiles: NDArray
    duration_median_ci: NDArray
    horizon_s: float = 0.0
    n_in_force: int = 0
    n_withdrawn: int = 0
    in_force_rate: float = np.nan
    in_force_ci: NDArray = np.full(2, np.nan)
    withdrawn_rate: float = np.nan
    withdrawn_ci: NDArray = np.full(2, np.nan)
    missed_in_force_rate: float = np.nan
    missed_in_force_ci: NDArray = np.full(2, np.nan)
    n_false_withdrawn: int = 0
    false_withdrawn_rate: float = np.nan
    false_withdrawn_ci: NDArray = np.full(2, np.nan)
    false_duration: NDArray = np.zeros(0)
    false_withdrawn: NDArray = np.zeros(0, bool)


def _episodes(tl: AlertTimeline) -> tuple[NDArray, NDArray, NDArray]:
    """(run index into tl.runs, issue time, cancellation time or +inf) of every episode.

    Timelines without the episode arrays (hand-built) give their first alert only.
    """
    if tl.episode_run is not None and tl.episode_issued is not None:
        canc = tl.episode_cancelled
        canc = np.full(len(tl.episode_issued), np.nan) if canc is None else canc
        iss = np.asarray(tl.episode_issued, float)
        can = np.asarray(canc, float)
        return np.asarray(tl.episode_run, np.int64), iss, np.where(np.isfinite(can), can, np.inf)
    row = np.flatnonzero(np.isfinite(tl.issued))
    can = np.asarray(tl.cancelled, float)[row]
    return row, np.asarray(tl.issued, float)[row], np.where(np.isfinite(can), can, np.inf)


def _rate(k: int, n: int, confidence: float) -> tuple[float, NDArray]:
    """k / n (NaN if n = 0) and its Wilson interval."""
    lo, hi = wilson_interval(k, n, confidence)
    return (k / n if n else np.nan), np.array([lo, hi], dtype=float)


def _quantiles(x: NDArray) -> NDArray:
    return np.quantile(x, QUANTILES) if x.size else np.full(len(QUANTILES), np.nan)


def score_alerts(
    timeline: AlertTimeline,
    truth_hit: ArrayLike,
    t_impact_true: ArrayLike,
    confidence: float = 0.95,
    horizon_s: float = 0.0,
) -> AlertScores:
    """Score ``timeline`` against the true outcome of each run.

    Parameters
    ----------
    timeline : AlertTimeline
        Output of :func:`trackers.impact.alerts.alert_timeline` (N runs).
    truth_hit : (N,) bool array
        True impact point inside the region, per run (same order as ``timeline.runs``).
    t_impact_true : (N,) float array
        True impact time [s].
    confidence : float
        Level of the intervals.
    horizon_s : float
        Lead-time horizon H [s] >= 0: the in-force scores look at t_impact - H.
    """
    if not (np.isfinite(horizon_s) and horizon_s >= 0):
        raise ValueError(f"horizon_s: expected a finite number of seconds >= 0, got {horizon_s}")
    if not isinstance(timeline, AlertTimeline):
        raise TypeError(f"timeline: expected an AlertTimeline, got {type(timeline).__name__}")
    hit = np.asarray(truth_hit, dtype=bool)
    t_imp = np.asarray(t_impact_true, dtype=float)
    n = timeline.runs.size
    for name, v in (("truth_hit", hit), ("t_impact_true", t_imp)):
        if v.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n},) (one per run), got {v.shape}")
    alerted = np.isfinite(timeline.issued)
    timely = alerted & (timeline.issued < t_imp)  # issued before the true impact
    n_hit = int(hit.sum())
    n_false = int((alerted & ~hit).sum())
    n_missed = int((hit & ~timely).sum())
    fa_lo, fa_hi = wilson_interval(n_false, n - n_hit, confidence)
    ma_lo, ma_hi = wilson_interval(n_missed, n_hit, confidence)
    lead = (t_imp - timeline.issued)[hit & timely]
    # End of an alert: its cancellation, else the true impact (a late alert lasts 0 s).
    end = np.where(
        np.isfinite(timeline.cancelled), timeline.cancelled, np.fmax(t_imp, timeline.issued)
    )
    duration = (end - timeline.issued)[alerted]
    with np.errstate(invalid="ignore", divide="ignore"):
        fa_rate = n_false / (n - n_hit) if n > n_hit else np.nan
        ma_rate = n_missed / n_hit if n_hit else np.nan
    # in force at t_ref = t_impact - H: some episode with t_i <= t_ref < t_c
    ep_row, ep_iss, ep_can = _episodes(timeline)
    t_ref = t_imp - horizon_s
    act = (ep_iss <= t_ref[ep_row]) & (ep_can > t_ref[ep_row])
    in_force = np.bincount(ep_row[act], minlength=n) > 0
    by_ref = np.bincount(ep_row[ep_iss <= t_ref[ep_row]], minlength=n) > 0  # alerted by t_ref
    n_in_force = int((hit & in_force).sum())
    n_withdrawn = int((hit & by_ref & ~in_force).sum())
    in_rate, in_ci = _rate(n_in_force, n_hit, confidence)
    wd_rate, wd_ci = _rate(n_withdrawn, n_hit, confidence)
    mf_rate, mf_ci = _rate(n_hit - n_in_force, n_hit, confidence)
    # false alerts: withdrawn before the true impact? total time under alert (all episodes)
    act_imp = (ep_iss <= t_imp[ep_row]) & (ep_can > t_imp[ep_row])
    in_force_imp = np.bincount(ep_row[act_imp], minlength=n) > 0
    ep_end = np.where(np.isfinite(ep_can), ep_can, np.fmax(t_imp[ep_row], ep_iss))
    total = np.bincount(ep_row, weights=ep_end - ep_iss, minlength=n)  # sum of t_end - t_i
    false_runs = alerted & ~hit
    false_wd = ~in_force_imp[false_runs]
    n_false_wd = int(false_wd.sum())
    fw_rate, fw_ci = _rate(n_false_wd, n_false, confidence)
    return AlertScores(
        timeline.region_id,
        n,
        n_hit,
        n_false,
        n_missed,
        fa_rate,
        np.array([fa_lo, fa_hi]),
        ma_rate,
        np.array([ma_lo, ma_hi]),
        lead,
        _quantiles(lead),
        np.array(median_ci(lead, confidence)),
        duration,
        _quantiles(duration),
        np.array(median_ci(duration, confidence)),
        float(horizon_s),
        n_in_force,
        n_withdrawn,
        in_rate,
        in_ci,
        wd_rate,
        wd_ci,
        mf_rate,
        mf_ci,
        n_false_wd,
        fw_rate,
        fw_ci,
        total[false_runs],
        false_wd,
    )


class ThresholdSweep(NamedTuple):
    """Trade-off curve of :class:`ProbabilisticPolicy` over its threshold (M thresholds).

    Attributes
    ----------
    thresholds : (M,) array
    false_alert_rate, missed_alert_rate : (M,) arrays
    false_alert_ci, missed_alert_ci : (M, 2) arrays
        Wilson intervals.
    lead_time_median : (M,) array
        Median lead time [s] (NaN: no timely alert).
    scores : tuple[AlertScores, ...]
        Full scores per threshold.
    """

    thresholds: NDArray
    false_alert_rate: NDArray
    missed_alert_rate: NDArray
    false_alert_ci: NDArray
    missed_alert_ci: NDArray
    lead_time_median: NDArray
    scores: tuple[AlertScores, ...]


def threshold_sweep(
    log: ImpactLog,
    region: Region | str,
    truth_hit: ArrayLike,
    t_impact_true: ArrayLike,
    thresholds: ArrayLike | None = None,
    base: ProbabilisticPolicy | None = None,
    confidence: float = 0.95,
) -> ThresholdSweep:
    """Scores of ``base`` with each threshold (default 1e-6 ... 1e-1, 11 log-spaced values).

    ``truth_hit`` and ``t_impact_true`` are per run, in ascending run id (the order of
    :class:`~trackers.impact.alerts.AlertTimeline`).
    """
    th = np.logspace(-6, -1, 11) if thresholds is None else np.asarray(thresholds, dtype=float)
    if th.ndim != 1 or th.size == 0:
        raise ValueError(f"thresholds: expected a non-empty 1-D array, got shape {th.shape}")
    base = ProbabilisticPolicy() if base is None else base
    scores = tuple(
        score_alerts(
            alert_timeline(log, replace(base, threshold=float(x)), region),
            truth_hit,
            t_impact_true,
            confidence,
        )
        for x in th
    )
    return ThresholdSweep(
        th,
        np.array([s.false_alert_rate for s in scores]),
        np.array([s.missed_alert_rate for s in scores]),
        np.array([s.false_alert_ci for s in scores]),
        np.array([s.missed_alert_ci for s in scores]),
        np.array([s.lead_time_quantiles[QUANTILES.index(0.5)] for s in scores]),
        scores,
    )
