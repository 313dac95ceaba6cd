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

Anchored scale (the strength ladder, `pool_ratings`): instead of a mean of 1500, one agent of a
reference pool is pinned at 1000 (``greedy``, as in the PyRat ecosystem). The pool is fitted on its
own games; every other agent is then fitted against the pool's ratings held fixed, so that its
rating depends on its own games only, not on the other agents measured at the same time. Its
interval resamples the pool's games and its own games, each set on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CENTER = 1500.0
ANCHOR_RATING = 1000.0       # the rating of a pinned anchor agent (greedy in the ladder)
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
                  max_iter: int = 100_000, anchor: int | None = None, fixed: np.ndarray | None = None) -> np.ndarray:
    """Elo-scale ratings from ``points[..., i, j]`` and ``games[..., i, j]``; batched over leading axes.

    ``prior`` virtual draws against an average opponent (must be > 0 unless every agent has both
    won and lost points). The scale: the mean rating is 1500; with ``anchor=i``, agent ``i`` is at
    `ANCHOR_RATING` (1000) instead. ``fixed``: ratings ``[..., n]`` already known, NaN for the agents
    to fit; the known ones are kept as they are (they set the scale) and the average opponent of
    the prior is their mean.
    """
    points = np.asarray(points, dtype=np.float64)
    games = np.asarray(games, dtype=np.float64)
    wins = points.sum(axis=-1) + 0.5 * prior                       # [..., n]
    if fixed is None:
        free = None
        p = np.ones(wins.shape)
    else:
        fixed = np.broadcast_to(np.asarray(fixed, dtype=np.float64), wins.shape)
        free = np.isnan(fixed)
        if free.all(axis=-1).any():
            raise ValueError("fixed: at least one rating must be known")
        offset = np.nanmean(np.where(free, np.nan, fixed), axis=-1, keepdims=True)   # the average opponent
        p = np.where(free, 1.0, np.exp((np.where(free, offset, fixed) - offset) / ELO))
    if (wins if free is None else wins[free]).min(initial=1.0) <= 0:
        raise ValueError("an agent without a single point has no finite rating; use prior > 0")
    for _ in range(max_iter):
        denom = (games / (p[..., :, None] + p[..., None, :])).sum(axis=-1) + prior / (p + 1.0)
        if free is None:
            new = wins / denom
            new /= np.exp(np.log(new).mean(axis=-1, keepdims=True))     # the scale is free: keep the mean at 0
        else:
            new = np.where(free, wins / np.where(free, denom, 1.0), p)  # the known ones set the scale
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    r = ELO * np.log(p)
    if free is not None:
        return np.where(free, r + offset, fixed)
    if anchor is not None:
        return r - r[..., anchor:anchor + 1] + ANCHOR_RATING
    return r - r.mean(axis=-1, keepdims=True) + CENTER


def resampled_tables(n: int, results: Sequence[tuple[int, int, float]], samples: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(points, games)`` ``[samples, n, n]``: the results resampled with replacement ``samples`` times."""
    arr = np.asarray(results, dtype=np.float64).reshape(-1, 3)
    points = np.zeros((samples, n, n))
    games = np.zeros((samples, n, n))
    if not len(arr):
        return points, games
    a, b, s = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2]
    idx = rng.integers(0, len(arr), size=(samples, len(arr)))
    rows = np.repeat(np.arange(samples), len(arr))
    ai, bi, si = a[idx].ravel(), b[idx].ravel(), s[idx].ravel()
    np.add.at(points, (rows, ai, bi), si)
    np.add.at(points, (rows, bi, ai), 1.0 - si)
    np.add.at(games, (rows, ai, bi), 1.0)
    np.add.at(games, (rows, bi, ai), 1.0)
    return points, games


def _interval(ratings: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    return np.quantile(ratings, tail, axis=0), np.quantile(ratings, 1.0 - tail, axis=0)


def bootstrap_intervals(n: int, results: Sequence[tuple[int, int, float]], samples: int = 1000, seed: int = 0,
                        prior: float = 2.0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Low and high ends of the ``level`` interval of each rating, resampling the games ``samples`` times."""
    if not results or samples <= 0:
        nan = np.full(n, np.nan)
        return nan, nan.copy()
    points, games = resampled_tables(n, results, samples, np.random.default_rng(seed))
    return _interval(bradley_terry(points, games, prior=prior, tol=1e-8), level)


def ratings_with_intervals(n: int, results: Sequence[tuple[int, int, float]], samples: int = 1000, seed: int = 0,
                           prior: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rating, low, high)`` per agent."""
    points, games = pair_tables(n, results)
    rating = bradley_terry(points, games, prior=prior)
    low, high = bootstrap_intervals(n, results, samples=samples, seed=seed, prior=prior)
    return rating, low, high


def pool_ratings(n: int, pool: Sequence[int], anchor: int, pool_results: Sequence[tuple[int, int, float]],
                 others: Sequence[tuple[int, Sequence[tuple[int, int, float]]]], samples: int = 1000, seed: int = 0,
                 prior: float = 2.0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rating, low, high)`` per agent on a scale anchored in a reference pool.

    ``pool``: the reference agents (indices into ``n``), ``anchor`` the one pinned at `ANCHOR_RATING`;
    ``pool_results``: their games among themselves, which alone fit their ratings. ``others``: sets of
    games, ``(stream, results)``, of the other agents against the pool (or each other); they are fitted
    with the pool's ratings fixed. In the bootstrap each set is resampled on its own, by a generator
    seeded with ``[seed, stream]`` (the pool's with ``[seed, 0]``): an agent's interval then depends on its
    own games and the pool's only, whatever else is rated with it. The anchor's interval is its rating.
    """
    pool = list(pool)
    if anchor not in pool:
        raise ValueError("the anchor must be one of the pool")
    if not pool_results:
        raise ValueError("the pool has no games among itself: its ratings are unknown")
    k = len(pool)
    local = {g: i for i, g in enumerate(pool)}
    try:
        pool_local = [(local[a], local[b], s) for a, b, s in pool_results]
    except KeyError:
        raise ValueError("pool_results must be games between agents of the pool") from None
    base = np.full(n, np.nan)
    base[pool] = bradley_terry(*pair_tables(k, pool_local), prior=prior, anchor=local[anchor])
    rest = [r for _, res in others for r in res]
    rating = bradley_terry(*pair_tables(n, rest), prior=prior, fixed=base) if rest else base.copy()
    if samples <= 0:
        nan = np.full(n, np.nan)
        return rating, nan, nan.copy()
    boot = np.full((samples, n), np.nan)
    pts, gms = resampled_tables(k, pool_local, samples, np.random.default_rng([seed, 0]))
    boot[:, pool] = bradley_terry(pts, gms, prior=prior, tol=1e-8, anchor=local[anchor])
    if rest:
        points, games = np.zeros((samples, n, n)), np.zeros((samples, n, n))
        for stream, res in others:
            p, g = resampled_tables(n, res, samples, np.random.default_rng([seed, int(stream)]))
            points += p
            games += g
        boot = bradley_terry(points, games, prior=prior, tol=1e-8, fixed=boot)
    low, high = _interval(boot, level)
    return rating, low, high
