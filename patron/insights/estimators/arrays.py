"""Array helpers shared by the estimators: shape and value checks, grouped statistics."""

from __future__ import annotations

from typing import Any

import numpy as np


def vector(name: str, values: Any, *, size: int | None = None, dtype: Any = None) -> np.ndarray:
    """values as a one-dimensional array (of dtype when given), of the given size when given."""
    array = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if size is not None and array.size != size:
        raise ValueError(f"{name} has {array.size} values, expected {size}")
    return array


def same_sizes(**arrays: np.ndarray) -> int:
    """The common size of the arrays; ValueError listing the sizes when they differ."""
    sizes = {name: array.size for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name}={size}" for name, size in sizes.items())
        raise ValueError(f"arrays must have the same length: {listed}")
    return next(iter(sizes.values()), 0)


def indexes(name: str, values: Any, *, count: int) -> np.ndarray:
    """Integer positions in 0..count-1 as int64; ValueError when any falls outside."""
    array = vector(name, values)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if count < 0:
        raise ValueError(f"the count for {name} must not be negative, got {count}")
    if array.size and (array.min() < 0 or array.max() >= count):
        raise ValueError(f"{name} must lie in 0..{count - 1}")
    return array


def finite(name: str, values: np.ndarray) -> None:
    """ValueError when any value is nan or infinite."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite (no nan or infinity)")


def not_negative(name: str, values: np.ndarray) -> None:
    """ValueError when any value is negative (nan passes: callers check finiteness apart)."""
    if np.any(values < 0):
        raise ValueError(f"{name} must not be negative")


def group_median(group: np.ndarray, values: np.ndarray, group_count: int) -> np.ndarray:
    """Median of values per group 0..group_count-1 (nan for empty groups)."""
    order = np.lexsort((values, group))
    sorted_values = values[order]
    counts = np.bincount(group, minlength=group_count)
    starts = np.r_[0, np.cumsum(counts)[:-1]] if group_count else np.zeros(0, np.int64)
    median = np.full(group_count, np.nan)
    present = counts > 0
    low = starts[present] + (counts[present] - 1) // 2
    high = starts[present] + counts[present] // 2
    median[present] = (sorted_values[low] + sorted_values[high]) / 2
    return median
