"""Statistics through the Python door, against scipy (an independent implementation)."""

from __future__ import annotations

import liftlab
import numpy as np
import pytest
from liftlab.exceptions import InsufficientDataError, InvalidInputError
from scipy import stats


def test_check_srm_matches_scipy_chisquare():
    # Reference: scipy.stats.chisquare (cephes igamc); tolerance 1e-9 relative on p.
    rng = np.random.default_rng(20261122)
    for _ in range(200):
        k = int(rng.integers(2, 6))
        w = rng.dirichlet(np.ones(k))
        n = int(rng.integers(100, 100_000))
        obs = rng.multinomial(n, w)
        if (obs == 0).any():
            continue
        ref = stats.chisquare(obs, n * w)
        got = liftlab.check_srm(obs.tolist(), w.tolist())
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert got.df == k - 1
        assert got.mismatch == (ref.pvalue < 0.001)


def test_check_srm_bad_input():
    with pytest.raises(InvalidInputError, match="weights"):
        liftlab.check_srm([1, 2], [0.5])
    with pytest.raises(InsufficientDataError):
        liftlab.check_srm([0, 0], [0.5, 0.5])
    with pytest.raises(InvalidInputError, match="alpha"):
        liftlab.check_srm([10, 10], [0.5, 0.5], alpha=1.5)
    r = liftlab.check_srm([5300, 4700], [0.5, 0.5])
    assert r.mismatch and "mismatch" in r._repr_html_().lower() and r.to_dict()["df"] == 1
