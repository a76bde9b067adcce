"""Min/max decimation for drawing long sample windows (pure numpy, no Qt).

A 10-second window at 20 kS/s is 200,000 samples; a plot 1,000 pixels wide can show at most two
values per pixel column. Keeping each bucket's minimum and maximum (in time order) preserves every
peak the eye could see — a pulse is never lost between pixels — at a fixed cost per frame.
"""

from __future__ import annotations

import numpy as np


def min_max_decimate(t: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``2 * buckets`` points that keep the extremes of ``y`` in every bucket of samples.

    Returns the input unchanged when it is already small enough. ``t`` must be increasing.
    """
    n = y.shape[0]
    if buckets <= 0 or n <= 2 * buckets:
        return t, y
    per_bucket = n // buckets
    usable = per_bucket * buckets
    start = n - usable  # drop the oldest remainder so the newest sample is always drawn
    shaped = y[start:].reshape(buckets, per_bucket)
    low_index = shaped.argmin(axis=1)
    high_index = shaped.argmax(axis=1)
    first = np.minimum(low_index, high_index)
    second = np.maximum(low_index, high_index)
    base = start + np.arange(buckets) * per_bucket
    order = np.empty(2 * buckets, dtype=np.int64)
    order[0::2] = base + first
    order[1::2] = base + second
    return t[order], y[order]
