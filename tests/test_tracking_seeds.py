"""Two-point initiation seeds (trackers.tracking.seeds) against a per-run list oracle."""

from __future__ import annotations

import numpy as np

from trackers.tracking.seeds import T_MIN, SeedPool


def _oracle_pair(seeds, pos, cov, t, v_max, life):
    """Per-run reference: the nearest live seed inside the velocity gate, or None."""
    best, best_d = None, np.inf
    for s in seeds:
        dt = t - s["t"]
        d = float(np.linalg.norm(pos - s["pos"]))
        gate = v_max * dt + 4.0 * np.sqrt(np.trace(cov) + np.trace(s["cov"]))
        if T_MIN <= dt <= life and d <= gate and d < best_d:
            best, best_d = s, d
    return best


def test_pairing_and_expiry_equal_a_per_run_list():
    """Random reports over 40 scans of 30 runs (0-5 reports per run and scan, a few runs
    idle for long stretches so that their seeds expire unseen): every pairing decision and
    the paired seed's position and time equal the per-run oracle, and the pool grows past
    its initial 2 slots."""
    rng = np.random.default_rng(5)
    N, v_max, life = 30, 8e3, 12.0
    pool = SeedPool(N, 2)
    oracle: list[list[dict]] = [[] for _ in range(N)]
    idle = rng.uniform(size=N) < 0.3
    n_pairs = 0
    for step in range(40):
        t = 1.0 * step
        k = rng.integers(0, 6, N) * ~(idle & (step % 10 < 7))
        run = np.repeat(np.arange(N), k)
        pos = rng.normal(0.0, 3e4, (run.size, 3))
        cov = np.eye(3) * rng.uniform(1e2, 1e6, run.size)[:, None, None]
        slot = pool.pair(run, pos, cov, t, v_max, life)
        sp, _sc, st = pool.take(run, slot)
        for i, r in enumerate(run):
            ref = _oracle_pair(oracle[r], pos[i], cov[i], t, v_max, life)
            assert (ref is None) == (slot[i] < 0), (step, i)
            if ref is not None:
                np.testing.assert_array_equal(sp[i], ref["pos"])
                assert st[i] == ref["t"]
        # paired seeds are consumed (several reports may pair with one seed, as the tracker
        # allows); unpaired reports become seeds
        pool.remove(run, slot)
        for i, r in enumerate(run):
            if slot[i] >= 0:
                oracle[r] = [s for s in oracle[r] if not np.array_equal(s["pos"], sp[i])]
        rest = slot < 0
        n_pairs += int((~rest).sum())
        pool.add(run[rest], pos[rest], cov[rest], t, life)
        for i in np.flatnonzero(rest):
            oracle[run[i]] = [s for s in oracle[run[i]] if t - s["t"] <= life]
            oracle[run[i]].append({"pos": pos[i], "cov": cov[i], "t": t})
    assert n_pairs > 100 and pool.S > 2
