"""Built-in experiment kinds: ``reentry`` and ``ballistic-radar`` (per-run filter metrics).

Both evaluate every filter of the inner ``filter`` axis on the same simulated runs and return,
per run i and filter, with e_k = x_k - x_hat_k|k at the T report times:

    pos_rmse      sqrt( (1/T) sum_k |e_k,pos|^2 )
    anees_pos     (1/T) sum_k e_k,pos' P_k,pos^-1 e_k,pos / n_pos      (1 if consistent)
    anees_state   the same over the whole state, divided by n
    nis_ratio     sum_k NIS_k / sum_k m_k over the detected reports     (1 if consistent)
    final_pos_err |e_T,pos|

The mean of ``anees_*`` over runs is the ANEES of Bar-Shalom, Li & Kirubarajan (2001, §5.4);
the root mean square of ``pos_rmse`` over runs is the usual Monte Carlo RMSE.

``reentry``: the Athans / Julier & Uhlmann reentry vehicle (:mod:`trackers.models.reentry`),
as in ``benchmarks/reentry.py``: x0 ~ N(m0, diag(1e-6, 1e-6, 1e-6, 1e-6, 0)), Euler truth with
process noise of PSD (2.4064e-5, 2.4064e-5, 0) / 0.1 on (x3, x4, x5), range/bearing reports
every 0.1 s; the filters start at [6500.4, 349.14, -1.8093, -6.7967, 0] with
P0 = diag(1e-6, 1e-6, 1e-6, 1e-6, 1) (units km, km/s). Variants ``ekfukf`` (bearing sigma
0.17 mrad, one Euler step per report) and ``stress`` (17 mrad, two steps). Streams: 0 initial
state, 1 process noise, 2 measurement noise.

``ballistic-radar``: the ``rv`` object of a simulated scenario flight (default hokkaido-2023)
over a midcourse window ``[t_start_s, t_end_s]``, detected by preset radars through
:func:`trackers.sensors.observe` (Swerling-1 detection at the rv's RCS, no clutter, no
merging, no latency: the filter is fed the rv's own detections at their measurement times).
The report grid is every scan of every radar at which the rv is visible, ordered by (time,
radar); a missed detection is a NaN report (prediction only). Each filter is a ballistic
EKF/UKF/CKF (:class:`trackers.models.Ballistic`, J2 + rotation, white-acceleration PSD ``q``)
started from x0 ~ N(x_true(t_start), P0), P0 = diag(sigma_pos0^2 I, sigma_vel0^2 I).
Streams: 0 detections (``observe`` with ``chunk_runs=1``: run i draws from spawn key (0, i)),
1 prior error.

References
----------
S. J. Julier, J. K. Uhlmann, "Unscented filtering and nonlinear estimation", Proc. IEEE 92(3),
401-422, 2004, §VI (reentry problem).
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §5.4 (NEES, NIS), §10.3 (EKF).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from trackers.filters import CKF, EKF, UKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, Summary, run
from trackers.studies.registry import Metric, Param, register_kind
from trackers.studies.seeds import stacked_normal, stream_parent

__all__ = ["ballistic_radar_kind", "reentry_data", "reentry_kind"]

FILTERS = {"EKF": EKF, "UKF": UKF, "CKF": CKF}

_COMMON_METRICS = {
    "pos_rmse_m": Metric("m", "per-run position RMSE over the report times", pooled="rms"),
    "anees_pos": Metric("1", "per-run mean position NEES / n_pos (1 if consistent)"),
    "anees_state": Metric("1", "per-run mean state NEES / n (1 if consistent)"),
    "nis_ratio": Metric("1", "sum of NIS / sum of measurement dims over detections"),
    "final_pos_err_m": Metric("m", "position error at the last report", pooled="rms"),
}


def _metrics(
    res: Summary, truth_final: NDArray, pos: slice, n: int, dof_sum: NDArray, scale: float
) -> dict[str, NDArray]:
    """Per-run metric columns from a ``keep="final"`` :class:`Summary`; lengths in ``scale`` m."""
    s = res.stats
    assert s.sq_err_sum is not None and s.nees_sum is not None  # run(..., truth=...) given
    T = res.t.shape[0]
    n_pos = pos.stop - pos.start
    err_T = res.final_gaussian.mean[..., pos] - truth_final[..., pos]  # e_T,pos
    with np.errstate(invalid="ignore", divide="ignore"):
        nis_ratio = s.nis_sum / dof_sum  # sum NIS / sum m
    return {
        "pos_rmse_m": scale * np.sqrt(s.sq_err_sum[:, pos].sum(-1) / T),
        "anees_pos": s.nees_sum["pos"] / (T * n_pos),
        "anees_state": s.nees_sum["state"] / (T * n),
        "nis_ratio": np.where(dof_sum > 0, nis_ratio, np.nan),
        "final_pos_err_m": scale * np.linalg.norm(err_T, axis=-1),
    }


def _frame(runs: range, filters: list[str], cols: list[dict[str, NDArray]]) -> pd.DataFrame:
    """Rows (filter-major, then run) with columns run, filter, metrics."""
    parts = [
        pd.DataFrame({"run": np.arange(runs.start, runs.stop), "filter": name, **c})
        for name, c in zip(filters, cols, strict=True)
    ]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- reentry
_RE_VARIANTS = {"ekfukf": (0.17e-3, 1), "stress": (17e-3, 2)}  # (sigma_bearing [rad], substeps)
_RE_DT = 0.1  # report interval [s]
_RE_TRUE_M0 = np.array([6500.4, 349.14, -1.8093, -6.7967, 0.6932])  # km, km/s, 1
_RE_TRUE_SD0 = np.sqrt([1e-6, 1e-6, 1e-6, 1e-6, 0.0])
_RE_QC = np.array([2.4064e-5, 2.4064e-5, 0.0]) / 0.1  # PSD of (v1, v2, v3)
_RE_M0 = np.array([6500.4, 349.14, -1.8093, -6.7967, 0.0])
_RE_P0 = np.diag([1e-6, 1e-6, 1e-6, 1e-6, 1.0])


def reentry_data(
    config: dict[str, Any], runs: range, seed: np.random.SeedSequence
) -> tuple[MeasurementStream, NDArray, Any]:
    """Simulated reentry runs: (measurement stream, truth ``(N, T, 5)``, radar model)."""
    from trackers.models.reentry import ReentryMotion, ReentryRadar

    sigma_b, sub = _RE_VARIANTS[config["variant"]]
    T = round(config["horizon_s"] / _RE_DT)
    N = len(runs)
    h = _RE_DT / sub
    truth_model = ReentryMotion(substeps=1)
    radar = ReentryRadar(sigma_bearing=sigma_b)
    w0 = stacked_normal(seed, 0, runs, (5,))  # initial-state draws
    wq = stacked_normal(seed, 1, runs, (T * sub, 3))  # process-noise draws
    wr = stacked_normal(seed, 2, runs, (T, 2))  # measurement-noise draws
    x = _RE_TRUE_M0 + w0 * _RE_TRUE_SD0  # x0 ~ N(m0, P0_true)
    X = np.empty((N, T, 5))
    for k in range(T):  # time loop, all runs at once
        for j in range(sub):
            x = truth_model.propagate(x, h)  # one Euler step
            x[:, 2:] += wq[:, k * sub + j] * np.sqrt(h * _RE_QC)  # + N(0, Qc h)
        X[:, k] = x
    Z = radar.measure(X) + wr * np.sqrt(np.diag(radar.noise_cov()))  # z = h(x) + v
    return MeasurementStream(_RE_DT * np.arange(1, T + 1), np.zeros(T, dtype=int), Z), X, radar


@register_kind(
    "reentry",
    params={
        "variant": Param(
            str, "ekfukf", "ekfukf (0.17 mrad) or stress (17 mrad)", choices=tuple(_RE_VARIANTS)
        ),
        "horizon_s": Param(float, 200.0, "reports every 0.1 s up to this time [s]", minimum=0.2),
        "filter": Param(
            list,
            ["EKF", "UKF", "CKF"],
            "filters compared on the same runs",
            choices=tuple(FILTERS),
            inner=True,
        ),
    },
    metrics=_COMMON_METRICS,
)
def reentry_kind(config: dict[str, Any], runs: range, seed: np.random.SeedSequence) -> pd.DataFrame:
    """Julier & Uhlmann reentry vehicle: per-run RMSE / ANEES of EKF, UKF, CKF (km units)."""
    from trackers.models.reentry import ReentryMotion

    stream, X, radar = reentry_data(config, runs, seed)
    N, T = X.shape[:2]
    model = ReentryMotion()
    dof = np.full(N, 2.0 * T)
    cols = []
    for name in config["filter"]:  # inner axis: same runs for every filter
        res = run(
            Filter(FILTERS[name](), model),
            Gaussian(np.broadcast_to(_RE_M0, (N, 5)), np.broadcast_to(_RE_P0, (N, 5, 5))),
            stream,
            [radar],
            keep="final",
            truth=X,
            nees_groups={"pos": (0, 1), "state": tuple(range(5))},
        )
        assert isinstance(res, Summary)  # keep="final"
        cols.append(_metrics(res, X[:, -1], slice(0, 2), 5, dof, scale=1000.0))
    return _frame(runs, config["filter"], cols)


# ------------------------------------------------------------------ ballistic-radar
@functools.lru_cache(maxsize=8)
def _radar_case(
    scenario: str,
    radar_ids: tuple[str, ...],
    t_start: float,
    t_end: float,
    rate_hz: float,
) -> tuple[Any, tuple, NDArray, NDArray, NDArray, list[NDArray]]:
    """Windowed rv trajectory, radars and the report grid (cached per process).

    Returns (rv object restricted to the window, radars, grid times (T,), grid sensor
    indices (T,), truth (T, 6), per radar the grid indices of its reports).
    """
    from trackers.sensors import load_radars, sensors_for_scenario
    from trackers.sensors.visibility import geometry
    from trackers.sim import load_scenario, simulate
    from trackers.sim.truth import ObjectTrajectory

    sc = load_scenario(scenario)
    flight = simulate(sc, rate_hz=rate_hz)
    rv = flight.object("rv")
    if not rv.t_start <= t_start < t_end <= rv.t_end:
        raise ValueError(
            f"config.t_start_s, t_end_s = {t_start}, {t_end}: expected "
            f"{rv.t_start} <= t_start_s < t_end_s <= {rv.t_end:.1f} (the rv's flight)"
        )
    i0 = max(int(np.searchsorted(rv.t, t_start, side="right")) - 1, 0)
    i1 = min(int(np.searchsorted(rv.t, t_end, side="left")) + 1, len(rv.t))
    boost = np.char.startswith(np.asarray(rv.phase[i0:i1]).astype(str), "boost")
    if boost.any():
        raise ValueError(
            f"config.t_start_s = {t_start}: the rv is still boosting at "
            f"{rv.t[i0:i1][boost][-1]:.1f} s; start the window after the last burnout"
        )
    part = ObjectTrajectory(
        id=rv.id, role=rv.role, parent=None, created_by="launch",
        **{k: getattr(rv, k)[i0:i1] for k in
           ("t", "r", "v", "a", "lat", "lon", "alt", "phase", "mass", "beta")},
    )  # fmt: skip
    radars = load_radars(list(radar_ids)) if radar_ids else sensors_for_scenario(sc)[0]
    t_all, s_all = [], []
    for s, radar in enumerate(radars):
        ts = radar.scan_times(t_start, t_end)
        vis = geometry(radar, part.state_at(ts)).visible  # rv visible at the scan
        t_all.append(ts[vis])
        s_all.append(np.full(int(vis.sum()), s))
    t_grid, s_grid = np.concatenate(t_all), np.concatenate(s_all)
    if t_grid.size == 0:
        raise ValueError(f"config.radars: no radar of {[r.id for r in radars]} sees the rv "
                         f"in [{t_start}, {t_end}] s")  # fmt: skip
    order = np.lexsort((s_grid, t_grid))  # by time, then radar order
    t_grid, s_grid = t_grid[order], s_grid[order]
    idx = [np.flatnonzero(s_grid == s) for s in range(len(radars))]
    return part, tuple(radars), t_grid, s_grid, part.state_at(t_grid), idx


@register_kind(
    "ballistic-radar",
    params={
        "scenario": Param(str, "hokkaido-2023", "built-in scenario id or TOML path"),
        "radars": Param(list, [], "preset radar ids (empty: the scenario's [sensors] radars)"),
        "t_start_s": Param(float, 300.0, "window start [s since epoch], after burnout"),
        "t_end_s": Param(float, 900.0, "window end [s since epoch]"),
        "q": Param(float, 0.05, "filter white-acceleration PSD [m^2/s^3]", minimum=0.0),
        "sigma_pos0_m": Param(float, 1000.0, "prior position 1-sigma per axis [m]", minimum=0.0),
        "sigma_vel0_mps": Param(float, 20.0, "prior velocity 1-sigma per axis [m/s]", minimum=0.0),
        "rcs_m2": Param(float, 0.05, "rv mean radar cross section [m^2]", minimum=0.0),
        "truth_rate_hz": Param(
            float, 1.0, "flight sample rate [Hz] (Hermite interpolated)", minimum=0.01
        ),
        "filter": Param(
            list,
            ["EKF", "UKF", "CKF"],
            "filters compared on the same runs",
            choices=tuple(FILTERS),
            inner=True,
        ),
    },
    metrics={
        **_COMMON_METRICS,
        "vel_rmse_mps": Metric("m/s", "per-run velocity RMSE over the report times", "rms"),
        "detections": Metric("1", "rv detections used by the filter"),
    },
)
def ballistic_radar_kind(
    config: dict[str, Any], runs: range, seed: np.random.SeedSequence
) -> pd.DataFrame:
    """Ballistic EKF/UKF/CKF on a scenario's rv detections from preset radars."""
    from trackers.models import Ballistic
    from trackers.sensors import observe

    part, radars, t_grid, s_grid, truth, idx = _radar_case(
        config["scenario"],
        tuple(config["radars"]),
        config["t_start_s"],
        config["t_end_s"],
        config["truth_rate_hz"],
    )
    N, T = len(runs), t_grid.size
    det = observe(
        SimpleNamespace(objects=(part,)),
        radars,
        None,
        np.random.default_rng(stream_parent(seed, 0)),  # run i <- spawn key (0, i)
        runs=N,
        rcs={"rv": config["rcs_m2"]},
        clutter=False,
        merge=False,
        chunk_runs=1,
        first_run=runs.start,
    )
    z = np.full((N, T, 4), np.nan)  # NaN row = missed detection
    keep = (det.t_meas >= config["t_start_s"]) & (det.t_meas <= config["t_end_s"])
    for s in range(len(radars)):  # place each radar's detections on its grid reports
        sel = keep & (det.sensor_index == s)
        g = idx[s]
        j = np.searchsorted(t_grid[g], det.t_meas[sel])
        if np.any(j >= g.size) or np.any(t_grid[g][np.minimum(j, g.size - 1)] != det.t_meas[sel]):
            raise RuntimeError("a detection fell off the report grid")  # pragma: no cover
        z[det.run[sel] - runs.start, g[j]] = det.z[sel]
    sensors = [r.measurement_model() for r in radars]
    m = np.array([r.ndim_meas for r in radars])[s_grid]  # measurement dims of each report
    detected = ~np.isnan(z[..., 0])
    dof_sum = (detected * m).sum(-1).astype(float)  # sum_k m_k over detections
    sd0 = np.r_[np.full(3, config["sigma_pos0_m"]), np.full(3, config["sigma_vel0_mps"])]
    x_true0 = part.state_at(config["t_start_s"])
    mean0 = x_true0 + stacked_normal(seed, 1, runs, (6,)) * sd0  # x0 ~ N(x_true, P0)
    P0 = np.diag(sd0**2)
    stream = MeasurementStream(t_grid, s_grid, z)
    truth_b = np.broadcast_to(truth, (N, T, 6))
    cols = []
    for name in config["filter"]:  # inner axis: same detections for every filter
        res = run(
            Filter(FILTERS[name](), Ballistic(q=config["q"])),
            Gaussian(mean0, np.broadcast_to(P0, (N, 6, 6))),
            stream,
            sensors,
            t0=config["t_start_s"],
            keep="final",
            truth=truth_b,
            nees_groups={"pos": (0, 1, 2), "state": tuple(range(6))},
        )
        assert isinstance(res, Summary)  # keep="final"
        assert res.stats.sq_err_sum is not None  # truth given
        c = _metrics(res, truth[-1], slice(0, 3), 6, dof_sum, scale=1.0)
        c["vel_rmse_mps"] = np.sqrt(res.stats.sq_err_sum[:, 3:6].sum(-1) / T)
        c["detections"] = detected.sum(-1).astype(float)
        cols.append(c)
    return _frame(runs, config["filter"], cols)
