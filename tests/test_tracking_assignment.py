"""GNN assignment (tracking.assignment.gnn_assign) vs per-run scipy linear_sum_assignment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from trackers.tracking.assignment import gnn_assign

BIG = 1e9  # forbidden pair in the oracle's augmented matrix


def _oracle_total(cost: np.ndarray, feasible: np.ndarray, miss: np.ndarray) -> float:
    """Optimal total cost of one run: scipy on [cost | diag(miss)] with BIG off the gate."""
    k, m = cost.shape
    aug = np.full((k, m + k), BIG)
    aug[:, :m] = np.where(feasible & np.isfinite(cost), cost, BIG)
    aug[np.arange(k), m + np.arange(k)] = miss
    r, c = linear_sum_assignment(aug)
    return float(aug[r, c].sum())


def _total(cost: np.ndarray, feasible: np.ndarray, miss: np.ndarray, a: np.ndarray) -> float:
    """Total cost of one run's assignment, checking it is a valid partial matching."""
    used = a[a >= 0]
    assert len(set(used.tolist())) == used.size, f"report used twice: {a}"
    total = 0.0
    for k, j in enumerate(a):
        if j < 0:
            total += miss[k]
        else:
            assert feasible[k, j], f"track {k} given infeasible report {j}"
            total += cost[k, j]
    return total


