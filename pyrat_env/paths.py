"""Shortest travel times in a maze (mud weights counted), for agents and encoders.

Travel time from a to b is the number of turns needed to go from a to b: a passage costs 1, mud of
weight w costs w. Edges are symmetric, so the time from a to b is the time from b to a.
`distance_matrix` gives all pairs (cached per maze); `distances_from` the rows of a few cells. Both
use the compiled Dial's-algorithm kernel of ``pyrat_env.kernels.paths`` once numba is loaded (see
``pyrat_env._accel``), and scipy's Dijkstra before: the same exact integers either way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from . import _accel
from .engine import Maze


def _tables(maze: Maze) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # int64 tables, as a GameBatch holds them: the kernels are then compiled for one set of types only
    return maze.neighbors.astype(np.int64), maze.weights.astype(np.int64), maze.cells


def _graph(maze: Maze):
    from scipy.sparse import csr_matrix

    n = maze.n_cells
    src, act = np.nonzero(maze.weights > 0)
    dst = maze.neighbors[src, act]
    w = maze.weights[src, act].astype(np.float64)
    return csr_matrix((w, (src, dst)), shape=(n, n))


@functools.lru_cache(maxsize=512)
def distance_matrix(maze: Maze) -> np.ndarray:
    """``[N, N]`` float32 travel times between all cells (inf to or from holes). Read-only, cached."""
    kernels = _accel.loaded("paths")
    if kernels is not None:
        dist = kernels.all_pairs(*_tables(maze))
    else:
        from scipy.sparse.csgraph import dijkstra

        dist = dijkstra(_graph(maze), directed=True).astype(np.float32)
        dist[:, ~maze.cells] = np.inf
        dist[~maze.cells, :] = np.inf
    dist.flags.writeable = False
    return dist


def distances_from(maze: Maze, cells: Sequence[int] | np.ndarray) -> np.ndarray:
    """``[K, N]`` float32 travel times from each of ``cells`` to every cell (rows of `distance_matrix`)."""
    sources = np.asarray(cells, dtype=np.int64).reshape(-1)
    kernels = _accel.loaded("paths")
    if kernels is not None:
        out = np.empty((len(sources), maze.n_cells), dtype=np.float32)
        kernels.distances_from(*_tables(maze), sources, out)
        return out
    return np.array(distance_matrix(maze)[sources])


def first_moves_towards(maze: Maze, cell: int, target: int) -> list[int]:
    """Actions (1..4) from ``cell`` that start a fastest path to ``target``, in action order."""
    dist = distance_matrix(maze)
    best, out = np.inf, []
    for a in range(1, 5):
        w = int(maze.weights[cell, a])
        if w == 0:
            continue
        total = w + dist[maze.neighbors[cell, a], target]
        if total < best - 1e-9:
            best, out = total, [a]
        elif abs(total - best) < 1e-9:
            out.append(a)
    return out
