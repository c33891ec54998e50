"""Wilson and Newcombe intervals against published values (Newcombe 1998, Stat Med 17:
857-872 and 873-890: Wilson score examples; method 10, hybrid score, examples a-h)."""

import numpy as np
import pytest

from koryu_pipeline.marts.intervals import newcombe, wilson


@pytest.mark.parametrize(
    ("n", "base", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published(n: int, base: int, low: float, high: float) -> None:
    lo, hi = wilson(n, base)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(
    ("a", "m", "b", "n", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_newcombe_method_10_published(
    a: int, m: int, b: int, n: int, low: float, high: float
) -> None:
    d, lo, hi = newcombe(a, m, b, n)
    assert float(d) == pytest.approx(a / m - b / n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


def test_vectorised_and_zero_base() -> None:
    lo, hi = wilson(np.array([0, 5, 0]), np.array([10, 10, 0]))
    assert lo[0] == 0.0 and 0 < hi[0] < 1
    assert lo[1] < 0.5 < hi[1]
    assert np.isnan(lo[2]) and np.isnan(hi[2])
    d, lo, hi = newcombe([1, 1], [2, 2], [1, 1], [2, 0])
    assert d[0] == 0 and lo[0] < 0 < hi[0]
    assert np.isnan(d[1]) and np.isnan(lo[1]) and np.isnan(hi[1])
