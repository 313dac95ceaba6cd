"""Shortest travel times in a maze (mud weights counted), for agents and encoders.

Travel time from a to b is the number of turns needed to go from a to b: a passage costs 1, mud of
weight w costs w. Computed with scipy's Dijkstra over the whole maze and cached per maze.
"""

from __future__ import annotations

import functools

import numpy as np

from .engine import Maze


@functools.lru_cache(maxsize=512)
def distance_matrix(maze: Maze) -> np.ndarray:
    """``[N, N]`` float32 travel times between all cells (inf to or from holes). Read-only, cached."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = maze.n_cells
    src, act = np.nonzero(maze.weights > 0)
    dst = maze.neighbors[src, act]
    w = maze.weights[src, act].astype(np.float64)
    graph = csr_matrix((w, (src, dst)), shape=(n, n))
    dist = dijkstra(graph, directed=True).astype(np.float32)
    dist[:, ~maze.cells] = np.inf
    dist[~maze.cells, :] = np.inf
    dist.flags.writeable = False
    return dist


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
