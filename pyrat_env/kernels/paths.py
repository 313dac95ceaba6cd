"""Compiled travel times (numba): Dial's bucket queue over the maze tables, exact integers (`paths.distance_matrix`,
`paths.distances_from`), and the early-stopping search the greedy expert's kernel uses (`dial_until`).

Loaded on demand by `pyrat_env._accel`; scipy's Dijkstra is the twin before loading (``tests/test_kernels.py``).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

INF32 = np.float32(np.inf)
_BUCKETS = 16  # Dial's circular buckets: a power of two above the largest weight (see `dial_scratch`)


@njit(cache=True)
def pack_edges(neighbors, weights, adj, deg):
    """Each cell's edges packed as ``target * 256 + weight`` (weights < 256) in ``adj[cell]``; returns the
    largest weight, or -1 when a weight does not fit the packing."""
    maxw = 1
    for c in range(neighbors.shape[0]):
        k = 0
        for a in range(1, 5):
            w = weights[c, a]
            if w > 0:
                if w > 255:
                    return -1
                adj[c, k] = neighbors[c, a] * 256 + w
                k += 1
                if w > maxw:
                    maxw = w
        deg[c] = k
    return maxw


@njit(cache=True)
def _dial(source, adj, deg, nbk, dist, bucket, blen, out_row, cells):
    """Travel times from ``source`` (Dial's algorithm: buckets by distance, modulo ``nbk``, a power of two
    above the largest weight) written into ``out_row`` as float32 (inf where unreachable or ``cells`` False)."""
    n = deg.shape[0]
    big = np.int32(1 << 30)
    cap = bucket.shape[0] // nbk
    mask = nbk - 1
    for c in range(n):
        dist[c] = big
    for q in range(nbk):
        blen[q] = 0
    dist[source] = 0
    bucket[0] = source
    blen[0] = 1
    queued = 1
    d = 0
    while queued > 0:
        q = d & mask
        bq = q * cap
        while blen[q] > 0:
            blen[q] -= 1
            queued -= 1
            c = bucket[bq + blen[q]]
            if dist[c] != d:  # a stale entry: c was reached sooner since
                continue
            for j in range(deg[c]):
                e = adj[c, j]
                t = e >> 8
                nd = d + (e & 255)
                if nd < dist[t]:
                    dist[t] = nd
                    qq = nd & mask
                    bucket[qq * cap + blen[qq]] = t
                    blen[qq] += 1
                    queued += 1
        d += 1
    for c in range(n):
        out_row[c] = np.float32(dist[c]) if dist[c] < big and cells[c] else INF32


@njit(cache=True)
def dial_scratch(n, maxw):
    nbk = _BUCKETS
    while nbk <= maxw:
        nbk *= 2
    return nbk, np.empty(nbk * (4 * n + 1), dtype=np.int32), np.zeros(nbk, dtype=np.int32)


@njit(cache=True)
def _dijkstra(source, neighbors, weights, out_row, cells):
    """Travel times from ``source`` for mazes whose weights do not fit `_dial`'s packing (a plain heap)."""
    n = neighbors.shape[0]
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    heap = [(0.0, np.int64(source))]
    while len(heap) > 0:
        d, c = heapq.heappop(heap)
        if d > dist[c]:
            continue
        for a in range(1, 5):
            w = weights[c, a]
            if w > 0:
                t = np.int64(neighbors[c, a])
                nd = d + np.float64(w)
                if nd < dist[t]:
                    dist[t] = nd
                    heapq.heappush(heap, (nd, t))
    for c in range(n):
        out_row[c] = np.float32(dist[c]) if cells[c] else INF32


@njit(cache=True)
def distances_from(neighbors, weights, cells, sources, out):
    """``out[k, c]``: travel time from cell ``sources[k]`` to c (float32; inf to or from holes, and for
    ``sources[k] < 0``). Maze tables ``[N, 5]``; ``cells`` bool ``[N]``."""
    n = neighbors.shape[0]
    adj = np.empty((n, 4), dtype=np.int32)
    deg = np.empty(n, dtype=np.int32)
    maxw = pack_edges(neighbors, weights, adj, deg)
    nbk, bucket, blen = dial_scratch(n, maxw)
    dist = np.empty(n, dtype=np.int32)
    for k in range(sources.shape[0]):
        s = sources[k]
        if s < 0 or not cells[s]:
            for c in range(n):
                out[k, c] = INF32
        elif maxw < 0:
            _dijkstra(s, neighbors, weights, out[k], cells)
        else:
            _dial(s, adj, deg, nbk, dist, bucket, blen, out[k], cells)


@njit(cache=True)
def all_pairs(neighbors, weights, cells):
    """``[N, N]`` float32 travel times between all cells (inf to or from holes)."""
    n = neighbors.shape[0]
    out = np.empty((n, n), dtype=np.float32)
    distances_from(neighbors, weights, cells, np.arange(n), out)
    return out


@njit(cache=True)
def dial_until(source, adj, deg, nbk, dist, bucket, blen, limit, goals):
    """Dial's algorithm from ``source``, stopped early: settles into ``dist`` (int32; 1 << 30 elsewhere) every
    cell at most ``limit`` away, or, with ``goals`` (bool per cell, non-empty), every cell up to the distance of
    the nearest goal. Returns the lowest goal cell at that distance (-1: none reachable, or no goals)."""
    n = deg.shape[0]
    big = np.int32(1 << 30)
    cap = bucket.shape[0] // nbk
    mask = nbk - 1
    for c in range(n):
        dist[c] = big
    for q in range(nbk):
        blen[q] = 0
    use_goals = goals.shape[0] > 0
    found = -1
    dist[source] = 0
    bucket[0] = source
    blen[0] = 1
    queued = 1
    d = 0
    while queued > 0 and d <= limit:
        q = d & mask
        bq = q * cap
        while blen[q] > 0:
            blen[q] -= 1
            queued -= 1
            c = bucket[bq + blen[q]]
            if dist[c] != d:
                continue
            if use_goals and goals[c] and (found < 0 or c < found):
                found = c
                limit = d  # finish this level (other goals at the same distance), then stop
            for j in range(deg[c]):
                e = adj[c, j]
                t = e >> 8
                nd = d + (e & 255)
                if nd < dist[t]:
                    dist[t] = nd
                    qq = nd & mask
                    bucket[qq * cap + blen[qq]] = t
                    blen[qq] += 1
                    queued += 1
        d += 1
    # cells reached but not settled (beyond the limit) are not final: forget them
    for c in range(n):
        if dist[c] > limit:
            dist[c] = big
    return found
