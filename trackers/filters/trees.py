"""Beliefs as trees of arrays: map, flatten and zip their leaves.

A belief is a ``Gaussian``, an ``IMMBelief`` (a tuple of Gaussians plus mode probabilities) or
any nesting of NamedTuples / tuples / lists with NumPy arrays at the leaves. The runner cuts
beliefs into chunks of runs and the tracker gathers / scatters them by (run, slot) through
these three functions, whatever the estimator's belief type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["tree_leaves", "tree_map", "tree_zip"]


def tree_map(fn: Callable[[NDArray], NDArray], tree: Any) -> Any:
    """Apply ``fn`` to every array leaf of nested tuples / NamedTuples / lists."""
    if isinstance(tree, np.ndarray):
        return fn(tree)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(tree_map(fn, v) for v in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(tree_map(fn, v) for v in tree)
    return tree


def tree_leaves(tree: Any) -> list[NDArray]:
    """Array leaves of a tree, depth first (the order :func:`tree_map` visits them)."""
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, tuple | list):
        return [leaf for v in tree for leaf in tree_leaves(v)]
    return []


def tree_zip(fn: Callable[..., NDArray], trees: list[Any]) -> Any:
    """Combine the matching array leaves of several trees of equal structure with ``fn``."""
    first = trees[0]
    if isinstance(first, np.ndarray):
        return fn(*trees)
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(tree_zip(fn, list(parts)) for parts in zip(*trees, strict=True)))
    if isinstance(first, tuple | list):
        return type(first)(tree_zip(fn, list(parts)) for parts in zip(*trees, strict=True))
    return first
