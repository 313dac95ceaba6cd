"""Ratings from game results: points, Bradley-Terry strengths on the Elo scale, bootstrap intervals.

Points: a win is 1, a draw 0.5 to each side. Bradley-Terry: agent i beats j with probability
``p_i / (p_i + p_j)``; a draw counts as half a win for each. The strengths are fitted by the MM
algorithm (Hunter, 2004), and shown on the Elo scale, ``400 * log10(p)``, shifted so that the mean
rating is 1500: a difference of 400 means 10 to 1 odds. Each agent also plays ``prior`` virtual
drawn games against a fixed opponent of average strength, which keeps an agent that won (or lost)
everything at a finite rating and pulls small samples a little toward the mean (with a full round
robin the order of the ratings is the order of the points).

Confidence intervals: the games are resampled with replacement (``bootstrap`` times, with a
generator seeded by ``seed``: the same data give the same intervals), the ratings refitted each
time (all resamples at once, in arrays), and the 2.5 % and 97.5 % quantiles kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CENTER = 1500.0
ELO = 400.0 / np.log(10.0)   # natural-log strengths to Elo points


def pair_tables(n: int, results: Sequence[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """``(points, games)`` ``[n, n]`` from results ``(a, b, score of a)`` (1 win, 0.5 draw, 0 loss)."""
    points = np.zeros((n, n))
    games = np.zeros((n, n))
    for a, b, s in results:
        points[a, b] += s
        points[b, a] += 1.0 - s
        games[a, b] += 1
        games[b, a] += 1
    return points, games


def bradley_terry(points: np.ndarray, games: np.ndarray, prior: float = 2.0, tol: float = 1e-10,
                  max_iter: int = 100_000) -> np.ndarray:
    """Elo-scale ratings (mean 1500) from ``points[..., i, j]`` and ``games[..., i, j]``; batched over leading axes.

    ``prior`` virtual draws against an average opponent (must be > 0 unless every agent has both
    won and lost points).
    """
    points = np.asarray(points, dtype=np.float64)
    games = np.asarray(games, dtype=np.float64)
    wins = points.sum(axis=-1) + 0.5 * prior                       # [..., n]
    if (wins <= 0).any():
        raise ValueError("an agent without a single point has no finite rating; use prior > 0")
    p = np.ones(wins.shape)
    for _ in range(max_iter):
        denom = (games / (p[..., :, None] + p[..., None, :])).sum(axis=-1) + prior / (p + 1.0)
        new = wins / denom
        new /= np.exp(np.log(new).mean(axis=-1, keepdims=True))     # the scale is free: keep the mean at 0
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    r = ELO * np.log(p)
    return r - r.mean(axis=-1, keepdims=True) + CENTER


def bootstrap_intervals(n: int, results: Sequence[tuple[int, int, float]], samples: int = 1000, seed: int = 0,
                        prior: float = 2.0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Low and high ends of the ``level`` interval of each rating, resampling the games ``samples`` times."""
    if not results or samples <= 0:
        nan = np.full(n, np.nan)
        return nan, nan.copy()
    arr = np.asarray(results, dtype=np.float64)
    a, b, s = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(samples, len(arr)))
    points = np.zeros((samples, n, n))
    games = np.zeros((samples, n, n))
    rows = np.repeat(np.arange(samples), len(arr))
    ai, bi, si = a[idx].ravel(), b[idx].ravel(), s[idx].ravel()
    np.add.at(points, (rows, ai, bi), si)
    np.add.at(points, (rows, bi, ai), 1.0 - si)
    np.add.at(games, (rows, ai, bi), 1.0)
    np.add.at(games, (rows, bi, ai), 1.0)
    ratings = bradley_terry(points, games, prior=prior, tol=1e-8)
    tail = (1.0 - level) / 2.0
    return np.quantile(ratings, tail, axis=0), np.quantile(ratings, 1.0 - tail, axis=0)


def ratings_with_intervals(n: int, results: Sequence[tuple[int, int, float]], samples: int = 1000, seed: int = 0,
                           prior: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rating, low, high)`` per agent."""
    points, games = pair_tables(n, results)
    rating = bradley_terry(points, games, prior=prior)
    low, high = bootstrap_intervals(n, results, samples=samples, seed=seed, prior=prior)
    return rating, low, high
