"""Confidence intervals for proportions and their differences.

Wilson score interval for one proportion, and Newcombe's hybrid score interval (Newcombe 1998,
method 10) for the difference of two independent proportions. Both stay inside [0, 1] and
behave at n = 0 or n = base, where the Wald interval does not -- with bases of 16 or 34
organisations that matters. Vectorised over numpy arrays; a zero base gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054  # two-sided 95% normal quantile

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def wilson(n: ArrayLike, base: ArrayLike, z: float = Z95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for n/base, as proportions (0-1). NaN where base is 0."""
    n_ = np.asarray(n, dtype=float)
    b = np.asarray(base, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = n_ / b
        z2 = z * z
        centre = (p + z2 / (2 * b)) / (1 + z2 / b)
        half = z * np.sqrt(p * (1 - p) / b + z2 / (4 * b * b)) / (1 + z2 / b)
        low = np.where(b > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(b > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def newcombe(
    n1: ArrayLike, base1: ArrayLike, n2: ArrayLike, base2: ArrayLike, z: float = Z95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Difference p1 - p2 of two independent proportions with Newcombe's hybrid score 95%
    interval (method 10), as proportions. NaN where either base is 0."""
    a1 = np.asarray(n1, dtype=float)
    b1 = np.asarray(base1, dtype=float)
    a2 = np.asarray(n2, dtype=float)
    b2 = np.asarray(base2, dtype=float)
    l1, u1 = wilson(a1, b1, z)
    l2, u2 = wilson(a2, b2, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.where(b1 > 0, a1 / b1, np.nan)
        p2 = np.where(b2 > 0, a2 / b2, np.nan)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high