def _random_case(rng: np.random.Generator, n: int, k: int, m: int, *, ties: bool):
    if ties:
        cost = rng.integers(0, 4, (n, k, m)).astype(float)
        miss = rng.integers(1, 5, (n, k)).astype(float)
    else:
        cost = rng.chisquare(3, (n, k, m)) + rng.normal(0.0, 2.0, (n, k, 1))
        miss = rng.uniform(1.0, 12.0, (n, k))
    density = rng.uniform(0.05, 1.0, (n, 1, 1))
    feasible = rng.random((n, k, m)) < density
    feasible[: max(1, n // 10)] = False  # some all-infeasible runs
    # outside the gate the cost is garbage (inf / NaN), as the brief allows
    cost = np.where(feasible, cost, rng.choice([np.inf, np.nan], size=cost.shape))
    return cost, feasible, miss


@pytest.mark.parametrize(
    ("k", "m", "ties"),
    [(3, 3, False), (6, 3, False), (2, 7, False), (5, 5, True), (8, 6, False), (4, 2, True)],
)
def test_total_cost_equals_scipy_on_random_cases(k, m, ties):
    """Random gates, K > M, K < M, ties, all-infeasible runs, per-track miss costs."""
    rng = np.random.default_rng(100 * k + m + ties)
    n = 60
    cost, feasible, miss = _random_case(rng, n, k, m, ties=ties)
    assign = gnn_assign(cost, feasible, miss)
    assert assign.shape == (n, k) and assign.dtype == np.int64
    for r in range(n):
        ours = _total(cost[r], feasible[r], miss[r], assign[r])
        assert ours == pytest.approx(_oracle_total(cost[r], feasible[r], miss[r]), abs=1e-9)
    assert (assign[: n // 10] == -1).all()  # all-infeasible runs: every track missed


def test_large_dense_case_equals_scipy():
    """K = 16, M = 12, dense gates and a scalar miss cost: long augmenting paths."""
    rng = np.random.default_rng(7)
    n, k, m = 40, 16, 12
    cost = rng.uniform(0.0, 10.0, (n, k, m))
    feasible = rng.random((n, k, m)) < 0.8
    assign = gnn_assign(cost, feasible, 9.0)
    miss = np.full(k, 9.0)
    for r in range(n):
        ours = _total(cost[r], feasible[r], miss, assign[r])
        assert ours == pytest.approx(_oracle_total(cost[r], feasible[r], miss), abs=1e-9)


def test_hundreds_of_small_seeded_cases():
    """Many small problems of random shape (including K = 0 or M = 0) one batch each."""
    rng = np.random.default_rng(2024)
    for _ in range(150):
        k, m = int(rng.integers(0, 6)), int(rng.integers(0, 6))
        cost, feasible, miss = _random_case(rng, 8, k, m, ties=bool(rng.integers(2)))
        assign = gnn_assign(cost, feasible, miss)
        assert assign.shape == (8, k)
        for r in range(8):
            ours = _total(cost[r], feasible[r], miss[r], assign[r])
            assert ours == pytest.approx(_oracle_total(cost[r], feasible[r], miss[r]), abs=1e-9)


def test_many_reports_counts_do_not_overflow():
    """M = 256 candidate reports per track (a uint8 count would wrap to 0)."""
    rng = np.random.default_rng(3)
    cost = rng.uniform(0.0, 10.0, (3, 2, 256))
    feasible = np.ones_like(cost, dtype=bool)
    assign = gnn_assign(cost, feasible, 20.0)
    miss = np.full(2, 20.0)
    for r in range(3):
        ours = _total(cost[r], feasible[r], miss, assign[r])
        assert ours == pytest.approx(_oracle_total(cost[r], feasible[r], miss), abs=1e-9)


def test_greedy_would_fail():
    """Nearest-first takes (0, 0) and leaves track 1 missed (1 + 50); optimal is 2 + 2."""
    cost = np.array([[[1.0, 2.0], [2.0, 100.0]]])
    feasible = np.ones_like(cost, dtype=bool)
    np.testing.assert_array_equal(gnn_assign(cost, feasible, 50.0), [[1, 0]])


def test_trivial_and_not_worth_assigning():
    """One candidate per track and report: taken if cheaper than the miss, else -1."""
    n, k, m = 3, 4, 5
    cost = np.full((n, k, m), np.nan)
    feasible = np.zeros((n, k, m), dtype=bool)
    for r, pairs in enumerate([[(0, 3), (2, 1)], [(1, 0), (3, 4)], []]):
        for t, j in pairs:
            feasible[r, t, j] = True
            cost[r, t, j] = 1.0 + t
    miss = np.full((n, k), 3.5)  # track 3 (cost 4) is better off missed
    expected = np.array([[3, -1, 1, -1], [-1, 0, -1, -1], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(gnn_assign(cost, feasible, miss), expected)


def test_shared_report_goes_to_the_cheaper_track_and_private_best():
    """Settled without the solver: a private report set takes its best; a contested report
    whose tracks have nothing else goes to the cheaper track."""
    cost = np.array([[[5.0, 2.0, np.nan], [np.nan, np.nan, 3.0], [np.nan, np.nan, 1.0]]])
    feasible = np.isfinite(cost)
    np.testing.assert_array_equal(gnn_assign(cost, feasible, 10.0), [[1, -1, 2]])


def test_non_finite_cost_inside_gate_is_outside_and_other_runs_unaffected():
    cost = np.array([[[np.nan, 1.0]], [[0.5, 1.0]]])
    feasible = np.ones((2, 1, 2), dtype=bool)
    np.testing.assert_array_equal(gnn_assign(cost, feasible, 5.0), [[1], [0]])


def test_empty_shapes():
    assert gnn_assign(np.zeros((4, 0, 3)), np.zeros((4, 0, 3), bool), 1.0).shape == (4, 0)
    np.testing.assert_array_equal(
        gnn_assign(np.zeros((2, 3, 0)), np.zeros((2, 3, 0), bool), 1.0), -np.ones((2, 3))
    )
    assert gnn_assign(np.zeros((0, 3, 2)), np.zeros((0, 3, 2), bool), 1.0).shape == (0, 3)


def test_bad_input_is_rejected():
    cost = np.zeros((2, 3, 4))
    feasible = np.ones((2, 3, 4), dtype=bool)
    with pytest.raises(ValueError, match="cost"):
        gnn_assign(np.zeros((3, 4)), feasible[0], 1.0)
    with pytest.raises(TypeError, match="feasible"):
        gnn_assign(cost, feasible.astype(int), 1.0)
    with pytest.raises(ValueError, match="feasible"):
        gnn_assign(cost, feasible[:, :, :3], 1.0)
    with pytest.raises(ValueError, match="miss_cost"):
        gnn_assign(cost, feasible, np.ones(3))
    with pytest.raises(ValueError, match="miss_cost"):
        gnn_assign(cost, feasible, np.inf)
