"""Probability that a Gaussian (or Gaussian-mixture) impact point falls inside a polygon region.

The impact point prediction of one track at one decision time is a 2-D Gaussian in the local
tangent plane (east, north) [m] at a reference point (lat0, lon0):

    x ~ N(m, P),   m = (e, n) (..., 2),   P (..., 2, 2).

The region's vertices (lon, lat on the WGS-84 ellipsoid, height 0) are mapped into the same
plane by the local ENU transform at the reference point, enu = R(lat0, lon0) (r - r0) (the
horizontal components; "up" is dropped). For points d from the reference point the horizontal
ENU distance is shorter than the geodesic one by about d^3 / (6 R^2): 0.5 km at 500 km, 4 m at
100 km. Map edges are straight in lon/lat; edges longer than 0.05 deg are split so that their
straight chords in the tangent plane stay within ~0.5 m of them.

Exact probability of a polygon (DiDonato & Hageman 1980; Owen 1956)
-------------------------------------------------------------------
Whiten with the Cholesky factor P = L L', z = L^-1 (x - m) ~ N(0, I); the polygon's vertices
become w_k = L^-1 (v_k - m) and P(x in polygon) = P(z in whitened polygon). Split the polygon
(exterior rings counter-clockwise, holes clockwise) into the signed triangles (0, a, b) of its
edges a -> b. For a standard normal, the probability of the triangle is

    Pr(0, a, b) = (1 / 2 pi) * integral_{theta_a}^{theta_b} (1 - exp(-rho(theta)^2 / 2)) dtheta,

rho(theta) the distance from the origin to the edge along the ray at angle theta. With h the
distance from the origin to the edge's line, u = (b - a) / |b - a| and t = tan(theta - theta_n)
(theta_n the foot of the perpendicular), rho^2 = h^2 (1 + t^2) and dtheta = dt / (1 + t^2), so

    Pr(0, a, b) = dtheta_ab / (2 pi) - [T(h, t_b) - T(h, t_a)],   t_a = a.u / h,  t_b = b.u / h,

with dtheta_ab = atan2(a x b, a . b) and Owen's T function
T(h, t) = (1 / 2 pi) integral_0^t exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx (odd in t;
scipy.special.owens_t, accurate to double precision). The polygon's probability is the sum of
sign(a x b) * Pr over its edges; an edge whose line passes through the mean (h = 0) contributes
nothing, which makes a mean on the boundary (or on a vertex) exact as well. No quadrature is
involved: the result is exact to round-off, and is >= 0 after clipping round-off at 0 and 1.

Quick exits and the winding number: the angle terms of the edge sum add up to the winding
number W of the polygon about the mean (1 inside, 0 outside), so P = W - sum sign(a x b) [T(h,
t_b) - T(h, t_a)], with W from ``shapely.contains_xy``. Owen-T terms of edges farther than
``n_sigma`` standard deviations (sqrt of the largest eigenvalue of P) from the mean are below
exp(-n_sigma^2 / 2) (1.3e-14 for 8 sigma) and are skipped: candidate edges come from an STRtree
query of a lon/lat box of half-width n_sigma sigma_max around the mean, using the lower bound
1 deg >= R_min cos(phi_max) pi / 180 m of the metric distance; a Gaussian with no candidate
edge has P = W exactly (0 or 1). A mean exactly on an edge (W undefined) falls back to the
full signed-triangle sum.

References
----------
D. B. Owen, "Tables for computing bivariate normal probabilities", Ann. Math. Statist. 27(4),
1075-1090, 1956 (the function T(h, a)).
A. R. DiDonato, R. K. Hageman, "Computation of the integral of the bivariate normal distribution
over arbitrary polygons", NSWC TR 80-166, Naval Surface Weapons Center, 1980 (the signed-triangle
decomposition).
M. Patefield, D. Tandy, "Fast and accurate calculation of Owen's T function", J. Stat. Softw.
5(5), 2000 (the algorithm behind scipy.special.owens_t).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.special import owens_t

from trackers.earth.wgs84 import E2, A, ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from trackers.impact.regions import Region

__all__ = [
    "N_SIGMA",
    "prob_in_polygon_plane",
    "prob_in_region",
    "prob_in_region_mixture",
]

#: Default quick-exit radius in standard deviations (neglected mass < exp(-32) ~ 1.3e-14).
N_SIGMA = 8.0
#: Smallest radius of curvature of the WGS-84 ellipsoid, a (1 - e^2) (meridian at the
#: equator) [m]: a lower bound on metres per radian of lat/lon.
_R_MIN = A * (1.0 - E2)
#: Above this quick-exit half-width [deg], the lon/lat box bound is not used (whole polygon).
_MAX_BOX_DEG = 2.0
#: Longest polygon edge used [deg] (longer ones are split).
_SEGMENT_DEG = 0.05
#: Rows per chunk of the edge sums (memory bound).
_CHUNK_EDGES = 2_000_000


def _cholesky_2x2(cov: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Lower Cholesky factor (l11, l21, l22) of ``(..., 2, 2)`` SPD matrices; ValueError if not."""
    c11, c21, c22 = cov[..., 0, 0], 0.5 * (cov[..., 1, 0] + cov[..., 0, 1]), cov[..., 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        l11 = np.sqrt(c11)  # L11 = sqrt(P11)
        l21 = c21 / l11  # L21 = P21 / L11
        l22 = np.sqrt(c22 - l21 * l21)  # L22 = sqrt(P22 - L21^2)
    bad = ~(np.isfinite(l22) & (l11 > 0) & (l22 > 0))
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
        raise ValueError(
            f"cov: expected symmetric positive-definite (..., 2, 2) matrices, got {cov[i]!r} at "
            f"index {i}"
        )
    return l11, l21, l22


def _sigma_max(cov: NDArray) -> NDArray:
    """sqrt of the largest eigenvalue of ``(..., 2, 2)`` symmetric matrices [m]."""
    a, b, c = cov[..., 0, 0], 0.5 * (cov[..., 1, 0] + cov[..., 0, 1]), cov[..., 1, 1]
    return np.sqrt(0.5 * (a + c) + np.sqrt(0.25 * (a - c) ** 2 + b * b))


def _edge_sum(
    a: NDArray, b: NDArray, owner: NDArray, l11: NDArray, l21: NDArray, l22: NDArray, n: int
) -> NDArray:
    """Sum of signed triangle probabilities over edges a -> b (already relative to the mean).

    ``a``, ``b`` (E, 2) [m], ``owner`` (E,) row index in [0, n); the Cholesky factors are per
    edge (E,). Returns (n,) sums.
    """
    # Whitening z = L^-1 d by forward substitution.
    ax = a[:, 0] / l11
    ay = (a[:, 1] - l21 * ax) / l22
    bx = b[:, 0] / l11
    by = (b[:, 1] - l21 * bx) / l22
    cross = ax * by - ay * bx  # a x b (twice the signed triangle area)
    dot = ax * bx + ay * by
    dtheta = np.arctan2(cross, dot)  # signed angle a -> b seen from the mean
    ex, ey = bx - ax, by - ay
    length = np.hypot(ex, ey)
    ok = (length > 0) & (cross != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.abs(cross) / length  # distance from the mean to the edge's line
        ta = (ax * ex + ay * ey) / (length * h)  # t_a = a.u / h
        tb = (bx * ex + by * ey) / (length * h)  # t_b = b.u / h
    hh, ta, tb = h[ok], ta[ok], tb[ok]
    d_owen = owens_t(hh, tb) - owens_t(hh, ta)  # T(h, t_b) - T(h, t_a)
    contrib = np.zeros_like(cross)
    # Pr(0, a, b) signed: dtheta / 2 pi - sign(a x b) [T(h, t_b) - T(h, t_a)].
    contrib[ok] = dtheta[ok] / (2.0 * np.pi) - np.sign(cross[ok]) * d_owen
    return np.bincount(owner, weights=contrib, minlength=n)


def _edges(geoms: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Edges of oriented (multi)polygons: (start (E, 2), end (E, 2), owner (E,) geometry index)."""
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)  # exterior CCW, holes CW
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = part_owner[ring_part]
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]  # consecutive vertices of one ring (closed rings)
    return xy[:-1][same], xy[1:][same], ring_owner[ring_of[:-1][same]]


def prob_in_polygon_plane(polygon: shapely.Geometry, mean: ArrayLike, cov: ArrayLike) -> NDArray:
    """P(x in polygon) for x ~ N(mean, cov), all in one plane [m]; shape ``(...)``.

    Parameters
    ----------
    polygon : shapely Polygon or MultiPolygon
        Region in plane coordinates [m] (holes allowed).
    mean : (..., 2) array
        Means [m].
    cov : (..., 2, 2) array
        Covariances [m^2], symmetric positive definite.
    """
    if not isinstance(polygon, shapely.Polygon | shapely.MultiPolygon):
        raise TypeError(f"polygon: expected a shapely Polygon/MultiPolygon, got {type(polygon)}")
    mean, cov = _check_gaussian(mean, cov)
    batch = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    m = np.broadcast_to(mean, (*batch, 2)).reshape(-1, 2)
    c = np.broadcast_to(cov, (*batch, 2, 2)).reshape(-1, 2, 2)
    l11, l21, l22 = _cholesky_2x2(c)
    a, b, _ = _edges(np.array([polygon]))
    n = len(m)
    out = np.zeros(n)
    step = max(1, _CHUNK_EDGES // max(len(a), 1))
    for s in range(0, n, step):
        rows = np.arange(s, min(n, s + step))
        owner = np.repeat(np.arange(len(rows)), len(a))
        mi = m[rows][owner]
        ea, eb = np.tile(a, (len(rows), 1)) - mi, np.tile(b, (len(rows), 1)) - mi
        out[rows] = _edge_sum(
            ea, eb, owner, l11[rows][owner], l21[rows][owner], l22[rows][owner], len(rows)
        )
    return np.clip(out, 0.0, 1.0).reshape(batch)


def _check_gaussian(mean: ArrayLike, cov: ArrayLike) -> tuple[NDArray, NDArray]:
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if mean.ndim < 1 or mean.shape[-1] != 2:
        raise ValueError(f"mean: expected shape (..., 2), got {mean.shape}")
    if cov.ndim < 2 or cov.shape[-2:] != (2, 2):
        raise ValueError(f"cov: expected shape (..., 2, 2), got {cov.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError("mean, cov: expected finite values, got NaN or inf")
    return mean, cov


class _RegionEdges(NamedTuple):
    """A region's edges, prepared once: oriented lon/lat edges, their ECEF ends and an STRtree."""

    a_ecef: NDArray  # (E, 3) edge start on the ellipsoid [m]
    b_ecef: NDArray  # (E, 3) edge end [m]
    tree: shapely.STRtree  # over the (E,) lon/lat edge segments
    lat_max: float  # largest |latitude| of the region [deg]


_EDGE_CACHE: dict[int, tuple[shapely.Geometry, _RegionEdges]] = {}


def _region_edges(region: Region) -> _RegionEdges:
    """Edges of ``region`` (cached per polygon object)."""
    hit = _EDGE_CACHE.get(id(region.polygon))
    if hit is not None and hit[0] is region.polygon:
        return hit[1]
    # Split edges longer than _SEGMENT_DEG: a straight chord in the tangent plane then stays
    # within ~0.5 m of the lon/lat-straight edge of the map data.
    a, b, _ = _edges(np.array([shapely.segmentize(region.polygon, _SEGMENT_DEG)]))
    a_ecef = geodetic_to_ecef(np.radians(a[:, 1]), np.radians(a[:, 0]), 0.0)
    b_ecef = geodetic_to_ecef(np.radians(b[:, 1]), np.radians(b[:, 0]), 0.0)
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    lat_max = float(np.abs(np.array(region.polygon.bounds)[[1, 3]]).max())
    out = _RegionEdges(a_ecef, b_ecef, tree, lat_max)
    _EDGE_CACHE[id(region.polygon)] = (region.polygon, out)
    return out


def prob_in_region(
    region: Region,
    lat0: ArrayLike,
    lon0: ArrayLike,
    mean: ArrayLike,
    cov: ArrayLike,
    *,
    n_sigma: float = N_SIGMA,
) -> NDArray:
    """P(impact point in region) for Gaussians in the tangent plane at (lat0, lon0).

    Parameters
    ----------
    region : Region
        Alert region (lon/lat polygon).
    lat0, lon0 : (...) arrays
        Reference point of each tangent plane, geodetic [rad].
    mean : (..., 2) array
        Mean impact point (east, north) [m] in the tangent plane at (lat0, lon0). Keep the
        reference point near the mean (e.g. the predicted impact point itself, mean = 0): the
        tangent-plane distortion grows as d^3 / (6 R^2) with the distance d from it.
    cov : (..., 2, 2) array
        Covariance [m^2] of (east, north), symmetric positive definite.
    n_sigma : float
        Quick-exit radius in standard deviations (see the module docstring).

    Returns
    -------
    (...) array
        Probabilities in [0, 1]; batch shape = broadcast of lat0, lon0, mean[..., 0],
        cov[..., 0, 0].

    Notes
    -----
    With W the winding number of the polygon about the mean (1 inside, 0 outside) the edge sum
    of the module docstring is P = W - sum_edges sign(a x b) [T(h, t_b) - T(h, t_a)] (the angle
    terms add up to W). W comes from ``shapely.contains_xy``; the Owen-T terms are summed over
    the edges found by an STRtree query of the lon/lat box of half-width n_sigma sigma_max
    around the mean (the others are below exp(-n_sigma^2 / 2)). A mean exactly on an edge
    (W undefined) falls back to the full signed-triangle sum over every edge.
    """
    if not isinstance(region, Region):
        raise TypeError(f"region: expected a Region, got {type(region).__name__}")
    if not n_sigma > 0:
        raise ValueError(f"n_sigma: expected > 0, got {n_sigma}")
    mean, cov = _check_gaussian(mean, cov)
    lat0, lon0 = np.asarray(lat0, dtype=float), np.asarray(lon0, dtype=float)
    batch = np.broadcast_shapes(lat0.shape, lon0.shape, mean.shape[:-1], cov.shape[:-2])
    lat0 = np.broadcast_to(lat0, batch).ravel()
    lon0 = np.broadcast_to(lon0, batch).ravel()
    m = np.broadcast_to(mean, (*batch, 2)).reshape(-1, 2)
    c = np.broadcast_to(cov, (*batch, 2, 2)).reshape(-1, 2, 2)
    l11, l21, l22 = _cholesky_2x2(c)
    edges = _region_edges(region)
    # Mean impact point as lat/lon: r = r0 + R' (e, n, 0), projected down the ellipsoid normal.
    rot = enu_rotation(lat0, lon0)  # (n, 3, 3), rows e, n, u in ECEF
    r0 = geodetic_to_ecef(lat0, lon0, 0.0)
    r_mean = r0 + m[:, :1] * rot[:, 0, :] + m[:, 1:] * rot[:, 1, :]
    lat_m, lon_m, _ = ecef_to_geodetic(r_mean)
    lat_d, lon_d = np.degrees(lat_m), np.degrees(lon_m)
    # Box half-width [deg] from the lower bound 1 deg >= R_min cos(phi_max) pi / 180 [m].
    phi_max = np.minimum(np.maximum(np.abs(lat_d), edges.lat_max) + _MAX_BOX_DEG, 89.0)
    m_per_deg = _R_MIN * np.cos(np.radians(phi_max)) * np.pi / 180.0
    half = 1.01 * n_sigma * _sigma_max(c) / m_per_deg
    half = np.where(half > _MAX_BOX_DEG, 360.0, half)  # wide boxes: every edge
    boxes = shapely.box(lon_d - half, lat_d - half, lon_d + half, lat_d + half)
    row, edge = edges.tree.query(boxes)  # (row, edge) pairs whose bounding boxes meet
    out = shapely.contains_xy(region.polygon, lon_d, lat_d).astype(float)  # W
    if row.size == 0:
        return out.reshape(batch)
    # Whitened tangent plane of each row: z = W r - w, W = L^-1 [e'; n'], w = W r0 + L^-1 m.
    linv = np.zeros((len(out), 2, 2))
    linv[:, 0, 0] = 1.0 / l11  # L^-1 of a 2x2 lower-triangular factor
    linv[:, 1, 0] = -l21 / (l11 * l22)
    linv[:, 1, 1] = 1.0 / l22
    white = linv @ rot[:, :2, :]
    offset = np.einsum("kij,kj->ki", white, r0) + np.einsum("kij,kj->ki", linv, m)
    terms, _, on_edge = _pair_terms(edges, row, edge, white, offset, n_sigma)
    out -= np.bincount(row, weights=terms, minlength=len(out))
    bad = np.unique(row[on_edge])  # mean on the boundary: full signed-triangle sum
    if bad.size:
        e_all = np.arange(len(edges.a_ecef))
        row_b, edge_b = np.repeat(bad, e_all.size), np.tile(e_all, bad.size)
        terms_b, angle_b, on_b = _pair_terms(
            edges, row_b, edge_b, white, offset, np.inf, with_angle=True
        )
        assert angle_b is not None  # with_angle=True
        full = np.where(on_b, 0.0, angle_b / (2.0 * np.pi) - terms_b)
        out[bad] = np.bincount(row_b, weights=full, minlength=len(out))[bad]
    return np.clip(out, 0.0, 1.0).reshape(batch)


def _pair_terms(
    edges: _RegionEdges,
    row: NDArray,
    edge: NDArray,
    white: NDArray,
    offset: NDArray,
    n_sigma: float,
    *,
    with_angle: bool = False,
) -> tuple[NDArray, NDArray | None, NDArray]:
    """Per (row, edge) pair: sign(a x b) [T(h, t_b) - T(h, t_a)], the angle a -> b, on-edge flag.

    Edge ends r (ECEF) go to each row's whitened tangent plane, z = W r - w with
    W = L^-1 [e'; n'] (``white`` (n, 2, 3)) and w = W r0 + L^-1 m (``offset`` (n, 2)): the
    horizontal ENU components relative to the mean, whitened by the Cholesky factor. A pair whose
    segment is farther than n_sigma + 1 from the mean (whitened) skips the Owen-T evaluation: its
    triangle beyond that radius holds less than exp(-(n_sigma + 1)^2 / 2) of probability. The
    angle is computed only when ``with_angle``.
    """
    terms = np.zeros(row.size)
    angle = np.empty(row.size) if with_angle else None
    on_edge = np.zeros(row.size, dtype=bool)
    for s in range(0, row.size, _CHUNK_EDGES):
        sl = slice(s, s + _CHUNK_EDGES)
        r, e = row[sl], edge[sl]
        wr, orr = white[r], offset[r]
        za = np.einsum("kij,kj->ki", wr, edges.a_ecef[e]) - orr  # whitened a
        zb = np.einsum("kij,kj->ki", wr, edges.b_ecef[e]) - orr  # whitened b
        ax, ay, bx, by = za[:, 0], za[:, 1], zb[:, 0], zb[:, 1]
        cross = ax * by - ay * bx  # a x b
        dot = ax * bx + ay * by
        ex, ey = bx - ax, by - ay
        length = np.hypot(ex, ey)
        pa = ax * ex + ay * ey  # a.u |b - a|
        pb = bx * ex + by * ey  # b.u |b - a|
        with np.errstate(invalid="ignore", divide="ignore"):
            h = np.abs(cross) / length  # distance from the mean to the edge's line
        # Distance from the mean to the segment: h if the foot of the perpendicular is on it.
        dseg = np.where((pa < 0) & (pb > 0), h, np.sqrt(np.minimum(ax**2 + ay**2, bx**2 + by**2)))
        use = np.flatnonzero((cross != 0) & (dseg < n_sigma + 1.0))
        hh, ll = h[use], length[use]
        ta = pa[use] / (ll * hh)  # t_a = a.u / h
        tb = pb[use] / (ll * hh)  # t_b = b.u / h
        terms[s + use] = np.sign(cross[use]) * (owens_t(hh, tb) - owens_t(hh, ta))
        if angle is not None:
            angle[sl] = np.arctan2(cross, dot)  # signed angle a -> b
        on_edge[sl] = (cross == 0) & (dot <= 0) & (length > 0)
    return terms, angle, on_edge


def prob_in_region_mixture(
    region: Region,
    lat0: ArrayLike,
    lon0: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    covs: ArrayLike,
    *,
    n_sigma: float = N_SIGMA,
) -> NDArray:
    """P(impact point in region) for Gaussian mixtures, sum_j w_j P_j; shape ``(...)``.

    Parameters
    ----------
    region : Region
    lat0, lon0 : (...) arrays
        Tangent-plane reference points [rad] (shared by the J components).
    weights : (..., J) array
        Mixture weights, >= 0, summing to 1 over J.
    means : (..., J, 2) array
        Component means (east, north) [m].
    covs : (..., J, 2, 2) array
        Component covariances [m^2].
    n_sigma : float
        Quick-exit radius (see :func:`prob_in_region`).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim < 1 or (w < 0).any() or not np.allclose(w.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("weights: expected (..., J) non-negative weights summing to 1 over J")
    lat0 = np.asarray(lat0, dtype=float)[..., None]  # broadcast over components
    lon0 = np.asarray(lon0, dtype=float)[..., None]
    p = prob_in_region(region, lat0, lon0, means, covs, n_sigma=n_sigma)  # (..., J)
    return np.sum(w * p, axis=-1)
