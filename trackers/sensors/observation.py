"""Radar network observation of a simulated flight: detections, false alarms, merging, latency.

For every radar, at its scan instants ``t_k = phase + k T`` (over the flight's time span):

1. **Geometry** (once, shared by all Monte Carlo draws): interpolate each object's state
   (cubic Hermite, :meth:`ObjectTrajectory.state_at`), compute the truth measurement and
   visibility (:mod:`.visibility`), and the mean SNR from the radar equation

       SNR = SNR_ref (R_ref / R)^4 (sigma_RCS / 1 m^2)                  (Skolnik 2001, ch. 2)

2. **Resolution**: visible objects of one scan whose range difference is below the range
   cell and whose line-of-sight angle is below the beamwidth are unresolved; connected groups
   form one cell (transitive closure).

3. **Detection** (Swerling 1, square-law detector, noise power normalised to 1): the complex
   echo is y = sum_i a_i + n with a_i ~ CN(0, SNR_i), n ~ CN(0, 1), so |y|^2 is exponential
   with mean 1 + sum SNR_i. The threshold T = -ln Pfa gives Pfa on noise alone and

       Pd = P(|y|^2 > T) = exp(-T / (1 + SNR)) = Pfa^(1 / (1 + SNR))      (single object)

   (Skolnik 2001, ch. 2; M. A. Richards, *Fundamentals of Radar Signal Processing*, 2005, ch. 6).
   A lone object is detected iff U < Pd with U ~ Uniform[0, 1) drawn in float32 (the same
   event as (1 + SNR) E > T, E ~ Exp(1); Pd resolved to 2^-24 ~ 6e-8, cheaper to draw).
   A merged cell draws the complex amplitudes (:func:`swerling1_cell`) and reports the
   power-weighted centroid z = sum |a_i|^2 z_i / sum |a_i|^2
   (azimuth averaged as wrapped differences from the first member), tagged ``"a+b"``.

4. **Noise**: z = z_true + diag(sigma) w, w ~ N(0, I); azimuth wrapped to [0, 2 pi).

5. **False alarms**: N ~ Poisson(false_alarms_per_scan) per scan, uniform in
   range x azimuth x elevation over the surveillance volume
   ``[min_range, max_range] x [boresight +- half_width] x [el_min, el_max]`` and range-rate
   uniform on ``[-max_range_rate, max_range_rate]``; tagged ``"clutter"``.

6. **Latency** (:mod:`.links`): one draw per scan message and link on the radar's path to the
   consumer; a radar's messages stay in order (FIFO).

All random draws have a leading runs axis; the runs are processed in chunks of
``chunk_runs`` (memory). Chunk c (runs ``[c B, (c + 1) B)``) draws, in a fixed order (radar,
step), from its own stream: child c of ``rng.spawn`` (numpy SeedSequence spawning), so a
chunk's draws depend only on the seed, c and B. Same seed, same inputs, same ``chunk_runs``
-> identical output, and runs ``[a, b)`` computed alone (``first_run=a``, a multiple of B)
are bit-identical to the same runs of one big call (serial or distributed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trackers.models.base import wrap_angle
from trackers.sensors.detections import CLUTTER, Detections
from trackers.sensors.links import Network, load_network
from trackers.sensors.radar import Radar
from trackers.sensors.visibility import K_REFRACTION, check_refraction_factor, geometry

TWO_PI = 2.0 * math.pi

#: Default mean radar cross sections [m^2] (assumptions; aspect-independent, X/L/S alike).
#: Lookup order for an object: its id, its role, the role's prefix before "-" ("stage-2" ->
#: "stage"). "boost" overrides while the object is still the launched stack: in a boost
#: phase, and before its last separation (the coasts between stages and the burnout ->
#: separation delay, when the ``rv`` object still carries its spent and upper stages).
DEFAULT_RCS: dict[str, float] = {
    "boost": 10.0,  # the whole stack (several m^2 of body, plus plume while burning)
    "rv": 0.05,  # conical reentry vehicle, nose-on to side: 0.01-0.1 m^2
    "stage": 5.0,  # tumbling spent stage: several m^2
    "debris": 0.01,  # small separation debris
}


def rcs_of(
    obj,
    t: NDArray,
    table: Mapping[str, float] | None = None,
    stack_until: float = -math.inf,
) -> NDArray[np.float64]:
    """Mean RCS [m^2] of one object at times ``t`` ``(K,)``; see :data:`DEFAULT_RCS`.

    ``stack_until`` [s]: time of the object's last separation (:func:`stack_end`); before
    it the object is the whole stack and gets the ``"boost"`` RCS, as in a boost phase.
    """
    table = DEFAULT_RCS if table is None else table
    base = None
    for key in (obj.id, obj.role, str(obj.role).split("-")[0]):
        if key in table:
            base = float(table[key])
            break
    if base is None:
        raise ValueError(
            f"no RCS for object {obj.id!r} (role {obj.role!r}); rcs table keys {sorted(table)}"
        )
    out = np.full(np.shape(t), base)
    if "boost" in table:
        i = np.clip(np.searchsorted(obj.t, t, side="right") - 1, 0, len(obj.t) - 1)
        phase = np.asarray(obj.phase).astype(str)[i]
        stack = np.char.startswith(phase, "boost") | (np.asarray(t) < stack_until)
        out = np.where(stack, float(table["boost"]), out)
    if np.any(out < 0) or not np.all(np.isfinite(out)):
        raise ValueError(f"RCS of object {obj.id!r} must be finite and >= 0")
    return out


def stack_end(flight, obj) -> float:
    """Time [s] of the last separation from ``obj`` (its spent stages' first samples), or -inf.

    Until then ``obj`` still carries stages (the ``rv`` object is the launched stack).
    """
    return max(
        (float(o.t[0]) for o in flight.objects
         if o.parent == obj.id and o.created_by == "separation"),
        default=-math.inf,
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Plan:
    """Draw-independent geometry of one radar (computed once for all runs)."""

    radar: Radar
    sensor: int
    t_scan: NDArray  # (K,)
    # lone visible objects
    s_k: NDArray  # (ns,) scan index
    s_snr: NDArray  # (ns,)
    s_pd: NDArray  # (ns,) float32 Swerling-1 Pd
    s_z: NDArray  # (ns, 4)
    s_origin: NDArray  # (ns,) origin code
    # merged cells
    m_k: NDArray  # (nm,)
    m_snr: NDArray  # (nm, O) 0 for non-members
    m_z: NDArray  # (nm, O, 4)
    m_origin: NDArray  # (nm,)
    m_first: NDArray  # (nm,) index of the first member
    path: tuple


def resolution_groups(z: NDArray, vis: NDArray, u: NDArray, radar: Radar) -> NDArray:
    """Unresolved groups per scan: label ``(K, O)`` = lowest object index in its group.

    Objects i, j of a scan are linked iff both visible, |range_i - range_j| < range_cell and
    the angle between their lines of sight arccos(u_i . u_j) < beamwidth; groups are the
    connected components (transitive closure). Invisible objects get label -1.
    """
    o = vis.shape[1]
    dr = np.abs(z[:, :, None, 0] - z[:, None, :, 0]) < radar.range_cell
    cosang = np.clip(np.einsum("kic,kjc->kij", u, u), -1.0, 1.0)
    close = cosang > math.cos(radar.beamwidth)
    adj = dr & close & vis[:, :, None] & vis[:, None, :]
    adj |= np.eye(o, dtype=bool)[None] & vis[:, :, None]
    for _ in range(max(o - 1, 0).bit_length()):
        adj = np.einsum("kij,kjl->kil", adj.astype(np.int32), adj.astype(np.int32)) > 0
    label = np.where(vis, np.argmax(adj, axis=-1), -1)
    return label


def _plan(radar, sensor, flight, t0, t1, rcs, k_ref, merge, origins, path) -> _Plan:
    objs = flight.objects
    t = radar.scan_times(t0, t1)
    x = np.stack([o.state_at(t) for o in objs], axis=1)  # (K, O, 6)
    g = geometry(radar, x, k_ref)
    vis = g.visible
    rho = np.where(vis, g.z[..., 0], np.inf)
    sig = np.stack([rcs_of(o, t, rcs, stack_end(flight, o)) for o in objs], axis=1)
    snr = np.where(vis, radar.snr(rho, sig), 0.0)
    if merge and len(objs) > 1:
        d = np.where(vis[..., None], x[..., :3] - radar.site_ecef, 0.0)
        u = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        label = resolution_groups(g.z, vis, u, radar)
    else:
        label = np.where(vis, np.arange(len(objs))[None, :], -1)
    o_idx = np.arange(len(objs))
    head = vis & (label == o_idx[None, :])
    members = (label[:, None, :] == o_idx[None, :, None]) & vis[:, None, :]  # (K, head, O)
    size = members.sum(-1)
    lone = head & (size == 1)
    many = head & (size > 1)
    sk, so = np.nonzero(lone)
    mk, mo = np.nonzero(many)
    mmask = members[mk, mo]  # (nm, O)
    m_origin = np.empty(len(mk), np.int32)
    for i in range(len(mk)):
        lab = "+".join(objs[j].id for j in np.flatnonzero(mmask[i]))
        m_origin[i] = origins.setdefault(lab, len(origins))
    s_snr = snr[sk, so]
    return _Plan(
        radar=radar,
        sensor=sensor,
        t_scan=t,
        s_k=sk,
        s_snr=s_snr,
        s_pd=swerling1_pd(s_snr, radar.pfa).astype(np.float32),
        s_z=g.z[sk, so],
        s_origin=so.astype(np.int32),
        m_k=mk,
        m_snr=np.where(mmask, snr[mk], 0.0),
        m_z=np.where(mmask[..., None], g.z[mk], 0.0),
        m_origin=m_origin,
        m_first=mo,
        path=path,
    )


def swerling1_pd(snr: NDArray, pfa: float) -> NDArray[np.float64]:
    """Single-look detection probability of a Swerling-1 target: Pd = Pfa^(1 / (1 + SNR))."""
    return np.power(pfa, 1.0 / (1.0 + np.asarray(snr, float)))


def swerling1_cell(snr: NDArray, rng: np.random.Generator, shape: tuple[int, ...]):
    """Echo powers of unresolved Swerling-1 objects sharing one cell.

    ``snr``: mean SNRs ``(c, O)`` (0 for non-members). Draws complex amplitudes
    a_i ~ CN(0, SNR_i) and receiver noise n ~ CN(0, 1) with leading ``shape`` (runs):

        y = sum_i a_i + n,   |y|^2 ~ (1 + sum_i SNR_i) Exp(1)

    Returns ``(power |y|^2 (*shape, c), member powers |a_i|^2 (*shape, c, O))``.
    """
    c, o = snr.shape
    ga = rng.standard_normal((*shape, c, o, 2))
    gn = rng.standard_normal((*shape, c, 2))
    amp = np.sqrt(snr / 2.0)[..., None] * ga  # re/im parts, each N(0, SNR/2)
    y = amp.sum(axis=-2) + gn / math.sqrt(2.0)
    return (y**2).sum(-1), (amp**2).sum(-1)


def _draw(plan: _Plan, rng: np.random.Generator, nb: int, clutter: bool) -> dict:
    """Random draws of one radar for ``nb`` runs: rows sorted by (run, scan)."""
    radar = plan.radar
    groups = []
    # --- lone objects: Pd = Pfa^(1/(1+SNR)); detect iff U < Pd (U uniform, float32 grid)
    u = rng.random((nb, plan.s_k.size), dtype=np.float32)
    rb, j = np.nonzero(u < plan.s_pd)
    groups.append(dict(run=rb, k=plan.s_k[j], z=plan.s_z[j], origin=plan.s_origin[j]))
    # --- merged cells: y = sum_i a_i + n; detect iff |y|^2 > T = -ln Pfa
    if plan.m_k.size:
        p, w = swerling1_cell(plan.m_snr, rng, (nb,))
        rbm, jm = np.nonzero(p > -math.log(radar.pfa))
        w = w[rbm, jm]  # (nd, O) member powers
        zc = plan.m_z[jm]  # (nd, O, 4), zeros for non-members
        ref = zc[np.arange(jm.size), plan.m_first[jm]]  # (nd, 4) first member
        dz = zc - ref[:, None, :]
        dz[..., 1] = wrap_angle(dz[..., 1])
        wn = w / np.maximum(w.sum(-1, keepdims=True), 1e-300)
        cen = ref + np.einsum("no,noc->nc", wn, dz)  # power-weighted centroid
        groups.append(dict(run=rbm, k=plan.m_k[jm], z=cen, origin=plan.m_origin[jm]))
    # --- measurement noise z = z_true + sigma w
    m = radar.ndim_meas
    for g in groups:
        g["z"][:, :m] += radar.sigmas * rng.standard_normal((g["z"].shape[0], m))
        if m == 3:
            g["z"][:, 3] = np.nan
    # --- false alarms: Poisson count per scan, uniform in the surveillance volume
    if clutter and radar.false_alarms_per_scan > 0:
        nk = plan.t_scan.size
        cnt = rng.poisson(radar.false_alarms_per_scan, (nb, nk))
        rc, kc = np.divmod(np.repeat(np.arange(cnt.size), cnt.ravel()), nk)
        uc = rng.random((rc.size, 4))
        zc = np.empty((rc.size, 4))
        zc[:, 0] = radar.min_range + (radar.max_range - radar.min_range) * uc[:, 0]
        zc[:, 1] = radar.boresight_az + radar.half_width_az * (2.0 * uc[:, 1] - 1.0)
        zc[:, 2] = radar.el_min + (radar.el_max - radar.el_min) * uc[:, 2]
        zc[:, 3] = radar.max_range_rate * (2.0 * uc[:, 3] - 1.0) if m == 4 else np.nan
        groups.append(dict(run=rc, k=kc, z=zc, origin=np.full(rc.size, -1, np.int32)))
    for g in groups:
        g["z"][:, 1] = np.mod(g["z"][:, 1], TWO_PI)
    # --- latency: one draw per scan message and link; FIFO per radar
    arr = np.broadcast_to(plan.t_scan, (nb, plan.t_scan.size))
    if plan.path:
        lat = np.zeros((nb, plan.t_scan.size))
        for link in plan.path:
            lat += link.sample(rng, lat.shape)
        arr = np.maximum.accumulate(arr + lat, axis=1)
    # rows of this radar; `perm` orders them by (run, scan): objects, merged cells, clutter
    run = np.concatenate([g["run"] for g in groups])
    k = np.concatenate([g["k"] for g in groups])
    perm = np.argsort(run * plan.t_scan.size + k, kind="stable")
    return dict(
        k=k,
        z=np.concatenate([g["z"] for g in groups]),
        origin=np.concatenate([g["origin"] for g in groups]),
        perm=perm,
        run_sorted=run[perm],
        t_arr_sorted=arr[run[perm], k[perm]],
        t_scan=plan.t_scan,
        sensor=plan.sensor,
    )


def _sorted_order(run: NDArray, t_arr: NDArray) -> NDArray:
    """Stable order by (run, t_arrival).

    The rows come as one block per radar, each already sorted by (run, scan) and hence by
    (run, t_arrival) (FIFO links), so a stable sort of the key run * S + (t - t_lo),
    S = 2^ceil(log2 span), is a cheap timsort merge. Float rounding of the key can only
    create ties (it is monotone), never inversions, and ties keep block order; the result is
    checked and an exact lexsort is used if any near-tie came out of order.
    """
    if run.size == 0:
        return np.arange(0)
    lo = float(t_arr.min())
    span = 2.0 ** math.ceil(math.log2(float(t_arr.max()) - lo + 2.0))
    order = np.argsort(run * span + (t_arr - lo), kind="stable")
    r, t = run[order], t_arr[order]
    same = r[1:] == r[:-1]
    if np.any(r[1:] < r[:-1]) or np.any(same & (t[1:] < t[:-1])):
        order = np.lexsort((t_arr, run))
    return order


class _Columns:
    """Preallocated, growable output columns (rows appended chunk by chunk)."""

    _SPEC = (
        ("run", np.int32, ()),
        ("sensor", np.int16, ()),
        ("t_meas", np.float64, ()),
        ("t_arr", np.float64, ()),
        ("z", np.float64, (4,)),
        ("origin", np.int32, ()),
    )

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.cols = {k: np.empty((capacity, *sh), dt) for k, dt, sh in self._SPEC}

    def append(self, idx: NDArray, run: NDArray, t_arr: NDArray, **unsorted: NDArray) -> None:
        """Append ``run``/``t_arr`` (already ordered) and ``unsorted[k][idx]`` for the rest."""
        m = run.shape[0]
        cap = self.cols["run"].shape[0]
        if self.n + m > cap:
            new = max(int(1.5 * cap), self.n + m)
            for k, a in self.cols.items():
                b = np.empty((new, *a.shape[1:]), a.dtype)
                b[: self.n] = a[: self.n]
                self.cols[k] = b
        sl = slice(self.n, self.n + m)
        self.cols["run"][sl] = run
        self.cols["t_arr"][sl] = t_arr
        for k, a in unsorted.items():
            np.take(a, idx, axis=0, out=self.cols[k][sl])
        self.n += m

    def arrays(self) -> tuple[NDArray, ...]:
        return tuple(self.cols[k][: self.n] for k, _, _ in self._SPEC)


def observe(
    flight,
    radars: Sequence[Radar],
    network: Network | str | None = None,
    rng: np.random.Generator | int | None = None,
    runs: int = 1,
    *,
    consumer: str | None = None,
    rcs: Mapping[str, float] | None = None,
    clutter: bool = True,
    merge: bool = True,
    k: float = K_REFRACTION,
    chunk_runs: int = 32,
    first_run: int = 0,
) -> Detections:
    """Detections of every object of ``flight`` by ``radars``, for ``runs`` independent draws.

    Parameters
    ----------
    flight : trackers.sim.truth.Flight
        Truth (any object with ``.objects`` of ObjectTrajectory).
    radars : sequence of Radar
        Unique ids.
    network : Network, preset name / TOML path, or None
        Reporting network; None means no latency (t_arrival = t_meas). Every radar must
        report into it and reach ``consumer``.
    rng : numpy.random.Generator or int seed
        The only source of randomness (required).
    runs : int
        Number of independent Monte Carlo draws (geometry is computed once).
    consumer : str, optional
        Node where arrival times are measured (default: the network's consumer).
    rcs : mapping, optional
        Mean RCS table [m^2] (default :data:`DEFAULT_RCS`).
    clutter, merge : bool
        Switch false alarms / unresolved-object merging on or off.
    k : float
        Effective Earth-radius factor for the horizon (4/3).
    chunk_runs : int
        Runs drawn at once, B (memory bound); part of the reproducibility key.
    first_run : int
        Index of the first run (a multiple of ``chunk_runs``): computes runs
        ``[first_run, first_run + runs)`` exactly as a call with ``first_run = 0`` and more
        runs would (for splitting a study over workers). ``Detections.runs`` is then
        ``first_run + runs``.

    Returns
    -------
    Detections
        Sorted by (run, t_arrival); equal arrival times keep radar order (as given), then
        scan order, then object detections before merged ones before clutter.
    """
    if rng is None:
        raise TypeError("observe needs an explicit rng (numpy.random.Generator or int seed)")
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or int seed, got {type(rng)}")
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise ValueError(f"runs = {runs!r}, expected an int >= 1")
    if isinstance(chunk_runs, bool) or not isinstance(chunk_runs, int) or chunk_runs < 1:
        raise ValueError(f"chunk_runs = {chunk_runs!r}, expected an int >= 1")
    if not isinstance(first_run, int) or first_run < 0 or first_run % chunk_runs:
        raise ValueError(
            f"first_run = {first_run!r}, expected an int >= 0 and a multiple of chunk_runs = "
            f"{chunk_runs}"
        )
    k = check_refraction_factor(k)
    if isinstance(radars, Radar):
        radars = (radars,)
    radars = tuple(radars)
    if not radars or not all(isinstance(r, Radar) for r in radars):
        raise TypeError("radars must be a non-empty sequence of trackers.sensors.Radar")
    ids = [r.id for r in radars]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate radar ids in {ids}")
    if isinstance(network, str):
        network = load_network(network)
    if network is not None and not isinstance(network, Network):
        raise TypeError(f"network must be a Network, preset name or None, got {type(network)}")
    objs = tuple(flight.objects)
    if not objs:
        raise ValueError("flight has no objects")
    oids = [o.id for o in objs]
    if len(set(oids)) != len(oids) or any("+" in i for i in oids) or CLUTTER in oids:
        raise ValueError(f"object ids must be unique and not contain '+' or be 'clutter': {oids}")
    t0 = min(o.t_start for o in objs)
    t1 = max(o.t_end for o in objs)
    origins: dict[str, int] = {oid: i for i, oid in enumerate(oids)}
    cons = None
    paths = {}
    if network is not None:
        cons = network.consumer if consumer is None else consumer
        for r in radars:
            paths[r.id] = network.path(r.id, cons)
    plans = [
        _plan(r, i, flight, t0, t1, rcs, k, merge, origins, paths.get(r.id, ()))
        for i, r in enumerate(radars)
    ]
    clutter_code = origins.setdefault(CLUTTER, len(origins))
    sensors = tuple(ids)
    sigmas = np.stack([r.sigmas4 for r in radars])
    origin_labels = tuple(origins)
    # Expected row count (Pd sums + clutter means) sizes the output once; temporaries stay
    # per chunk (small), so the big arrays are touched once.
    per_run = sum(
        float(p.s_pd.sum())
        + float(swerling1_pd(p.m_snr.sum(-1), p.radar.pfa).sum())
        + (p.radar.false_alarms_per_scan * p.t_scan.size if clutter else 0.0)
        for p in plans
    )
    out = _Columns(int(runs * per_run + 6.0 * math.sqrt(runs * per_run) + 1024))
    end = first_run + runs
    try:
        streams = rng.spawn(-(-end // chunk_runs))  # child c <-> runs [c B, (c + 1) B)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"rng must be spawnable (numpy.random.default_rng(seed)): {exc}") from exc
    for run0 in range(first_run, end, chunk_runs):
        nb = min(chunk_runs, end - run0)
        chunk_rng = streams[run0 // chunk_runs]
        groups = [_draw(p, chunk_rng, nb, clutter) for p in plans]
        sizes = [g["k"].size for g in groups]
        offsets = np.cumsum([0, *sizes[:-1]])
        run = np.concatenate([g["run_sorted"] for g in groups]).astype(np.int32) + run0
        t_arr = np.concatenate([g["t_arr_sorted"] for g in groups])
        order = _sorted_order(run, t_arr)
        # one gather per column from the unsorted draws straight into the output
        idx = np.concatenate([g["perm"] + o for g, o in zip(groups, offsets, strict=True)])[order]
        origin = np.concatenate([g["origin"] for g in groups]).astype(np.int32)
        origin[origin < 0] = clutter_code
        out.append(
            idx,
            run=run[order],
            t_arr=t_arr[order],
            sensor=np.repeat(np.array([g["sensor"] for g in groups], np.int16), sizes),
            t_meas=np.concatenate([g["t_scan"][g["k"]] for g in groups]),
            z=np.concatenate([g["z"] for g in groups]),
            origin=origin,
        )
    run, sensor, t_meas, t_arr, z, origin = out.arrays()
    return Detections(
        run=run,
        sensor_index=sensor,
        t_meas=t_meas,
        t_arrival=t_arr,
        z=z,
        origin_index=origin,
        sensors=sensors,
        sensor_sigmas=sigmas,
        origins=origin_labels,
        runs=int(end),
        consumer=cons or "",
        meta={"scenario_id": getattr(flight, "scenario_id", ""), "first_run": first_run},
    )
